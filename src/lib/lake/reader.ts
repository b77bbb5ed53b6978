import { parquetMetadata, parquetRead, parquetReadObjects } from 'hyparquet';
import { snappyUncompressor } from 'hysnappy';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import type { WebHdfs } from '../hdfs/webhdfs.js';

/**
 * One Snappy decoder for this thread: hysnappy's `snappyUncompress` instantiates its wasm module,
 * with a new memory, on every page it decodes.
 */
let uncompress: ((input: Uint8Array, outputLength: number) => Uint8Array) | undefined;

/**
 * Reads the named columns of one Parquet file on HDFS (the whole file in one WebHDFS read: our
 * files are a day's partition, tens of MB at most). A file that is not valid Parquet is a
 * GP_CORRUPT_FILE error that names it.
 */
export async function readColumns(
  hdfs: WebHdfs,
  path: string,
  columns: readonly string[],
): Promise<{ rows: number; data: Record<string, ArrayLike<unknown>> }> {
  const buf = await hdfs.read(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  let rows: number;
  let present: Set<string>;
  try {
    const meta = parquetMetadata(file);
    rows = Number(meta.num_rows);
    present = new Set(meta.schema.slice(1).map((s) => s.name));
  } catch (err) {
    throw corrupt(path, err);
  }
  const wanted = columns.filter((c) => present.has(c));
  const parts: Record<string, Array<{ start: number; data: ArrayLike<unknown> }>> = {};
  for (const c of wanted) parts[c] = [];
  try {
    await parquetRead({
      file,
      columns: wanted,
      compressors: {
        SNAPPY: (input, length) => (uncompress ??= snappyUncompressor())(input, length),
      },
      onChunk: ({ columnName, columnData, rowStart }) => {
        parts[columnName]?.push({ start: rowStart, data: columnData });
      },
    });
  } catch (err) {
    throw corrupt(path, err);
  }
  const data: Record<string, ArrayLike<unknown>> = {};
  for (const c of wanted) {
    const chunks = (parts[c] ?? []).sort((a, b) => a.start - b.start);
    if (chunks.length === 1) {
      data[c] = (chunks[0] as { data: ArrayLike<unknown> }).data;
    } else {
      const all: unknown[] = new Array(rows);
      for (const { start, data: d } of chunks)
        for (let i = 0; i < d.length; i++) all[start + i] = d[i];
      data[c] = all;
    }
  }
  // a column the file does not have reads as all nulls
  for (const c of columns) if (!(c in data)) data[c] = new Array(rows).fill(null);
  return { rows, data };
}

function corrupt(path: string, err: unknown): GamepipeError {
  return new GamepipeError(
    ErrorCodes.corruptFile,
    `${path} is not a readable Parquet file (${(err as Error).message})`,
    {
      hint: 'rerun `gamepipe extract` for its date to rewrite it, or move the file away',
      context: { path },
      cause: err,
    },
  );
}

/** A value of a Parquet row as JSON has it: instants as ISO 8601, bytes as base64. */
function jsonCell(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v ?? null;
}

/**
 * The first `limit` rows of one Parquet file on HDFS as objects (every column), and how many
 * rows it has: what `gamepipe cat` prints.
 */
export async function readRows(
  hdfs: WebHdfs,
  path: string,
  { limit }: { limit: number },
): Promise<{ columns: string[]; rows: Array<Record<string, unknown>>; total: number }> {
  const buf = await hdfs.read(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  try {
    const meta = parquetMetadata(file);
    const total = Number(meta.num_rows);
    const columns = meta.schema.slice(1).map((s) => s.name);
    const rows =
      limit === 0
        ? []
        : ((await parquetReadObjects({
            file,
            rowEnd: Math.min(limit, total),
            compressors: {
              SNAPPY: (input, length) => (uncompress ??= snappyUncompressor())(input, length),
            },
          })) as Array<Record<string, unknown>>);
    return {
      columns,
      rows: rows.map((r) => Object.fromEntries(columns.map((c) => [c, jsonCell(r[c])]))),
      total,
    };
  } catch (err) {
    throw corrupt(path, err);
  }
}
