/**
 * An idempotent producer on the wire protocol for the API's hot path: record batches are encoded
 * straight into one buffer per partition (kafkajs spends ~20 µs a message building objects and
 * copies). Each `send` is one produce request per partition batch with acks=all; several may be
 * in flight (sequence numbers keep their order). A lost connection or a moved leader is answered
 * by sending the same batch again to the current leader (the broker drops what it already has);
 * any other failure leaves the producer unusable and the caller starts a new one (a new producer
 * id, so sequence numbers start clean). Metadata comes from kafkajs's admin client.
 */
import type { KafkaAccess } from '../../core/config.js';
import { ErrorCodes, GamepipeError, STACK_HINT } from '../../core/errors.js';
import { Backoff } from '../../core/retry.js';
import { leadersOf, maxMessageBytes, partitionLeaders, withAdmin } from '../admin.js';
import { partitionForKey } from '../partitioner.js';
import { WireReader, WireWriter } from './codec.js';
import { KafkaConnection, parseBroker } from './connection.js';
import { KAFKA_ERRORS, RETRIABLE_KAFKA_ERRORS } from './errors.js';
import { encodeRecordBatch, type OutMessage } from './record-batch.js';

const API_PRODUCE = 0;
const API_INIT_PRODUCER_ID = 22;
const PRODUCE_VERSION = 3; // the oldest Kafka 4 serves: record batches v2, no tagged fields

/** InitProducerId errors of a broker still loading its coordinator state: asking again works. */
const COORDINATOR_BUSY = new Set([14, 15, 16, 51]);

/**
 * A send that failed for some partitions: the batches of the partitions in `acknowledged` were
 * acknowledged (acks=all) all the same, so their messages landed and must not be reported failed.
 */
export class PartialSendError extends GamepipeError {
  constructor(
    failure: GamepipeError,
    readonly acknowledged: ReadonlySet<number>,
  ) {
    super(failure.code, failure.message, {
      hint: failure.hint,
      context: failure.context,
      retriable: failure.retriable,
      cause: failure,
    });
  }
}

/** The producer of one topic: a connection and a sequence per partition. */
export class WireProducer {
  private readonly sequences: Int32Array;
  private failed = false;

  /** A partition's connection being replaced, shared by the requests that found it broken. */
  private readonly replacing = new Map<number, Promise<void>>();

  private constructor(
    readonly topic: string,
    private readonly leaders: Map<number, KafkaConnection>,
    private readonly partitions: number,
    private readonly producerId: number,
    private readonly producerEpoch: number,
    /** The largest record batch the topic takes: a partition's messages go in batches below it. */
    private readonly maxBatchBytes: number,
    private readonly link: Link,
  ) {
    this.sequences = new Int32Array(partitions);
  }

  /** Looks up the topic's leaders, connects to them and gets a producer id. */
  static async connect(
    access: KafkaAccess,
    topic: string,
    {
      clientId = 'gamepipe-serve',
      timeoutMs = 10_000,
      route = (address: string) => address,
    }: { clientId?: string; timeoutMs?: number; route?: (address: string) => string } = {},
  ): Promise<WireProducer> {
    const link: Link = { access, clientId, timeoutMs, route };
    const {
      partitions,
      leaders: leaderOf,
      maxBytes,
    } = await withAdmin(
      access,
      async (admin) => ({
        ...(await leadersOf(admin, topic)),
        maxBytes: await maxMessageBytes(admin, topic),
      }),
      { topic },
    );
    if (partitions === 0) {
      throw new GamepipeError(ErrorCodes.topicNotFound, `topic ${topic} does not exist`, {
        hint: 'create it with `gamepipe topic create`',
        context: { topic },
      });
    }
    assertEveryPartitionLed(topic, partitions, leaderOf);
    const leaders = new Map<number, KafkaConnection>();
    try {
      // one connection per partition: a broker works on one request per connection at a time,
      // so the partitions' requests are appended in parallel
      for (const [partition, address] of leaderOf) {
        const c = connection(link, address);
        leaders.set(partition, c);
        await c.connect(1_000);
      }
      const any = leaders.values().next().value as KafkaConnection;
      // a broker that has just started answers "coordinator loading" for a moment: wait for it
      const backoff = new Backoff({
        retries: Infinity,
        initialMs: 50,
        maxMs: 1_000,
        deadline: Date.now() + timeoutMs,
      });
      for (;;) {
        const body = await any.request(
          API_INIT_PRODUCER_ID,
          0,
          new WireWriter().string(null).int32(60_000).toBuffer(),
        );
        const r = new WireReader(body);
        r.int32(); // throttle
        const error = r.int16();
        if (error === 0) {
          const producerId = r.int64();
          const producerEpoch = r.int16();
          return new WireProducer(
            topic,
            leaders,
            partitions,
            producerId,
            producerEpoch,
            maxBytes,
            link,
          );
        }
        if (!COORDINATOR_BUSY.has(error) || !(await backoff.next())) {
          throw produceError(error, topic);
        }
      }
    } catch (err) {
      for (const c of leaders.values()) c.close();
      throw err;
    }
  }

