import { randomBytes } from 'node:crypto';
import type { Config, KafkaAccess } from '../core/config.js';
import { SharedIdTable } from '../lake/dedup.js';
import { VERSION } from '../core/version.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { WorkerPool } from './pool.js';
import type { RangeJob, RangeResult } from './range.js';
import {
  crashPoint,
  jobsPerThreadOverride,
  pausePoint,
  reversedPartitionOrder,
} from '../core/test-hooks.js';
import type { WorkerSetup } from './worker.js';
import { assertTopicExists, leadersOf, withAdmin } from '../kafka/admin.js';
import {
  formatDate,
  manifestPath,
  outputDir,
  OUTPUTS,
  parseDate,
  readManifest,
  stagingDir,
  trashDir,
  type Manifest,
  type ManifestFile,
  type Output,
  type PartitionRange,
} from '../lake/layout.js';
import { withHdfs, type WebHdfs } from '../hdfs/webhdfs.js';
import { DateLease } from '../lake/lease.js';
import type { SparkConfig } from '../spark/submit.js';

export interface ExtractOptions {
  date: string;
  topic: string;
  base: string;
  dryRun?: boolean;
  /** Replace an existing output even when the topic now holds fewer records for the date. */
  force?: boolean;
  rowGroupRows?: number;
  /** How long the run's lease on the date lasts without renewal (renewed every third). */
  leaseTtlMs?: number;
  /** Worker threads landing the day's ranges (default: one a core, at most 4). */
  threads?: number;
  /**
   * Threads the caller started early (see extract-pool.ts), used instead of `threads` new ones;
   * the caller ends them.
   */
  pool?: WorkerPool;
  now?: Date;
  onProgress?: (p: { partition: number; read: number; total: number }) => void;
  /** Stage the day with a Spark job (--engine spark) instead of the worker threads. */
  spark?: SparkConfig;
  /** Tests: called with spark-submit's pid. */
  onSparkStart?: (pid: number) => void;
}

export interface ExtractResult {
  date: string;
  topic: string;
  dryRun: boolean;
  dayClosed: boolean;
  ranges: Array<PartitionRange & { records: number }>;
  records: number;
  duplicates: number;
  rejected: number;
  outputs: Record<Output, { rows: number; files: ManifestFile[]; bytes: number }>;
  elapsedMs: number;
  eventsPerSecond: number;
}

/**
 * The offset range of a UTC day in each partition, from Kafka's timestamp index: the topic uses
 * LogAppendTime, so record times never go back within a partition.
 */
export async function dayRanges(
  config: KafkaAccess,
  topic: string,
  date: string,
): Promise<{ ranges: PartitionRange[]; dayClosed: boolean; leaders: Map<number, string> }> {
  const { startMs, endMs } = parseDate(date);
  return withAdmin(
    config,
    async (admin) => {
      await assertTopicExists(admin, topic, config.brokers);
      const start = await admin.fetchTopicOffsetsByTimestamp(topic, startMs);
      // asked after the start, so a record appended in between is in the range of neither
      const end = await admin.fetchTopicOffsetsByTimestamp(topic, endMs);
      const ranges = start
        .map(({ partition, offset }) => ({
          partition,
          startOffset: Number(offset),
          endOffset: Number(end.find((e) => e.partition === partition)?.offset ?? offset),
        }))
        .sort((a, b) => a.partition - b.partition);
      // each partition's leader, for reading the ranges straight from it
      const { leaders } = await leadersOf(admin, topic);
      return { ranges, dayClosed: Date.now() >= endMs, leaders };
    },
    { topic },
  );
}

/**
 * Lands every event of a UTC date in `<base>/{purchases,join_guild}/date=D/` as Parquet, with bad
 * records in `<base>/_rejected/date=D/`, exactly once: files are written under a staging path,
 * published by HDFS renames, and the manifest is written last. A rerun replaces the output with
 * the same bytes; a crash leaves the previous output or none, and the next run cleans up.
 */
