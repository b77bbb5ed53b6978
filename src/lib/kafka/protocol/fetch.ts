/**
 * Reads one partition's offset range [start, end) straight from its leader with Fetch requests,
 * and walks the records in place: a visitor gets each record's offset, timestamp and the byte
 * positions of its key and value in the response buffer, with no per-record allocation. The next
 * fetch is sent before the current one is processed, so the broker works while we do.
 */
import { gunzipSync } from 'node:zlib';
import { ErrorCodes, GamepipeError, STACK_HINT } from '../../core/errors.js';
import { Backoff } from '../../core/retry.js';
import {
  KAFKA_ERRORS,
  KafkaConnection,
  readInt64,
  RETRIABLE_KAFKA_ERRORS,
  WireReader,
  WireWriter,
} from './wire.js';

const API_FETCH = 1;
const FETCH_VERSION = 4; // the oldest Kafka 4 serves; it has everything a bounded read needs
const READ_COMMITTED = 1;

/** Called for each record in the range; key and value are positions in `buf` (-1 start = null). */
export type RecordVisitor = (
  offset: number,
  timestamp: number,
  buf: Buffer,
  keyStart: number,
  keyEnd: number,
  valueStart: number,
  valueEnd: number,
) => void;

interface PartitionFetch {
  error: number;
  highWatermark: number;
  aborted: Array<{ producerId: number; firstOffset: number }>;
  records: Buffer | null;
}

function fetchRequest(
  topic: string,
  partition: number,
  offset: number,
  maxBytes: number,
  maxWaitMs: number,
): Buffer {
  return new WireWriter()
    .int32(-1) // replica id: a consumer
    .int32(maxWaitMs)
    .int32(1) // min bytes
    .int32(maxBytes)
    .int8(READ_COMMITTED)
    .int32(1)
    .string(topic)
    .int32(1)
    .int32(partition)
    .int64(offset)
    .int32(maxBytes)
    .toBuffer();
}

function parseFetchResponse(body: Buffer): PartitionFetch {
  const r = new WireReader(body);
  r.int32(); // throttle time
  const topics = r.int32();
  if (topics !== 1) throw protocolError(`fetch answered ${topics} topics, asked for 1`);
  r.string();
  const partitions = r.int32();
  if (partitions !== 1) {
    throw protocolError(`fetch answered ${partitions} partitions, asked for 1`);
  }
  r.int32(); // partition index
  const error = r.int16();
  const highWatermark = r.int64();
  r.int64(); // last stable offset
  const n = r.int32();
  const aborted: PartitionFetch['aborted'] = [];
  for (let i = 0; i < n; i++) aborted.push({ producerId: r.int64(), firstOffset: r.int64() });
  const size = r.int32();
  const records = size < 0 ? null : body.subarray(r.pos, r.pos + size);
  return { error, highWatermark, aborted, records };
}

/** Reads a record's fields forward from `pos`: zigzag varints, and skips. */
class RecordCursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
  ) {}

  /** The zigzag varint at `pos`; `pos` moves past it. */
  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    let raw = 0;
    let scale = 1;
    let b: number;
    do {
      b = buf[pos++] as number;
      raw += (b & 0x7f) * scale;
      scale *= 128;
    } while (b & 0x80);
    this.pos = pos;
    // zigzag, in float arithmetic so 64-bit varlongs below 2⁵³ stay exact
    return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
  }
}

/**
 * Walks the record batches of one fetch: calls `visit` for each data record with an offset in
 * [from, to), skipping control records and aborted transactions. Returns the offset to fetch next.
 */
