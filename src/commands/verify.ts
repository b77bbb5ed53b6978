import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { datesFromFlags } from '../lib/lake/layout.js';
import { json, parseFormat, table } from '../lib/core/render.js';
import { dateOptions, example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    dateOptions(
      parent
        .command('verify')
        .description(
          'reconcile a generate ledger with the lake: every acknowledged event exactly once',
        )
        .requiredOption('--ledger <file>', 'the ledger `gamepipe generate --ledger` wrote'),
    )
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'verify')),
    'gamepipe verify --ledger ledger.jsonl --date 2026-11-27',
  );
};

export interface VerifyOptions extends ConfigFlags {
  ledger: string;
  date?: string;
  from?: string;
  to?: string;
  format: string;
}

/** Exit code 1 on any missing or duplicated event. */
export async function verify(opts: VerifyOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const { verifyLedger } = await import('../lib/analysis/verify.js');
  const r = await verifyLedger(config, { ledger: opts.ledger, dates: datesFromFlags(opts) });
  if (format === 'json') {
    process.stdout.write(json(r) + '\n');
  } else {
    process.stdout.write(
      table(
        [
          'dates',
          'ledger events',
          'exactly once',
          'missing',
          'duplicated',
          'in lake, not in ledger',
        ],
        [
          [
            r.dates.join(', '),
            r.ledgerEvents,
            r.exactlyOnce,
            r.missing.length,
            r.duplicated.length,
            r.notInLedger,
          ],
        ],
      ) + '\n',
    );
    for (const id of r.missing.slice(0, 20)) process.stdout.write(`missing    ${id}\n`);
    for (const d of r.duplicated.slice(0, 20))
      process.stdout.write(`duplicated ${d.event_id} (${d.count} times)\n`);
    if (r.missing.length + r.duplicated.length > 40)
      process.stdout.write('... (--format json lists them all)\n');
    process.stdout.write(
      r.ok ? 'OK: every acknowledged event is in the lake exactly once\n' : 'MISMATCH\n',
    );
  }
  return r.ok ? 0 : 1;
}
