import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import type { ExtractResult } from '../lib/extract/run.js';
import { WorkerPool } from '../lib/extract/pool.js';
import { ErrorCodes, GamepipeError } from '../lib/core/errors.js';
import { dateRange, formatDate, OUTPUTS, parseDate } from '../lib/lake/layout.js';
import { parseCount, parseDuration } from '../lib/core/options.js';
import { bytes, duration, json, parseFormat, table } from '../lib/core/render.js';
import { info, progress } from '../lib/core/progress.js';
import {
  engineOptions,
  example,
  formatOption,
  runs,
  topicOption,
  type Declare,
  type Engine,
} from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    engineOptions(
      parent
        .command('extract')
        .description(
          'land UTC days of events in the lake as Parquet, exactly once; rerun or backfill safely',
        )
        .option('--date <YYYY-MM-DD>', 'the UTC date to extract (default: yesterday)')
        .option('--from <YYYY-MM-DD>', 'backfill: first date of a range, extracted in order')
        .option('--to <YYYY-MM-DD>', 'backfill: last date of the range (default: yesterday)')
        .option(
          '--catch-up',
          "every closed date after the lake's newest complete one (or from the topic's oldest retained date) up to yesterday",
          false,
        )
        .option(
          '--keep-going',
          'with several dates: go on after a date fails (exit 1 at the end)',
          false,
        )
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
        .addOption(formatOption(['table', 'json'], 'table')),
      'extracts',
    ).action(runs(run, 'extract')),
    'gamepipe extract --date 2026-11-27',
    'gamepipe extract --from 2026-11-20 --to 2026-11-26   # backfill, one summary row per date',
    'gamepipe extract --catch-up                           # what a daily cron runs',
    'gamepipe extract --date 2026-11-27 --engine spark --spark-master yarn',
  );
};

export interface ExtractOptions extends ConfigFlags {
  date?: string;
  from?: string;
  to?: string;
  catchUp: boolean;
  keepGoing: boolean;
  dryRun: boolean;
  force: boolean;
  rowGroupRows: string;
  threads?: string;
  leaseTtl: string;
  format: string;
  engine: Engine;
  sparkMaster?: string;
  sparkSubmit?: string;
  sparkConf?: string[];
}

/** The run in a sentence (a status line, on stderr), then the tables (data, on stdout). */
function summary(r: ExtractResult): string {
  const what = r.dryRun ? 'would read' : 'landed';
  return (
    `${r.date}: ${what} ${r.records} record(s) from ${r.topic}` +
    (r.dryRun
      ? ''
      : `; ${r.rejected} rejected, ${r.duplicates} duplicate(s) dropped; ${duration(r.elapsedMs)}, ${r.eventsPerSecond} events/s`) +
    (r.dayClosed ? '' : ' (the day is still open: rerun it tomorrow for the rest)') +
    (r.records === 0 ? `\nno events on ${r.date}: an empty, complete manifest was written` : '')
  );
}

