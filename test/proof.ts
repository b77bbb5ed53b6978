/**
 * The proof runs shared by the fault tests (test/faults.test.ts, the local stack) and the cluster
 * tests (test/cluster-proof.test.ts, three brokers over SASL_SSL): `serve` and `generate` with a
 * ledger under a fault, then `extract` and `verify`, with the figures of each case printed.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { formatDate } from '../src/lib/lake/layout.js';
import { extractArgs, runCli, startCli, type CliOptions, type CliResult } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How a case runs the CLI: `prefix` goes before every command's arguments (e.g. `--config
 * cluster.yaml`), `options` to every child (e.g. bare, so the config file alone decides).
 */
export interface Cli {
  prefix?: string[];
  options?: CliOptions;
}

export function run(cli: Cli, args: string[]): Promise<CliResult> {
  return runCli([...(cli.prefix ?? []), ...args], cli.options);
}

export function start(cli: Cli, args: string[]): { child: ChildProcess; done: Promise<CliResult> } {
  return startCli([...(cli.prefix ?? []), ...args], cli.options);
}

/** `gamepipe serve` on `port` and `topic`, once it answers /healthz. */
export async function serve(
  cli: Cli,
  port: number,
  topic: string,
): Promise<{ child: ChildProcess; done: Promise<CliResult> }> {
  const s = start(cli, ['serve', '--port', String(port), '--topic', topic, '--no-access-log']);
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return s;
    } catch {
      // not yet
    }
    if (s.child.exitCode !== null) break;
    await sleep(50);
  }
  s.child.kill('SIGKILL');
  throw new Error(`serve did not start: ${(await s.done).stderr}`);
}

/**
 * `generate` through the API at `url` in runs of `chunk` events, each with its own seed and
 * ledger, until `fault` has run to its end (and at least `minRuns` runs): a load that lasts as
 * long as the fault does. Resolves to the one ledger of every run and the runs' summaries.
 */
export async function loadDuring(
  cli: Cli,
  url: string,
  ledger: string,
  seed: number,
  fault: () => Promise<void>,
  { chunk = 1500, rate = 1000, minRuns = 3 } = {},
): Promise<{ runs: number; retried: number; failed: number }> {
  let faultDone = false;
  let faultError: unknown;
  const faulting = fault().then(
    () => (faultDone = true),
    (err: unknown) => {
      faultError = err;
      faultDone = true;
    },
  );
  const ledgers: string[] = [];
  let retried = 0;
  let failed = 0;
  for (let i = 0; !faultDone || i < minRuns; i++) {
    const file = `${ledger}.${i}`;
    const g = await run(cli, [
      'generate',
      String(chunk),
      '--url',
      url,
      '--rate',
      String(rate),
      '--concurrency',
      '16',
      '--seed',
      String(seed * 1000 + i),
      '--ledger',
      file,
      '--format',
      'json',
    ]);
    ledgers.push(file);
    const summary = JSON.parse(g.stdout) as { retried: number; failed: number };
    retried += summary.retried;
    failed += summary.failed;
  }
  await faulting;
  if (faultError) throw faultError;
  writeFileSync(ledger, ledgers.map((f) => readFileSync(f, 'utf8')).join(''));
  return { runs: ledgers.length, retried, failed };
}

export interface Figures {
  fault: string;
  acknowledged: number;
  inLake: number;
  missing: number;
  duplicated: number;
  faults: number;
}

/** Extracts the dates a load ran on, then verifies its ledger: the figures of one case. */
export async function extractAndVerify(
  cli: Cli,
  {
    fault,
    topic,
    base,
    ledger,
    since,
    faults,
  }: Omit<Figures, 'acknowledged' | 'inLake' | 'missing' | 'duplicated'> & {
    topic: string;
    base: string;
    ledger: string;
    since: number;
  },
): Promise<Figures> {
  const dates = [...new Set([formatDate(since), formatDate(Date.now())])];
  for (const d of dates) {
    const ex = await run(cli, extractArgs(d, topic, base));
    assert.equal(ex.code, 0, `${fault}: extract ${d}: ${ex.stderr}`);
  }
  const v = await run(cli, [
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
  process.stderr.write(
    `      (${fault}: ${f.acknowledged} acknowledged, ${f.inLake} in the lake exactly once, ${f.missing} missing, ${f.duplicated} duplicated, ${faults} fault(s) injected)\n`,
  );
  assert.equal(v.code, 0, `${fault}: verify: ${v.stdout}`);
  assert.ok(f.acknowledged > 0);
  return f;
}

/** The figures of every case as one table, for the test log and docs/reliability.md. */
export function printFigures(figures: Figures[]): void {
  if (figures.length === 0) return;
  const width = Math.max(30, ...figures.map((f) => f.fault.length));
  process.stderr.write(
    `\n      ${'fault'.padEnd(width)} acknowledged  in lake once  missing  duplicated  faults\n`,
  );
  for (const f of figures) {
    process.stderr.write(
      `      ${f.fault.padEnd(width)} ${String(f.acknowledged).padStart(12)}  ${String(f.inLake).padStart(12)}  ${String(f.missing).padStart(7)}  ${String(f.duplicated).padStart(10)}  ${String(f.faults).padStart(6)}\n`,
    );
  }
}
