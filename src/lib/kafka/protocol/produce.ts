/**
 * An idempotent producer on the wire protocol for the API's hot path: record batches are encoded
 * straight into one buffer per partition (kafkajs spends ~20 µs a message building objects and
 * copies). Each `send` is one produce request per leader with acks=all; several may be in flight
 * (sequence numbers keep their order). A failure leaves the producer unusable and the caller
 * starts a new one (a new producer id, so sequence numbers start clean). Metadata comes from
 * kafkajs's admin client.
 */
import { ErrorCodes, GamepipeError, STACK_HINT } from '../../core/errors.js';
import { Backoff } from '../../core/retry.js';
import { leadersOf, maxMessageBytes, withAdmin } from '../admin.js';
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

/** The producer of one topic: a connection and a sequence per partition. */
export class WireProducer {
  private readonly sequences: Int32Array;
  private failed = false;

  private constructor(
    readonly topic: string,
    private readonly leaders: Map<number, KafkaConnection>,
    private readonly partitions: number,
    private readonly producerId: number,
    private readonly producerEpoch: number,
    /** The largest record batch the topic takes: a partition's messages go in batches below it. */
    private readonly maxBatchBytes: number,
  ) {
    this.sequences = new Int32Array(partitions);
  }

  /** Looks up the topic's leaders, connects to them and gets a producer id. */
  static async connect(
    brokers: readonly string[],
    topic: string,
    { clientId = 'gamepipe-serve', timeoutMs = 10_000 } = {},
  ): Promise<WireProducer> {
    const {
      partitions,
      leaders: leaderOf,
      maxBytes,
    } = await withAdmin(
      { brokers: [...brokers] },
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
        const { host, port } = parseBroker(address);
        const c = new KafkaConnection(host, port, clientId, timeoutMs);
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
          return new WireProducer(topic, leaders, partitions, producerId, producerEpoch, maxBytes);
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
        p = partitionForKey(Buffer.from(m.key), this.partitions);
        partitionOf.set(m.key, p);
      }
      let list = byPartition.get(p);
      if (!list) byPartition.set(p, (list = []));
      list.push(m);
    }
    const now = Date.now();
    // request k carries the k-th record batch of each partition: batches stay under the topic's
    // size limit, and a connection sends its requests in order, so sequences follow on
    const requests: Array<Map<KafkaConnection, Array<{ partition: number; batch: Buffer }>>> = [];
    for (const [partition, list] of byPartition) {
      const c = this.leaders.get(partition) as KafkaConnection;
      splitBySize(list, this.maxBatchBytes).forEach((chunk, k) => {
        // sequence numbers are taken now, so requests sent before this one is answered follow
        // on; they wrap to 0 after 2³¹ - 1, as the broker expects
        const seq = this.sequences[partition] as number;
        this.sequences[partition] = (seq + chunk.length) % 2 ** 31;
        const batch = encodeRecordBatch(chunk, this.producerId, this.producerEpoch, seq, now);
        const byConnection = (requests[k] ??= new Map());
        let entries = byConnection.get(c);
        if (!entries) byConnection.set(c, (entries = []));
        entries.push({ partition, batch });
      });
    }
    try {
      await Promise.all(
        requests.flatMap((byConnection) =>
          [...byConnection].map(([c, entries]) => this.produce(c, entries, timeoutMs)),
        ),
      );
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  /** One produce request on one leader's connection, acks=all; throws the first error. */
  private async produce(
    c: KafkaConnection,
    entries: Array<{ partition: number; batch: Buffer }>,
    timeoutMs: number,
  ): Promise<void> {
    const w = new WireWriter()
      .string(null) // transactional id
      .int16(-1) // acks=all
      .int32(timeoutMs)
      .int32(1)
      .string(this.topic)
      .int32(entries.length);
    for (const e of entries) w.int32(e.partition).int32(e.batch.length).bytes(e.batch);
    const body = await c.request(API_PRODUCE, PRODUCE_VERSION, w.toBuffer());
    const r = new WireReader(body);
    const topics = r.int32();
    for (let t = 0; t < topics; t++) {
      r.string();
      const n = r.int32();
      for (let i = 0; i < n; i++) {
        r.int32(); // partition
        const error = r.int16();
        r.pos += 16; // base offset, log append time
        if (error !== 0) throw produceError(error, this.topic);
      }
    }
  }

  close(): void {
    this.failed = true;
    for (const c of this.leaders.values()) c.close();
  }
}

/**
 * Messages in runs whose record batch stays within `maxBytes` (a batch's header, and each record's
 * key, value and at most 23 bytes of lengths and deltas); a message too big alone gets a run of
 * its own, for the broker to refuse.
 */
export function splitBySize(messages: OutMessage[], maxBytes: number): OutMessage[][] {
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
