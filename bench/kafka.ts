/**
 * bench/kafka — our Kafka wire client beside kafkajs, and beside an earlier build of ours:
 * produce (acks=all, idempotent) and read (read_committed, every value JSON.parse'd) of the same
 * events, ~350 bytes each, on a topic of 3 partitions; runs interleaved, each figure the median.
 * Targets: the running stack (one plaintext broker: what `GAMEPIPE_*` or the config says) and the
 * three-broker SASL_SSL cluster of the tests (test/cluster.ts, SCRAM-SHA-512, RF 3,
 * min.insync.replicas 2), which this bench starts and stops itself.
 *
 *   node --import tsx bench/kafka.ts [--n 1000000] [--cluster-n 200000] [--runs 3] [--other DIR]
 *     [--no-cluster]
 *
 * DIR: a `git worktree` of an earlier commit after `npm ci && npm run build`; its wire client runs
 * on the plaintext target only (builds before the security work speak plaintext only).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig, type KafkaAccess } from '../src/lib/core/config.js';
import { createKafka, createTopic } from '../src/lib/kafka/admin.js';
import { HostPartitioner } from '../src/lib/kafka/partitioner.js';
import { SecureCluster } from '../test/cluster.js';
import { makeEvent, ROOT, uniqueName } from '../test/helpers.js';

const { values: opts } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    'cluster-n': { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    other: { type: 'string' },
    'no-cluster': { type: 'boolean', default: false },
  },
});
const N = Number(opts.n);
const RUNS = Number(opts.runs);
// messages per send, as serve's producer takes at most (maxBatchMessages): a batch stays below 1 MB
const CHUNK = 2_000;

interface Message {
  key: string;
  value: string;
}

/** N events of 1,000 players, as `serve` writes them. */
function events(): Message[] {
  return Array.from({ length: N }, (_, i) => {
    const host = `user${i % 1000}.comcast.com`;
    const e = makeEvent({
      kind: i % 3 === 0 ? 'join_guild' : 'purchase',
      item: i % 3 === 0 ? undefined : 'sword',
      headers: {
        Host: host,
        'User-Agent': 'DragonQuestClient/2.14.3 (Android 14; Pixel 8) okhttp/4.12.0',
        Accept: 'application/json',
      },
      metadata:
        i % 3 === 0
          ? { guild_id: `g${i % 97}` }
          : { price: 4.99, currency: 'USD', quantity: 1 + (i % 3) },
    });
    return { key: host, value: JSON.stringify(e) };
  });
}

/** A build of our wire client: this checkout's, or an earlier one's (positional old API). */
interface Wire {
  name: string;
  produce(access: KafkaAccess, topic: string, messages: Message[]): Promise<void>;
  read(access: KafkaAccess, topic: string, ends: number[]): Promise<number>;
}

async function loadWire(dir: string, name: string): Promise<Wire> {
  const lib = join(dir, 'dist', 'lib', 'kafka');
  const { WireProducer } = (await import(join(lib, 'protocol', 'produce.js'))) as {
    WireProducer: {
      connect(
        a: unknown,
        topic: string,
      ): Promise<{
        send(m: Message[], timeoutMs: number): Promise<void>;
        close(): void;
      }>;
    };
  };
  const { readRange } = (await import(join(lib, 'protocol', 'fetch.js'))) as {
    readRange: (
      o: {
        connect: () => Promise<unknown>;
        topic: string;
        partition: number;
        startOffset: number;
        endOffset: number;
      },
      visit: (
        o: number,
        t: number,
        buf: Buffer,
        ks: number,
        ke: number,
        vs: number,
        ve: number,
      ) => void,
    ) => Promise<void>;
  };
  const { KafkaConnection } = (await import(join(lib, 'protocol', 'connection.js'))) as {
    KafkaConnection: new (
      host: string,
      port: number,
      ...rest: unknown[]
    ) => {
      connect(): Promise<void>;
    };
  };
  const { partitionLeaders } = (await import(join(lib, 'admin.js'))) as {
    partitionLeaders: (a: unknown, topic: string) => Promise<unknown>;
  };
  // the earlier builds took the brokers where this one takes a KafkaAccess
  const old = !('kafkaAccess' in (await import(join(dir, 'dist', 'lib', 'core', 'config.js'))));
  return {
    name,
    async produce(access, topic, messages) {
      const producer = await WireProducer.connect(old ? access.brokers : access, topic);
      try {
        // four requests in flight, as serve's producer keeps under load
        let next = 0;
        await Promise.all(
          Array.from({ length: 4 }, async () => {
            while (next < messages.length) {
              const chunk = messages.slice(next, (next += CHUNK));
              await producer.send(chunk, 30_000);
            }
          }),
        );
      } finally {
        producer.close();
      }
    },
    async read(access, topic, ends) {
      const found = await partitionLeaders(old ? { brokers: access.brokers } : access, topic);
      const leaders = (
        found instanceof Map ? found : (found as { leaders: Map<number, string> }).leaders
      ) as Map<number, string>;
      let parsed = 0;
      await Promise.all(
        ends.map((end, partition) => {
          const [host, port] = (leaders.get(partition) as string).split(':') as [string, string];
          const connect = async () => {
            const c = old
              ? new KafkaConnection(host, Number(port), 'bench', 30_000, 2, [])
              : new KafkaConnection(host, Number(port), {
                  clientId: 'bench',
                  recycle: 2,
                  security: access.kafkaSecurity,
                });
            await c.connect();
            return c;
          };
          return readRange(
            { connect, topic, partition, startOffset: 0, endOffset: end },
            (_o, _t, buf, _ks, _ke, vs, ve) => {
              JSON.parse(buf.toString('utf8', vs, ve));
              parsed++;
            },
          );
        }),
      );
      return parsed;
    },
  };
}

