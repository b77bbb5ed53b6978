import assert from 'node:assert/strict';
import { createTopic } from '../../../src/lib/kafka/admin.js';
import { EventProducer } from '../../../src/lib/kafka/event-producer.js';
import { splitBySize } from '../../../src/lib/kafka/protocol/produce.js';
import { readTopic, stackConfig, uniqueName } from '../../helpers.js';

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
