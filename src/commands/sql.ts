import type { Command } from 'commander';
import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { info } from '../lib/core/progress.js';
import { datesFromFlags } from '../lib/lake/layout.js';
import { parseCount } from '../lib/core/options.js';
import { writeOutput } from '../lib/core/output.js';
import { bytes, parseFormat, renderReports, type ReportFormat } from '../lib/core/render.js';
import {
  dateOptions,
  engineOptions,
  example,
  formatOption,
  type Declare,
  type Engine,
} from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    engineOptions(
      dateOptions(
        parent
          .command('sql')
          .description(
            'ad hoc SQL over the lake (DuckDB, or Spark SQL): tables purchases and join_guild, each with a date column',
          )
          .argument(
            '<query>',
            'one SQL statement, e.g. "SELECT item, count(*) FROM purchases GROUP BY 1"',
          ),
      )
        .addOption(formatOption(['table', 'json', 'csv', 'markdown'], 'table'))
        .option('--out <file>', 'write to a file')
        .option('--include-incomplete', 'also read dates without a _SUCCESS manifest', false)
        .option('--no-cache', 'fetch the files for this query only (default: keep local copies)')
        .option(
          '--cache-size <MB>',
          'most megabytes of local copies kept in $GAMEPIPE_HOME/cache',
          '2048',
        ),
      'runs the query',
    ).action(async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      await run('sql', { ...cmd.optsWithGlobals(), query: args[0] });
    }),
    'gamepipe sql "SELECT date, count(*) AS purchases FROM purchases GROUP BY date ORDER BY date" --from 2026-11-01 --to 2026-11-30',
    'gamepipe sql "SELECT Host, count(*) AS n FROM join_guild GROUP BY Host ORDER BY n DESC LIMIT 10" --format csv',
  );
};

export interface SqlOptions extends ConfigFlags {
  query: string;
  date?: string;
  from?: string;
  to?: string;
  format: string;
  out?: string;
  includeIncomplete: boolean;
  cache: boolean;
  cacheSize: string;
  engine: Engine;
  sparkMaster?: string;
  sparkSubmit?: string;
  sparkConf?: string[];
}

const FORMATS: readonly ReportFormat[] = ['table', 'json', 'csv', 'markdown'];

/** Answers an analyst's SQL from the lake, with DuckDB over local copies of its files. */
export async function sql(opts: SqlOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, FORMATS);
  const cacheMb = parseCount('--cache-size', opts.cacheSize, { min: 1 });
  const { runSql } = await import('../lib/analysis/sql.js');
  const res = await runSql(config, opts.query, {
    dates: datesFromFlags(opts),
    includeIncomplete: opts.includeIncomplete,
    cacheMaxBytes: cacheMb * 1024 * 1024,
    noCache: !opts.cache,
    engine: opts.engine,
  });
  if (res.missing.length > 0) {
    process.stderr.write(
      `note: no complete data for ${res.missing.length} of the dates asked: ${res.missing.slice(0, 10).join(', ')}${res.missing.length > 10 ? ', ...' : ''}\n`,
    );
  }
  const text = renderReports(
    [
      {
        name: 'sql',
        title: 'SQL',
        question: opts.query,
        dates: res.dates,
        partial: res.partial,
        tables: [
          {
            name: 'result',
            title: `${res.rows.length} row(s)`,
            columns: res.columns,
            rows: res.rows,
          },
        ],
        data: {
          columns: res.columns,
          rows: res.rows.map((r) => Object.fromEntries(res.columns.map((c, i) => [c, r[i]]))),
        },
      },
    ],
    format,
  );
  if (opts.out) await writeOutput(opts.out, text);
  else process.stdout.write(text);
  const c = res.cache;
  info(
    !c
      ? `${res.dates.length} date(s); Spark (${config.sparkMaster}) read the lake's files`
      : `${res.dates.length} date(s); ${c.hits} file(s) from the local cache, ${c.fetched} fetched (${bytes(c.fetchedBytes)})${c.evicted ? `, ${c.evicted} old cop${c.evicted === 1 ? 'y' : 'ies'} dropped` : ''}`,
  );
  return 0;
}
