import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDate, stagingDir } from '../src/lib/lake/layout.js';
import { probeServices, readStackState } from '../src/lib/stack/stack.js';
import {
  runningPid,
  stackPaths,
  startLocal,
  stopLocal,
  type Component,
} from '../src/lib/stack/local.js';
import { withHdfs } from '../src/lib/hdfs/webhdfs.js';
import { freePort, freshTopic, runCli, stackConfig, uniqueName, extractArgs } from './helpers.js';
import { extractAndVerify, printFigures, serve, start, type Cli, type Figures } from './proof.js';

const config = stackConfig();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends a signal to a component of the test stack (its process group): SIGKILL, SIGSTOP... */
function signal(c: Component, sig: NodeJS.Signals): void {
  const pid = runningPid(stackPaths(config.home), c);
  assert.ok(pid, `${c} is not running`);
  try {
    process.kill(-pid, sig);
  } catch {
    process.kill(pid, sig);
  }
}

/**
 * Starts what is down and waits until every service answers and HDFS takes a write: a DataNode
 * that was frozen past the stale interval (30 s) counts as live before the NameNode sends writes
 * to it again.
 */
async function restartStack(): Promise<void> {
  await startLocal(config);
  for (let i = 0; i < 240 && !(await probeServices(config)).every((s) => s.state === 'up'); i++)
    await sleep(500);
  await withHdfs(config, async (hdfs) => {
    for (let i = 0; ; i++) {
      try {
        await hdfs.create('/tmp/gamepipe-test/_writable', 'ok', { overwrite: true });
        return;
      } catch (err) {
        if (i >= 120) throw err;
        await sleep(500);
      }
    }
  });
}

const figures: Figures[] = [];
const cli: Cli = {};

