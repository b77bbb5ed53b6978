/**
 * bench/report: Q1 (report events) and Q2 (report hosts) over N events in the lake, read straight
 * from the Parquet files on HDFS: wall time and peak RSS, beside the baseline of only reading the
 * same two columns from the same files (hyparquet over WebHDFS, no analysis), in the same run;
 * and the two questions as SQL (`gamepipe sql`'s runSql: DuckDB over the local cache, cold and
 * warm) beside DuckDB alone on local copies of the files, with and without making the copies.
 * Every run uses the built code (dist/), as users run it: `npm run build` first.
 *   node --import tsx bench/report.ts [--events 1000000] [--runs 3]
 * Needs the stack (`gamepipe up`). Prints a Markdown table for docs/benchmarks.md.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/lib/core/config.js';
import { BIN, uniqueName } from '../test/helpers.js';
import { cleanUp, fillTopic, measured, measuredExtract, repeated } from './common.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    // each figure is the median of `runs`
    runs: { type: 'string', default: '3' },
  },
});
const n = Number(values.events);
const runs = Number(values.runs);
const config = resolveConfig();
const DATE = '2026-11-02';

process.stderr.write(`producing ${n} events and extracting them...\n`);
const topic = await fillTopic(config, n, DATE);
const base = `/tmp/gamepipe-bench/${uniqueName('lake')}`;
await measuredExtract(topic, base, DATE);

const READ_ONLY = `
import { resolveConfig } from './dist/lib/core/config.js';
import { outputDir } from './dist/lib/lake/layout.js';
import { readColumns } from './dist/lib/lake/reader.js';
import { WebHdfs } from './dist/lib/hdfs/webhdfs.js';
const c = resolveConfig();
const hdfs = new WebHdfs({ url: c.webhdfsUrl, user: c.hdfsUser });
let rows = 0;
for (const o of ['purchases', 'join_guild']) {
  const dir = outputDir(process.argv[1], o, process.argv[2]);
  for (const f of await hdfs.listStatus(dir)) rows += (await readColumns(hdfs, dir + '/' + f.pathSuffix, ['event_type', 'Host'])).rows;
}
await hdfs.close();
console.log(rows);
`;
const BOTH = `
import { resolveConfig } from './dist/lib/core/config.js';
import { buildReports } from './dist/lib/analysis/report.js';
import { renderReports } from './dist/lib/core/render.js';
import { DEFAULT_PROVIDERS } from './dist/lib/events/providers.js';
const c = resolveConfig({ flags: { base: process.argv[1] } });
const { reports } = await buildReports(c, ['events', 'hosts'], { providers: DEFAULT_PROVIDERS, dates: [process.argv[2]] });
process.stdout.write(renderReports(reports, 'table'));
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
// argv: base, date, home ('' for a new one: a cold cache)
const SQL_BOTH = `
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from './dist/lib/core/config.js';
import { runSql } from './dist/lib/analysis/sql.js';
const home = process.argv[3] || mkdtempSync(join(tmpdir(), 'gp-bench-sql-'));
const c = resolveConfig({ flags: { base: process.argv[1], home } });
for (const q of ${JSON.stringify([Q1, Q2])}) {
  const r = await runSql(c, q, { dates: [process.argv[2]], cacheMaxBytes: 8 * 1024 ** 3 });
  console.log(r.rows.length);
}
`;
// argv: base, date, local dir; copy=1: copy the files from HDFS first (timed with the queries)
const DUCK_LOCAL = `
import { mkdirSync, writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';
import { resolveConfig } from './dist/lib/core/config.js';
import { outputDir } from './dist/lib/lake/layout.js';
import { WebHdfs } from './dist/lib/hdfs/webhdfs.js';
const [base, date, dir, copy] = process.argv.slice(1);
if (copy === '1') {
  const c = resolveConfig();
  const hdfs = new WebHdfs({ url: c.webhdfsUrl, user: c.hdfsUser });
  for (const o of ['purchases', 'join_guild']) {
    mkdirSync(dir + '/' + o, { recursive: true });
    const d = outputDir(base, o, date);
    await Promise.all((await hdfs.listStatus(d)).map(async (f) =>
      writeFileSync(dir + '/' + o + '/' + f.pathSuffix, await hdfs.read(d + '/' + f.pathSuffix))));
  }
  await hdfs.close();
}
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
for (const o of ['purchases', 'join_guild'])
  await conn.run('CREATE VIEW ' + o + " AS SELECT * FROM read_parquet('" + dir + '/' + o + "/*.parquet')");
for (const q of ${JSON.stringify([Q1, Q2])}) console.log((await conn.runAndReadAll(q)).getRows().length);
`;
const rows: Array<{ run: string; seconds: number; peakRssMb: number; each: string }> = [];
const run = async (name: string, args: string[]): Promise<void> => {
  const m = await repeated(runs, async () => {
    const once = await measured(args);
    if (once.code !== 0) throw new Error(`${name} failed`);
    return once;
  });
  rows.push({ run: name, seconds: m.ms / 1000, peakRssMb: m.peakRssMb, each: m.each });
};
await run('baseline: read event_type + Host only (hyparquet over WebHDFS)', [
  '--input-type=module',
  '-e',
  READ_ONLY,
  base,
  DATE,
]);
await run('Q1 + Q2 in one read (buildReports events, hosts)', [
  '--input-type=module',
  '-e',
  BOTH,
  base,
  DATE,
]);
await run('gamepipe report events (Q1, CLI)', [
  BIN,
  'report',
  'events',
  '--base',
  base,
  '--date',
  DATE,
]);
await run('gamepipe report hosts (Q2, CLI)', [
  BIN,
  'report',
  'hosts',
  '--base',
  base,
  '--date',
  DATE,
]);

const { mkdtempSync } = await import('node:fs');
const { tmpdir } = await import('node:os');
const local = mkdtempSync(`${tmpdir()}/gp-bench-local-`);
const warm = mkdtempSync(`${tmpdir()}/gp-bench-warm-`);
// copies for "DuckDB alone" and a warm cache, made once before their runs
await measured(['--input-type=module', '-e', DUCK_LOCAL, base, DATE, local, '1']);
await measured(['--input-type=module', '-e', SQL_BOTH, base, DATE, warm]);
await run('DuckDB alone, Q1 + Q2 on local copies of the files', [
  '--input-type=module',
  '-e',
  DUCK_LOCAL,
  base,
  DATE,
  local,
  '0',
]);
await run('DuckDB, Q1 + Q2, copying the files from HDFS first', [
  '--input-type=module',
  '-e',
  DUCK_LOCAL,
  base,
  DATE,
  `${local}-copy`,
  '1',
]);
await run('gamepipe sql Q1 + Q2, cold cache (runSql)', [
  '--input-type=module',
  '-e',
  SQL_BOTH,
  base,
  DATE,
  '',
]);
await run('gamepipe sql Q1 + Q2, warm cache (runSql)', [
  '--input-type=module',
  '-e',
  SQL_BOTH,
  base,
  DATE,
  warm,
]);

await cleanUp(config, topic, base);

console.log(
  `\nbench/report — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), node ${process.version}, ${n} events on one date\n`,
);
console.log(`each figure: the median of ${runs} runs (every run in the last column)\n`);
console.log('| run | wall s | peak RSS MB | runs |');
console.log('| --- | ---: | ---: | --- |');
for (const r of rows)
  console.log(`| ${r.run} | ${r.seconds.toFixed(2)} | ${r.peakRssMb} | ${r.each} |`);