function render(r: ExtractResult): string {
  const lines: string[] = [];
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

interface RunSettings {
  rowGroupRows: number;
  threads: number | undefined;
  leaseTtlMs: number;
}

/** Lands one date; the pool of threads lives for this date only. */
async function extractOne(
  config: ReturnType<typeof configFromFlags>,
  opts: ExtractOptions,
  date: string,
  { rowGroupRows, threads, leaseTtlMs }: RunSettings,
): Promise<ExtractResult> {
  // the threads first: they load their modules while this one loads Kafka's and HDFS's clients
  const spark = opts.engine === 'spark';
  const pool = opts.dryRun || spark ? undefined : new WorkerPool(threads);
  const spin = await progress(
    `extracting ${date} from ${config.topic}${spark ? ` with Spark (${config.sparkMaster})` : ''}`,
  );
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
      ...(spark && { spark: config }),
      onProgress: (p) => spin.count(p.read, p.total, 'records'),
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
  return result;
}

/** The dates of this run: --date, --from/--to, --catch-up, or yesterday. */
async function datesOf(
  config: ReturnType<typeof configFromFlags>,
  opts: ExtractOptions,
): Promise<{ dates: string[]; several: boolean; note?: string }> {
  const yesterday = formatDate(Date.now() - 86_400_000);
  const ways = [
    opts.date !== undefined,
    opts.from !== undefined || opts.to !== undefined,
    opts.catchUp,
  ];
  if (ways.filter(Boolean).length > 1) {
    throw new GamepipeError(ErrorCodes.usage, 'give one of --date, --from/--to and --catch-up');
  }
  if (opts.catchUp) {
    const { catchUpDates } = await import('../lib/extract/catch-up.js');
    const { dates, after, from } = await catchUpDates(config, config.topic);
    const note =
      after !== undefined
        ? `the lake is complete up to ${after}`
        : from !== undefined
          ? `the lake is empty; ${config.topic} holds records from ${from}`
          : `the lake is empty and ${config.topic} holds no records before today`;
    return { dates, several: true, note };
  }
  if (opts.from !== undefined || opts.to !== undefined) {
    if (opts.from === undefined) throw new GamepipeError(ErrorCodes.usage, '--to needs --from');
    const to = opts.to ?? yesterday;
    parseDate(opts.from);
    parseDate(to);
    if (to < opts.from) {
      throw new GamepipeError(ErrorCodes.usage, `--to ${to} is before --from ${opts.from}`);
    }
    return { dates: dateRange(opts.from, to), several: true };
  }
  const date = opts.date ?? yesterday;
  parseDate(date);
  return { dates: [date], several: false };
}

/** Lands UTC days of events in the lake: one date (default: yesterday), a range, or a catch-up. */
export async function extract(opts: ExtractOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  // the dates first: a bad date is named before any other bad value
  const { dates, several, note } = await datesOf(config, opts);
  const settings: RunSettings = {
    leaseTtlMs: parseDuration('--lease-ttl', opts.leaseTtl, { minMs: 1_000 }),
    rowGroupRows: parseCount('--row-group-rows', opts.rowGroupRows, { max: 10_000_000 }),
    threads:
      opts.threads === undefined
        ? undefined
        : parseCount('--threads', opts.threads, { max: MAX_THREADS }),
  };
  if (!several) {
    const result = await extractOne(config, opts, dates[0] as string, settings);
    if (format !== 'json') info(summary(result));
    process.stdout.write(format === 'json' ? json(result) + '\n' : render(result));
    return 0;
  }
  if (note) info(`${note}: ${dates.length} date(s) to extract`);
  const rows: Array<{ date: string; result?: ExtractResult; error?: GamepipeError }> = [];
  for (const [i, date] of dates.entries()) {
    try {
      rows.push({ date, result: await extractOne(config, opts, date, settings) });
    } catch (err) {
      // a bug is not a date's failure: it ends the run as any command's would
      if (!(err instanceof GamepipeError)) throw err;
      rows.push({ date, error: err });
      process.stderr.write(`${date}: error ${err.code}: ${err.message}\n`);
      if (!opts.keepGoing) {
        const rest = dates.slice(i);
        process.stderr.write(
          `stopped at ${date}; ${rest.length} date(s) not done. resume with: gamepipe extract --from ${date} --to ${rest.at(-1)}${opts.catchUp ? ' (or --catch-up again)' : ''}\n`,
        );
        break;
      }
    }
  }
  if (format === 'json') {
    process.stdout.write(
      json({
        dates: rows.map(({ date, result, error }) =>
          error
            ? { date, error: { code: error.code, message: error.message } }
            : { ...result, date },
        ),
        notDone: dates.slice(rows.length),
      }) + '\n',
    );
  } else {
    if (rows.length === 0) info('nothing to extract');
    process.stdout.write(
      table(
        ['date', 'records', 'rejected', 'duplicates', 'time', 'status'],
        rows.map(({ date, result: r, error }) =>
          r
            ? [
                date,
                r.records,
                r.rejected,
                r.duplicates,
                duration(r.elapsedMs),
                r.dryRun ? 'dry run' : r.dayClosed ? 'landed' : 'landed (day still open)',
              ]
            : [date, '', '', '', '', `failed: ${error?.code}`],
        ),
      ) + '\n',
    );
  }
  return rows.some((r) => r.error) ? 1 : 0;
}
