import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { FingerprintSet } from './dedup.js';
import { VERSION } from './version.js';
import { ErrorCodes, GamepipeError } from './errors.js';
import { parseStoredEvent, type EventKind, type GameEvent } from './events.js';
import type { EachBatchPayload } from 'kafkajs';
import { createKafka, withAdmin, wrapKafkaError } from './kafka.js';
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

/** Appends an event to its output's columns, in the order of PURCHASE_COLUMNS / GUILD_COLUMNS. */
function appendEvent(
  buffer: ColumnBuffer,
  kind: EventKind,
  e: GameEvent,
  tsMs: number,
  partition: number,
  offset: number,
  kafkaTs: number,
): void {
  const d = buffer.data;
  let i = 0;
  const put = (v: string | number | bigint | null): void => void (d[i++] as unknown[]).push(v);
  put(e.event_id);
  put(e.event_type);
  put(tsMs);
  put(e.Host);
  put(e['User-Agent'] ?? null);
  put(e.Accept ?? null);
  if (kind === 'purchase') {
    put(e.item ?? null);
    put(e.price ?? null);
    put(e.currency ?? null);
    put(e.quantity ?? null);
  } else {
    put(e.guild_id ?? null);
    put(e.guild_name ?? null);
  }
  put(e.user_id ?? null);
  put(e.schema_version);
  put(partition);
  put(BigInt(offset));
  put(kafkaTs);
  buffer.rows++;
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

/**
 * Reads each partition's range in turn (the others paused) with a throw-away consumer group that
 * commits nothing, and streams rows into one file per output and partition.
 */
async function readDay(
  config: Pick<Config, 'brokers'>,
  hdfs: WebHdfs,
  { topic, ranges, staging, rowGroupRows, result, total, onProgress }: ReadDayOptions,
): Promise<void> {
  const todo = ranges.filter((r) => r.endOffset > r.startOffset);
  if (todo.length === 0) return;
  const seen = new FingerprintSet();
  const kafka = createKafka({ brokers: config.brokers, clientId: 'gamepipe-extract' });
  const consumer = kafka.consumer({
    groupId: `gamepipe-extract-${randomBytes(6).toString('hex')}`,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: 16 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
    maxWaitTimeInMs: 100,
  });
  let current = 0;
  let range = todo[0] as PartitionRange;
  let files: Partial<Record<Output, { file: HdfsParquetFile; buffer: ColumnBuffer }>> = {};
  let finish: (err?: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = (err?: unknown) => (err ? reject(err) : resolve());
  });
  let lastProgress = Date.now();

  const sink = (o: Output): { file: HdfsParquetFile; buffer: ColumnBuffer } => {
    let s = files[o];
    if (!s) {
      s = {
        file: new HdfsParquetFile(hdfs, `${staging}/${o}/${rangeFileName(range)}`, COLUMNS[o]),
        buffer: new ColumnBuffer(COLUMNS[o]),
      };
      files[o] = s;
    }
    return s;
  };

  const closeRange = async (): Promise<void> => {
    for (const o of OUTPUTS) {
      const s = files[o];
      if (!s) continue;
      await s.file.writeRowGroup(s.buffer);
      const bytes = await s.file.close();
      crashPoint('file-closed');
      result.outputs[o].files.push({ name: rangeFileName(range), rows: s.file.rows, bytes });
      result.outputs[o].rows += s.file.rows;
      result.outputs[o].bytes += bytes;
    }
    files = {};
  };

  const onBatch = async ({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> => {
    if (batch.partition !== range.partition) return;
    for (const m of batch.messages) {
      const offset = Number(m.offset);
      if (offset < range.startOffset) continue;
      if (offset >= range.endOffset) break;
      const kafkaTs = Number(m.timestamp);
      const raw = m.value ?? Buffer.alloc(0);
      const text = raw.toString('utf8');
      const parsed = parseStoredEvent(text);
      result.records++;
      let s: { file: HdfsParquetFile; buffer: ColumnBuffer } | undefined;
      if (!parsed.ok) {
        s = sink('_rejected');
        const key = m.key?.toString('utf8') ?? null;
        s.buffer.push([range.partition, BigInt(offset), kafkaTs, key, parsed.reason, text, raw]);
        result.rejected++;
      } else if (!seen.add(parsed.event.event_id)) {
        result.duplicates++;
      } else {
        s = sink(parsed.kind === 'purchase' ? 'purchases' : 'join_guild');
        const { kind, event, timestampMs } = parsed;
        appendEvent(s.buffer, kind, event, timestampMs, range.partition, offset, kafkaTs);
      }
      // only the output that just grew can have filled its row group
      if (s && s.buffer.rows >= rowGroupRows) {
        await s.file.writeRowGroup(s.buffer);
        crashPoint('row-group');
      }
      if (offset + 1 >= range.endOffset) break;
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) resolveOffset(last.offset);
    lastProgress = Date.now();
    onProgress?.({ partition: range.partition, read: result.records, total });
    await heartbeat();
    const lastOffset = last ? Number(last.offset) : -1;
    if (lastOffset + 1 >= range.endOffset) {
      await closeRange();
      current++;
      const next = todo[current];
      if (!next) {
        finish();
        return;
      }
      consumer.pause([{ topic, partitions: [range.partition] }]);
      range = next;
      consumer.seek({ topic, partition: next.partition, offset: String(next.startOffset) });
      consumer.resume([{ topic, partitions: [next.partition] }]);
    }
  };

  let failed = false;
  const stall = setInterval(() => {
    if (Date.now() - lastProgress > 120_000) {
      finish(
        new GamepipeError(
          ErrorCodes.extractStalled,
          `no records from ${topic} partition ${range.partition} for 120 s`,
          {
            hint: 'check Kafka with `gamepipe status`, then rerun: the output is untouched',
            retriable: true,
          },
        ),
      );
    }
  }, 5_000);

  try {
    await consumer.connect();
    consumer.on(consumer.events.CRASH, (e) => finish(e.payload.error));
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        // a failure must end the run, not make kafkajs replay the batch into half-written files
        if (failed) return;
        try {
          await onBatch(payload);
        } catch (err) {
          failed = true;
          finish(err);
        }
      },
    });
    const others = todo.slice(1).map((r) => r.partition);
    const idle = ranges.filter((r) => r.endOffset <= r.startOffset).map((r) => r.partition);
    if (others.length + idle.length > 0)
      consumer.pause([{ topic, partitions: [...others, ...idle] }]);
    consumer.seek({ topic, partition: range.partition, offset: String(range.startOffset) });
    await done;
  } catch (err) {
    for (const s of Object.values(files)) s?.file.abort();
    if (err instanceof GamepipeError) throw err;
    throw wrapKafkaError(err, { brokers: config.brokers, topic });
  } finally {
    clearInterval(stall);
    await consumer.disconnect().catch(() => undefined);
  }
}
