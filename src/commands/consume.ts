import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import type { ConsumedRecord } from '../lib/kafka/consume.js';
import { parseCount } from '../lib/core/options.js';
import { parseFormat } from '../lib/core/render.js';
import { example, formatOption, runs, topicOption, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('consume')
      .description('print the events topic, one event a line (like kafkacat -C)')
      .addOption(topicOption())
      .option('--from-beginning', 'start at the earliest offset instead of the end', false)
      .option('--exit', 'stop at the end of the topic instead of waiting for more', false)
      .option('--max <n>', 'stop after n events')
      .addOption(formatOption(['json', 'pretty'], 'json'))
      .action(runs(run, 'consume')),
    'gamepipe consume --from-beginning --exit',
  );
};

export interface ConsumeOptions extends ConfigFlags {
  fromBeginning: boolean;
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

/** Prints the events topic one event a line, like `kafkacat -C -t events [-o beginning] [-e]`. */
export async function consume(opts: ConsumeOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['json', 'pretty'] as const);
  const max = opts.max === undefined ? undefined : parseCount('--max', opts.max, { min: 0 });
  const { consumeTopic } = await import('../lib/kafka/consume.js');
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const count = await consumeTopic(config, {
      topic: config.topic,
      fromBeginning: opts.fromBeginning,
      exitAtEnd: opts.exit,
      max,
      signal: abort.signal,
      onRecord: (r) => {
        process.stdout.write(format === 'json' ? `${r.value}\n` : pretty(r));
      },
    });
    process.stderr.write(`% read ${count} event(s) from ${config.topic}\n`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
