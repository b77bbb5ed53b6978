import type { Command } from 'commander';
import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { info } from '../lib/core/progress.js';
import { datesFromFlags } from '../lib/lake/layout.js';
import { DEFAULT_PROVIDERS, parseProviders } from '../lib/events/providers.js';
import { parseFormat, renderReports, type ReportFormat } from '../lib/core/render.js';
import { parseCount, parseNumber } from '../lib/core/options.js';
import { writeOutput } from '../lib/core/output.js';
import {
  dateOptions,
  engineOptions,
  example,
  formatOption,
  type Declare,
  type Engine,
} from './command.js';

const REPORT_HELP: Array<[string, string, string]> = [
  [
    'events',
    'Q1: the most popular events (count and share per event_type)',
    'gamepipe report events --format markdown',
  ],
  [
    'hosts',
    'Q2: internet providers of the players and the most popular events on each',
    'gamepipe report hosts --providers comcast,att,cox',
  ],
  [
    'daily',
    'per day: events by type, provider shares, change, and a drift flag where the mix moved',
    'gamepipe report daily --threshold 0.05 --fail-on-drift',
  ],
  [
    'items',
    'units and revenue per item (where purchases carry a price)',
    'gamepipe report items --format csv --out items.csv',
  ],
  [
    'users',
    'daily active players (distinct Host)',
    'gamepipe report users --from 2026-11-01 --to 2026-11-30',
  ],
  ['all', 'every report', 'gamepipe report all --format html --out report.html'],
];

/** `gamepipe report NAME`: one subcommand per report, all with the same options. */
export const declare: Declare = (parent, run) => {
  const reportCmd = parent
    .command('report')
    .description('answer the business questions from the lake: events, hosts, daily, items, users');
  example(reportCmd, 'gamepipe report events --from 2026-11-20 --to 2026-11-27');
  for (const [name, description, ex] of REPORT_HELP) {
    example(
      engineOptions(
        dateOptions(reportCmd.command(name).description(description))
          .addOption(formatOption(['table', 'json', 'csv', 'markdown', 'html'], 'table'))
          .option(
            '--out <file>',
            'write to a file, `-` for stdout (html: default gamepipe-report.html)',
          )
          .option(
            '--table <name>',
            'csv: the table to print, when the report has several (the error lists them)',
          )
          .option(
            '--providers <list>',
            'providers to match Host against (default: comcast,att,google,frontier,cox,earthlink)',
          )
          .option('--include-incomplete', 'also read dates without a _SUCCESS manifest', false)
          .option(
            '--with-partial-days',
            'daily, users: test a partial day (still open when extracted) for drift and count it in retention',
            false,
          )
          .option(
            '--threshold <x>',
            'daily: smallest move of a mix (0..1, total variation distance) to flag',
            '0.05',
          )
          .option('--fail-on-drift', 'daily: exit 3 when a day is flagged', false)
          .option(
            '--no-cache',
            'embedded: fetch the files for this run only (default: keep local copies)',
          )
          .option(
            '--cache-size <MB>',
            'embedded: most megabytes of local copies kept in $GAMEPIPE_HOME/cache',
            '2048',
          ),
        'computes the report',
      ).action(async (...args: unknown[]) => {
        const cmd = args[args.length - 1] as Command;
        await run('report', { ...cmd.optsWithGlobals(), report: name });
      }),
      ex,
    );
  }
};

export interface ReportOptions extends ConfigFlags {
  report: string;
  date?: string;
  from?: string;
  to?: string;
  format: string;
  out?: string;
  table?: string;
  withPartialDays: boolean;
  providers?: string;
  includeIncomplete: boolean;
  threshold: string;
  failOnDrift: boolean;
  cache: boolean;
  cacheSize: string;
  engine: Engine;
  sparkMaster?: string;
  sparkSubmit?: string;
  sparkConf?: string[];
}

const FORMATS: readonly ReportFormat[] = ['table', 'json', 'csv', 'markdown', 'html'];

/** Answers the business questions from the lake; `report all` holds every report (one HTML page). */
export async function report(opts: ReportOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, FORMATS);
  const { buildReports, REPORTS } = await import('../lib/analysis/report.js');
  const { chartSvg, ColorMap } = await import('../lib/analysis/charts.js');
  // one colour per category across the page
  const colors = new ColorMap();
  const providers = parseProviders(
    opts.providers ?? process.env.GAMEPIPE_PROVIDERS ?? [...DEFAULT_PROVIDERS],
  );
  // every format holds the report asked for; `report all` holds all of them
  const names = opts.report === 'all' ? [...REPORTS] : [parseFormat(opts.report, REPORTS)];
  const { reports, missing } = await buildReports(config, names, {
    dates: datesFromFlags(opts),
    includeIncomplete: opts.includeIncomplete,
    providers,
    threshold: parseNumber('--threshold', opts.threshold, { min: 0, max: 1 }),
    engine: opts.engine,
    cacheMaxBytes: parseCount('--cache-size', opts.cacheSize, { min: 1 }) * 1024 * 1024,
    noCache: !opts.cache,
    withPartial: opts.withPartialDays,
  });
  if (missing.length > 0) {
    process.stderr.write(
      `note: no complete data for ${missing.length} of the dates asked: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}\n`,
    );
  }
  const text = renderReports(
    reports,
    format,
    (r) => (reports.find((x) => x.name === r.name)?.charts ?? []).map((c) => chartSvg(c, colors)),
    { table: opts.table },
  );
  const out = opts.out ?? (format === 'html' ? 'gamepipe-report.html' : undefined);
  if (out) {
    await writeOutput(out, text);
    if (out !== '-')
      info(
        `wrote ${format === 'html' ? 'the HTML report' : `the ${names.join(', ')} report`} to ${out}`,
      );
  } else {
    process.stdout.write(text);
  }
  const daily = reports.find((r) => r.name === 'daily');
  if (opts.failOnDrift && daily?.drift) {
    process.stderr.write(
      'drift: the mix of events or providers moved on at least one day (see the daily report)\n',
    );
    return 3;
  }
  return 0;
}
