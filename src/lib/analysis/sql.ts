/**
 * SQL over the lake's tables, `purchases` and `join_guild` (each with a `date` column), on either
 * engine: DuckDB in this process over local copies of the Parquet files (the default), or Spark
 * SQL over the files where they are. Reports and `gamepipe sql` both run here, so one query
 * gives the same answer on both; cells come back as JSON has them.
 */
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { withHdfs } from '../hdfs/webhdfs.js';
import { LakeCache, type CacheUse } from '../lake/cache.js';
import {
  EVENT_OUTPUTS,
  lakeFiles,
  type EventOutput,
  type LakeFile,
  type LakeSelection,
} from '../lake/files.js';
import type { ColumnKind } from '../lake/parquet/schema.js';
import { OUTPUT_COLUMNS } from '../lake/rows.js';
import { runSparkJob, sparkLakeUrl, type SparkConfig } from '../spark/submit.js';

export type SqlCell = string | number | boolean | null;
export type SqlEngine = 'embedded' | 'spark';

export interface QueryResult {
  columns: string[];
  rows: SqlCell[][];
}

export interface SqlOptions {
  dates?: string[] | undefined;
  includeIncomplete?: boolean;
  /** Without `dates`: every date of the lake up to this one. */
  until?: string | undefined;
  /** embedded (DuckDB, the default) or spark. */
  engine?: SqlEngine;
  /** Largest size of the local copies of the lake's files kept between runs (embedded). */
  cacheMaxBytes?: number;
  /** Fetch into a directory of its own that is deleted after the queries (embedded). */
  noCache?: boolean;
}

export interface QueriesResult {
  results: Record<string, QueryResult>;
  dates: string[];
  missing: string[];
  /** Dates whose day was still open when extracted (partial days). */
  partial: string[];
  /** embedded only: what the local cache served. */
  cache?: Omit<CacheUse, 'paths'>;
}

export type SqlConfig = Pick<Config, 'webhdfsUrl' | 'hdfsUser' | 'base' | 'home'> & SparkConfig;

const DUCKDB_TYPE: Record<ColumnKind, string> = {
  string: 'VARCHAR',
  int32: 'INTEGER',
  int64: 'BIGINT',
  double: 'DOUBLE',
  timestamp: 'TIMESTAMPTZ',
  binary: 'BLOB',
};

const quoteId = (s: string): string => `"${s.replace(/"/g, '""')}"`;
const quoteStr = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A failed query is the user's to fix: GP_USAGE with the engine's first line. */
function queryFailed(message: string): GamepipeError {
  return new GamepipeError(ErrorCodes.usage, `the query failed: ${message.split('\n')[0]}`, {
    hint: 'the tables are purchases and join_guild, each with a date column (docs/reports.md)',
  });
}

function corrupt(path: string, message: string, cause: unknown): GamepipeError {
  return new GamepipeError(
    ErrorCodes.corruptFile,
    `${path} is not a readable Parquet file (${message.split('\n')[0]})`,
    {
      hint: 'rerun `gamepipe extract` for its date to rewrite it, or move the file away',
      context: { path },
      cause,
    },
  );
}

/**
 * The view of one output over its local copies: one hive-partitioned scan of the files (the cache
 * lays them out as `<output>/date=D/`, which gives the `date` column), by name so that files
 * written by different schema versions line up; an output with no file in the range is an empty
 * view of the lake's columns, so a query naming it still runs.
 */
function viewSql(output: EventOutput, files: LakeFile[], paths: Map<LakeFile, string>): string {
  const list = files.filter((f) => f.output === output).map((f) => paths.get(f) as string);
  if (list.length === 0) {
    const cols = OUTPUT_COLUMNS[output].map(
      (c) => `CAST(NULL AS ${DUCKDB_TYPE[c.kind]}) AS ${quoteId(c.name)}`,
    );
    return `SELECT ${cols.join(', ')}, CAST(NULL AS DATE) AS date WHERE false`;
  }
  return (
    `SELECT * FROM read_parquet([${list.map(quoteStr).join(', ')}], hive_partitioning = true, ` +
    `hive_types = {'date': DATE}, union_by_name = true)`
  );
}

/**
 * A DuckDB value as JSON has it: integers as numbers where exact (else text), decimals through
 * their text (so that both engines round the same decimal to the same double), dates as
 * YYYY-MM-DD, instants as ISO 8601 UTC, bytes as base64.
 */
function duckCell(v: unknown): SqlCell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  const o = v as { constructor: { name: string }; micros?: bigint; millis?: bigint };
  switch (o.constructor.name) {
    case 'DuckDBDecimalValue':
      return Number(String(v));
    case 'DuckDBTimestampTZValue':
    case 'DuckDBTimestampValue':
      return new Date(Number((o.micros as bigint) / 1000n)).toISOString();
    case 'DuckDBTimestampMillisecondsValue':
      return new Date(Number(o.millis as bigint)).toISOString();
    case 'DuckDBBlobValue':
      return Buffer.from((v as { bytes: Uint8Array }).bytes).toString('base64');
    default:
      return String(v);
  }
}

