import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
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
import {
  BIN,
  freePort,
  freshTopic,
  runCli,
  stackConfig,
  uniqueName,
  type CliResult,
  extractArgs,
} from './helpers.js';

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

interface Figures {
  fault: string;
  acknowledged: number;
  inLake: number;
  missing: number;
  duplicated: number;
  faults: number;
}
const figures: Figures[] = [];

function background(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })),
  );
  return { child, done };
}

async function serve(
  port: number,
  topic: string,
): Promise<{ child: ChildProcess; done: Promise<CliResult> }> {
  const s = background(['serve', '--port', String(port), '--topic', topic, '--no-access-log']);
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return s;
    } catch {
      // not yet
    }
    await sleep(50);
  }
  throw new Error('serve did not start');
}

/** Extracts the dates the load ran on, then verifies the ledger: the figures of one case. */
async function extractAndVerify(
  fault: string,
  topic: string,
  base: string,
  ledger: string,
  since: number,
  faults: number,
): Promise<Figures> {
  const dates = [...new Set([formatDate(since), formatDate(Date.now())])];
  for (const d of dates) {
    const ex = await runCli(extractArgs(d, topic, base));
    assert.equal(ex.code, 0, `${fault}: extract ${d}: ${ex.stderr}`);
  }
  const v = await runCli([
    'verify',
    '--ledger',
    ledger,
    '--from',
    dates[0] as string,
    '--to',
    dates[dates.length - 1] as string,
    '--base',
    base,
    '--format',
    'json',
  ]);
  const r = JSON.parse(v.stdout) as {
    ledgerEvents: number;
    exactlyOnce: number;
    missing: string[];
    duplicated: unknown[];
  };
  const f = {
    fault,
    acknowledged: r.ledgerEvents,
    inLake: r.exactlyOnce,
    missing: r.missing.length,
    duplicated: r.duplicated.length,
    faults,
  };
  figures.push(f);
  process.stderr.write(
    `      (${fault}: ${f.acknowledged} acknowledged, ${f.inLake} in the lake exactly once, ${f.missing} missing, ${f.duplicated} duplicated, ${faults} fault(s) injected)\n`,
  );
  assert.equal(v.code, 0, `${fault}: verify: ${v.stdout}`);
  assert.ok(f.acknowledged > 0);
  return f;
}

describe('faults: every acknowledged event lands exactly once, whatever fails (real stack)', function () {
  this.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'gp-faults-'));

  before(function () {
    // stopping the broker or the DataNode needs the local (java) stack
    if (readStackState(config)?.mode !== 'local') this.skip();
  });

  after(() => {
    if (figures.length === 0) return;
    process.stderr.write(
      '\n      fault                          acknowledged  in lake once  missing  duplicated  faults\n',
    );
    for (const f of figures) {
      process.stderr.write(
        `      ${f.fault.padEnd(30)} ${String(f.acknowledged).padStart(12)}  ${String(f.inLake).padStart(12)}  ${String(f.missing).padStart(7)}  ${String(f.duplicated).padStart(10)}  ${String(f.faults).padStart(6)}\n`,
      );
    }
  });

  /** `generate` at 1,500 events/s through `serve` on `port`, with a ledger, in the background. */
  function steadyLoad(port: number, n: number, seed: number, ledger: string, extra: string[] = []) {
    return background([
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
    const server = await serve(port, topic);
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
      server = await serve(port, topic);
    }
    const g = await gen.done;
    assert.ok(existsSync(ledger), g.stderr);
    server.child.kill('SIGTERM');
    assert.equal((await server.done).code, 0);
    await extractAndVerify('kill -9 serve', topic, base, ledger, since, kills);
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
    await extractAndVerify('stop the Kafka broker', topic, base, ledger, since, 1);
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
    const extract = background(extractArgs(date, topic, base, '--row-group-rows', '100'));
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
    await extractAndVerify('kill -9 extract', topic, base, ledger, since, 1);
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
    await extractAndVerify('stop the DataNode', topic, base, ledger, since, hit);
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
    await extractAndVerify('kill -9 the Kafka broker', topic, base, ledger, since, 1);
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
    await extractAndVerify('kill -9 Kafka in extract', topic, base, ledger, since, hit);
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
    await extractAndVerify('stalled DataNode', topic, base, ledger, since, hit);
  });

  it('in all: seven faults, nothing lost, nothing duplicated', () => {
    assert.equal(figures.length, 7);
    assert.ok(
      figures.every((f) => f.missing === 0 && f.duplicated === 0 && f.acknowledged === f.inLake),
    );
  });
});
