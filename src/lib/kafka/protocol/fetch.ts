/**
 * Reads one partition's offset range [start, end) straight from its leader with Fetch requests,
 * and walks the records in place: a visitor gets each record's offset, timestamp and the byte
 * positions of its key and value in the response buffer, with no per-record allocation. The next
 * fetch is sent before the current one is processed, so the broker works while we do.
 */
import { ErrorCodes, GamepipeError, STACK_HINT } from '../../core/errors.js';
import { Backoff } from '../../core/retry.js';
import { readInt64, WireReader, WireWriter } from './codec.js';
import type { KafkaConnection } from './connection.js';
import { KAFKA_ERRORS, RETRIABLE_KAFKA_ERRORS } from './errors.js';
import { TransactionFilter, walkRecords, type RecordVisitor } from './record-batch.js';

const API_FETCH = 1;
const FETCH_VERSION = 4; // the oldest Kafka 4 serves; it has everything a bounded read needs
const READ_COMMITTED = 1;

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

  /** A new connection (to the leader as it is now); a failed attempt is retried with backoff. */
  async function reconnect(backoff: Backoff): Promise<KafkaConnection> {
    for (;;) {
      try {
        return await connect();
      } catch (err) {
        if (!isRetriable(err) || !(await backoff.next())) throw err;
      }
    }
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
        if (!isRetriable(err) || !(await backoff.next())) throw err;
        connection.close();
        connection = await reconnect(backoff);
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
      let next: number;
      try {
        next = walkRecords(records, offset, endOffset, txn, visit);
      } catch (err) {
        throw inPartition(err, topic, partition);
      }
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

function isRetriable(err: unknown): boolean {
  return err instanceof GamepipeError && err.retriable;
}

/** A corrupt batch's error, its message naming the topic and partition too. */
function inPartition(err: unknown, topic: string, partition: number): unknown {
  if (!(err instanceof GamepipeError) || err.code !== ErrorCodes.kafkaCorrupt) return err;
  return new GamepipeError(err.code, `${topic} partition ${partition}: ${err.message}`, {
    hint: err.hint,
    cause: err.cause,
    context: { ...err.context, topic, partition },
  });
}
