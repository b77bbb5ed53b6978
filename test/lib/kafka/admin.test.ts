import assert from 'node:assert/strict';
import { ErrorCodes, GamepipeError } from '../../../src/lib/core/errors.js';
import {
  createKafka,
  createTopic,
  describeTopic,
  listTopics,
  topicLeaders,
  withAdmin,
} from '../../../src/lib/kafka/admin.js';
import { assertEveryPartitionLed } from '../../../src/lib/kafka/protocol/produce.js';
import { runCli, stackConfig, uniqueName } from '../../helpers.js';

describe('lib/kafka against the real broker', () => {
  const config = stackConfig();
  const topics: string[] = [];

  after(async () => {
    await withAdmin(config, (admin) => admin.deleteTopics({ topics }));
  });

  it('produces and consumes a message on a random topic', async () => {
    const topic = uniqueName('gp-test');
    topics.push(topic);
    assert.deepEqual(await createTopic(config, { topic, partitions: 1 }), { topic, created: true });
    const kafka = createKafka({ brokers: config.brokers });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const before = Date.now();
    await producer.send({
      topic,
      acks: -1,
      messages: [{ key: 'user12.comcast.com', value: '{"event_type":"join_guild"}' }],
    });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('gp-test-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got = await new Promise<{ key: string; value: string; timestamp: number }>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) =>
          resolve({
            key: String(message.key),
            value: String(message.value),
            timestamp: Number(message.timestamp),
          }),
      });
    });
    await consumer.disconnect();
    assert.equal(got.key, 'user12.comcast.com');
    assert.equal(got.value, '{"event_type":"join_guild"}');
    // LogAppendTime: the broker's clock stamps the record
    assert.ok(got.timestamp >= before - 5_000 && got.timestamp <= Date.now() + 5_000);
  });

  it('the events topic that `up` created has message.timestamp.type=LogAppendTime (describeConfigs)', async () => {
    const d = await describeTopic(config, config.topic);
    assert.equal(d.configs['message.timestamp.type'], 'LogAppendTime');
    assert.ok(d.partitions.length >= 1);
  });

  it('topic create through the CLI: LogAppendTime, partitions, and a clear error when it exists', async () => {
    const topic = uniqueName('gp-cli');
    topics.push(topic);
    const created = await runCli(['topic', 'create', '--topic', topic, '--partitions', '4']);
    assert.equal(created.code, 0, created.stderr);
    const d = await describeTopic(config, topic);
    assert.equal(d.partitions.length, 4);
    assert.equal(d.configs['message.timestamp.type'], 'LogAppendTime');

    const again = await runCli(['topic', 'create', '--topic', topic]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^gamepipe: error GP_TOPIC_EXISTS: .*--if-not-exists/);
    const tolerant = await runCli(['topic', 'create', '--topic', topic, '--if-not-exists']);
    assert.equal(tolerant.code, 0, tolerant.stderr);
    assert.match(tolerant.stdout, /already exists/);

    assert.ok((await listTopics(config)).includes(topic));
    const listed = await runCli(['topic', 'list', '--format', 'json']);
    assert.ok((JSON.parse(listed.stdout) as string[]).includes(topic));
    const described = await runCli(['topic', 'describe', '--topic', topic, '--format', 'json']);
    assert.equal((JSON.parse(described.stdout) as { partitions: unknown[] }).partitions.length, 4);
  });

  it('describing a missing topic gives GP_TOPIC_NOT_FOUND', async () => {
    const err = await describeTopic(config, uniqueName('missing')).catch((e: unknown) => e);
    assert.ok(err instanceof GamepipeError);
    assert.equal(err.code, ErrorCodes.topicNotFound);
  });

  it('an unreachable broker gives GP_KAFKA_UNAVAILABLE, one line, non-zero exit, no stack trace', async () => {
    const res = await runCli(['topic', 'list', '--brokers', '127.0.0.1:1']);
    assert.equal(res.code, 1);
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.match(
      lines[0] ?? '',
      /^gamepipe: error GP_KAFKA_UNAVAILABLE: Kafka at 127\.0\.0\.1:1 is unreachable.*gamepipe up/,
    );
  });

  it('an unreachable NameNode gives GP_HDFS_UNAVAILABLE, one line, non-zero exit', async () => {
    const res = await runCli(['ls', '/', '--webhdfs-url', 'http://127.0.0.1:1']);
    assert.equal(res.code, 1);
    assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
    assert.match(
      res.stderr,
      /^gamepipe: error GP_HDFS_UNAVAILABLE: HDFS NameNode at http:\/\/127\.0\.0\.1:1 .*gamepipe up/,
    );
  });
});

describe('lib/kafka leaders: the partition count is the metadata’s, whatever the leaders', () => {
  const brokers = [
    { nodeId: 1, host: 'k1', port: 9092 },
    { nodeId: 2, host: 'k2', port: 9092 },
  ];

  it('a leaderless partition (-1, or a broker not in the cluster) is counted but has no leader', () => {
    const t = topicLeaders(
      [
        { partitionId: 0, leader: 1 },
        { partitionId: 1, leader: -1 },
        { partitionId: 2, leader: 2 },
        { partitionId: 3, leader: 7 },
      ],
      brokers,
    );
    assert.equal(t.partitions, 4);
    assert.deepEqual(
      [...t.leaders],
      [
        [0, 'k1:9092'],
        [2, 'k2:9092'],
      ],
    );
  });

  it('the producer does not start while a partition has no leader: a retriable GP_KAFKA_UNAVAILABLE naming it', () => {
    assert.throws(
      () =>
        assertEveryPartitionLed(
          'events',
          3,
          new Map([
            [0, 'k1:9092'],
            [2, 'k2:9092'],
          ]),
        ),
      (e: { code?: string; retriable?: boolean; message?: string }) =>
        e.code === 'GP_KAFKA_UNAVAILABLE' &&
        e.retriable === true &&
        /events partition 1 has no leader \(of 3\)/.test(e.message ?? ''),
    );
    assertEveryPartitionLed(
      'events',
      2,
      new Map([
        [0, 'k1:9092'],
        [1, 'k2:9092'],
      ]),
    );
  });
});