  /**
   * Sends the messages (partitioned by key like the Java client) with acks=all and resolves once
   * every partition's leader acknowledged them. After a rejection the producer must be replaced.
   */
  async send(messages: readonly OutMessage[], timeoutMs: number): Promise<void> {
    if (this.failed) {
      throw new GamepipeError(
        ErrorCodes.kafkaUnavailable,
        'this producer failed; start a new one',
        {
          retriable: true,
        },
      );
    }
    const byPartition = new Map<number, OutMessage[]>();
    const partitionOf = new Map<string, number>(); // a batch's events mostly share their Host
    for (const m of messages) {
      let p = partitionOf.get(m.key);
      if (p === undefined) {
        p = this.partitionFor(m.key);
        partitionOf.set(m.key, p);
      }
      let list = byPartition.get(p);
      if (!list) byPartition.set(p, (list = []));
      list.push(m);
    }
    const now = Date.now();
    // each partition's batches go in order on its own connection (sequences taken now follow
    // on); a batch stays under the topic's size limit
    const sends: Array<{ partition: number; sent: Promise<void> }> = [];
    for (const [partition, list] of byPartition) {
      for (const chunk of splitBySize(list, this.maxBatchBytes)) {
        // sequence numbers wrap to 0 after 2³¹ - 1, as the broker expects
        const seq = this.sequences[partition] as number;
        this.sequences[partition] = (seq + chunk.length) % 2 ** 31;
        const batch = encodeRecordBatch(chunk, this.producerId, this.producerEpoch, seq, now);
        sends.push({ partition, sent: this.deliver(partition, batch, timeoutMs) });
      }
    }
    // every batch is waited for: one partition's failure says nothing of the others'
    const outcomes = await Promise.allSettled(sends.map((s) => s.sent));
    const failedPartitions = new Set<number>();
    let first: unknown;
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') return;
      failedPartitions.add((sends[i] as { partition: number }).partition);
      first ??= o.reason;
    });
    if (failedPartitions.size === 0) return;
    this.failed = true;
    if (!(first instanceof GamepipeError)) throw first;
    const acknowledged = new Set([...byPartition.keys()].filter((p) => !failedPartitions.has(p)));
    throw new PartialSendError(first, acknowledged);
  }

  /** The partition a key goes to (murmur2 of the key, as the Java client places it). */
  partitionFor(key: string): number {
    return partitionForKey(Buffer.from(key), this.partitions);
  }

  /**
   * Sends one partition's batch (acks=all) until its leader acknowledges it. A lost connection or
   * a leader that moved is answered by sending the same bytes again — same producer id, epoch and
   * sequence — to the leader as it is now: the broker keeps a batch it already has once and
   * acknowledges it again, so an answer lost on the wire is neither a 503 nor a duplicate. Other
   * errors, and time past `timeoutMs`, fail the send.
   */
  private async deliver(partition: number, batch: Buffer, timeoutMs: number): Promise<void> {
    const backoff = new Backoff({
      retries: Infinity,
      initialMs: 50,
      maxMs: 1_000,
      deadline: Date.now() + timeoutMs,
    });
    for (;;) {
      const c = this.leaders.get(partition) as KafkaConnection;
      // the partition's error code, or the connection's failure (the batch may have landed)
      let outcome: number | GamepipeError;
      try {
        outcome = await this.produce(c, partition, batch, timeoutMs);
      } catch (err) {
        if (!(err instanceof GamepipeError) || !err.retriable || this.failed) throw err;
        outcome = err;
      }
      if (outcome === 0) return;
      const failure = typeof outcome === 'number' ? produceError(outcome, this.topic) : outcome;
      if (typeof outcome === 'number' && (!RESEND.has(outcome) || this.failed)) throw failure;
      if (!(await backoff.next())) throw failure;
      await this.replace(partition, c).catch(() => undefined); // tried again after the backoff
    }
  }

  /** One produce request of one partition's batch; the partition's error code (0: acknowledged). */
  private async produce(
    c: KafkaConnection,
    partition: number,
    batch: Buffer,
    timeoutMs: number,
  ): Promise<number> {
    const w = new WireWriter()
      .string(null) // transactional id
      .int16(-1) // acks=all
      .int32(timeoutMs)
      .int32(1)
      .string(this.topic)
      .int32(1)
      .int32(partition)
      .int32(batch.length)
      .bytes(batch);
    const body = await c.request(API_PRODUCE, PRODUCE_VERSION, w.toBuffer());
    const r = new WireReader(body);
    r.int32(); // topics: the one asked
    r.string();
    r.int32(); // partitions: the one asked
    r.int32(); // partition
    return r.int16();
  }

  /**
   * A new connection to the partition's leader as the cluster names it now, in place of `broken`
   * (once, however many requests found it broken).
   */
  private replace(partition: number, broken: KafkaConnection): Promise<void> {
    if (this.leaders.get(partition) !== broken) return Promise.resolve();
    let pending = this.replacing.get(partition);
    if (!pending) {
      pending = (async () => {
        const { leaders } = await partitionLeaders(this.link.access, this.topic);
        const address = leaders.get(partition);
        if (!address) {
          throw new GamepipeError(
            ErrorCodes.kafkaUnavailable,
            `${this.topic} partition ${partition} has no leader yet`,
            { retriable: true },
          );
        }
        const c = connection(this.link, address);
        await c.connect(1_000);
        if (this.failed) {
          c.close();
          return;
        }
        broken.close();
        this.leaders.set(partition, c);
      })().finally(() => this.replacing.delete(partition));
      this.replacing.set(partition, pending);
    }
    return pending;
  }

  close(): void {
    this.failed = true;
    for (const c of this.leaders.values()) c.close();
  }
}

