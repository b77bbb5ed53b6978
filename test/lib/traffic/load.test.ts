import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { planRun } from '../../../src/lib/traffic/generator.js';
import { runLoad } from '../../../src/lib/traffic/load.js';

/** Reads a request's body. */
async function body(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of req) s += String(c);
  return s;
}

describe('lib/load: retries carry the same event id, so a retried event is one event', () => {
  it('single events: a 503 or a dropped connection is retried with the same Idempotency-Key', async () => {
    const seen = new Map<string, number>();
    const server = createServer((req, res) => {
      const id = String(req.headers['idempotency-key']);
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      void body(req).then(() => {
        if (n === 1) {
          res.writeHead(503, { 'retry-after': '0' }).end('{}');
        } else if (n === 2) {
          req.socket.destroy(); // the answer is lost: did it land? only the same id makes it safe
        } else {
          res.writeHead(200, { 'x-event-id': id }).end('ok\n');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ledger: string[] = [];
      const s = await runLoad({
        url,
        bursts: planRun({ n: 40, seed: 3, maxConcurrency: 4 }),
        concurrency: 4,
        onAccepted: (e) => ledger.push(e.event_id),
      });
      assert.deepEqual([s.sent, s.accepted, s.failed, s.retried], [40, 40, 0, 80]);
      assert.equal(new Set(ledger).size, 40);
      assert.deepEqual(
        [...seen.values()],
        Array.from({ length: 40 }, () => 3),
      );
      assert.deepEqual(new Set(ledger), new Set(seen.keys()));
    } finally {
      server.close();
    }
  });

  it('batches: only the failed entries go again, each with its own event_id; --retries 0 gives up at once', async () => {
    const attempts = new Map<string, number>();
    const server = createServer((req, res) => {
      void body(req).then((text) => {
        const entries = JSON.parse(text) as Array<{ event_id: string }>;
        const results = entries.map((e, index) => {
          const n = (attempts.get(e.event_id) ?? 0) + 1;
          attempts.set(e.event_id, n);
          return n === 1 && index % 2 === 0
            ? { index, status: 'failed', error: { code: 'GP_PRODUCE_TIMEOUT' } }
            : { index, status: 'accepted', event_id: e.event_id };
        });
        res
          .writeHead(results.some((r) => r.status === 'failed') ? 503 : 200)
          .end(JSON.stringify({ results }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const s = await runLoad({
        url,
        bursts: planRun({ n: 30, seed: 4, maxConcurrency: 2, batch: 10 }),
        concurrency: 2,
      });
      assert.deepEqual([s.accepted, s.failed, s.retried], [30, 0, 15]);
      assert.equal(attempts.size, 30);
      assert.equal([...attempts.values()].filter((n) => n === 2).length, 15);
      attempts.clear();
      const none = await runLoad({
        url,
        bursts: planRun({ n: 10, seed: 5, maxConcurrency: 1, batch: 10 }),
        concurrency: 1,
        retries: 0,
      });
      assert.deepEqual([none.accepted, none.failed, none.retried], [5, 5, 0]);
      assert.deepEqual(none.failures, { GP_PRODUCE_TIMEOUT: 5 });
    } finally {
      server.close();
    }
  });
});