export function walkRecords(
  buf: Buffer,
  from: number,
  to: number,
  txn: TransactionFilter,
  visit: RecordVisitor,
): number {
  let next = from;
  let pos = 0;
  while (pos + 61 <= buf.length) {
    const baseOffset = readInt64(buf, pos);
    const batchEnd = pos + 12 + buf.readInt32BE(pos + 8);
    if (batchEnd > buf.length) break; // a partial batch at the end of a fetch
    const magic = buf[pos + 16];
    if (magic !== 2) {
      throw new GamepipeError(
        ErrorCodes.kafka,
        `record batch at offset ${baseOffset} has message format v${magic}; only v2 is read`,
        {
          hint: 'Kafka 3 and 4 brokers write v2: check the topic was not written by a very old broker',
        },
      );
    }
    const attributes = buf.readInt16BE(pos + 21);
    const lastOffset = baseOffset + buf.readInt32BE(pos + 23);
    const baseTimestamp = readInt64(buf, pos + 27);
    const logAppendTime = (attributes & 0x08) !== 0;
    const maxTimestamp = readInt64(buf, pos + 35);
    const producerId = readInt64(buf, pos + 43);
    const count = buf.readInt32BE(pos + 57);
    const transactional = (attributes & 0x10) !== 0;
    const control = (attributes & 0x20) !== 0;
    const batchStart = pos;
    pos = batchEnd;
    if (lastOffset < from) continue;
    next = Math.max(next, lastOffset + 1);
    if (transactional) txn.reach(baseOffset);
    if (control) {
      if (transactional) txn.end(producerId);
      continue;
    }
    if (transactional && txn.isAborted(producerId)) continue;
    let records = buf;
    let start = batchStart + 61;
    let end = batchEnd;
    const codec = attributes & 0x07;
    if (codec === 1) {
      records = gunzipSync(buf.subarray(start, end));
      start = 0;
      end = records.length;
    } else if (codec !== 0) {
      const name = ['none', 'gzip', 'snappy', 'lz4', 'zstd'][codec] ?? `codec ${codec}`;
      throw new GamepipeError(
        ErrorCodes.kafka,
        `record batch at offset ${baseOffset} is compressed with ${name}; extract reads uncompressed and gzip batches`,
        { hint: 'set compression.type=none (or gzip) on the topic or the producer' },
      );
    }
    const at = new RecordCursor(records, start);
    for (let i = 0; i < count && at.pos < end; i++) {
      const length = at.varint();
      const recordEnd = at.pos + length;
      at.pos += 1; // attributes
      const tsDelta = at.varint();
      const offset = baseOffset + at.varint();
      const keyLength = at.varint();
      const keyStart = keyLength < 0 ? -1 : at.pos;
      const keyEnd = keyLength < 0 ? -1 : at.pos + keyLength;
      if (keyLength > 0) at.pos = keyEnd;
      const valueLength = at.varint();
      const valueStart = valueLength < 0 ? -1 : at.pos;
      const valueEnd = valueLength < 0 ? -1 : at.pos + valueLength;
      at.pos = recordEnd;
      if (offset < from) continue;
      if (offset >= to) return to;
      visit(
        offset,
        logAppendTime ? maxTimestamp : baseTimestamp + tsDelta,
        records,
        keyStart,
        keyEnd,
        valueStart,
        valueEnd,
      );
    }
  }
  return Math.min(next, to);
}

/**
 * read_committed: a transactional producer's records between an aborted transaction's first
 * offset and its end marker are skipped (the fetch response lists the aborted transactions).
 */
export class TransactionFilter {
  private pending: Array<{ producerId: number; firstOffset: number }> = [];
  private readonly aborting = new Set<number>();

  add(aborted: Array<{ producerId: number; firstOffset: number }>): void {
    if (aborted.length === 0) return;
    this.pending.push(...aborted);
    this.pending.sort((a, b) => a.firstOffset - b.firstOffset);
  }

  reach(offset: number): void {
    while (this.pending.length && (this.pending[0]?.firstOffset ?? Infinity) <= offset) {
      this.aborting.add((this.pending.shift() as { producerId: number }).producerId);
    }
  }

  end(producerId: number): void {
    this.aborting.delete(producerId);
  }

  isAborted(producerId: number): boolean {
    return this.aborting.has(producerId);
  }
}

export interface ReadRangeOptions {
  /** Opens a connection to the partition's leader; called again after a retriable failure. */
  connect: () => Promise<KafkaConnection>;
  topic: string;
  partition: number;
  startOffset: number;
  endOffset: number;
  /** Bytes per fetch: the memory one response and the one prefetched behind it take. */
  maxBytes?: number;
  maxWaitMs?: number;
  /** Retriable failures (broker restart, leader moved) tried again this many times in a row. */
  retries?: number;
  /** Fail when no record arrives for this long. */
  stallMs?: number;
  /** Called after each fetch is walked, with the offset reached; may wait (backpressure). */
  afterFetch?: (reached: number) => Promise<void> | void;
}

/**
 * Why a fetch that brought nothing new stops the read: the log now ends before the range does
 * (truncated, or the topic recreated), or nothing came for `stallMs` (an open transaction may hold
 * the log back). Undefined while it is only waiting.
 */
function noProgress(
  at: { topic: string; partition: number; offset: number; endOffset: number },
  highWatermark: number,
  waitedMs: number,
  stallMs: number,
): GamepipeError | undefined {
  const { topic, partition, offset, endOffset } = at;
  if (highWatermark <= offset) {
    return new GamepipeError(
      ErrorCodes.kafka,
      `${topic} partition ${partition} ends at offset ${highWatermark}, before the day's range end ${endOffset}`,
      {
        hint: 'the log was truncated or the topic recreated: rerun extract to read the current ranges',
      },
    );
  }
  if (waitedMs > stallMs) {
    return new GamepipeError(
      ErrorCodes.extractStalled,
      `no records from ${topic} partition ${partition} at offset ${offset} for ${Math.round(stallMs / 1000)} s`,
      {
        hint: 'an open transaction may hold the log back: check Kafka with `gamepipe status`, then rerun',
        retriable: true,
      },
    );
  }
  return undefined;
}