/** How a producer reaches brokers: for its connections, and for new ones after a failure. */
interface Link {
  access: KafkaAccess;
  clientId: string;
  timeoutMs: number;
  /** Where to connect for a broker's address (tests put a proxy in between). */
  route: (address: string) => string;
}

function connection(link: Link, address: string): KafkaConnection {
  const { host, port } = parseBroker(link.route(address));
  return new KafkaConnection(host, port, {
    clientId: link.clientId,
    timeoutMs: link.timeoutMs,
    security: link.access.kafkaSecurity,
  });
}

/**
 * Produce errors answered by sending the same batch again (to the leader as it is now): the
 * leader moved or is being elected (5, 6, 74, 75), a timeout or a network error on the broker's
 * side (7, 13), too few in-sync replicas for now (19, 20), or an earlier batch of this partition
 * not there yet (45: it is being resent too). Epoch and producer-id errors are not: the producer
 * is replaced.
 */
const RESEND: ReadonlySet<number> = new Set([5, 6, 7, 13, 19, 20, 45, 74, 75]);

/**
 * Messages in runs whose record batch stays within `maxBytes` (a batch's header, and each record's
 * key, value and at most 23 bytes of lengths and deltas); a message too big alone gets a run of
 * its own, for the broker to refuse.
 */
export function splitBySize(messages: OutMessage[], maxBytes: number): OutMessage[][] {
  // the usual case, from string lengths alone: a UTF-16 unit is at most 3 bytes of UTF-8
  let bound = BATCH_HEADER_BYTES;
  for (const m of messages) bound += 3 * (m.key.length + m.value.length) + 23;
  if (bound <= maxBytes) return [messages];
  const runs: OutMessage[][] = [];
  let run: OutMessage[] = [];
  let size = BATCH_HEADER_BYTES;
  for (const m of messages) {
    const bytes = Buffer.byteLength(m.key) + Buffer.byteLength(m.value) + 23;
    if (run.length > 0 && size + bytes > maxBytes) {
      runs.push(run);
      run = [];
      size = BATCH_HEADER_BYTES;
    }
    run.push(m);
    size += bytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

const BATCH_HEADER_BYTES = 61;

/**
 * Keys go to partitions by the topic's partition count, as the Java client places them: a
 * partition without a leader (a broker down, an election under way) cannot take its keys, so the
 * producer does not start (retriable) rather than send them elsewhere or count fewer partitions.
 */
export function assertEveryPartitionLed(
  topic: string,
  partitions: number,
  leaders: ReadonlyMap<number, string>,
): void {
  const leaderless = Array.from({ length: partitions }, (_, p) => p).filter((p) => !leaders.has(p));
  if (leaderless.length > 0) {
    throw new GamepipeError(
      ErrorCodes.kafkaUnavailable,
      `${topic} partition ${leaderless.join(', ')} has no leader (of ${partitions})`,
      { hint: STACK_HINT, retriable: true, context: { topic, partitions: leaderless } },
    );
  }
}

function produceError(code: number, topic: string): GamepipeError {
  const name = KAFKA_ERRORS[code] ?? `error ${code}`;
  if (code === 3) {
    return new GamepipeError(ErrorCodes.topicNotFound, `topic ${topic} does not exist`, {
      hint: 'create it with `gamepipe topic create`',
      context: { topic },
    });
  }
  return new GamepipeError(ErrorCodes.kafkaUnavailable, `Kafka refused the events: ${name}`, {
    hint: STACK_HINT,
    retriable: RETRIABLE_KAFKA_ERRORS.has(code),
    context: { topic },
  });
}
