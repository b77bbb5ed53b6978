import assert from 'node:assert/strict';
import { Partitioners } from 'kafkajs';
import { HostPartitioner, partitionForKey } from '../../../src/lib/kafka/partitioner.js';

describe('lib/partitioner', () => {
  const meta = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      partitionId: i,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    }));

  it('places every key where kafkajs (and the Java client) would', () => {
    const theirs = Partitioners.DefaultPartitioner();
    const ours = HostPartitioner();
    const keys = [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'user12.comcast.com',
      'ünïcødé-ключ',
      'x'.repeat(1001),
    ];
    for (let i = 1; i <= 600; i++)
      keys.push(`user${i % 99}.${['cox', 'att', 'google'][i % 3]}.com`);
    for (const n of [1, 3, 7, 12]) {
      for (const key of keys) {
        const args = { topic: 't', partitionMetadata: meta(n), message: { key, value: 'v' } };
        assert.equal(ours(args), theirs(args), `key ${key} over ${n} partitions`);
      }
    }
  });

  it('matches known values of Kafka murmur2 placement', () => {
    // kafka.common.utils.Utils.murmur2("21") = -973932308 → positive % 12 = 4 (from Kafka's tests)
    assert.equal(partitionForKey(Buffer.from('21'), 12), (-973932308 & 0x7fffffff) % 12);
  });
});
