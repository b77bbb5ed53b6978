import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestPath } from '../../src/lib/lake/layout.js';
import { withHdfs } from '../../src/lib/hdfs/webhdfs.js';
import {
  corruptBatch,
  freshTopic,
  javaProduce,
  lakeEventIds,
  sampleEvents,
  produceRaw,
  runCli,
  stackConfig,
  uniqueName,
  extractArgs,
} from '../helpers.js';

const config = stackConfig();

/** The compression codecs of the batches in a topic's log segments on the broker's disk. */
function codecsInLog(topic: string, partitions: number): Set<number> {
  const codecs = new Set<number>();
  for (let p = 0; p < partitions; p++) {
    const log = readFileSync(
      join(config.home, 'kafka', 'data', `${topic}-${p}`, '00000000000000000000.log'),
    );
    for (let pos = 0; pos + 61 <= log.length; pos += 12 + log.readInt32BE(pos + 8)) {
      codecs.add(log.readInt16BE(pos + 21) & 7);
    }
  }
  return codecs;
}

describe('extract: record batches as other producers write them (real broker, the Java client)', function () {
  this.timeout(300_000);
  const base = `/tmp/gamepipe-test/${uniqueName('codecs')}`;

  after(async () => {
    await withHdfs(config, (hdfs) => hdfs.delete(base, { recursive: true }));
  });

  it('batches compressed with none, gzip, snappy, lz4 and zstd by the Java producer all land, each event once', async function () {
    const topic = await freshTopic('gp-test-codecs', 2);
    const day = new Date().toISOString().slice(0, 10);
    const sent: string[] = [];
    const lines: string[] = [];
    for (const [i, codec] of ['none', 'gzip', 'snappy', 'lz4', 'zstd'].entries()) {
      for (const e of sampleEvents(40, i)) {
        lines.push(`${codec}\t${e.key}\t${e.value}`);
        sent.push(e.id);
      }
    }
    await javaProduce(topic, lines, { brokers: config.brokers });
    // the log holds batches of every codec (attributes' low 3 bits), as the broker stored them
    assert.deepEqual([...codecsInLog(topic, 2)].sort(), [0, 1, 2, 3, 4]);
    if (new Date().toISOString().slice(0, 10) !== day) this.skip(); // midnight UTC passed
    const res = await runCli(extractArgs(day, topic, base, '--format', 'json'));
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as { records: number; rejected: number; duplicates: number };
    assert.deepEqual([r.records, r.rejected, r.duplicates], [200, 0, 0]);
    const ids = await lakeEventIds(base, day);
    assert.deepEqual([...ids.purchases, ...ids.join_guild].sort(), [...sent].sort());
  });

  it("a batch corrupted on the broker's disk stops extract with GP_KAFKA_CORRUPT naming partition and offset; nothing is published", async function () {
    const topic = await freshTopic('gp-test-corrupt', 1);
    const day = new Date().toISOString().slice(0, 10);
    // three produce requests: three batches, at offsets 0, 10 and 20
    for (let k = 0; k < 3; k++) {
      await produceRaw(
        topic,
        sampleEvents(10, k).map((e) => ({ key: e.key, value: e.value, timestampMs: Date.now() })),
      );
    }
    // a byte of the second batch's records flipped in the log segment, as a failing disk would
    corruptBatch(join(config.home, 'kafka', 'data', `${topic}-0`, '00000000000000000000.log'), 10);
    if (new Date().toISOString().slice(0, 10) !== day) this.skip();
    const lake = `${base}/corrupt`;
    const res = await runCli(extractArgs(day, topic, lake));
    assert.equal(res.code, 1, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(
        `^gamepipe: error GP_KAFKA_CORRUPT: ${topic} partition 0: record batch at offset 10 fails its CRC-32C check`,
      ),
    );
    const published = await withHdfs(config, (hdfs) => hdfs.stat(manifestPath(lake, day)));
    assert.equal(published, undefined, 'no manifest for the date');
  });
});
