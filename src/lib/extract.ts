import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { FingerprintSet } from './dedup.js';
import { VERSION } from './version.js';
import { ErrorCodes, GamepipeError } from './errors.js';
import {
  itemOf,
  JOIN_GUILD,
  SCHEMA_VERSION,
  storedEventProblem,
  type GameEvent,
} from './events.js';
import { partitionLeaders, withAdmin } from './kafka.js';
import { readRange } from './kafka-fetch.js';
import { KafkaConnection, parseBroker } from './kafka-wire.js';
import {
  formatDate,
  manifestPath,
  outputDir,
  OUTPUTS,
  parseDate,
  rangeFileName,
  readManifest,
  stagingDir,
  trashDir,
  type Manifest,
  type ManifestFile,
  type Output,
  type PartitionRange,
} from './lake.js';
import {
  ColumnBuffer,
  GUILD_COLUMNS,
  HdfsParquetFile,
  PURCHASE_COLUMNS,
  REJECTED_COLUMNS,
  type ColumnSpec,
} from './parquet.js';
import { WebHdfs, withHdfs } from './webhdfs.js';

export interface ExtractOptions {
  date: string;
  topic: string;
  base: string;
  dryRun?: boolean;
  /** Replace an existing output even when the topic now holds fewer records for the date. */
  force?: boolean;
  rowGroupRows?: number;
  now?: Date;
  onProgress?: (p: { partition: number; read: number; total: number }) => void;
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

const COLUMNS: Record<Output, ColumnSpec[]> = {
  purchases: PURCHASE_COLUMNS,
  join_guild: GUILD_COLUMNS,
  _rejected: REJECTED_COLUMNS,
};

/**
 * The offset range of a UTC day in each partition, from Kafka's timestamp index: the topic uses
 * LogAppendTime, so record times never go back within a partition.
 */
export async function dayRanges(
  config: Pick<Config, 'brokers'>,
  topic: string,
  date: string,
): Promise<{ ranges: PartitionRange[]; dayClosed: boolean }> {
  const { startMs, endMs } = parseDate(date);
  return withAdmin(
    config,
    async (admin) => {
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
      return { ranges, dayClosed: Date.now() >= endMs };
    },
    { topic },
  );
}

/** Kills this process at a named point, so tests can crash a run exactly there (kill -9). */
function crashPoint(name: string): void {
  if (process.env.GAMEPIPE_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}

/**
 * Lands every event of a UTC date in `<base>/{purchases,join_guild}/date=D/` as Parquet, with bad
 * records in `<base>/_rejected/date=D/`, exactly once: files are written under a staging path,
 * published by HDFS renames, and the manifest is written last. A rerun replaces the output with
 * the same bytes; a crash leaves the previous output or none, and the next run cleans up.
 */
export async function extractDate(
  config: Pick<Config, 'brokers' | 'webhdfsUrl' | 'hdfsUser'>,
  {
    date,
    topic,
    base,
    dryRun = false,
    force = false,
    rowGroupRows = 100_000,
    now = new Date(),
    onProgress,
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
  const { ranges, dayClosed } = await dayRanges(config, topic, date);
  const total = ranges.reduce((n, r) => n + (r.endOffset - r.startOffset), 0);
  const result: ExtractResult = {
    date,
    topic,
    dryRun,
    dayClosed,
    ranges: ranges.map((r) => ({ ...r, records: r.endOffset - r.startOffset })),
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
  if (dryRun) {
    result.records = total;
    result.elapsedMs = Math.round(performance.now() - t0);
    return result;
  }

  await withHdfs(config, async (hdfs) => {
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
    const previous = await readManifest(hdfs, base, date);
    if (previous && previous.records > total && !force) {
      throw new GamepipeError(
        ErrorCodes.extractShrink,
        `topic ${topic} now holds ${total} records for ${date}, the lake has ${previous.records}: retention may have deleted part of the day`,
        {
          hint: 'keep the existing output, or rerun with --force to replace it with less',
          context: { date },
        },
      );
    }
    // a crashed run leaves its staging and trash behind: they are ours to clean
    await hdfs.delete(stagingDir(base, date), { recursive: true });
    await hdfs.delete(trashDir(base, date), { recursive: true });
    const runId = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const staging = `${stagingDir(base, date)}/${runId}`;
    for (const o of OUTPUTS) await hdfs.mkdirs(`${staging}/${o}`);

    await readDay(config, hdfs, {
      topic,
      ranges,
      staging,
      rowGroupRows,
      result,
      total,
      onProgress,
    });
    crashPoint('staged');

    // publish: the old manifest goes first, so no reader trusts a date while it changes
    await hdfs.delete(manifestPath(base, date));
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
    const manifest: Manifest = {
      date,
      topic,
      dayClosed,
      extractedAt: new Date().toISOString(),
      gamepipeVersion: VERSION,
      ranges,
      records: result.records,
      duplicates: result.duplicates,
      outputs: Object.fromEntries(
        OUTPUTS.map((o) => [o, { rows: result.outputs[o].rows, files: result.outputs[o].files }]),
      ) as Manifest['outputs'],
    };
    const staged = `${staging}/_SUCCESS`;
    await hdfs.create(staged, JSON.stringify(manifest, null, 2) + '\n', { overwrite: true });
    await hdfs.mkdirs(`${base}/_manifests/date=${date}`);
    await hdfs.rename(staged, manifestPath(base, date));
    await hdfs.delete(trashDir(base, date), { recursive: true });
    await hdfs.delete(stagingDir(base, date), { recursive: true });
  });
  result.elapsedMs = Math.round(performance.now() - t0);
  result.eventsPerSecond = Math.round(result.records / Math.max(0.001, result.elapsedMs / 1000));
  return result;
}

interface ReadDayOptions {
  topic: string;
  ranges: PartitionRange[];
  staging: string;
  rowGroupRows: number;
  result: ExtractResult;
  total: number;
  onProgress?: ExtractOptions['onProgress'];
}

/** The file of one output for one partition range, and its rows not yet written. */
class Sink {
  buffer: ColumnBuffer;
  /** Row groups filled while walking a fetch, written after it (row groups are exactly full). */
  full: ColumnBuffer[] = [];

  constructor(
    readonly file: HdfsParquetFile,
    private readonly columns: ColumnSpec[],
  ) {
    this.buffer = new ColumnBuffer(columns);
  }

  seal(): void {
    this.full.push(this.buffer);
    this.buffer = new ColumnBuffer(this.columns);
  }

  async writeFull(): Promise<void> {
    while (this.full.length) {
      await this.file.writeRowGroup(this.full.shift() as ColumnBuffer);
      crashPoint('row-group');
    }
  }
}

/**
 * Reads each partition's range in turn from its leader (Fetch requests, no consumer group, no
 * committed offsets) and streams rows into one file per output and partition range. Partitions go
 * one after another so the same duplicate is kept on every rerun.
 */
async function readDay(
  config: Pick<Config, 'brokers'>,
  hdfs: WebHdfs,
  { topic, ranges, staging, rowGroupRows, result, total, onProgress }: ReadDayOptions,
): Promise<void> {
  const todo = ranges.filter((r) => r.endOffset > r.startOffset);
  if (todo.length === 0) return;
  const seen = new FingerprintSet();
  let leaders = await partitionLeaders(config, topic);

  for (const range of todo) {
    const partition = range.partition;
    const sinks: Partial<Record<Output, Sink>> = {};
    const sink = (o: Output): Sink =>
      (sinks[o] ??= new Sink(
        new HdfsParquetFile(hdfs, `${staging}/${o}/${rangeFileName(range)}`, COLUMNS[o]),
        COLUMNS[o],
      ));

    const visit = (
      offset: number,
      kafkaTs: number,
      buf: Buffer,
      keyStart: number,
      keyEnd: number,
      valueStart: number,
      valueEnd: number,
    ): void => {
      result.records++;
      const text = valueStart < 0 ? '' : buf.toString('utf8', valueStart, valueEnd);
      let event: unknown;
      let reason: string | undefined;
      try {
        event = JSON.parse(text);
        reason = storedEventProblem(event);
      } catch {
        reason = 'not JSON';
      }
      let ts = NaN;
      if (reason === undefined) {
        ts = Date.parse((event as GameEvent).timestamp);
        if (Number.isNaN(ts)) reason = 'missing or invalid timestamp';
      }
      let s: Sink;
      if (reason !== undefined) {
        s = sink('_rejected');
        const key = keyStart < 0 ? null : buf.toString('utf8', keyStart, keyEnd);
        const raw =
          valueStart < 0 ? Buffer.alloc(0) : Buffer.from(buf.subarray(valueStart, valueEnd));
        s.buffer.push([partition, BigInt(offset), kafkaTs, key, reason, text, raw]);
        result.rejected++;
      } else {
        const e = event as GameEvent;
        if (!seen.add(e.event_id)) {
          result.duplicates++;
          return;
        }
        const guild = e.event_type === JOIN_GUILD;
        s = sink(guild ? 'join_guild' : 'purchases');
        appendEvent(s.buffer, guild, e, ts, partition, offset, kafkaTs);
      }
      if (s.buffer.rows >= rowGroupRows) s.seal();
    };

    try {
      await readRange(
        {
          connect: async () => {
            let leader = leaders.get(partition);
            if (!leader) {
              leaders = await partitionLeaders(config, topic);
              leader = leaders.get(partition);
            }
            if (!leader) {
              throw new GamepipeError(
                ErrorCodes.kafka,
                `${topic} partition ${partition} has no leader`,
                {
                  hint: 'check Kafka with `gamepipe status`, then rerun: the output is untouched',
                  retriable: true,
                },
              );
            }
            const { host, port } = parseBroker(leader);
            const connection = new KafkaConnection(host, port, 'gamepipe-extract');
            await connection.connect().catch((err: unknown) => {
              leaders.delete(partition); // ask for the leader again next time
              throw err;
            });
            return connection;
          },
          topic,
          partition,
          startOffset: range.startOffset,
          endOffset: range.endOffset,
          afterFetch: async () => {
            for (const o of OUTPUTS) await sinks[o]?.writeFull();
            onProgress?.({ partition, read: result.records, total });
          },
        },
        visit,
      );
      for (const o of OUTPUTS) {
        const s = sinks[o];
        if (!s) continue;
        await s.writeFull();
        await s.file.writeRowGroup(s.buffer);
        const bytes = await s.file.close();
        crashPoint('file-closed');
        result.outputs[o].files.push({ name: rangeFileName(range), rows: s.file.rows, bytes });
        result.outputs[o].rows += s.file.rows;
        result.outputs[o].bytes += bytes;
      }
    } catch (err) {
      for (const s of Object.values(sinks)) s?.file.abort();
      throw err;
    }
  }
}

/** Appends an event to its output's columns, in the order of PURCHASE_COLUMNS / GUILD_COLUMNS. */
function appendEvent(
  buffer: ColumnBuffer,
  guild: boolean,
  e: GameEvent,
  tsMs: number,
  partition: number,
  offset: number,
  kafkaTs: number,
): void {
  const d = buffer.data;
  let i = 0;
  d[i++]!.push(e.event_id);
  d[i++]!.push(e.event_type);
  d[i++]!.push(tsMs);
  d[i++]!.push(e.Host ?? '');
  d[i++]!.push(e['User-Agent'] ?? null);
  d[i++]!.push(e.Accept ?? null);
  if (guild) {
    d[i++]!.push(e.guild_id ?? null);
    d[i++]!.push(e.guild_name ?? null);
  } else {
    d[i++]!.push(itemOf(e.event_type));
    d[i++]!.push(e.price ?? null);
    d[i++]!.push(e.currency ?? null);
    d[i++]!.push(e.quantity ?? null);
  }
  d[i++]!.push(e.user_id ?? null);
  d[i++]!.push(SCHEMA_VERSION);
  d[i++]!.push(partition);
  d[i++]!.push(BigInt(offset));
  d[i++]!.push(kafkaTs);
  buffer.rows++;
}
