import { configFromFlags, type ConfigFlags } from '../lib/config.js';
import { ErrorCodes, GamepipeError } from '../lib/errors.js';
import { planRun } from '../lib/generator.js';
import { openLedger } from '../lib/ledger.js';
import { runLoad } from '../lib/load.js';
import { json, parseFormat, spinner, table } from '../lib/render.js';

export interface GenerateOptions extends ConfigFlags {
  n: string;
  url?: string;
  concurrency: string;
  rate?: string;
  seed: string;
  batch?: string;
  ledger?: string;
  token?: string;
  format: string;
}

function positiveInt(
  name: string,
  value: string | undefined,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new GamepipeError(
      ErrorCodes.usage,
      `${name} must be a whole number 1..${max}, got ${value}`,
    );
  }
  return n;
}

/** Sends n synthetic events to the API and summarises what it acknowledged. */
export async function generate(opts: GenerateOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const n = positiveInt('<n>', opts.n) as number;
  const concurrency = positiveInt('--concurrency', opts.concurrency, 1024) as number;
  const batch = positiveInt('--batch', opts.batch, 500);
  const rate = opts.rate === undefined ? undefined : Number(opts.rate);
  if (rate !== undefined && !(rate > 0))
    throw new GamepipeError(ErrorCodes.usage, `--rate must be positive, got ${opts.rate}`);
  const url = (opts.url ?? `http://${config.apiHost}:${config.apiPort}`).replace(/\/+$/, '');
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
