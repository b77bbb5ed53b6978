import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { withHdfs } from '../hdfs/webhdfs.js';
import { LakeCache, type CacheUse } from '../lake/cache.js';
import { EVENT_OUTPUTS, lakeFiles, type EventOutput, type LakeFile } from '../lake/files.js';
import type { ColumnKind } from '../lake/parquet/schema.js';
import { OUTPUT_COLUMNS } from '../lake/rows.js';

export type SqlCell = string | number | boolean | null;

export interface SqlOptions {
  dates?: string[] | undefined;
  includeIncomplete?: boolean;
  /** Largest size of the local copies of the lake's files kept between runs. */
  cacheMaxBytes: number;
  /** Fetch into a directory of its own that is deleted after the query. */
  noCache?: boolean;
}

export interface SqlResult {
  columns: string[];
  rows: SqlCell[][];
  dates: string[];
  missing: string[];
  cache: Omit<CacheUse, 'paths'>;
}

const DUCKDB_TYPE: Record<ColumnKind, string> = {
  string: 'VARCHAR',
  int32: 'INTEGER',
  int64: 'BIGINT',
  double: 'DOUBLE',
  timestamp: 'TIMESTAMP_MS',
  binary: 'BLOB',
};

const quoteId = (s: string): string => `"${s.replace(/"/g, '""')}"`;
const quoteStr = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * The view of one output over its local copies: each date's files with a `date` column; an
 * output with no file in the range is an empty view of the lake's columns, so a query naming it
 * still runs.
 */
function viewSql(output: EventOutput, files: LakeFile[], paths: Map<LakeFile, string>): string {
  const byDate = new Map<string, string[]>();
  for (const f of files) {
    if (f.output !== output) continue;
    const list = byDate.get(f.date) ?? [];
    list.push(paths.get(f) as string);
    byDate.set(f.date, list);
  }
  if (byDate.size === 0) {
    const cols = OUTPUT_COLUMNS[output].map(
      (c) => `CAST(NULL AS ${DUCKDB_TYPE[c.kind]}) AS ${quoteId(c.name)}`,
    );
    return `SELECT ${cols.join(', ')}, CAST(NULL AS DATE) AS date WHERE false`;
  }
  return [...byDate]
    .map(
      ([date, list]) =>
        `SELECT *, DATE ${quoteStr(date)} AS date FROM read_parquet([${list.map(quoteStr).join(', ')}])`,
    )
    .join(' UNION ALL BY NAME ');
}

/** A value of DuckDB's as JSON has it: integers as numbers where exact, the rest as text. */
function cell(v: unknown): SqlCell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

/**
 * Runs `query` with DuckDB over the lake's `purchases` and `join_guild` tables (each with a `date`
 * column) for the chosen dates, from local copies of their Parquet files.
 */
export async function runSql(
  config: Pick<Config, 'webhdfsUrl' | 'hdfsUser' | 'base' | 'home'>,
  query: string,
  { dates, includeIncomplete = false, cacheMaxBytes, noCache = false }: SqlOptions,
): Promise<SqlResult> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = noCache
    ? await mkdtemp(join(tmpdir(), 'gamepipe-sql-'))
    : join(config.home, 'cache', 'lake');
  try {
    const { selection, use } = await withHdfs(config, async (hdfs) => {
      const selection = await lakeFiles(hdfs, config.base, { dates, includeIncomplete });
      const use = await new LakeCache(dir, cacheMaxBytes).get(hdfs, selection.files);
      return { selection, use };
    });
    const paths = new Map(selection.files.map((f, i) => [f, use.paths[i] as string]));
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      for (const output of EVENT_OUTPUTS)
        await conn.run(`CREATE VIEW ${output} AS ${viewSql(output, selection.files, paths)}`);
      let reader;
      try {
        reader = await conn.runAndReadAll(query);
      } catch (err) {
        const first = ((err as Error).message ?? String(err)).split('\n')[0];
        throw new GamepipeError(ErrorCodes.usage, `the query failed: ${first}`, {
          hint: 'the tables are purchases and join_guild, each with a date column (docs/reports.md)',
        });
      }
      const { paths: _paths, ...cache } = use;
      return {
        columns: reader.columnNames(),
        rows: reader.getRows().map((r) => r.map(cell)),
        dates: selection.dates,
        missing: selection.missing,
        cache,
      };
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  } finally {
    if (noCache) await rm(dir, { recursive: true, force: true });
  }
}
