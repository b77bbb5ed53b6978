import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '../../src/lib/api/server.js';
import { formatDate, outputDir } from '../../src/lib/lake/layout.js';
import { withHdfs } from '../../src/lib/hdfs/webhdfs.js';
import { freshTopic, runCli, stackConfig, uniqueName } from '../helpers.js';

describe('verify: the generator ledger against the lake (real stack)', function () {
  this.timeout(240_000);
  const config = stackConfig();

  it('every acknowledged event is found exactly once; a missing or duplicated one fails with its id', async () => {
    const topic = await freshTopic('gp-verify');
    const base = `/tmp/gamepipe-test/${uniqueName('lake')}`;
    const dir = mkdtempSync(join(tmpdir(), 'gp-verify-'));
    const ledger = join(dir, 'ledger.jsonl');
    const api = await startApi({ brokers: config.brokers, topic, port: 0 });
    try {
      const gen = await runCli([
        'generate',
        '1500',
        '--url',
        api.url,
        '--seed',
        '3',
        '--concurrency',
        '24',
        '--ledger',
        ledger,
      ]);
      assert.equal(gen.code, 0, gen.stderr);
    } finally {
      await api.close();
    }
    // the topic uses LogAppendTime: the events are on today's date (or yesterday's, at midnight)
    const today = formatDate(Date.now());
    const days = [formatDate(Date.now() - 86_400_000), today];
    for (const d of days) {
      const ex = await runCli(['extract', '--date', d, '--topic', topic, '--base', base]);
      assert.equal(ex.code, 0, ex.stderr);
    }
    const verify = (file: string, ...extra: string[]) =>
      runCli([
        'verify',
        '--ledger',
        file,
        '--from',
        days[0] as string,
        '--to',
        today,
        '--base',
        base,
        ...extra,
      ]);
    const ok = await verify(ledger, '--format', 'json');
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const r = JSON.parse(ok.stdout) as {
      ledgerEvents: number;
      exactlyOnce: number;
      missing: string[];
      duplicated: unknown[];
    };
    assert.deepEqual(
      [r.ledgerEvents, r.exactlyOnce, r.missing.length, r.duplicated.length],
      [1500, 1500, 0, 0],
    );

    const tampered = join(dir, 'tampered.jsonl');
    copyFileSync(ledger, tampered);
    appendFileSync(
      tampered,
      JSON.stringify({
        event_id: '00000000-0000-4000-8000-000000000000',
        event_type: 'join_guild',
        Host: 'x',
      }) + '\n',
    );
    const miss = await verify(tampered);
    assert.equal(miss.code, 1);
    assert.match(miss.stdout, /missing {4}00000000-0000-4000-8000-000000000000/);
    assert.match(miss.stdout, /MISMATCH/);

    // a file published twice: every event in it is duplicated
    await withHdfs(config, async (hdfs) => {
      const purchases = outputDir(base, 'purchases', today);
      const first = (await hdfs.listStatus(purchases)).find((f) =>
        f.pathSuffix.endsWith('.parquet'),
      );
      assert.ok(first);
      await hdfs.create(
        `${purchases}/copy.parquet`,
        await hdfs.read(`${purchases}/${first.pathSuffix}`),
      );
    });
    const dup = await verify(ledger, '--format', 'json');
    assert.equal(dup.code, 1);
    const d = JSON.parse(dup.stdout) as { duplicated: Array<{ count: number }> };
    assert.ok(d.duplicated.length > 0);
    assert.ok(d.duplicated.every((x) => x.count === 2));
  });
});
