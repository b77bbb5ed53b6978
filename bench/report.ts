/**
 * bench/report: the reports over N events in the lake spread over several dates: Q1 + Q2 (report
 * events and hosts) and all five reports, on DuckDB over the local cache (cold and warm) and on
 * Spark SQL (local[2]), beside the baselines of DuckDB alone on local copies of the same files,
 * with and without making the copies, in the same run; with --other DIR, the same reports by the
 * build at DIR (an earlier commit: `git worktree add DIR COMMIT`, `npm ci`, `npm run build`).
 * Run it at 1 M and at 10 M events: time should grow about linearly and peak RSS stay flat.
 * Every run uses the built code (dist/), as users run it: `npm run build` first.
 *   node --import tsx bench/report.ts [--events 1000000] [--dates 4] [--runs 3] [--no-spark]
 *     [--other DIR] [--base PATH]
 * --base reuses a lake already extracted (its dates from 2026-11-02 on, as this bench lays them
 * out): no topic is filled and the lake is kept.
 * Needs the stack (`gamepipe up`). Prints a Markdown table for docs/benchmarks.md.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/lib/core/config.js';
import { uniqueName } from '../test/helpers.js';
import { cleanUp, fillTopic, measured, measuredExtract, repeated } from './common.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    dates: { type: 'string', default: '4' },
    // each figure is the median of `runs`
    runs: { type: 'string', default: '3' },
    'no-spark': { type: 'boolean', default: false },
    other: { type: 'string' },
    base: { type: 'string' },
  },
});
const n = Number(values.events);
const runs = Number(values.runs);
const config = resolveConfig();
const DATES = Array.from({ length: Number(values.dates) }, (_, i) =>
  new Date(Date.UTC(2026, 10, 2 + i)).toISOString().slice(0, 10),
);

let topic: string | undefined;
let base = values.base as string;
if (!values.base) {
  process.stderr.write(`producing ${n} events over ${DATES.length} dates and extracting them...\n`);
  topic = await fillTopic(config, n, DATES);
  base = `/tmp/gamepipe-bench/${uniqueName('lake')}`;
  for (const d of DATES) await measuredExtract(topic, base, d);
}
const FROM = DATES[0] as string;
const TO = DATES[DATES.length - 1] as string;

// argv: dist dir, base, from, to, reports (comma list), home ('' for a new one: a cold cache),
// engine. The reports as the CLI builds them, without rendering.
const REPORTS = `
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const [dist, base, from, to, names, given, engine] = process.argv.slice(1);
const { resolveConfig } = await import(dist + '/lib/core/config.js');
const { buildReports } = await import(dist + '/lib/analysis/report.js');
const { dateRange } = await import(dist + '/lib/lake/layout.js');
const { DEFAULT_PROVIDERS } = await import(dist + '/lib/events/providers.js');
const home = given || mkdtempSync(join(tmpdir(), 'gp-bench-home-'));
const c = resolveConfig({ flags: { base, home } });
const { reports } = await buildReports(c, names.split(','), { providers: DEFAULT_PROVIDERS, dates: dateRange(from, to), engine });
console.log(reports.length);
`;
// the seed's two questions as docs/reports.md writes them in SQL
const Q1 =
  'SELECT event_type, count(*) AS events FROM (SELECT event_type FROM purchases UNION ALL ' +
  'SELECT event_type FROM join_guild) GROUP BY event_type ORDER BY events DESC, event_type';
const Q2 =
  "SELECT coalesce(list_filter(string_split(lower(Host), '.'), x -> x IN ('comcast', 'att', " +
  "'google', 'frontier', 'cox', 'earthlink'))[1], 'other') AS provider, count(*) AS events " +
  'FROM (SELECT Host FROM purchases UNION ALL SELECT Host FROM join_guild) GROUP BY provider ' +
  'ORDER BY events DESC, provider';
// argv: base, from, to, home ('' for a new one: a cold cache)
const SQL_BOTH = `
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from './dist/lib/core/config.js';
import { runQueries } from './dist/lib/analysis/sql.js';
import { dateRange } from './dist/lib/lake/layout.js';
const home = process.argv[4] || mkdtempSync(join(tmpdir(), 'gp-bench-sql-'));
const c = resolveConfig({ flags: { base: process.argv[1], home } });
const r = await runQueries(c, { q1: ${JSON.stringify(Q1)}, q2: ${JSON.stringify(Q2)} }, { dates: dateRange(process.argv[2], process.argv[3]), cacheMaxBytes: 8 * 1024 ** 3 });
console.log(Object.keys(r.results).length);
`;
// argv: base, from, to, local dir; copy=1: copy the files from HDFS first (timed with the queries)
const DUCK_LOCAL = `
import { mkdirSync, writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { resolveConfig } from './dist/lib/core/config.js';
import { outputDir } from './dist/lib/lake/layout.js';
import { WebHdfs } from './dist/lib/hdfs/webhdfs.js';
import { dateRange } from './dist/lib/lake/layout.js';
const [base, from, to, dir, copy] = process.argv.slice(1);
if (copy === '1') {
  const c = resolveConfig();
  const hdfs = new WebHdfs({ url: c.webhdfsUrl, user: c.hdfsUser });
  for (const date of dateRange(from, to))
    for (const o of ['purchases', 'join_guild']) {
      mkdirSync(dir + '/' + o + '/date=' + date, { recursive: true });
      const d = outputDir(base, o, date);
      await Promise.all((await hdfs.listStatus(d)).map(async (f) =>
        writeFileSync(dir + '/' + o + '/date=' + date + '/' + f.pathSuffix, await hdfs.read(d + '/' + f.pathSuffix))));
    }
  await hdfs.close();
}
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
for (const o of ['purchases', 'join_guild'])
  await conn.run('CREATE VIEW ' + o + " AS SELECT * FROM read_parquet('" + dir + '/' + o + "/*/*.parquet', hive_partitioning = true)");
