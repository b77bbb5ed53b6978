import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import type { ExtractResult } from '../lib/extract/run.js';
import { WorkerPool } from '../lib/extract/pool.js';
import { formatDate, OUTPUTS, parseDate } from '../lib/lake/layout.js';
import { parseCount, parseDuration } from '../lib/core/options.js';
import { bytes, duration, json, parseFormat, spinner, table } from '../lib/core/render.js';
import { example, formatOption, runs, topicOption, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('extract')
      .description('land one UTC day of events in the lake as Parquet, exactly once; rerun safely')
      .option('--date <YYYY-MM-DD>', 'the UTC date to extract (default: yesterday)')
      .addOption(topicOption())
      .option('--dry-run', 'print the offset ranges and counts, write nothing', false)
      .option(
        '--force',
        'replace an existing output even when the topic now holds fewer records',
        false,
      )
      .option(
        '--row-group-rows <n>',
        'rows per Parquet row group (memory holds about one per output)',
        '100000',
      )
      .option(
        '--threads <n>',
        'partitions read at the same time, one worker thread each (default: cores, at most 4)',
      )
      .option(
        '--lease-ttl <duration>',
        "how long this run's claim on the date outlives it if it dies (renewed every third)",
        '2m',
      )
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'extract')),
    'gamepipe extract --date 2026-11-27',
    'for d in 2026-11-20 2026-11-21 2026-11-22; do gamepipe extract --date $d; done   # backfill',
  );
};

export interface ExtractOptions extends ConfigFlags {
  date?: string;
  dryRun: boolean;
  force: boolean;
  rowGroupRows: string;
  threads?: string;
  leaseTtl: string;
  format: string;
}

function render(r: ExtractResult): string {
  const lines: string[] = [];
  const what = r.dryRun ? 'would read' : 'landed';
  lines.push(
    `${r.date}: ${what} ${r.records} record(s) from ${r.topic}` +
      (r.dryRun
        ? ''
        : `; ${r.rejected} rejected, ${r.duplicates} duplicate(s) dropped; ${duration(r.elapsedMs)}, ${r.eventsPerSecond} events/s`) +
      (r.dayClosed ? '' : ' (the day is still open: rerun it tomorrow for the rest)'),
  );
  if (r.records === 0)
    lines.push(`no events on ${r.date}: an empty, complete manifest was written`);
  lines.push(
    table(
      ['partition', 'start offset', 'end offset (excl.)', 'records'],
      r.ranges.map((x) => [x.partition, x.startOffset, x.endOffset, x.records]),
    ),
  );
  if (!r.dryRun) {
    lines.push(
      table(
        ['output', 'rows', 'files', 'bytes'],
        OUTPUTS.map((o) => [
          o,
          r.outputs[o].rows,
          r.outputs[o].files.length,
          bytes(r.outputs[o].bytes),
        ]),
      ),
    );
  }
  return lines.join('\n') + '\n';
}

/** Each thread holds a row group per output and its fetch buffers (~100 MB). */
const MAX_THREADS = 32;

/** Lands one UTC day of events in the lake (default: yesterday). */
export async function extract(opts: ExtractOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const date = opts.date ?? formatDate(Date.now() - 86_400_000);
  parseDate(date);
  const leaseTtlMs = parseDuration('--lease-ttl', opts.leaseTtl, { minMs: 1_000 });
  const rowGroupRows = parseCount('--row-group-rows', opts.rowGroupRows, { max: 10_000_000 });
  const threads =
    opts.threads === undefined
      ? undefined
      : parseCount('--threads', opts.threads, { max: MAX_THREADS });
  // the threads first: they load their modules while this one loads Kafka's and HDFS's clients
  const pool = opts.dryRun ? undefined : new WorkerPool(threads);
  const spin = await spinner(`extracting ${date} from ${config.topic}`);
  let result: ExtractResult;
  try {
    const { extractDate } = await import('../lib/extract/run.js');
    result = await extractDate(config, {
      date,
      topic: config.topic,
      base: config.base,
      dryRun: opts.dryRun,
      force: opts.force,
      rowGroupRows,
      leaseTtlMs,
      pool,
      onProgress: (p) =>
        spin.text(`extracting ${date}: ${p.read}/${p.total} records (partition ${p.partition})`),
    });
  } catch (err) {
    await pool?.close({ now: true });
    throw err;
  } finally {
    spin.stop();
  }
  await pool?.close();
  if (result.rejected > 0) {
    process.stderr.write(
      `warning: ${result.rejected} record(s) of ${date} are not valid events; they are in ${config.base}/_rejected/date=${date}/ with their reasons\n`,
    );
  }
  process.stdout.write(format === 'json' ? json(result) + '\n' : render(result));
  return 0;
}
