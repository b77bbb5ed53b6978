import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { ErrorCodes, GamepipeError } from '../lib/core/errors.js';
import { planRun } from '../lib/traffic/generator.js';
import { openLedger } from '../lib/events/ledger.js';
import { parseCount, parseHttpUrl, parseNumber } from '../lib/core/options.js';
import { json, parseFormat, table } from '../lib/core/render.js';
import { info, progress } from '../lib/core/progress.js';
import type { LoadSummary } from '../lib/traffic/load.js';
import { example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('generate')
      .description(
        "send synthetic players' purchases and guild joins to the API, like the seed's generator",
      )
      .argument('<n>', 'number of events to send')
      .option('--url <url>', 'API base URL (default: http://<apiHost>:<apiPort>)')
      .option('--concurrency <c>', 'most requests in flight at once (bursts vary up to it)', '16')
      .option('--rate <r>', 'at most r events per second (default: as fast as the API answers)')
      .option('--seed <s>', 'random seed: the same seed sends the same events', '1')
      .option('--batch <k>', 'send k events per request through POST /events')
      .option(
        '--currencies <list>',
        'currencies players pay in, e.g. USD,JPY (each player one; the first for ~70%)',
        'USD',
      )
      .option(
        '--retries <n>',
        'send an event again, with the same event id, after no answer or a 5xx, up to n times',
        '5',
      )
      .option(
        '--ledger <file>',
        'write every acknowledged event_id, with its event_type and Host, as JSON lines',
      )
      .option('--token <token>', 'bearer token for the API (or GAMEPIPE_API_TOKEN)')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'generate', ['n'])),
    'gamepipe generate 5000 --seed 7 --ledger ledger.jsonl',
  );
};

export interface GenerateOptions extends ConfigFlags {
  n: string;
  currencies: string;
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

/** The summary as tables: totals and latency, accepted by type and by provider, failures. */
function render(s: LoadSummary): string {
  const byCount = (a: [string, number], b: [string, number]): number =>
    b[1] - a[1] || a[0].localeCompare(b[0]);
  const parts = [
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
    ),
    table(['event_type', 'accepted'], Object.entries(s.byEventType).sort(byCount)),
    table(['provider', 'accepted'], Object.entries(s.byProvider).sort(byCount)),
  ];
  if (Object.keys(s.failures).length > 0) {
    parts.push(table(['failure', 'events'], Object.entries(s.failures)));
  }
  return parts.map((p) => p + '\n').join('');
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
  const currencies = opts.currencies.split(',').map((c) => c.trim());
  for (const c of currencies) {
    if (!/^[A-Z]{3}$/.test(c)) {
      throw new GamepipeError(
        ErrorCodes.usage,
        `--currencies: ${JSON.stringify(c)} is not a currency code`,
        {
          hint: 'give 3-letter ISO 4217 codes, comma-separated, e.g. --currencies USD,JPY',
        },
      );
    }
  }
  const bursts = planRun({ n, seed: opts.seed, maxConcurrency: concurrency, batch, currencies });
  const { runLoad } = await import('../lib/traffic/load.js');
  const ledger = opts.ledger ? openLedger(opts.ledger) : undefined;
  const spin = await progress(`sending events to ${url}`);
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
        spin.count(p.sent, n, 'events sent', `${p.accepted} accepted, ${p.failed} failed`),
    });
  } finally {
    spin.stop();
    await ledger?.close();
  }
  process.stdout.write(format === 'json' ? json(s) + '\n' : render(s));
  if (opts.ledger) info(`ledger: ${s.accepted} acknowledged event ids appended to ${opts.ledger}`);
  return s.failed > 0 || s.rejected > 0 ? 1 : 0;
}
