/**
 * Several `serve` instances behind one load balancer share a topic (docs/scale.md): two instances
 * on the real stack take load at the same time, and every event either acknowledged lands in the
 * lake exactly once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, freshTopic, uniqueName } from '../helpers.js';
import { extractAndVerify, run, serve } from '../proof.js';

describe('serve: two instances share a topic (real stack)', function () {
  this.timeout(300_000);

  it('load through both at once lands every acknowledged event exactly once', async () => {
    const topic = await freshTopic('gp-two-serves', 3);
    const base = uniqueName('/gp-test/two-serves');
    const dir = mkdtempSync(join(tmpdir(), 'gp-two-serves-'));
    const since = Date.now();
    const ports = [await freePort(), await freePort()];
    const servers = await Promise.all(ports.map((p) => serve({}, p, topic)));
    try {
      const loads = await Promise.all(
        ports.map((p, i) =>
          run({}, [
            'generate',
            '4000',
            '--url',
            `http://127.0.0.1:${p}`,
            '--seed',
            String(100 + i),
            '--batch',
            i === 0 ? '50' : '1',
            '--concurrency',
            '8',
            '--ledger',
            join(dir, `ledger-${i}.jsonl`),
          ]),
        ),
      );
      for (const l of loads) assert.equal(l.code, 0, l.stderr);
    } finally {
      for (const s of servers) s.child.kill('SIGTERM');
      await Promise.all(servers.map((s) => s.done));
    }
    const ledgers = [0, 1].map((i) => readFileSync(join(dir, `ledger-${i}.jsonl`), 'utf8'));
    for (const l of ledgers) assert.equal(l.trim().split('\n').length, 4000);
    const ledger = join(dir, 'ledger.jsonl');
    writeFileSync(ledger, ledgers.join(''));
    const f = await extractAndVerify(
      {},
      { fault: 'two serve instances', topic, base, ledger, since, faults: 0 },
    );
    assert.deepEqual([f.acknowledged, f.inLake, f.missing, f.duplicated], [8000, 8000, 0, 0]);
  });
});
