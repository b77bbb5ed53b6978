import assert from 'node:assert/strict';
import { Backoff, sleep, withRetry } from '../../../src/lib/core/retry.js';

describe('core/retry: the one backoff', () => {
  it('waits double each time from the first wait, at most the longest, for the retries given', async () => {
    const b = new Backoff({ retries: 5, initialMs: 10, maxMs: 35 });
    const waits: number[] = [];
    for (;;) {
      const wait = b.nextWaitMs();
      const t = performance.now();
      if (!(await b.next())) break;
      const took = performance.now() - t;
      assert.ok(took >= wait - 2, `waited ${took} ms for ${wait}`);
      waits.push(wait);
    }
    assert.deepEqual(waits, [10, 20, 35, 35, 35]);
    assert.equal(b.attempts, 5);
    assert.equal(b.exhausted, true);
    b.reset();
    assert.equal(b.exhausted, false);
    assert.equal(b.nextWaitMs(), 10);
  });

  it("takes the server's Retry-After in place of its own wait, still capped", () => {
    const b = new Backoff({ retries: 3, initialMs: 100, maxMs: 2_000 });
    assert.equal(b.nextWaitMs(1_000), 1_000);
    assert.equal(b.nextWaitMs(60_000), 2_000);
  });

  it('makes no retry whose wait would end past the deadline', async () => {
    const b = new Backoff({
      retries: Infinity,
      initialMs: 40,
      maxMs: 40,
      deadline: Date.now() + 100,
    });
    let n = 0;
    while (await b.next()) n++;
    assert.ok(n >= 1 && n <= 2, `${n} retries in 100 ms at 40 ms each`);
  });

  it('an aborted signal ends a wait at once and allows no retry', async () => {
    const abort = new AbortController();
    const b = new Backoff({ retries: 10, initialMs: 10_000, maxMs: 10_000, signal: abort.signal });
    const t = performance.now();
    setTimeout(() => abort.abort(), 20);
    assert.equal(await b.next(), false);
    assert.ok(performance.now() - t < 1_000);
    assert.equal(b.exhausted, true);
    const t2 = performance.now();
    await sleep(5_000, abort.signal);
    assert.ok(performance.now() - t2 < 100);
  });

  it('withRetry retries what is retriable, throws the rest and the last failure', async () => {
    let calls = 0;
    const v = await withRetry(
      async () => {
        if (++calls < 3) throw new Error('busy');
        return 'ok';
      },
      { retries: 5, initialMs: 1, maxMs: 1, retriable: () => true },
    );
    assert.equal(v, 'ok');
    assert.equal(calls, 3);

    calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          calls++;
          throw new Error('bad request');
        },
        { retries: 5, initialMs: 1, maxMs: 1, retriable: () => false },
      ),
      /bad request/,
    );
    assert.equal(calls, 1);

    calls = 0;
    await assert.rejects(
      withRetry(
        async () => {
          throw new Error(`busy ${++calls}`);
        },
        { retries: 2, initialMs: 1, maxMs: 1, retriable: () => true },
      ),
      /busy 3/,
    );
  });
});