export async function extractDate(
  config: KafkaAccess & Pick<Config, 'webhdfsUrl' | 'hdfsUser'>,
  {
    date,
    topic,
    base,
    dryRun = false,
    force = false,
    rowGroupRows = 100_000,
    leaseTtlMs = 120_000,
    threads,
    pool: given,
    now = new Date(),
    onProgress,
    spark,
    onSparkStart,
  }: ExtractOptions,
): Promise<ExtractResult> {
  const t0 = performance.now();
  const { startMs } = parseDate(date);
  if (!Number.isInteger(rowGroupRows) || rowGroupRows < 1) {
    throw new GamepipeError(
      ErrorCodes.usage,
      `--row-group-rows must be a positive whole number, got ${rowGroupRows}`,
    );
  }
  if (startMs > now.getTime()) {
    throw new GamepipeError(
      ErrorCodes.dateInFuture,
      `${date} has not begun yet (now is ${now.toISOString()})`,
      {
        hint: `extract a past date, e.g. --date ${formatDate(now.getTime() - 86_400_000)}`,
      },
    );
  }
  // no Spark is said before the date is touched
  if (spark && !dryRun) (await import('../spark/submit.js')).findSpark(spark);
  // the threads load while the day's ranges are looked up; ours are ended whatever happens
  const pool = dryRun || spark ? undefined : (given ?? new WorkerPool(threads));
  const ours = given === undefined;
  let result: ExtractResult;
  try {
    result = await extractWith(config, pool, {
      date,
      topic,
      base,
      dryRun,
      force,
      rowGroupRows,
      leaseTtlMs,
      onProgress,
      spark,
      onSparkStart,
      t0,
    });
  } catch (err) {
    if (ours) await pool?.close({ now: true });
    throw err;
  }
  if (ours) await pool?.close();
  return result;
}

/** What one run was asked, with its defaults filled in. */
type RunSettings = Required<
  Pick<
    ExtractOptions,
    'date' | 'topic' | 'base' | 'dryRun' | 'force' | 'rowGroupRows' | 'leaseTtlMs'
  >
> &
  Pick<ExtractOptions, 'onProgress' | 'spark' | 'onSparkStart'> & { t0: number };

type DayRanges = Awaited<ReturnType<typeof dayRanges>>;

function recordsIn(ranges: PartitionRange[]): number {
  return ranges.reduce((n, r) => n + (r.endOffset - r.startOffset), 0);
}

/** A run's result before anything is read. */
function emptyResult({ date, topic, dryRun }: RunSettings, day: DayRanges): ExtractResult {
  return {
    date,
    topic,
    dryRun,
    dayClosed: day.dayClosed,
    ranges: day.ranges.map((r) => ({ ...r, records: r.endOffset - r.startOffset })),
    records: 0,
    duplicates: 0,
    rejected: 0,
    outputs: {
      purchases: { rows: 0, files: [], bytes: 0 },
      join_guild: { rows: 0, files: [], bytes: 0 },
      _rejected: { rows: 0, files: [], bytes: 0 },
    },
    elapsedMs: 0,
    eventsPerSecond: 0,
  };
}

/** A dry run, or the date landed under its lease; the timing filled in. */
async function extractWith(
  config: KafkaAccess & Pick<Config, 'webhdfsUrl' | 'hdfsUser'>,
  pool: WorkerPool | undefined,
  run: RunSettings,
): Promise<ExtractResult> {
  const { date, topic, base, leaseTtlMs, t0 } = run;
  if (run.dryRun) {
    const day = await dayRanges(config, topic, date);
    const result = emptyResult(run, day);
    result.records = recordsIn(day.ranges);
    result.elapsedMs = Math.round(performance.now() - t0);
    return result;
  }
  const result = await withHdfs(config, async (hdfs) => {
    await assertDirectoryOrAbsent(hdfs, base);
    // the date is this run's until it ends: a second run exits at once, touching nothing
    const runId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const lease = await DateLease.acquire(hdfs, { base, date, runId, ttlMs: leaseTtlMs });
    try {
      return await landDay(config, hdfs, pool, lease, runId, run);
    } finally {
      await lease.release().catch(() => undefined);
    }
  });
  result.elapsedMs = Math.round(performance.now() - t0);
  result.eventsPerSecond = Math.round(result.records / Math.max(0.001, result.elapsedMs / 1000));
  return result;
}

async function assertDirectoryOrAbsent(hdfs: WebHdfs, base: string): Promise<void> {
  const baseStatus = await hdfs.stat(base);
  if (baseStatus && baseStatus.type !== 'DIRECTORY') {
    throw new GamepipeError(
      ErrorCodes.hdfsNotDirectory,
      `the lake base ${base} is a file, not a directory`,
      {
        hint: 'point --base at a directory (or move the file away)',
        context: { path: base },
      },
    );
  }
}

