import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { planRun } from '../lib/traffic/generator.js';
import { openLedger } from '../lib/events/ledger.js';
import { runLoad } from '../lib/traffic/load.js';
import { parseCount, parseHttpUrl, parseNumber } from '../lib/core/options.js';
import { json, parseFormat, spinner, table } from '../lib/core/render.js';

export interface GenerateOptions extends ConfigFlags {
  n: string;
  url?: string;
  concurrency: string;
  rate?: string;
  seed: string;
  batch?: string;
  retries: string;
  ledger?: string;
  token?: string;
  format: string;
}

/** Sends n synthetic events to the API and summarises what it acknowledged. */
export async function generate(opts: GenerateOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const n = parseCount('<n>', opts.n);
  const concurrency = parseCount('--concurrency', opts.concurrency, { max: 1024 });
  const batch =
    opts.batch === undefined ? undefined : parseCount('--batch', opts.batch, { max: 500 });
  const rate = opts.rate === undefined ? undefined : parseNumber('--rate', opts.rate, { above: 0 });
  const url = parseHttpUrl('--url', opts.url ?? `http://${config.apiHost}:${config.apiPort}`);
  const bursts = planRun({ n, seed: opts.seed, maxConcurrency: concurrency, batch });
  const ledger = opts.ledger ? openLedger(opts.ledger) : undefined;
  const spin = await spinner(`sending ${n} events to ${url}`);
  let s;
  try {
    s = await runLoad({
      url,
      bursts,
      concurrency,
      rate,
      token: opts.token ?? process.env.GAMEPIPE_API_TOKEN,
      retries: parseCount('--retries', opts.retries, { min: 0, max: 100 }),
      onAccepted: ledger?.write,
      onProgress: (p) =>
        spin.text(`sent ${p.sent}/${n}, accepted ${p.accepted}, failed ${p.failed}`),
    });
  } finally {
    spin.stop();
    await ledger?.close();
  }
  if (format === 'json') {
    process.stdout.write(json(s) + '\n');
  } else {
    process.stdout.write(
      table(
        [
          'sent',
          'accepted',
          'rejected',
          'failed',
          'retried',
          'events/s',
          'p50 ms',
          'p95 ms',
          'p99 ms',
          'elapsed',
        ],
        [
          [
            s.sent,
            s.accepted,
            s.rejected,
            s.failed,
            s.retried,
            s.eventsPerSecond,
            s.latencyMs.p50,
            s.latencyMs.p95,
            s.latencyMs.p99,
            `${(s.elapsedMs / 1000).toFixed(1)}s`,
          ],
        ],
      ) + '\n',
    );
    const types = Object.entries(s.byEventType).sort(
      (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
    );
    const providers = Object.entries(s.byProvider).sort(
      (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
    );
    process.stdout.write(table(['event_type', 'accepted'], types) + '\n');
    process.stdout.write(table(['provider', 'accepted'], providers) + '\n');
    if (Object.keys(s.failures).length > 0) {
      process.stdout.write(table(['failure', 'events'], Object.entries(s.failures)) + '\n');
    }
    if (opts.ledger)
      process.stdout.write(
        `ledger: ${s.accepted} acknowledged event ids appended to ${opts.ledger}\n`,
      );
  }
  return s.failed > 0 || s.rejected > 0 ? 1 : 0;
}