describe('faults: every acknowledged event lands exactly once, whatever fails (real stack)', function () {
  this.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'gp-faults-'));

  before(function () {
    // stopping the broker or the DataNode needs the local (java) stack
    if (readStackState(config)?.mode !== 'local') this.skip();
  });

  after(() => printFigures(figures));

  /** `generate` at 1,500 events/s through `serve` on `port`, with a ledger, in the background. */
  function steadyLoad(port: number, n: number, seed: number, ledger: string, extra: string[] = []) {
    return start(cli, [
      'generate',
      String(n),
      '--url',
      `http://127.0.0.1:${port}`,
      '--rate',
      '1500',
      '--concurrency',
      '16',
      '--seed',
      String(seed),
      '--ledger',
      ledger,
      ...extra,
    ]);
  }

  /** A fresh topic, lake path and ledger for one case, and `serve` running on them. */
  async function startCase(name: string) {
    const topic = await freshTopic(`gp-fault-${name}`);
    const base = `/tmp/gamepipe-test/${uniqueName('lake')}`;
    const ledger = join(dir, `${name}.jsonl`);
    const port = await freePort();
    const since = Date.now();
    const server = await serve(cli, port, topic);
    return { topic, base, ledger, port, since, server, url: `http://127.0.0.1:${port}` };
  }

  it('kill -9 serve mid-load, restart it', async () => {
    const c = await startCase('serve');
    const { topic, base, ledger, port, since } = c;
    let server = c.server;
    const gen = steadyLoad(port, 6000, 11, ledger);
    let kills = 0;
    for (const at of [1_200, 1_500]) {
      await sleep(at);
      server.child.kill('SIGKILL');
      await server.done;
      kills++;
      await sleep(300);
      server = await serve(cli, port, topic);
    }
    const g = await gen.done;
    assert.ok(existsSync(ledger), g.stderr);
    server.child.kill('SIGTERM');
    assert.equal((await server.done).code, 0);
    figures.push(
      await extractAndVerify(cli, {
        fault: 'kill -9 serve',
        topic,
        base,
        ledger,
        since,
        faults: kills,
      }),
    );
  });

  it('stop the Kafka broker mid-load, restart it', async () => {
    const { topic, base, ledger, port, since, server } = await startCase('kafka');
    const gen = steadyLoad(port, 9000, 12, ledger, ['--format', 'json']);
    try {
      await sleep(1_500);
      await stopLocal(config, { components: ['kafka'] });
      await sleep(1_500);
      await startLocal(config);
      const g = await gen.done;
      // the fault hit the load: events were refused while the broker was down (and sent again)
      const s = JSON.parse(g.stdout) as { retried: number; failed: number };
      assert.ok(s.retried + s.failed > 0, `the load never met the stopped broker: ${g.stdout}`);
    } finally {
      await restartStack();
      server.child.kill('SIGTERM');
      await server.done;
    }
    figures.push(
      await extractAndVerify(cli, {
        fault: 'stop the Kafka broker',
        topic,
        base,
        ledger,
        since,
        faults: 1,
      }),
    );
  });

  /**
   * A load of 20,000 events through `serve`, then an extract started in the background; resolves
   * once the extract is writing its staging files, for a fault to hit it there.
   */
  async function loadThenExtract(name: string, seed: string) {
    const { topic, base, ledger, since, server, url } = await startCase(name);
    const g = await runCli([
      'generate',
      '20000',
      '--url',
      url,
      '--batch',
      '100',
      '--concurrency',
      '8',
      '--seed',
      seed,
      '--ledger',
      ledger,
    ]);
    assert.equal(g.code, 0, g.stderr);
    server.child.kill('SIGTERM');
    await server.done;
    const date = formatDate(Date.now());
    // small row groups: the run takes long enough to be hit mid-way
    const extract = start(cli, extractArgs(date, topic, base, '--row-group-rows', '100'));
    await withHdfs(config, async (hdfs) => {
      for (let i = 0; i < 400 && !(await hdfs.stat(stagingDir(base, date))); i++) await sleep(25);
    });
    return { topic, base, ledger, since, date, extract };
  }

  it('kill -9 extract mid-run, rerun', async () => {
    const { topic, base, ledger, since, date, extract } = await loadThenExtract('extract', '13');
    extract.child.kill('SIGKILL');
    assert.equal((await extract.done).code, -1, 'extract was killed before it finished');
    await withHdfs(config, async (hdfs) => {
      assert.equal(await hdfs.stat(`${base}/_manifests/date=${date}/_SUCCESS`), undefined);
    });
    figures.push(
      await extractAndVerify(cli, {
        fault: 'kill -9 extract',
        topic,
        base,
        ledger,
        since,
        faults: 1,
      }),
    );
  });

  it('stop the HDFS DataNode during extract, restart it, rerun', async () => {
    const { topic, base, ledger, since, extract } = await loadThenExtract('datanode', '14');
    // a fault counts only when it hit the run (the extract may have finished first)
    let hit = 0;
    try {
      await stopLocal(config, { components: ['datanode'] });
      const failed = await extract.done;
      hit = failed.code !== 0 ? 1 : 0;
      // it either failed with a coded HDFS error, or had already finished: both leave a whole output
      if (failed.code !== 0) assert.match(failed.stderr, /^gamepipe: error GP_HDFS_[A-Z_]+: /m);
    } finally {
      await restartStack();
    }
    figures.push(
      await extractAndVerify(cli, {
        fault: 'stop the DataNode',
        topic,
        base,
        ledger,
        since,
        faults: hit,
      }),
    );
  });

  it('kill -9 the Kafka broker mid-load, restart it', async () => {
    const { topic, base, ledger, port, since, server } = await startCase('kafka9');
    const gen = steadyLoad(port, 9000, 15, ledger);
    try {
      await sleep(1_500);
      signal('kafka', 'SIGKILL');
      await sleep(1_500);
      await restartStack();
      const g = await gen.done;
      assert.ok(existsSync(ledger), g.stderr);
    } finally {
      await restartStack();
      server.child.kill('SIGTERM');
      await server.done;
    }
    figures.push(
      await extractAndVerify(cli, {
        fault: 'kill -9 the Kafka broker',
        topic,
        base,
        ledger,
        since,
        faults: 1,
      }),
    );
  });

  it('kill -9 the Kafka broker during extract: a coded error, and the rerun is exact', async () => {
    const { topic, base, ledger, since, extract } = await loadThenExtract('kafka-extract', '16');
    let hit = 0;
    try {
      signal('kafka', 'SIGKILL');
      const failed = await extract.done;
      hit = failed.code !== 0 ? 1 : 0;
      process.stderr.write(
        `      (extract: exit ${failed.code}; ${failed.stderr.trim().split('\n').at(-1)})\n`,
      );
      if (failed.code !== 0) {
        assert.match(failed.stderr, /^gamepipe: error GP_KAFKA[A-Z_]*: /m, failed.stderr);
        assert.doesNotMatch(failed.stderr, /unexpected error/);
      }
    } finally {
      await restartStack();
    }
    figures.push(
      await extractAndVerify(cli, {
        fault: 'kill -9 Kafka in extract',
        topic,
        base,
        ledger,
        since,
        faults: hit,
      }),
    );
  });

  it('a stalled DataNode (SIGSTOP) during extract: a coded GP_HDFS_UNAVAILABLE naming it, and the rerun is exact', async () => {
    const { topic, base, ledger, since, extract } = await loadThenExtract('stall', '17');
    let stopped = true;
    let hit = 0;
    try {
      signal('datanode', 'SIGSTOP');
      const failed = await extract.done;
      hit = failed.code !== 0 ? 1 : 0;
      signal('datanode', 'SIGCONT');
      stopped = false;
      process.stderr.write(
        `      (extract: exit ${failed.code}; ${failed.stderr.trim().split('\n').at(-1)})\n`,
      );
      if (failed.code !== 0) {
        assert.match(
          failed.stderr,
          /^gamepipe: error GP_HDFS_UNAVAILABLE: HDFS DataNode at \S+ (stalled|is unreachable)/m,
          failed.stderr,
        );
        assert.doesNotMatch(failed.stderr, /unexpected error|upload closed/);
      }
    } finally {
      if (stopped) signal('datanode', 'SIGCONT');
      await restartStack();
    }
    figures.push(
      await extractAndVerify(cli, {
        fault: 'stalled DataNode',
        topic,
        base,
        ledger,
        since,
        faults: hit,
      }),
    );
  });

  it('in all: seven faults, nothing lost, nothing duplicated', () => {
    assert.equal(figures.length, 7);
    assert.ok(
      figures.every((f) => f.missing === 0 && f.duplicated === 0 && f.acknowledged === f.inLake),
    );
  });
});