/** The date's ranges read into staging and published, with the lease held throughout. */
async function landDay(
  config: KafkaAccess & Pick<Config, 'webhdfsUrl' | 'hdfsUser'>,
  hdfs: WebHdfs,
  pool: WorkerPool | undefined,
  lease: DateLease,
  runId: string,
  run: RunSettings,
): Promise<ExtractResult> {
  const { date, topic, base } = run;
  // tests hold a run here, with the date leased, to overlap another with it
  await pausePoint();
  // Kafka and HDFS are asked at the same time: the ranges, and the lake's state for the date
  const [day, previous] = await Promise.all([
    dayRanges(config, topic, date),
    readManifest(hdfs, base, date),
  ]);
  const total = recordsIn(day.ranges);
  if (previous && previous.records > total && !run.force) {
    throw new GamepipeError(
      ErrorCodes.extractShrink,
      `topic ${topic} now holds ${total} records for ${date}, the lake has ${previous.records}: retention may have deleted part of the day`,
      {
        hint: 'keep the existing output, or rerun with --force to replace it with less',
        context: { date },
      },
    );
  }
  const r = emptyResult(run, day);
  // a run that died, or whose lease expired, left its staging and trash behind: with the lease
  // held, they are ours to clean
  await Promise.all([
    hdfs.delete(stagingDir(base, date), { recursive: true }),
    hdfs.delete(trashDir(base, date), { recursive: true }),
  ]);
  const staging = `${stagingDir(base, date)}/${runId}`;
  await Promise.all(OUTPUTS.map((o) => hdfs.mkdirs(`${staging}/${o}`)));
  if (run.spark) {
    const { stageWithSpark } = await import('./spark.js');
    await stageWithSpark(
      { ...run.spark, brokers: config.brokers, kafkaSecurity: config.kafkaSecurity },
      hdfs,
      {
        topic,
        date,
        ranges: day.ranges,
        staging,
        runId,
        result: r,
        onSparkStart: run.onSparkStart,
      },
    );
  } else {
    await readDay(config, {
      topic,
      ranges: day.ranges,
      staging,
      rowGroupRows: run.rowGroupRows,
      pool: pool as WorkerPool,
      leaders: day.leaders,
      result: r,
      total,
      onProgress: run.onProgress,
    });
  }
  crashPoint('staged');
  await lease.assertHeld();
  await publish(hdfs, base, staging, runId, manifestOf(r, day));
  return r;
}

function manifestOf(r: ExtractResult, day: DayRanges): Manifest {
  return {
    date: r.date,
    topic: r.topic,
    dayClosed: day.dayClosed,
    extractedAt: new Date().toISOString(),
    gamepipeVersion: VERSION,
    ranges: day.ranges,
    records: r.records,
    duplicates: r.duplicates,
    outputs: Object.fromEntries(
      OUTPUTS.map((o) => [o, { rows: r.outputs[o].rows, files: r.outputs[o].files }]),
    ) as Manifest['outputs'],
  };
}

/**
 * Publishes what is staged: the old manifest goes first, so no reader trusts a date while it
 * changes; each output's old directory moves to trash and the staged one takes its place by
 * rename; the new manifest, staged meanwhile, comes last; trash and staging go.
 */
async function publish(
  hdfs: WebHdfs,
  base: string,
  staging: string,
  runId: string,
  manifest: Manifest,
): Promise<void> {
  const date = manifest.date;
  const staged = `${staging}/_SUCCESS`;
  await Promise.all([
    hdfs.delete(manifestPath(base, date)),
    hdfs.create(staged, JSON.stringify(manifest, null, 2) + '\n', { overwrite: true }),
    hdfs.mkdirs(`${base}/_manifests/date=${date}`),
  ]);
  const trash = `${trashDir(base, date)}/${runId}`;
  for (const o of OUTPUTS) {
    const final = outputDir(base, o, date);
    if (await hdfs.stat(final)) {
      await hdfs.mkdirs(trash);
      await hdfs.rename(final, `${trash}/${o}`);
    }
    await hdfs.mkdirs(`${base}/${o}`);
    await hdfs.rename(`${staging}/${o}`, final);
    crashPoint(`published-${o}`);
  }
  await hdfs.rename(staged, manifestPath(base, date));
  await hdfs.delete(trashDir(base, date), { recursive: true });
  await hdfs.delete(stagingDir(base, date), { recursive: true });
  // no empty _staging and _trash left behind (another run's dates keep theirs)
  await Promise.all([hdfs.deleteIfEmpty(`${base}/_staging`), hdfs.deleteIfEmpty(`${base}/_trash`)]);
}

