import { resolve } from 'node:path';
import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { parseCount } from '../lib/core/options.js';
import { writeOutput } from '../lib/core/output.js';
import { duration, renderReports, table } from '../lib/core/render.js';
import { info, progress } from '../lib/core/progress.js';
import { example, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('demo')
      .description(
        'the whole pipeline once: up, serve, generate with a ledger, extract today, verify, reports',
      )
      .option('--events <n>', 'how many events to generate', '3000')
      .option('--out <file>', 'where to write the HTML report', 'gamepipe-report.html')
      .action(runs(run, 'demo')),
    'gamepipe demo --events 5000 --out report.html',
  );
};

export interface DemoOptions extends ConfigFlags {
  events: string;
  out: string;
}

/** The pipeline end to end, each step timed; writes the HTML report. */
export async function demo(opts: DemoOptions): Promise<number> {
  const config = configFromFlags(opts);
  const { runDemo } = await import('./demo-pipeline.js');
  const { chartSvg, ColorMap } = await import('../lib/analysis/charts.js');
  // one colour per category across the page
  const colors = new ColorMap();
  const spin = await progress('starting');
  let res;
  try {
    res = await runDemo(config, {
      events: parseCount('--events', opts.events, { max: 10_000_000 }),
      onStep: (s) =>
        typeof s === 'string'
          ? spin.text(`${s}...`)
          : info(`✔ ${s.name} (${duration(s.ms)}): ${s.summary}`),
    });
  } finally {
    spin.stop();
  }
  const [events, hosts] = [
    res.reports.find((r) => r.name === 'events'),
    res.reports.find((r) => r.name === 'hosts'),
  ];
  process.stdout.write(
    renderReports(
      [events, hosts].filter((r) => r !== undefined),
      'table',
    ),
  );
  await writeOutput(
    opts.out,
    renderReports(res.reports, 'html', (r) =>
      (res.reports.find((x) => x.name === r.name)?.charts ?? []).map((c) => chartSvg(c, colors)),
    ),
  );
  process.stdout.write(
    '\n' +
      table(
        ['step', 'took', 'result'],
        res.steps.map((s) => [s.name, duration(s.ms), s.summary]),
      ) +
      `\n\nThe HTML report (every report, with charts) is in ${resolve(opts.out)}\n` +
      `The ledger of acknowledged events is ${res.ledger}\n` +
      'The stack keeps running: `npx gamepipe status` shows it, `npx gamepipe down` stops it (`--purge` deletes its data).\n',
  );
  return res.verify.ok ? 0 : 1;
}