const kafkajs: Wire = {
  name: 'kafkajs 2.2',
  async produce(access, topic, messages) {
    const producer = createKafka(access).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: HostPartitioner,
    });
    await producer.connect();
    try {
      for (let i = 0; i < messages.length; i += CHUNK)
        await producer.send({ topic, acks: -1, messages: messages.slice(i, i + CHUNK) });
    } finally {
      await producer.disconnect();
    }
  },
  async read(access, topic, ends) {
    const total = ends.reduce((a, b) => a + b, 0);
    const consumer = createKafka(access).consumer({
      groupId: uniqueName('gp-bench'),
      readUncommitted: false,
      maxBytes: 16 * 1024 * 1024,
    });
    await consumer.connect();
    let parsed = 0;
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const m of batch.messages) {
                JSON.parse((m.value as Buffer).toString('utf8'));
                parsed++;
              }
              if (parsed >= total) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return parsed;
  },
};

/** The end offset of each partition (all three partitions written from offset 0). */
async function ends(access: KafkaAccess, topic: string): Promise<number[]> {
  const admin = createKafka(access).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.sort((a, b) => a.partition - b.partition).map((o) => Number(o.high));
  } finally {
    await admin.disconnect();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Row {
  target: string;
  n: number;
  client: string;
  produce: number[];
  read: number[];
}

async function benchTarget(
  target: string,
  access: KafkaAccess,
  clients: Wire[],
  messages: Message[],
): Promise<Row[]> {
  const n = messages.length;
  const rows = clients.map((c) => ({
    target,
    n,
    client: c.name,
    produce: [] as number[],
    read: [] as number[],
  }));
  for (let run = 0; run < RUNS; run++) {
    // interleaved: each run visits every client, in a rotated order
    for (let k = 0; k < clients.length; k++) {
      const i = (k + run) % clients.length;
      const client = clients[i] as Wire;
      const topic = `gp-bench-kafka-${randomBytes(4).toString('hex')}`;
      await createTopic(access, { topic, partitions: 3 });
      let t0 = performance.now();
      await client.produce(access, topic, messages);
      const produceS = (performance.now() - t0) / 1000;
      const offsets = await ends(access, topic);
      const landed = offsets.reduce((a, b) => a + b, 0);
      if (landed !== n) throw new Error(`${client.name} produced ${landed} of ${n} to ${topic}`);
      t0 = performance.now();
      const parsed = await client.read(access, topic, offsets);
      const readS = (performance.now() - t0) / 1000;
      if (parsed !== n) throw new Error(`${client.name} read ${parsed} of ${n}`);
      (rows[i] as Row).produce.push(n / produceS);
      (rows[i] as Row).read.push(n / readS);
      process.stderr.write(
        `  ${target} ${client.name}: produce ${Math.round(n / produceS)}/s, read ${Math.round(n / readS)}/s\n`,
      );
      const admin = createKafka(access).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  }
  return rows;
}

const messages = events();
const avgBytes = Math.round(messages.reduce((a, m) => a + m.value.length, 0) / N);
process.stderr.write(`bench/kafka: ${N} events of ~${avgBytes} bytes, ${RUNS} runs\n`);
const ours = await loadWire(ROOT, 'gamepipe (this checkout)');
const plainClients = [ours, kafkajs];
if (opts.other) plainClients.push(await loadWire(opts.other, `gamepipe (${opts.other})`));
const config = resolveConfig();
const rows = await benchTarget(
  `plaintext, 1 broker (${config.brokers.join(',')})`,
  config,
  plainClients,
  messages,
);
if (!opts['no-cluster']) {
  const cluster = await SecureCluster.start();
  try {
    rows.push(
      ...(await benchTarget(
        'SASL_SSL, 3 brokers, SCRAM-SHA-512, RF 3',
        cluster.config('scram512'),
        [ours, kafkajs],
        messages.slice(0, Number(opts['cluster-n'])),
      )),
    );
  } finally {
    await cluster.close();
  }
}
process.stdout.write(
  '\n| target | events | client | produce events/s | read records/s | runs (produce / read) |\n| --- | ---: | --- | ---: | ---: | --- |\n',
);
for (const r of rows) {
  const k = (x: number) => `${Math.round(x / 1000)}k`;
  process.stdout.write(
    `| ${r.target} | ${r.n} | ${r.client} | ${k(median(r.produce))} | ${k(median(r.read))} | ${r.produce.map(k).join(', ')} / ${r.read.map(k).join(', ')} |\n`,
  );
}