/**
 * Reads [startOffset, endOffset) of one partition and calls `visit` for every record in order,
 * exactly once each: after a retriable failure it reconnects and fetches again from the first
 * offset not yet visited. Fails with a coded error when the range is gone or the broker refuses.
 */
export async function readRange(
  {
    connect,
    topic,
    partition,
    startOffset,
    endOffset,
    maxBytes = 4 * 1024 * 1024,
    maxWaitMs = 500,
    retries = 5,
    stallMs = 120_000,
    afterFetch,
  }: ReadRangeOptions,
  visit: RecordVisitor,
): Promise<void> {
  const txn = new TransactionFilter();
  let connection = await connect();
  const fetchAt = (offset: number): Promise<PartitionFetch> => {
    const p = connection
      .request(
        API_FETCH,
        FETCH_VERSION,
        fetchRequest(topic, partition, offset, maxBytes, maxWaitMs),
      )
      .then(parseFetchResponse);
    p.catch(() => undefined); // a prefetch left behind by a failure must not go unhandled
    return p;
  };
  try {
    await readLoop();
  } finally {
    connection.close();
  }

  async function readLoop(): Promise<void> {
    let offset = startOffset;
    let inFlight = fetchAt(offset);
    const backoff = new Backoff({ retries, initialMs: 500, maxMs: 5_000 });
    let progressAt = Date.now();
    while (offset < endOffset) {
      let res: PartitionFetch;
      try {
        res = await inFlight;
        if (res.error !== 0) throw fetchError(res.error, topic, partition, offset);
      } catch (err) {
        const retriable = err instanceof GamepipeError && err.retriable;
        if (!retriable || !(await backoff.next())) throw err;
        connection.close();
        connection = await connect().catch((e: unknown) => {
          throw backoff.exhausted ? e : err;
        });
        inFlight = fetchAt(offset);
        continue;
      }
      backoff.reset();
      txn.add(res.aborted);
      const records = res.records ?? Buffer.alloc(0);
      // find where this response ends from the batch headers alone, and ask for the next part now
      const reached = lastOffsetIn(records, offset);
      if (reached === offset) {
        const stuck = noProgress(
          { topic, partition, offset, endOffset },
          res.highWatermark,
          Date.now() - progressAt,
          stallMs,
        );
        if (stuck) throw stuck;
      } else {
        progressAt = Date.now();
      }
      if (reached < endOffset) inFlight = fetchAt(reached);
      const next = walkRecords(records, offset, endOffset, txn, visit);
      offset = Math.max(next, reached);
      await afterFetch?.(offset);
    }
  }
}

/** The offset after the last complete batch of a fetch (batch headers only). */
function lastOffsetIn(buf: Buffer, from: number): number {
  let next = from;
  let pos = 0;
  while (pos + 61 <= buf.length) {
    const end = pos + 12 + buf.readInt32BE(pos + 8);
    if (end > buf.length) break;
    next = Math.max(next, readInt64(buf, pos) + buf.readInt32BE(pos + 23) + 1);
    pos = end;
  }
  return next;
}

function fetchError(code: number, topic: string, partition: number, offset: number): GamepipeError {
  const name = KAFKA_ERRORS[code] ?? `error ${code}`;
  if (code === 1) {
    return new GamepipeError(
      ErrorCodes.kafka,
      `offset ${offset} of ${topic} partition ${partition} is no longer in the log (${name}): retention deleted part of the day`,
      {
        hint: 'the day cannot be read in full; keep the existing output, or rerun with --force',
        context: { topic },
      },
    );
  }
  if (code === 3) {
    return new GamepipeError(ErrorCodes.topicNotFound, `topic ${topic} does not exist`, {
      hint: 'create it with `gamepipe topic create`, or pass --topic',
      context: { topic },
    });
  }
  return new GamepipeError(
    ErrorCodes.kafka,
    `fetching ${topic} partition ${partition} at offset ${offset} failed: ${name}`,
    {
      hint: STACK_HINT,
      retriable: RETRIABLE_KAFKA_ERRORS.has(code),
      context: { topic },
    },
  );
}

/** An answer that does not follow the protocol: a broker (or proxy) gamepipe cannot read. */
function protocolError(message: string): GamepipeError {
  return new GamepipeError(ErrorCodes.kafka, `Kafka protocol: ${message}`, {
    hint: 'check that --brokers points at Kafka (not a proxy or another service), then rerun',
  });
}