type DuckConnection = import('@duckdb/node-api').DuckDBConnection;

/** A DuckDB session in UTC, opened while the lake is listed and fetched. */
async function openDuckDb(): Promise<{ conn: DuckConnection; close: () => void }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  // instants in UTC whatever the machine's zone, as Spark is told to
  await conn.run(`SET TimeZone = 'UTC'`);
  let open = true;
  return {
    conn,
    close: () => {
      if (!open) return;
      open = false;
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** The queries on DuckDB, over local copies of the selected files. */
async function onDuckDb(
  conn: DuckConnection,
  selection: LakeSelection,
  use: CacheUse,
  queries: Record<string, string>,
): Promise<Pick<QueriesResult, 'results' | 'cache'>> {
  const paths = new Map(selection.files.map((f, i) => [f, use.paths[i] as string]));
  // a file DuckDB cannot read is the lake's problem, not the query's: name it in HDFS
  const failed = (err: unknown): GamepipeError => {
    const message = (err as Error).message ?? String(err);
    for (const [file, local] of paths) {
      if (message.includes(local)) return corrupt(file.path, message, err);
    }
    return queryFailed(message);
  };
  try {
    for (const output of EVENT_OUTPUTS)
      await conn.run(`CREATE VIEW ${output} AS ${viewSql(output, selection.files, paths)}`);
  } catch (err) {
    throw failed(err);
  }
  const results: Record<string, QueryResult> = {};
  for (const [name, query] of Object.entries(queries)) {
    let reader;
    try {
      reader = await conn.runAndReadAll(query);
    } catch (err) {
      throw failed(err);
    }
    results[name] = {
      columns: reader.columnNames(),
      rows: reader.getRows().map((r) => r.map(duckCell)),
    };
  }
  const { paths: _paths, ...cache } = use;
  return { results, cache };
}

/** The queries as one Spark job (src/lib/spark/sql_job.py) over the files in the lake. */
async function onSpark(
  config: SqlConfig,
  selection: LakeSelection,
  queries: Record<string, string>,
): Promise<Pick<QueriesResult, 'results'>> {
  const tables = Object.fromEntries(
    EVENT_OUTPUTS.map((o) => [
      o,
      {
        columns: OUTPUT_COLUMNS[o],
        files: selection.files
          .filter((f) => f.output === o)
          .map((f) => ({ date: f.date, url: sparkLakeUrl(config, f.path) })),
      },
    ]),
  );
  const out = await runSparkJob<
    { ok: true; results: Record<string, QueryResult> } | { ok: false; query: string; error: string }
  >(config, {
    script: 'sql_job.py',
    name: `sql-${Date.now().toString(36)}`,
    kafka: false,
    spec: { tables, queries },
  });
  if (!out.ok) throw queryFailed(out.error);
  return { results: out.results };
}

/**
 * Runs named queries over the lake's tables for the chosen dates (only dates with a manifest,
 * unless includeIncomplete) on one engine, in one session: one Spark job for all of them.
 */
export async function runQueries(
  config: SqlConfig,
  queries: Record<string, string>,
  options: SqlOptions = {},
): Promise<QueriesResult> {
  const {
    dates,
    includeIncomplete = false,
    until,
    engine = 'embedded',
    cacheMaxBytes = 2048 * 1024 * 1024,
    noCache = false,
  } = options;
  if (engine === 'spark') {
    const selection = await withHdfs(config, (hdfs) =>
      lakeFiles(hdfs, config.base, { dates, includeIncomplete, until }),
    );
    const run = await onSpark(config, selection, queries);
    return {
      ...run,
      dates: selection.dates,
      missing: selection.missing,
      partial: selection.partial,
    };
  }
  // DuckDB starts while the lake is listed and its files fetched
  const opening = openDuckDb();
  opening.catch(() => undefined);
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = noCache
    ? await mkdtemp(join(tmpdir(), 'gamepipe-sql-'))
    : join(config.home, 'cache', 'lake');
  try {
    const { selection, use } = await withHdfs(config, async (hdfs) => {
      const selection = await lakeFiles(hdfs, config.base, { dates, includeIncomplete, until });
      return { selection, use: await new LakeCache(dir, cacheMaxBytes).get(hdfs, selection.files) };
    });
    const duck = await opening;
    try {
      const run = await onDuckDb(duck.conn, selection, use, queries);
      return {
        ...run,
        dates: selection.dates,
        missing: selection.missing,
        partial: selection.partial,
      };
    } finally {
      duck.close();
    }
  } catch (err) {
    await opening.then((d) => d.close()).catch(() => undefined);
    throw err;
  } finally {
    if (noCache) await rm(dir, { recursive: true, force: true });
  }
}

/** One analyst's query (`gamepipe sql`). */
export async function runSql(
  config: SqlConfig,
  query: string,
  options: SqlOptions = {},
): Promise<QueryResult & Omit<QueriesResult, 'results'>> {
  const { results, ...rest } = await runQueries(config, { query }, options);
  return { ...(results.query as QueryResult), ...rest };
}
