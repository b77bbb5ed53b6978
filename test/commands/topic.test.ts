/**
 * The Kafka verbs an operator expects (issue 15, item 3), on the real broker: topic describe with
 * numbers, topic alter, topic delete (the configured events topic only when named twice), and
 * consume of one partition from an offset as kcat -J prints it.
 */
import assert from 'node:assert/strict';
import { freshTopic, produceRaw, runCli, uniqueName } from '../helpers.js';

interface Described {
  partitions: Array<{
    partition: number;
    leader: number;
    earliestOffset: number;
    latestOffset: number;
  }>;
}

describe('topic and consume: the Kafka verbs (real stack)', function () {
  this.timeout(120_000);

  it('describe gives offsets as numbers; alter adds partitions and refuses to remove them', async () => {
    const topic = await freshTopic('gp-alter', 2);
    await produceRaw(topic, [
      { key: 'a', value: '{}' },
      { key: 'b', value: '{}' },
    ]);
    const d = JSON.parse(
      (await runCli(['topic', 'describe', '--topic', topic, '--format', 'json'])).stdout,
    ) as Described;
    assert.equal(d.partitions.length, 2);
    assert.equal(
      d.partitions.reduce((n, p) => n + p.latestOffset, 0),
      2,
    );
    for (const p of d.partitions) assert.equal(typeof p.earliestOffset, 'number');

    const up = await runCli([
      'topic',
      'alter',
      '--topic',
      topic,
      '--partitions',
      '5',
      '--format',
      'json',
    ]);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(JSON.parse(up.stdout), { topic, partitionsBefore: 2, partitions: 5 });
    const after = JSON.parse(
      (await runCli(['topic', 'describe', '--topic', topic, '--format', 'json'])).stdout,
    ) as Described;
    assert.equal(after.partitions.length, 5);
    const down = await runCli(['topic', 'alter', '--topic', topic, '--partitions', '3']);
    assert.equal(down.code, 2);
    assert.match(
      down.stderr,
      /^gamepipe: error GP_USAGE: topic .* has 5 partitions; Kafka cannot take partitions away/,
    );
    const missing = await runCli([
      'topic',
      'alter',
      '--topic',
      uniqueName('nosuch'),
      '--partitions',
      '3',
    ]);
    assert.match(missing.stderr, /GP_TOPIC_NOT_FOUND/);
  });

  it('delete removes a topic; the configured events topic needs its name twice', async () => {
    const topic = await freshTopic('gp-delete', 1);
    // configured as the events topic: refused without --confirm
    const refused = await runCli(['topic', 'delete', topic], { env: { GAMEPIPE_TOPIC: topic } });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /GP_USAGE: .* is the configured events topic/);
    assert.match(refused.stderr, new RegExp(`--confirm ${topic}`));
    const listed = await runCli(['topic', 'list']);
    assert.match(listed.stdout, new RegExp(topic));
    const ok = await runCli(['topic', 'delete', topic, '--confirm', topic, '--format', 'json'], {
      env: { GAMEPIPE_TOPIC: topic },
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { topic, deleted: true });
    // another topic goes at once; a missing one is GP_TOPIC_NOT_FOUND
    const other = await freshTopic('gp-delete', 1);
    assert.equal((await runCli(['topic', 'delete', other])).code, 0);
    const again = await runCli(['topic', 'delete', other]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /GP_TOPIC_NOT_FOUND/);
  });

  it('consume one partition from an offset, -N or the beginning, as JSON lines with partition, offset, key and timestamp', async () => {
    const topic = await freshTopic('gp-consume', 1);
    const t0 = Date.parse('2026-11-20T10:00:00Z');
    await produceRaw(
      topic,
      Array.from({ length: 10 }, (_, i) => ({ key: i % 2 ? `k${i}` : null, value: `{"n":${i}}` })),
    );
    const read = async (...args: string[]) => {
      const r = await runCli([
        'consume',
        '--topic',
        topic,
        '--partition',
        '0',
        '--exit',
        '--format',
        'json',
        ...args,
      ]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(
          (l) =>
            JSON.parse(l) as {
              topic: string;
              partition: number;
              offset: number;
              timestamp: number;
              key: string | null;
              value: string;
            },
        );
    };
    const last3 = await read('--offset', '-3');
    assert.deepEqual(
      last3.map((r) => [r.offset, r.key, r.value]),
      [
        [7, 'k7', '{"n":7}'],
        [8, null, '{"n":8}'],
        [9, 'k9', '{"n":9}'],
      ],
    );
    for (const r of last3) {
      assert.equal(r.topic, topic);
      assert.equal(r.partition, 0);
      assert.ok(r.timestamp > t0, 'a broker timestamp in ms');
    }
    assert.deepEqual(
      (await read('--offset', '4', '--max', '2')).map((r) => r.offset),
      [4, 5],
    );
    assert.equal((await read('--offset', 'beginning')).length, 10);
    assert.equal((await read('--offset', 'end')).length, 0);
    const plain = await runCli([
      'consume',
      '--topic',
      topic,
      '--from-beginning',
      '--exit',
      '--max',
      '2',
    ]);
    assert.deepEqual(plain.stdout.trim().split('\n'), ['{"n":0}', '{"n":1}']);

    const bad = await runCli(['consume', '--topic', topic, '--partition', '3', '--exit']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /GP_USAGE: topic .* has no partition 3 \(it has 0\.\.0\)/);
    const far = await runCli(['consume', '--topic', topic, '--offset', '99', '--exit']);
    assert.equal(far.code, 2);
    assert.match(far.stderr, /GP_USAGE: offset 99 is outside partition 0 .* \(it holds 0\.\.9\)/);
    const word = await runCli(['consume', '--topic', topic, '--offset', 'middle']);
    assert.equal(word.code, 2);
    const none = await runCli(['consume', '--topic', uniqueName('nosuch'), '--exit']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /GP_TOPIC_NOT_FOUND/);
  });
});