for (const q of ${JSON.stringify([Q1, Q2])}) console.log((await conn.runAndReadAll(q)).getRows().length);
`;
// argv: local dir, then the queries as JSON: DuckDB alone on local copies, the reports' own SQL
const DUCK_LOCAL_QUERIES = `
import { DuckDBInstance } from '@duckdb/node-api';
const [dir, queries] = process.argv.slice(1);
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
for (const o of ['purchases', 'join_guild'])
  await conn.run('CREATE VIEW ' + o + " AS SELECT * FROM read_parquet('" + dir + '/' + o + "/*/*.parquet', hive_partitioning = true)");
for (const q of JSON.parse(queries)) console.log((await conn.runAndReadAll(q)).getRows().length);
`;
const { REPORT_QUERIES } = await import('../src/lib/analysis/queries.js');
const { DEFAULT_PROVIDERS } = await import('../src/lib/events/providers.js');
const reportSql = JSON.stringify(
  (['event_counts', 'provider_types'] as const).map((q) => REPORT_QUERIES[q](DEFAULT_PROVIDERS)),
);
const rows: Array<{ run: string; seconds: number; peakRssMb: number; each: string }> = [];
const run = async (name: string, args: string[]): Promise<void> => {
  const m = await repeated(runs, async () => {
    const once = await measured(args);
    if (once.code !== 0) throw new Error(`${name} failed`);
    return once;
  });
  rows.push({ run: name, seconds: m.ms / 1000, peakRssMb: m.peakRssMb, each: m.each });
};
const { mkdtempSync } = await import('node:fs');
const { tmpdir } = await import('node:os');
const { join } = await import('node:path');
const local = mkdtempSync(`${tmpdir()}/gp-bench-local-`);
const warm = mkdtempSync(`${tmpdir()}/gp-bench-warm-`);
const dist = join(process.cwd(), 'dist');
const reports = (names: string, home: string, engine = 'embedded', from = dist): string[] => [
  '--input-type=module',
  '-e',
  REPORTS,
  from,
  base,
  FROM,
  TO,
  names,
  home,
  engine,
];
// copies for "DuckDB alone" and a warm cache, made once before their runs
await measured(['--input-type=module', '-e', DUCK_LOCAL, base, FROM, TO, local, '1']);
await measured(reports('events,hosts', warm));
await run('baseline: DuckDB alone, Q1 + Q2 on local copies of the files', [
  '--input-type=module',
  '-e',
  DUCK_LOCAL,
  base,
  FROM,
  TO,
  local,
  '0',
]);
await run('baseline: DuckDB, Q1 + Q2, copying the files from HDFS first', [
  '--input-type=module',
  '-e',
  DUCK_LOCAL,
  base,
  FROM,
  TO,
  `${local}-copy`,
  '1',
]);
await run("baseline: DuckDB alone, the reports' own Q1 + Q2 queries on local copies", [
  '--input-type=module',
  '-e',
  DUCK_LOCAL_QUERIES,
  local,
  reportSql,
]);
await run('report events + hosts (Q1 + Q2), cold cache', reports('events,hosts', ''));
await run('report events + hosts (Q1 + Q2), warm cache', reports('events,hosts', warm));
await run('all five reports, warm cache', reports('events,hosts,daily,items,users', warm));
await run('gamepipe sql Q1 + Q2, warm cache (runQueries)', [
  '--input-type=module',
  '-e',
  SQL_BOTH,
  base,
  FROM,
  TO,
  warm,
]);
if (values.other) {
  const other = join(values.other, 'dist');
  await run(
    `report events + hosts (Q1 + Q2), the build at ${values.other}`,
    reports('events,hosts', '', 'embedded', other),
  );
  await run(
    `all five reports, the build at ${values.other}`,
    reports('events,hosts,daily,items,users', '', 'embedded', other),
  );
}
if (!values['no-spark']) {
  await run(
    'report events + hosts (Q1 + Q2), --engine spark (local[2])',
    reports('events,hosts', warm, 'spark'),
  );
  await run(
    'all five reports, --engine spark (local[2])',
    reports('events,hosts,daily,items,users', warm, 'spark'),
  );
}

if (topic) await cleanUp(config, topic, base);

console.log(
  `\nbench/report — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), node ${process.version}, ${n} events over ${DATES.length} dates (${FROM} .. ${TO})\n`,
);
console.log(`each figure: the median of ${runs} runs (every run in the last column)\n`);
console.log('| run | wall s | peak RSS MB | runs |');
console.log('| --- | ---: | ---: | --- |');
for (const r of rows)
  console.log(`| ${r.run} | ${r.seconds.toFixed(2)} | ${r.peakRssMb} | ${r.each} |`);
