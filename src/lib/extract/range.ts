/**
 * The work of one partition's day range, run by an extract worker thread: read the range from the
 * partition's leader, check each record, keep each event id once, and stream one Parquet file per
 * output to the staging directory.
 */
import { isUtf8 } from 'node:buffer';
import { crashPoint } from '../core/test-hooks.js';
import type { KafkaAccess } from '../core/config.js';
import { Claim, FingerprintSet, SharedIdTable } from '../lake/dedup.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import type { GameEvent } from '../events/event.js';
import { parseIsoTimestamp, reason as reasonText, storedEventProblem } from '../events/validate.js';
import { KafkaConnection, parseBroker } from '../kafka/protocol/connection.js';
import { readRange } from '../kafka/protocol/fetch.js';
import type { RecordVisitor } from '../kafka/protocol/record-batch.js';
import { OUTPUTS, rangeFileName, type Output, type PartitionRange } from '../lake/layout.js';
import { RowGroup } from '../lake/parquet/encoder.js';
import { HdfsParquetFile } from '../lake/parquet/hdfs-file.js';
import {
  appendEvent,
  appendRejected,
  OUTPUT_COLUMNS,
  outputOf,
  type KafkaOrigin,
} from '../lake/rows.js';
import type { WebHdfs } from '../hdfs/webhdfs.js';

const EMPTY = new Uint8Array(0);
const REASON_NOT_UTF8 = reasonText('not_utf8');
const REASON_NOT_JSON = reasonText('not_json');
const REASON_BAD_TIMESTAMP = reasonText('bad_timestamp');

export interface RangeJob {
  topic: string;
  range: PartitionRange;
  staging: string;
  rowGroupRows: number;
  /**
   * first: keep an id when the shared table says it is new here; again: the range is read a
   * second time after every partition was read, keeping ids this partition owns, once.
   */
  pass: 'first' | 'again';
  /** The job's place in reading order (partition, then offset): the owner of the ids it keeps. */
  seq: number;
  /** The partition leader's host:port, when known. */
  leader?: string;
}

export interface RangeResult {
  seq: number;
  partition: number;
  records: number;
  rejected: number;
  duplicates: number;
  outputs: Partial<Record<Output, { name: string; rows: number; bytes: number }>>;
}

export interface RangeHooks {
  /** Records read so far, after each fetch. */
  progress?: (read: number) => void;
  /** Every record is read and encoded: only the uploads are left to finish. */
  read?: () => void;
}

/**
 * Emptied row groups of each output, reused by this thread's ranges: a group's buffers (some MB
 * at 100,000 rows) are allocated a few times per thread, not once per row group.
 */
const spareGroups: Record<Output, RowGroup[]> = { purchases: [], join_guild: [], _rejected: [] };
/** Response buffers of closed Kafka connections, for this thread's next ones. */
const frameBuffers: Buffer[][] = [];
const MAX_SPARE = 2;

/** The file of one output for one partition range, and its rows not yet written. */
class Sink {
  group: RowGroup;
  /** Row groups filled while walking a fetch, written after it (row groups are exactly full). */
  full: RowGroup[] = [];

  constructor(
    readonly file: HdfsParquetFile,
    private readonly output: Output,
    private readonly rowGroupRows: number,
  ) {
    this.group = this.fresh();
  }

  seal(): void {
    this.full.push(this.group);
    this.group = this.fresh();
  }

  async writeFull(): Promise<void> {
    while (this.full.length) {
      await this.write(this.full.shift() as RowGroup);
      crashPoint('row-group');
    }
  }

  /** Writes the group being filled, the last of the range: the sink is done after it. */
  async writeLast(): Promise<void> {
    await this.write(this.group);
  }

  private async write(group: RowGroup): Promise<void> {
    await this.file.writeRowGroup(group);
    group.reset();
    const spare = spareGroups[this.output];
    if (spare.length < MAX_SPARE) spare.push(group);
  }

  private fresh(): RowGroup {
    // sized for a full group at once; rejected records are few, their buffers grow if need be
    const capacity = this.output === '_rejected' ? undefined : this.rowGroupRows;
    return spareGroups[this.output].pop() ?? new RowGroup(OUTPUT_COLUMNS[this.output], capacity);
  }
}

/** The files of one range, one per output that gets a row, created on its first row. */
class RangeSinks {
  private readonly sinks: Partial<Record<Output, Sink>> = {};

