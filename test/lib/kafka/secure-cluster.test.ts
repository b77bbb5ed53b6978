import assert from 'node:assert/strict';
import { KafkaSecurity, type Config } from '../../../src/lib/core/config.js';
import { GamepipeError } from '../../../src/lib/core/errors.js';
import { createTopic, probeKafka } from '../../../src/lib/kafka/admin.js';
import { KafkaConnection, parseBroker } from '../../../src/lib/kafka/protocol/connection.js';
import { WireProducer } from '../../../src/lib/kafka/protocol/produce.js';
import { sharedCluster, type SecureCluster, type User } from '../../cluster.js';
import { readTopic, uniqueName } from '../../helpers.js';

/** The error `fn` rejects with, which must be a GamepipeError. */
async function failure(fn: () => Promise<unknown>): Promise<GamepipeError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof GamepipeError, String((err as Error).stack ?? err));
    return err;
  }
  assert.fail('expected an error');
}

/** `config` with its security changed by `change`. */
function withSecurity(
  config: Config,
  change: (s: KafkaSecurity) => ConstructorParameters<typeof KafkaSecurity>,
): Config {
  const security = config.kafkaSecurity as KafkaSecurity;
  return { ...config, kafkaSecurity: new KafkaSecurity(...change(security)) };
}

describe('Kafka over SASL_SSL: three brokers, TLS, PLAIN and SCRAM (test/cluster.ts)', function () {
  this.timeout(300_000);
  let cluster: SecureCluster;

  before(async () => {
    cluster = await sharedCluster();
  });

  for (const user of ['plain', 'scram256', 'scram512'] as User[]) {
    it(`${user}: kafkajs and the wire client log in, produce with acks=all and read back`, async () => {
      const config = cluster.config(user);
      assert.equal((await probeKafka(config)).brokers, 3);
      const topic = uniqueName(`gp-sec-${user}`);
      await createTopic(config, { topic, partitions: 3 });
      const producer = await WireProducer.connect(config, topic);
      try {
        await producer.send(
          Array.from({ length: 300 }, (_, i) => ({ key: `user${i % 30}`, value: `{"n":${i}}` })),
          10_000,
        );
      } finally {
        producer.close();
      }
      const records = await readTopic(topic, config);
      assert.equal(records.length, 300);
      assert.deepEqual(
        records.map((r) => (JSON.parse(r.value) as { n: number }).n).sort((a, b) => a - b),
        Array.from({ length: 300 }, (_, i) => i),
      );
    });
  }

  it('a wrong password is GP_KAFKA_AUTH on both clients, and the password is in no message', async () => {
    const config = withSecurity(cluster.config('scram512'), (s) => [
      s.protocol,
      s.tls,
      { ...(s.sasl as NonNullable<KafkaSecurity['sasl']>), password: 'wrong-hunter2' },
    ]);
    const [host, port] = [
      parseBroker(cluster.brokers[0] as string).host,
      parseBroker(cluster.brokers[0] as string).port,
    ];
    const wire = await failure(() =>
      new KafkaConnection(host, port, { security: config.kafkaSecurity }).connect(),
    );
    assert.equal(wire.code, 'GP_KAFKA_AUTH', wire.message);
    assert.equal(wire.retriable, false);
    const js = await failure(() => probeKafka(config));
    assert.equal(js.code, 'GP_KAFKA_AUTH', js.message);
    for (const e of [wire, js]) {
      const shown = `${e.message} ${e.hint ?? ''} ${JSON.stringify(e.context)}`;
      assert.ok(!shown.includes('hunter2'), shown);
      assert.match(e.message, /scram512/);
    }
  });

  it('a certificate not signed by the configured CA is GP_KAFKA_AUTH with a hint, not a retry loop', async () => {
    const config = withSecurity(cluster.config('plain'), (s) => [
      s.protocol,
      { checkHostname: true }, // the system's CAs only
      s.sasl,
    ]);
    const { host, port } = parseBroker(cluster.brokers[0] as string);
    const wire = await failure(() =>
      new KafkaConnection(host, port, { security: config.kafkaSecurity }).connect(),
    );
    const js = await failure(() => probeKafka(config));
    for (const e of [wire, js]) {
      assert.equal(e.code, 'GP_KAFKA_AUTH', e.message);
      assert.match(e.hint ?? '', /kafkaSslCaFile/);
    }
  });

  it('plaintext against the SASL_SSL listener says to check kafkaSecurityProtocol', async () => {
    const { host, port } = parseBroker(cluster.brokers[0] as string);
    const c = new KafkaConnection(host, port, { timeoutMs: 5_000 });
    await c.connect();
    // ApiVersions v0: the TLS listener cannot read it and drops the connection
    const e = await failure(() => c.request(18, 0, Buffer.alloc(0)));
    c.close();
    assert.equal(e.code, 'GP_KAFKA_UNAVAILABLE');
    assert.match(e.hint ?? '', /kafkaSecurityProtocol \(PLAINTEXT\)/);
  });
});
