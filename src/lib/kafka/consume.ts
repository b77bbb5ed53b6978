import { randomBytes } from 'node:crypto';
import { kafkaAccess, type KafkaAccess } from '../core/config.js';
import type { GamepipeError } from '../core/errors.js';
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

export interface ConsumeOptions {
  topic: string;
  /** Start at the earliest offset instead of the end. */
  fromBeginning?: boolean;
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
export async function consumeTopic(
  config: KafkaAccess,
  { topic, fromBeginning = false, exitAtEnd = false, max, onRecord, signal }: ConsumeOptions,
): Promise<number> {
  const offsets = await withAdmin(
    config,
    async (admin) => {
      await assertTopicExists(admin, topic, config.brokers);
      return admin.fetchTopicOffsets(topic);
    },
    { topic },
  );
  // what is left to read per partition when --exit is set; from the end, nothing is
  const remaining = new Map<number, bigint>();
  for (const o of offsets) {
    const end = BigInt(o.high);
    const start = fromBeginning ? BigInt(o.low) : end;
    if (end > start) remaining.set(o.partition, end);
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
        { topic, fromBeginning, exitAtEnd, max, onRecord, signal },
        remaining,
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
  { topic, fromBeginning = false, exitAtEnd = false, max, onRecord, signal }: ConsumeOptions,
  endOffsets: ReadonlyMap<number, bigint>,
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
    await consumer.subscribe({ topic, fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (max !== undefined && count >= max) return;
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
