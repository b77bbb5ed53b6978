import { ErrorCodes, GamepipeError } from '../core/errors.js';
import type { WebHdfs } from '../hdfs/webhdfs.js';

/** The outputs of a day, each under `<base>/<output>/date=D/`. */
export const OUTPUTS = ['purchases', 'join_guild', '_rejected'] as const;
export type Output = (typeof OUTPUTS)[number];

export interface ManifestFile {
  name: string;
  rows: number;
  bytes: number;
}

export interface PartitionRange {
  partition: number;
  /** First offset of the day (inclusive). */
  startOffset: number;
  /** First offset after the day (exclusive). */
  endOffset: number;
}

/** `<base>/_manifests/date=D/_SUCCESS`: written last; a date without it is not complete. */
export interface Manifest {
  date: string;
  topic: string;
  /** False when the day was still open (today) at extraction: a later run adds what came after. */
  dayClosed: boolean;
  extractedAt: string;
  gamepipeVersion: string;
  ranges: PartitionRange[];
  records: number;
  duplicates: number;
  outputs: Record<Output, { rows: number; files: ManifestFile[] }>;
}

export function outputDir(base: string, output: Output, date: string): string {
  return `${base}/${output}/date=${date}`;
}

export function manifestPath(base: string, date: string): string {
  return `${base}/_manifests/date=${date}/_SUCCESS`;
}

export function stagingDir(base: string, date: string): string {
  return `${base}/_staging/date=${date}`;
}

export function trashDir(base: string, date: string): string {
  return `${base}/_trash/date=${date}`;
}

/** Deterministic file name of a partition's day range, as kafka-connect-hdfs names its files. */
export function rangeFileName(range: PartitionRange): string {
  return `events+${range.partition}+${range.startOffset}+${range.endOffset - 1}.parquet`;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Checks a YYYY-MM-DD date and returns the UTC start of that day and of the next. */
export function parseDate(date: string): { startMs: number; endMs: number } {
  const m = DATE.exec(date);
  const startMs = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || Number.isNaN(startMs) || new Date(startMs).toISOString().slice(0, 10) !== date) {
    throw new GamepipeError(ErrorCodes.badDate, `${JSON.stringify(date)} is not a date`, {
      hint: 'give a UTC date as YYYY-MM-DD, e.g. --date 2026-11-27',
    });
  }
  if (startMs < 0) {
    throw new GamepipeError(
      ErrorCodes.badDate,
      `${date} is before 1970-01-01, where Kafka's timestamps begin`,
      {
        hint: 'give a UTC date from 1970-01-01 on, as YYYY-MM-DD',
      },
    );
  }
  return { startMs, endMs: startMs + 86_400_000 };
}

export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The dates a command was asked for: --date, or --from/--to, or undefined for all. */
export function datesFromFlags(opts: {
  date?: string;
  from?: string;
  to?: string;
}): string[] | undefined {
  if (opts.date && (opts.from || opts.to)) {
    throw new GamepipeError(ErrorCodes.usage, 'give either --date or --from/--to, not both');
  }
  if (opts.date) {
    parseDate(opts.date);
    return [opts.date];
  }
  if (opts.from || opts.to) {
    if (!opts.from || !opts.to)
      throw new GamepipeError(ErrorCodes.usage, '--from and --to go together');
    return dateRange(opts.from, opts.to);
  }
  return undefined;
}

/** Every date from `from` to `to`, inclusive. */
export function dateRange(from: string, to: string): string[] {
  const a = parseDate(from).startMs;
  const b = parseDate(to).startMs;
  if (b < a) {
    throw new GamepipeError(ErrorCodes.badDate, `--to ${to} is before --from ${from}`, {
      hint: 'give --from the earlier date',
    });
  }
  const out: string[] = [];
  for (let t = a; t <= b; t += 86_400_000) out.push(formatDate(t));
  return out;
}

export async function readManifest(
  hdfs: WebHdfs,
  base: string,
  date: string,
): Promise<Manifest | undefined> {
  try {
    return JSON.parse((await hdfs.read(manifestPath(base, date))).toString('utf8')) as Manifest;
  } catch (err) {
    if (err instanceof GamepipeError && err.code === ErrorCodes.hdfsNotFound) return undefined;
    throw err;
  }
}

/** Dates that have a manifest (complete), and dates with data but none (incomplete). */
export async function listDates(
  hdfs: WebHdfs,
  base: string,
): Promise<{ complete: string[]; incomplete: string[] }> {
  const datesUnder = async (dir: string): Promise<string[]> => {
    try {
      return (await hdfs.listStatus(dir))
        .map((s) => /^date=(\d{4}-\d{2}-\d{2})$/.exec(s.pathSuffix)?.[1])
        .filter((d): d is string => d !== undefined);
    } catch (err) {
      if (err instanceof GamepipeError && err.code === ErrorCodes.hdfsNotFound) return [];
      throw err;
    }
  };
  const [manifests, purchases, guild] = await Promise.all([
    datesUnder(`${base}/_manifests`),
    datesUnder(`${base}/purchases`),
    datesUnder(`${base}/join_guild`),
  ]);
  const found = await Promise.all(
    manifests.map(async (d) => ((await hdfs.stat(manifestPath(base, d))) ? d : undefined)),
  );
  const complete = new Set(found.filter((d): d is string => d !== undefined));
  const withData = new Set([...purchases, ...guild]);
  return {
    complete: [...complete].sort(),
    incomplete: [...withData].filter((d) => !complete.has(d)).sort(),
  };
}
