import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { datesFromFlags } from '../lib/lake/layout.js';
import { DEFAULT_PROVIDERS, parseProviders } from '../lib/events/providers.js';
import { parseFormat, renderReports, type ReportFormat } from '../lib/core/render.js';
import { parseNumber } from '../lib/core/options.js';
import { writeOutput } from '../lib/core/output.js';

export interface ReportOptions extends ConfigFlags {
  report: string;
  date?: string;
  from?: string;
  to?: string;
  format: string;
  out?: string;
  providers?: string;
  includeIncomplete: boolean;
  threshold: string;
  failOnDrift: boolean;
}

const FORMATS: readonly ReportFormat[] = ['table', 'json', 'csv', 'markdown', 'html'];

/** Answers the business questions from the lake; `--format html` writes every report in one page. */
export async function report(opts: ReportOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, FORMATS);
  const { buildReports, REPORTS } = await import('../lib/analysis/report.js');
  const { chartSvg } = await import('../lib/analysis/charts.js');
  const providers = parseProviders(
    opts.providers ?? process.env.GAMEPIPE_PROVIDERS ?? [...DEFAULT_PROVIDERS],
  );
  // one HTML page holds every report; the other formats hold the one asked for
  const names =
    format === 'html' || opts.report === 'all' ? [...REPORTS] : [parseFormat(opts.report, REPORTS)];
  const { reports, missing } = await buildReports(config, names, {
    dates: datesFromFlags(opts),
    includeIncomplete: opts.includeIncomplete,
    providers,
    threshold: parseNumber('--threshold', opts.threshold, { min: 0, max: 1 }),
  });
  if (missing.length > 0) {
    process.stderr.write(
      `note: no complete data for ${missing.length} of the dates asked: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', ...' : ''}\n`,
    );
  }
  const text = renderReports(reports, format, (r) =>
    (reports.find((x) => x.name === r.name)?.charts ?? []).map(chartSvg),
  );
  const out = opts.out ?? (format === 'html' ? 'gamepipe-report.html' : undefined);
  if (out) {
    await writeOutput(out, text);
    if (out !== '-')
      process.stderr.write(
        `wrote ${format === 'html' ? 'the HTML report' : `the ${names.join(', ')} report`} to ${out}\n`,
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
