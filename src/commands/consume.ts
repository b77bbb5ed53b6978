import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { info } from '../lib/core/progress.js';
import type { ConsumedRecord, StartOffset } from '../lib/kafka/consume.js';
import { ErrorCodes, GamepipeError } from '../lib/core/errors.js';
import { parseCount } from '../lib/core/options.js';
import { parseFormat } from '../lib/core/render.js';
import { choiceOption, example, runs, topicOption, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('consume')
      .description('print the events topic, one event a line (like kcat -C)')
      .addOption(topicOption())
      .option('--from-beginning', 'start at the earliest offset instead of the end', false)
      .option('--partition <p>', 'read one partition only')
      .option(
        '--offset <o>',
        'where to start in each partition: an offset, -N (the last N), beginning or end (default: end)',
      )
      .option('--exit', 'stop at the end of the topic instead of waiting for more', false)
      .option('--max <n>', 'stop after n events')
      .addOption(
        choiceOption(
          '--format <format>',
          "value: each record's value; json: an object a record with topic, partition, offset, timestamp, key and value (like kcat -J); pretty",
          ['value', 'json', 'pretty'],
          'value',
        ),
      )
      .action(runs(run, 'consume')),
    'gamepipe consume --from-beginning --exit',
    'gamepipe consume --partition 2 --offset -10 --exit --format json   # the last 10 records of partition 2',
  );
};

export interface ConsumeOptions extends ConfigFlags {
  fromBeginning: boolean;
  partition?: string;
  offset?: string;
  exit: boolean;
  max?: string;
  format: string;
}

function pretty(r: ConsumedRecord): string {
  let body: string;
  try {
    body = JSON.stringify(JSON.parse(r.value), null, 2);
  } catch {
    body = r.value;
  }
  return `# partition ${r.partition} offset ${r.offset} ${new Date(r.timestamp).toISOString()} key ${r.key ?? '(none)'}\n${body}\n`;
}

/** `beginning`, `end`, an offset or -N. */
export function parseOffset(value: string): StartOffset {
  const v = value.trim();
  if (v === 'beginning' || v === 'end') return v;
  if (!/^-?\d{1,18}$/.test(v)) {
    throw new GamepipeError(
      ErrorCodes.usage,
      `--offset must be an offset, -N, beginning or end, got ${JSON.stringify(value).slice(0, 40)}`,
      { hint: 'e.g. --offset -100 for the last 100 records of each partition' },
    );
  }
  return Number(v);
}

/** Prints the events topic one event a line, like `kcat -C -t events [-o beginning] [-e] [-J]`. */
export async function consume(opts: ConsumeOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['value', 'json', 'pretty'] as const);
  const max = opts.max === undefined ? undefined : parseCount('--max', opts.max, { min: 0 });
  if (opts.fromBeginning && opts.offset !== undefined) {
    throw new GamepipeError(ErrorCodes.usage, 'give either --from-beginning or --offset, not both');
  }
  const partition =
    opts.partition === undefined
      ? undefined
      : parseCount('--partition', opts.partition, { min: 0, max: 100_000 });
  const offset = opts.offset === undefined ? undefined : parseOffset(opts.offset);
  const { consumeTopic } = await import('../lib/kafka/consume.js');
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const count = await consumeTopic(config, {
      topic: config.topic,
      fromBeginning: opts.fromBeginning,
      partition,
      offset,
      exitAtEnd: opts.exit,
      max,
      signal: abort.signal,
      onRecord: (r) => {
        process.stdout.write(
          format === 'value'
            ? `${r.value}\n`
            : format === 'json'
              ? `${JSON.stringify({ topic: config.topic, partition: r.partition, offset: Number(r.offset), timestamp: r.timestamp, key: r.key, value: r.value })}\n`
              : pretty(r),
        );
      },
    });
    info(`% read ${count} event(s) from ${config.topic}`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