  constructor(
    private readonly hdfs: WebHdfs,
    private readonly staging: string,
    private readonly name: string,
    private readonly rowGroupRows: number,
  ) {}

  /** The sink of an output. */
  of(o: Output): Sink {
    return (this.sinks[o] ??= new Sink(
      new HdfsParquetFile(this.hdfs, `${this.staging}/${o}/${this.name}`, OUTPUT_COLUMNS[o]),
      o,
      this.rowGroupRows,
    ));
  }

  /** Writes the row groups filled during the last fetch. */
  async writeFull(): Promise<void> {
    for (const o of OUTPUTS) await this.sinks[o]?.writeFull();
  }

  /**
   * Encodes each output's last row groups, then waits for HDFS to finish all files at once;
   * `encoded` is called in between. Resolves with each output's file.
   */
  async finish(encoded: () => void): Promise<RangeResult['outputs']> {
    const outputs: RangeResult['outputs'] = {};
    const closing: Array<Promise<void>> = [];
    for (const o of OUTPUTS) {
      const s = this.sinks[o];
      if (!s) continue;
      await s.writeFull();
      await s.writeLast();
      closing.push(
        s.file.close().then((bytes) => {
          crashPoint('file-closed');
          outputs[o] = { name: this.name, rows: s.file.rows, bytes };
        }),
      );
    }
    encoded();
    await Promise.all(closing);
    return outputs;
  }

  /** Stops every upload: what was staged stays for the next run to clean up. */
  abort(): void {
    for (const s of Object.values(this.sinks)) s?.file.abort();
  }
}

/** Counts of what a range's records became. */
interface RecordCounts {
  records: number;
  rejected: number;
  duplicates: number;
}

/**
 * The callback readRange calls for each record: checks it, keeps its event id once (`keep`), and
 * appends it as a row of its output, or of `_rejected` with the reason.
 */
function recordVisitor(
  partition: number,
  sinks: RangeSinks,
  rowGroupRows: number,
  keep: (id: string) => boolean,
  counts: RecordCounts,
): RecordVisitor {
  // one origin, updated per record: nothing is allocated for a valid record but its event
  const from: KafkaOrigin = { partition, offset: 0, timestamp: 0 };
  return (offset, kafkaTs, buf, keyStart, keyEnd, valueStart, valueEnd) => {
    counts.records++;
    from.offset = offset;
    from.timestamp = kafkaTs;
    const text = valueStart < 0 ? '' : buf.toString('utf8', valueStart, valueEnd);
    let event: unknown;
    let reason: string | undefined;
    // the decoder turns bytes that are not UTF-8 into U+FFFD: only then are the bytes checked
    if (text.includes('\uFFFD') && !isUtf8(buf.subarray(valueStart, valueEnd))) {
      reason = REASON_NOT_UTF8;
    } else {
      try {
        event = JSON.parse(text);
        reason = storedEventProblem(event);
      } catch {
        reason = REASON_NOT_JSON;
      }
    }
    let ts = NaN;
    if (reason === undefined) {
      ts = parseTimestamp((event as GameEvent).timestamp);
      if (Number.isNaN(ts)) reason = REASON_BAD_TIMESTAMP;
    }
    let s: Sink;
    if (reason !== undefined) {
      s = sinks.of('_rejected');
      const rawBytes = valueStart < 0 ? EMPTY : buf.subarray(valueStart, valueEnd);
      const key = keyStart < 0 ? null : buf.toString('utf8', keyStart, keyEnd);
      appendRejected(s.group, { key, reason, raw: text, rawBytes }, from);
      counts.rejected++;
    } else {
      const e = event as GameEvent;
      if (!keep(e.event_id)) {
        counts.duplicates++;
        return;
      }
      s = sinks.of(outputOf(e));
      appendEvent(s.group, e, ts, from);
    }
    if (s.group.rows >= rowGroupRows) s.seal();
  };
}

/**
 * How readRange reaches the partition's leader: the one the job names first; every connection
 * after a failure asks the cluster for the leader again (it may have moved: NOT_LEADER, a broker
 * restarted). Connections reuse the response buffers of this thread's closed ones; `recycle`
 * hands theirs back once readRange has closed them.
 */