interface ReadDayOptions {
  topic: string;
  ranges: PartitionRange[];
  staging: string;
  rowGroupRows: number;
  pool: WorkerPool;
  leaders: Map<number, string>;
  result: ExtractResult;
  total: number;
  onProgress?: ExtractOptions['onProgress'];
}

/**
 * Lands each partition's range in staging, `threads` partitions at a time (worker threads; the
 * event-id table is shared), and fills in `result` in partition order. Partitions that lost an id
 * to an earlier one are read again, so the output equals a one-partition-at-a-time run.
 */
async function readDay(
  config: KafkaAccess & Pick<Config, 'webhdfsUrl' | 'hdfsUser'>,
  {
    topic,
    ranges,
    staging,
    rowGroupRows,
    pool,
    leaders,
    result,
    total,
    onProgress,
  }: ReadDayOptions,
): Promise<void> {
  const parts = splitRanges(ranges);
  if (parts.length === 0) return;
  const ids = SharedIdTable.forIds(total, parts.length);
  const setup: WorkerSetup = {
    config: {
      brokers: config.brokers,
      kafkaSecurity: config.kafkaSecurity,
      webhdfsUrl: config.webhdfsUrl,
      hdfsUser: config.hdfsUser,
    },
    ids: ids.buffers,
  };
  const read = new Map<number, number>();
  const progress = (seq: number, n: number): void => {
    read.set(seq, n);
    let sum = 0;
    for (const v of read.values()) sum += v;
    onProgress?.({ partition: parts[seq]?.partition ?? 0, read: sum, total });
  };
  const job = (seq: number, pass: RangeJob['pass']): RangeJob => {
    const range = parts[seq] as PartitionRange;
    return { topic, range, staging, rowGroupRows, pass, seq, leader: leaders.get(range.partition) };
  };
  const jobs = jobsPerThread();
  const seqs = parts.map((_, i) => i);
  if (reversedPartitionOrder()) seqs.reverse();
  const bySeq = new Map<number, RangeResult>();
  for (const r of await pool.run(
    setup,
    seqs.map((i) => job(i, 'first')),
    jobs,
    progress,
  ))
    bySeq.set(r.seq, r);
  const again = seqs.filter((i) => ids.isDirty(i));
  for (const r of await pool.run(
    setup,
    again.map((i) => job(i, 'again')),
    jobs,
    progress,
  ))
    bySeq.set(r.seq, r);

  for (let i = 0; i < parts.length; i++) {
    const r = bySeq.get(i) as RangeResult;
    result.records += r.records;
    result.rejected += r.rejected;
    result.duplicates += r.duplicates;
    for (const o of OUTPUTS) {
      const f = r.outputs[o];
      if (!f) continue;
      result.outputs[o].files.push(f);
      result.outputs[o].rows += f.rows;
      result.outputs[o].bytes += f.bytes;
    }
  }
}

/** Ranges a worker thread works on at once: one being read while the last one uploads. */
function jobsPerThread(): number {
  return jobsPerThreadOverride() ?? 2;
}

/** Records in one output file at most: a longer partition range is split into equal parts. */
export const PART_RECORDS = 250_000;

/**
 * The day's non-empty ranges in reading order, each partition's cut into equal parts of at most
 * PART_RECORDS records, so threads share the work evenly. The cut depends on the range alone, so a
 * rerun writes the same files whatever the thread count.
 */
export function splitRanges(ranges: PartitionRange[], max = PART_RECORDS): PartitionRange[] {
  const out: PartitionRange[] = [];
  for (const r of [...ranges].sort((a, b) => a.partition - b.partition)) {
    const n = r.endOffset - r.startOffset;
    if (n <= 0) continue;
    const k = Math.ceil(n / max);
    for (let i = 0; i < k; i++) {
      out.push({
        partition: r.partition,
        startOffset: r.startOffset + Math.floor((n * i) / k),
        endOffset: r.startOffset + Math.floor((n * (i + 1)) / k),
      });
    }
  }
  return out;
}
