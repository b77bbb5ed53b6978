import assert from 'node:assert/strict';
import { countText, progress, setVerbosity } from '../../../src/lib/core/progress.js';

/** A stderr that records what is written; a terminal of `columns` when `tty`. */
function fakeStream(tty: boolean, columns = 80): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = Object.assign(Object.create(process.stderr) as NodeJS.WriteStream, {
    isTTY: tty,
    columns,
    write: (s: string) => (written.push(s), true),
  });
  return { stream, written };
}

describe('core/progress: counts, percent and ETA on stderr, as the verbosity allows', () => {
  afterEach(() => setVerbosity('normal'));

  it('a count reads as done/total, percent, rate and ETA from the run so far', () => {
    assert.equal(
      countText(1_200, 10_000, 'records', 500),
      '1,200/10,000 records (12%), 2,400/s, ETA 4s',
    );
    assert.equal(countText(0, 10_000, 'records', 0), '0/10,000 records (0%)');
    assert.equal(
      countText(10_000, 10_000, 'records', 2_000),
      '10,000/10,000 records (100%), 5,000/s',
    );
    assert.equal(countText(500, undefined, 'events', 1_000), '500 events, 500/s');
    // a long run's ETA in minutes and hours
    assert.equal(countText(1, 1_000, 'x', 1_000), '1/1,000 x (0%), 1/s, ETA 16m39s');
    assert.equal(countText(1, 100_000, 'x', 1_000), '1/100,000 x (0%), 1/s, ETA 27h46m');
  });

  it('not on a terminal: a line every few seconds (a cron log shows the run is alive), then the closing line', async () => {
    let t = 0;
    const { stream, written } = fakeStream(false);
    const p = await progress('extracting 2026-12-01', { stream, everyMs: 5_000, now: () => t });
    t = 1_000;
    p.count(100, 1_000, 'records');
    assert.deepEqual(written, [], 'not before 5 s');
    t = 5_000;
    p.count(500, 1_000, 'records');
    t = 6_000;
    p.count(600, 1_000, 'records');
    t = 10_000;
    p.count(1_000, 1_000, 'records');
    p.succeed('done');
    assert.deepEqual(written, [
      '[    5s] extracting 2026-12-01: 500/1,000 records (50%), 100/s, ETA 5s\n',
      '[   10s] extracting 2026-12-01: 1,000/1,000 records (100%), 100/s\n',
      'done\n',
    ]);
  });

  it('a terminal that reports no width gets lines, not a spinner (ora would redraw without end)', async () => {
    const { stream, written } = fakeStream(true, 0);
    const p = await progress('working', { stream, everyMs: 60_000 });
    p.text('still working');
    await new Promise((r) => setTimeout(r, 100));
    p.succeed('done');
    assert.deepEqual(written, ['done\n']);
  });

  it('--quiet writes nothing; --verbose writes each phase as a line at once', async () => {
    setVerbosity('quiet');
    const quiet = fakeStream(false);
    const q = await progress('working', { stream: quiet.stream, everyMs: 0 });
    q.text('phase');
    q.count(1, 2, 'x');
    q.succeed('done');
    assert.deepEqual(quiet.written, []);
    setVerbosity('verbose');
    let t = 0;
    const verbose = fakeStream(true);
    const v = await progress('checking the stack', {
      stream: verbose.stream,
      everyMs: 5_000,
      now: () => t,
    });
    t = 1_500;
    v.text('starting kafka');
    t = 2_000;
    v.count(1, 3, 'services ready');
    v.succeed('up');
    assert.deepEqual(verbose.written, [
      '[    0s] checking the stack\n',
      '[    2s] starting kafka\n',
      'up\n',
    ]);
  });
});