export function leaderConnector(
  config: KafkaAccess,
  topic: string,
  partition: number,
  leader: string | undefined,
): { connect: () => Promise<KafkaConnection>; recycle: () => void } {
  let known = leader;
  const connections: KafkaConnection[] = [];
  const connect = async (): Promise<KafkaConnection> => {
    if (connections.length > 0) known = undefined; // a reconnect: the leader may have moved
    if (known === undefined) {
      // kafkajs only to look the leader up again after a failure: a thread starts faster
      const { partitionLeaders } = await import('../kafka/admin.js');
      known = (await partitionLeaders(config, topic)).leaders.get(partition);
    }
    if (!known) {
      throw new GamepipeError(ErrorCodes.kafka, `${topic} partition ${partition} has no leader`, {
        hint: 'check Kafka with `gamepipe status`, then rerun: the output is untouched',
        retriable: true,
      });
    }
    const { host, port } = parseBroker(known);
    // readRange is done with a response before the one after next arrives: 2 buffers do
    const connection = new KafkaConnection(host, port, {
      clientId: 'gamepipe-extract',
      recycle: 2,
      pool: frameBuffers.pop() ?? [],
      security: config.kafkaSecurity,
    });
    connections.push(connection);
    await connection.connect();
    return connection;
  };
  const recycle = (): void => {
    for (const c of connections) if (frameBuffers.length < MAX_SPARE) frameBuffers.push(c.pool);
  };
  return { connect, recycle };
}

/** Lands one partition's range in staging; see RangeJob for the two passes. */
export async function extractRange(
  config: KafkaAccess,
  hdfs: WebHdfs,
  ids: SharedIdTable,
  { topic, range, staging, rowGroupRows, pass, seq, leader }: RangeJob,
  hooks: RangeHooks = {},
): Promise<RangeResult> {
  const partition = range.partition;
  const name = rangeFileName(range);
  const counts: RecordCounts = { records: 0, rejected: 0, duplicates: 0 };
  // the second pass keeps what this range owns, each id once
  const local = pass === 'again' ? new FingerprintSet(1 << 16) : undefined;
  const keep =
    local === undefined
      ? (id: string) => ids.claim(id, seq) === Claim.Keep
      : (id: string) => ids.ownerOf(id) === seq && local.add(id);
  if (pass === 'again') {
    // an output the first pass wrote may get no row now
    for (const o of OUTPUTS) await hdfs.delete(`${staging}/${o}/${name}`);
  }
  const sinks = new RangeSinks(hdfs, staging, name, rowGroupRows);
  const leaderConnection = leaderConnector(config, topic, partition, leader);
  try {
    await readRange(
      {
        connect: leaderConnection.connect,
        topic,
        partition,
        startOffset: range.startOffset,
        endOffset: range.endOffset,
        afterFetch: async () => {
          await sinks.writeFull();
          hooks.progress?.(counts.records);
        },
      },
      recordVisitor(partition, sinks, rowGroupRows, keep, counts),
    );
    // readRange closed its connections: their response buffers serve the thread's next range
    leaderConnection.recycle();
    const outputs = await sinks.finish(() => hooks.read?.());
    return { seq, partition, ...counts, outputs };
  } catch (err) {
    sinks.abort();
    throw err;
  }
}

/** The number written by the digits s[from, from + n), or -1 if one of them is not a digit. */
function digits(s: string, from: number, n: number): number {
  let v = 0;
  for (let k = from; k < from + n; k++) {
    const c = s.charCodeAt(k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Date.parse for the timestamps gamepipe writes (YYYY-MM-DDTHH:MM:SS[.mmm]Z), computed from the
 * digits; anything else (offsets, other precisions, days past the 28th) goes to Date.parse.
 */
export function parseTimestamp(s: string): number {
  const n = s.length;
  if (
    (n !== 20 && n !== 24) ||
    s.charCodeAt(4) !== 0x2d ||
    s.charCodeAt(7) !== 0x2d ||
    s.charCodeAt(10) !== 0x54 ||
    s.charCodeAt(13) !== 0x3a ||
    s.charCodeAt(16) !== 0x3a ||
    s.charCodeAt(n - 1) !== 0x5a ||
    (n === 24 && s.charCodeAt(19) !== 0x2e)
  ) {
    return parseIsoTimestamp(s);
  }
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  const ms = n === 24 ? digits(s, 20, 3) : 0;
  // Date.UTC reads years 0-99 as 1900-1999; -1 marks a non-digit
  if (
    year < 100 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > 28 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59 ||
    ms < 0
  ) {
    return parseIsoTimestamp(s);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}
