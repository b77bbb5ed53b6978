import { randomBytes } from 'node:crypto';
import { kafkaAccess, type KafkaAccess } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { withRetry } from '../core/retry.js';
import { assertTopicExists, createKafka, withAdmin, wrapKafkaError } from './admin.js';

export interface ConsumedRecord {
  partition: number;
  offset: string;
  /** Record timestamp (ms since epoch; LogAppendTime on the events topic). */
  timestamp: number;
  key: string | null;
  value: string;
}

/** Where reading starts in each partition: an offset, N from the end (negative), or an edge. */
export type StartOffset = 'beginning' | 'end' | number;

export interface ConsumeOptions {
  topic: string;
  /** Start at the earliest offset instead of the end (the same as offset 'beginning'). */
  fromBeginning?: boolean;
  /** Read this partition only. */
  partition?: number;
  /** Where to start: overrides fromBeginning. */
  offset?: StartOffset;
  /** Stop at the end of every partition, as it was when reading started. */
  exitAtEnd?: boolean;
  /** Stop after this many records. */
  max?: number;
  onRecord: (record: ConsumedRecord) => void | Promise<void>;
  /** Stops reading when aborted (Ctrl-C). */
  signal?: AbortSignal;
}

/**
 * Reads a topic like `kafkacat -C`: a throw-away consumer group that commits nothing, so reading
 * never moves anybody's offsets. Resolves with the number of records read.
 */
export async function consumeTopic(config: KafkaAccess, options: ConsumeOptions): Promise<number> {
  const { topic, fromBeginning = false, exitAtEnd = false, max, onRecord, signal } = options;
  const offsets = await withAdmin(
    config,
    async (admin) => {
      await assertTopicExists(admin, topic, config.brokers);
      return admin.fetchTopicOffsets(topic);
    },
    { topic },
  );
  const offset = options.offset ?? (fromBeginning ? 'beginning' : 'end');
  const starts = startOffsets(offsets, { topic, partition: options.partition, offset });
  // what is left to read per partition when --exit is set; from the end, nothing is
  const remaining = new Map<number, bigint>();
  for (const o of offsets) {
    const start = starts.get(o.partition);
    if (start !== undefined && BigInt(o.high) > start) remaining.set(o.partition, BigInt(o.high));
  }
  if ((exitAtEnd && remaining.size === 0) || max === 0) return 0;

  // A stack just started may still be loading its group coordinator (the first consumer group of
  // the cluster creates __consumer_offsets): kafkajs gives up on that at once. Before the first
  // record is delivered nothing is lost by starting again, so a retriable failure is retried.
  let delivered = 0;
  return withRetry(
    async () => {
      const res = await consumeOnce(
        config,
        { topic, exitAtEnd, max, onRecord, signal },
        remaining,
        starts,
        offset,
      );
      delivered = res.count;
      if (res.failure === undefined) return res.count;
      throw wrapKafkaError(res.failure, {
        brokers: config.brokers,
        topic,
        user: config.kafkaSecurity?.sasl?.username,
      });
    },
    {
      retries: 20,
      initialMs: 250,
      maxMs: 2_000,
      signal,
      retriable: (err) => delivered === 0 && (err as GamepipeError).retriable,
    },
  );
}

/** One consumer's run; the records it delivered, and why it stopped if it failed. */
async function consumeOnce(
  config: KafkaAccess,
  { topic, exitAtEnd = false, max, onRecord, signal }: ConsumeOptions,
  endOffsets: ReadonlyMap<number, bigint>,
  starts: ReadonlyMap<number, bigint>,
  offset: StartOffset,
): Promise<{ count: number; failure?: unknown }> {
  const remaining = new Map(endOffsets);
  const kafka = createKafka({ ...kafkaAccess(config), clientId: 'gamepipe-consume' });
  const consumer = kafka.consumer({
    groupId: `gamepipe-consume-${randomBytes(6).toString('hex')}`,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
  });
  let count = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let failure: unknown;
  const onAbort = (): void => finish();
  signal?.addEventListener('abort', onAbort);
  try {
    await consumer.connect();
    consumer.on(consumer.events.CRASH, (e) => {
      failure = e.payload.error;
      finish();
    });
    // an offset in the middle: seek there once the group has given us the partitions (kafkajs
    // refuses a seek before); records before it are skipped below until the seek takes effect
    if (typeof offset === 'number') {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [partition, at] of starts) {
          try {
            consumer.seek({ topic, partition, offset: String(at) });
          } catch {
            // not assigned yet: reading from the beginning and skipping is still right
          }
        }
      });
    }
    await consumer.subscribe({ topic, fromBeginning: offset !== 'end' });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (max !== undefined && count >= max) return;
        // a partition not asked for, or a record before the seek below took effect
        const start = starts.get(partition);
        if (start === undefined || BigInt(message.offset) < start) return;
        if (exitAtEnd && !remaining.has(partition)) return;
        count++;
        await onRecord({
          partition,
          offset: message.offset,
          timestamp: Number(message.timestamp),
          key: message.key === null ? null : message.key.toString('utf8'),
          value: message.value === null ? '' : message.value.toString('utf8'),
        });
        const end = remaining.get(partition);
        if (end !== undefined && BigInt(message.offset) + 1n >= end) remaining.delete(partition);
        if ((max !== undefined && count >= max) || (exitAtEnd && remaining.size === 0)) finish();
      },
    });
    await done;
  } catch (err) {
    failure = err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect().catch(() => undefined);
  }
  return { count, failure };
}

/**
 * The offset each partition's reading starts at: `beginning` (the earliest retained), `end`
 * (only what comes next), an offset, or N records before the end (-N). A partition or an offset
 * the topic does not have is GP_USAGE saying what it has.
 */
export function startOffsets(
  offsets: ReadonlyArray<{ partition: number; low: string; high: string }>,
  { topic, partition, offset }: { topic: string; partition?: number; offset: StartOffset },
): Map<number, bigint> {
  const chosen =
    partition === undefined ? offsets : offsets.filter((o) => o.partition === partition);
  if (chosen.length === 0) {
    throw new GamepipeError(
      ErrorCodes.usage,
      `topic ${topic} has no partition ${String(partition)} (it has 0..${offsets.length - 1})`,
      { hint: 'see `gamepipe topic describe`', context: { topic } },
    );
  }
  const out = new Map<number, bigint>();
  for (const o of chosen) {
    const low = BigInt(o.low);
    const high = BigInt(o.high);
    let start: bigint;
    if (offset === 'beginning') start = low;
    else if (offset === 'end') start = high;
    else if (offset < 0) start = high + BigInt(offset) > low ? high + BigInt(offset) : low;
    else {
      start = BigInt(offset);
      if (start < low || start > high) {
        throw new GamepipeError(
          ErrorCodes.usage,
          `offset ${offset} is outside partition ${o.partition} of ${topic} (it holds ${low}..${high - 1n})`,
          { hint: 'give an offset in that range, -N for the last N records, beginning or end' },
        );
      }
    }
    out.set(o.partition, start);
  }
  return out;
}
