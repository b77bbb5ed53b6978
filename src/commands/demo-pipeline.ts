import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApi } from '../lib/api/server.js';
import { kafkaAccess, type Config } from '../lib/core/config.js';
import { extractDate, type ExtractResult } from '../lib/extract/run.js';
import { planRun } from '../lib/traffic/generator.js';
import { formatDate } from '../lib/lake/layout.js';
import { openLedger } from '../lib/events/ledger.js';
import { runLoad, type LoadSummary } from '../lib/traffic/load.js';
import { DEFAULT_PROVIDERS } from '../lib/events/providers.js';
import { buildReports, REPORTS, type Report } from '../lib/analysis/report.js';
import { up, type UpResult } from '../lib/stack/stack.js';
import { verifyLedger, type VerifyResult } from '../lib/analysis/verify.js';

export interface DemoStep {
  name: string;
  ms: number;
  summary: string;
}

export interface DemoResult {
  steps: DemoStep[];
  ledger: string;
  reports: Report[];
  verify: VerifyResult;
}

/**
 * The whole pipeline once, end to end: stack up, the API, synthetic traffic with a ledger, today's
 * extract, the ledger verified against the lake, and every report.
 */
export async function runDemo(
  config: Config,
  {
    events = 3000,
    seed = 'demo',
    onStep = () => undefined,
  }: { events?: number; seed?: string; onStep?: (s: DemoStep | string) => void } = {},
): Promise<DemoResult> {
  const steps: DemoStep[] = [];
  const step = async <T>(
    name: string,
    fn: () => Promise<T>,
    summary: (t: T) => string,
  ): Promise<T> => {
    onStep(name);
    const t0 = performance.now();
    const out = await fn();
    const s = { name, ms: Math.round(performance.now() - t0), summary: summary(out) };
    steps.push(s);
    onStep(s);
    return out;
  };
  await step(
    'stack up',
    () => up(config, { mode: 'auto' }),
    (r: UpResult) => (r.alreadyUp ? 'already up' : `started ${r.started.join(', ')}`),
  );
  const api = await step(
    'serve',
    () => startApi({ ...kafkaAccess(config), topic: config.topic, host: config.apiHost, port: 0 }),
    (a) => `the API listens on ${a.url}`,
  );
  const ledgerPath = join(tmpdir(), `gamepipe-demo-ledger-${Date.now()}.jsonl`);
  let load: LoadSummary;
  try {
    const ledger = openLedger(ledgerPath);
    load = await step(
      'generate',
      async () => {
        try {
          return await runLoad({
            url: api.url,
            bursts: planRun({ n: events, seed, maxConcurrency: 16, currencies: ['USD', 'JPY'] }),
            concurrency: 16,
            onAccepted: ledger.write,
          });
        } finally {
          await ledger.close();
        }
      },
      (s) =>
        `${s.accepted}/${s.sent} events acknowledged, ${s.eventsPerSecond} events/s, p99 ${s.latencyMs.p99} ms`,
    );
  } finally {
    await api.close();
  }
  const today = formatDate(Date.now());
  // the generator ran a moment ago: near midnight some events are on yesterday's date
  const dates = [...new Set([formatDate(Date.now() - (load.elapsedMs + 60_000)), today])];
  for (const date of dates) {
    await step(
      `extract ${date}`,
      () => extractDate(config, { date, topic: config.topic, base: config.base }),
      (r: ExtractResult) =>
        `${r.records} records → ${r.outputs.purchases.rows} purchases, ${r.outputs.join_guild.rows} guild joins, ${r.rejected} rejected`,
    );
  }
  const verify = await step(
    'verify',
    () => verifyLedger(config, { ledger: ledgerPath, dates }),
    (v) =>
      v.ok
        ? `all ${v.ledgerEvents} acknowledged events in the lake exactly once`
        : `${v.missing.length} missing, ${v.duplicated.length} duplicated`,
  );
  const { reports } = await step(
    'report',
    () => buildReports(config, REPORTS, { providers: DEFAULT_PROVIDERS }),
    (r) => `${r.rows} events over ${r.reports[0]?.dates.length ?? 0} date(s)`,
  );
  return { steps, ledger: ledgerPath, reports, verify };
}
