import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo } from 'node:net';
import type { KafkaAccess } from '../../../src/lib/core/config.js';
import { createTopic } from '../../../src/lib/kafka/admin.js';
import { EventProducer } from '../../../src/lib/kafka/event-producer.js';
import { parseBroker } from '../../../src/lib/kafka/protocol/connection.js';
import { partitionForKey } from '../../../src/lib/kafka/partitioner.js';
import { splitBySize, WireProducer } from '../../../src/lib/kafka/protocol/produce.js';
import { sharedCluster } from '../../cluster.js';
import { readTopic, stackConfig, uniqueName } from '../../helpers.js';

/**
 * A TCP proxy in front of a broker (the test stack's, or `upstream`; producers reach it through
 * `route`) that hands the first answer to a produce request to `first`: it returns the bytes to
 * pass on, or undefined to drop the connection instead. `handed` says whether it did. A produce
 * request is told by its API key, or over TLS, where the proxy sees only ciphertext, by its size
 * (`tlsProduceBytes`: more than any login or metadata request).
 */
async function produceProxy(
  first: (answer: Buffer) => Buffer | undefined,
  { upstream = stackConfig().brokers[0] as string, tlsProduceBytes = 0 } = {},
): Promise<{ via: string; close: () => void; handed: () => boolean }> {
  const { host, port } = parseBroker(upstream);
  let handed = false;
  const server = createServer((client) => {
    const upstream = connect(port, host);
    let producing = false;
    client.on('data', (d: Buffer) => {
      if (
        tlsProduceBytes > 0 ? d.length > tlsProduceBytes : d.length >= 6 && d.readInt16BE(4) === 0
      )
        producing = true; // API key 0: Produce
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      let out: Buffer | undefined = d;
      if (producing && !handed) {
        handed = true;
        out = first(d);
      }
      if (out) client.write(out);
      else {
        client.destroy();
        upstream.destroy();
      }
    });
    for (const s of [client, upstream]) s.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    via: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => server.close(),
    handed: () => handed,
  };
}

describe("lib/kafka producer: record batches within the topic's max.message.bytes", function () {
  this.timeout(60_000);

  it('splits a partition’s messages into runs below the limit, in order, a big message alone', () => {
    const m = (n: number, i: number) => ({ key: 'k', value: String(i).padEnd(n, '.') });
    const messages = [m(100, 0), m(100, 1), m(100, 2), m(1_000, 3), m(100, 4)];
    const runs = splitBySize(messages, 61 + 2 * (1 + 100 + 23));
    assert.deepEqual(
      runs.map((r) => r.map((x) => x.value[0])),
      [['0', '1'], ['2'], ['3'], ['4']],
    );
    assert.deepEqual(runs.flat(), messages);
  });

  it('a request of more bytes than the topic takes in one batch is acknowledged and lands whole, in order', async () => {
    const config = stackConfig();
    const topic = uniqueName('gp-test-maxbytes');
    await createTopic(config, {
      topic,
      partitions: 1,
      configEntries: { 'max.message.bytes': '20000' },
    });
    const producer = new EventProducer({ brokers: config.brokers, topic });
    try {
      // 300 events of ~500 bytes, one key: 150 KB for one partition, the topic takes 20 KB a batch
      const messages = Array.from({ length: 300 }, (_, i) => ({
        key: 'user1.comcast.com',
        value: JSON.stringify({ i, pad: 'x'.repeat(480) }),
      }));
      await producer.send(messages);
      const landed = await readTopic(topic, config);
      assert.deepEqual(
        landed.map((r) => (JSON.parse(r.value) as { i: number }).i),
        messages.map((_, i) => i),
      );
    } finally {
      await producer.close();
    }
  });
});

/**
 * Sends `n` messages to `topic` through `proxy`, which drops the first produce answer (the batch
 * landed, the answer is lost), then one more: the topic must hold all n + 1, once each, in order.
 * `pad` makes each value that many bytes longer.
 */
async function sendThroughLostAnswer(
  config: KafkaAccess,
  topic: string,
  proxy: Awaited<ReturnType<typeof produceProxy>>,
  { n, pad = 0, timeoutMs }: { n: number; pad?: number; timeoutMs: number },
): Promise<void> {
  const producer = await WireProducer.connect(config, topic, { route: () => proxy.via });
  const message = (i: number) => ({
    key: 'user1.comcast.com',
    value: JSON.stringify(pad > 0 ? { i, pad: 'x'.repeat(pad) } : { i }),
  });
  try {
    await producer.send(
      Array.from({ length: n }, (_, i) => message(i)),
      timeoutMs,
    );
    assert.ok(proxy.handed(), 'the first answer was dropped');
    await producer.send([message(n)], timeoutMs);
    const landed = (await readTopic(topic, config)).map(
      (r) => (JSON.parse(r.value) as { i: number }).i,
    );
    assert.deepEqual(
      landed,
      Array.from({ length: n + 1 }, (_, i) => i),
    );
  } finally {
    producer.close();
    proxy.close();
  }
}

describe('lib/kafka producer: an answer lost on the wire (real broker, a TCP proxy)', function () {
  this.timeout(60_000);

  it('the batch is sent again with the same sequence: acknowledged, and in the topic exactly once', async () => {
    const config = stackConfig();
    const topic = uniqueName('gp-test-lostack');
    await createTopic(config, { topic, partitions: 1 });
    const proxy = await produceProxy(() => undefined);
    await sendThroughLostAnswer(config, topic, proxy, { n: 100, timeoutMs: 10_000 });
  });
});

describe('lib/kafka producer: an answer lost on the wire over SASL_SSL (three brokers, a TCP proxy)', function () {
  this.timeout(300_000);

  it('the batch is sent again with the same sequence on a new TLS connection, logged in again: in the topic exactly once', async () => {
    const cluster = await sharedCluster();
    const config = cluster.config('scram512');
    const topic = uniqueName('gp-sec-lostack');
    await createTopic(config, { topic, partitions: 1 });
    const leader = (await cluster.leaders(topic)).get(0) as number;
    const upstream = cluster.brokers[leader - 1] as string;
    // 200 values of ~200 bytes: the produce request is the only one of more than 16 KB
    const proxy = await produceProxy(() => undefined, { upstream, tlsProduceBytes: 16_384 });
    await sendThroughLostAnswer(config, topic, proxy, { n: 200, pad: 200, timeoutMs: 20_000 });
  });
});

describe('lib/kafka producer: answers that say the leader moved, or that the producer is fenced (real broker, a proxy rewriting the answer)', function () {
  this.timeout(60_000);

  /**
   * The first produce answer with its error code set to `code` (the batch itself landed). Produce
   * v3 answer: size, correlation id, topics (1), topic name, partitions (1), partition index,
   * error code, ...
   */
  const rewritingProxy = (topic: string, code: number) =>
    produceProxy((answer) => {
      const at = 4 + 4 + 4 + 2 + Buffer.byteLength(topic) + 4 + 4;
      assert.equal(answer.readInt16BE(at), 0, 'the broker accepted the batch');
      answer.writeInt16BE(code, at);
      return answer;
    });

  it('NOT_LEADER_OR_FOLLOWER: the same batch goes again and the broker keeps it once', async () => {
    const config = stackConfig();
    const topic = uniqueName('gp-test-notleader');
    await createTopic(config, { topic, partitions: 1 });
    const proxy = await rewritingProxy(topic, 6);
    const producer = await WireProducer.connect(config, topic, { route: () => proxy.via });
    try {
      const messages = Array.from({ length: 50 }, (_, i) => ({ key: 'k', value: String(i) }));
      await producer.send(messages, 10_000);
      assert.ok(proxy.handed(), 'the first answer was rewritten');
      const landed = (await readTopic(topic, config)).map((r) => Number(r.value));
      assert.deepEqual(
        landed,
        Array.from({ length: 50 }, (_, i) => i),
      );
    } finally {
      producer.close();
      proxy.close();
    }
  });

  it('a refusal on one partition fails only the requests with events there: the others are answered as landed', async () => {
    const config = stackConfig();
    const topic = uniqueName('gp-test-partial');
    await createTopic(config, { topic, partitions: 2 });
    // a key for each partition, as the producer places them
    const keys = [0, 1].map((p) => {
      for (let i = 0; ; i++)
        if (partitionForKey(Buffer.from(`user${i}`), 2) === p) return `user${i}`;
    });
    const proxy = await rewritingProxy(topic, 47);
    // both requests wait for each other and go in one send, a batch on each partition
    const producer = new EventProducer({ ...config, topic, lingerMs: 50, route: () => proxy.via });
    try {
      const answers = await Promise.allSettled(
        keys.map((key) => producer.send([{ key, value: key }])),
      );
      assert.ok(proxy.handed(), 'one produce answer was rewritten');
      assert.deepEqual(answers.map((a) => a.status).sort(), ['fulfilled', 'rejected']);
      const refused = answers.find((a) => a.status === 'rejected') as PromiseRejectedResult;
      assert.match(String(refused.reason), /INVALID_PRODUCER_EPOCH/);
      // the request answered as landed is in the topic
      const landed = keys[answers.findIndex((a) => a.status === 'fulfilled')];
      assert.ok((await readTopic(topic, config)).some((r) => r.value === landed));
    } finally {
      await producer.close();
      proxy.close();
    }
  });

  it('INVALID_PRODUCER_EPOCH is not resent: the send fails at once, naming it, for a new producer to take over', async () => {
    const config = stackConfig();
    const topic = uniqueName('gp-test-fenced');
    await createTopic(config, { topic, partitions: 1 });
    const proxy = await rewritingProxy(topic, 47);
    const producer = await WireProducer.connect(config, topic, { route: () => proxy.via });
    try {
      const t0 = Date.now();
      await assert.rejects(
        producer.send([{ key: 'k', value: 'x' }], 10_000),
        (e: { code?: string; message?: string }) =>
          e.code === 'GP_KAFKA_UNAVAILABLE' && /INVALID_PRODUCER_EPOCH/.test(e.message ?? ''),
      );
      assert.ok(
        Date.now() - t0 < 2_000,
        `failed after ${Date.now() - t0} ms, not resent until the timeout`,
      );
    } finally {
      producer.close();
      proxy.close();
    }
  });
});
