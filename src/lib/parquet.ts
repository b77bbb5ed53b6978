import { PassThrough } from 'node:stream';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { snappyCompress } from 'hysnappy';
import type { WebHdfs } from './webhdfs.js';

type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];

export type ColumnKind = 'string' | 'int32' | 'int64' | 'double' | 'timestamp' | 'binary';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  required?: boolean;
  /**
   * Min/max statistics; off for ids, free text and columns whose every row group spans most of
   * their values (Host, Accept, currency, guild), where they cost time and prune nothing.
   */
  stats?: boolean;
}

/** The columns of each output, in file order. */
export const COMMON_HEAD: ColumnSpec[] = [
  { name: 'event_id', kind: 'string', required: true, stats: false },
  { name: 'event_type', kind: 'string', required: true },
  { name: 'timestamp', kind: 'timestamp', required: true },
  { name: 'Host', kind: 'string', stats: false },
  { name: 'User-Agent', kind: 'string', stats: false },
  { name: 'Accept', kind: 'string', stats: false },
];
export const COMMON_TAIL: ColumnSpec[] = [
  { name: 'schema_version', kind: 'int32', required: true },
  { name: 'kafka_partition', kind: 'int32', required: true },
  { name: 'kafka_offset', kind: 'int64', required: true },
  { name: 'kafka_timestamp', kind: 'timestamp', required: true },
];

export const PURCHASE_COLUMNS: ColumnSpec[] = [
  ...COMMON_HEAD,
  { name: 'item', kind: 'string', required: true },
  { name: 'price', kind: 'double' },
  { name: 'currency', kind: 'string', stats: false },
  { name: 'quantity', kind: 'int32' },
  { name: 'user_id', kind: 'string', stats: false },
  ...COMMON_TAIL,
];

export const GUILD_COLUMNS: ColumnSpec[] = [
  ...COMMON_HEAD,
  { name: 'guild_id', kind: 'string', stats: false },
  { name: 'guild_name', kind: 'string', stats: false },
  { name: 'user_id', kind: 'string', stats: false },
  ...COMMON_TAIL,
];

export const REJECTED_COLUMNS: ColumnSpec[] = [
  { name: 'kafka_partition', kind: 'int32', required: true },
  { name: 'kafka_offset', kind: 'int64', required: true },
  { name: 'kafka_timestamp', kind: 'timestamp', required: true },
  { name: 'key', kind: 'string' },
  { name: 'reason', kind: 'string', required: true },
  { name: 'raw', kind: 'string', required: true, stats: false },
  { name: 'raw_bytes', kind: 'binary', required: true, stats: false },
];

function schemaElement({ name, kind, required }: ColumnSpec): SchemaElement {
  const repetition_type = required ? 'REQUIRED' : 'OPTIONAL';
  switch (kind) {
    case 'string':
      return {
        name,
        type: 'BYTE_ARRAY',
        converted_type: 'UTF8',
        logical_type: { type: 'STRING' },
        repetition_type,
      };
    case 'binary':
      return { name, type: 'BYTE_ARRAY', repetition_type };
    case 'int32':
      return { name, type: 'INT32', repetition_type };
    case 'int64':
      return { name, type: 'INT64', repetition_type };
    case 'double':
      return { name, type: 'DOUBLE', repetition_type };
    case 'timestamp':
      // UTC instants: Spark TimestampType, pyarrow timestamp[ms, tz=UTC], DuckDB TIMESTAMPTZ
      return {
        name,
        type: 'INT64',
        converted_type: 'TIMESTAMP_MILLIS',
        logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MILLIS' },
        repetition_type,
      };
  }
}

export function parquetSchema(columns: ColumnSpec[]): SchemaElement[] {
  return [{ name: 'schema', num_children: columns.length }, ...columns.map(schemaElement)];
}

type Cell = string | number | bigint | Uint8Array | null;

/** Rows collected column by column until a row group is full. */
export class ColumnBuffer {
  readonly columns: ColumnSpec[];
  /** One array per column, in column order; append to all of them, then count the row. */
  data: Cell[][];
  rows = 0;

  constructor(columns: ColumnSpec[]) {
    this.columns = columns;
    this.data = columns.map(() => []);
  }

  /** Appends one row; `values` follow the column order. */
  push(values: Cell[]): void {
    for (let i = 0; i < values.length; i++) (this.data[i] as Cell[]).push(values[i] as Cell);
    this.rows++;
  }

  /** The collected columns, handed to the writer; the buffer starts empty again. */
  take(): Array<{ name: string; data: Cell[]; statistics: boolean }> {
    const out = this.columns.map((c, i) => ({
      name: c.name,
      data: this.data[i] as Cell[],
      statistics: c.stats !== false,
    }));
    this.data = this.columns.map(() => []);
    this.rows = 0;
    return out;
  }
}

/**
 * A Parquet file streamed to HDFS as it is written: each row group is encoded and sent to the
 * DataNode (one chunked WebHDFS CREATE), so memory holds one row group, not the file.
 */
export class HdfsParquetFile {
  readonly path: string;
  rows = 0;
  private readonly stream = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  private readonly upload: Promise<void>;
  private readonly writer: ParquetWriter;
  private readonly bytes: ByteWriter;
  private failure: unknown;

  constructor(hdfs: WebHdfs, path: string, columns: ColumnSpec[]) {
    this.path = path;
    this.upload = hdfs.create(path, this.stream, { overwrite: true });
    this.upload.catch((err: unknown) => {
      this.failure = err;
      this.stream.destroy();
    });
    const bytes = new ByteWriter();
    const stream = this.stream;
    const flush = async (): Promise<void> => {
      if (this.failure) throw this.failure;
      const chunk = Buffer.from(new Uint8Array(bytes.buffer, 0, bytes.index));
      bytes.index = 0;
      if (!stream.write(chunk)) {
        await new Promise<void>((resolve, reject) => {
          stream.once('drain', resolve);
          stream.once('close', () => reject(this.failure ?? new Error('upload closed')));
        });
      }
    };
    // ParquetWriter calls writer.flush() after each row group and awaits it: the backpressure
    Object.assign(bytes, { flush, finish: () => undefined });
    this.bytes = bytes;
    this.writer = new ParquetWriter({
      writer: bytes,
      schema: parquetSchema(columns),
      compressors: { SNAPPY: snappyCompress },
      // no time or host in the file: a rerun writes the same bytes
      createdBy: 'gamepipe (hyparquet-writer)',
    });
  }

  /** Encodes the buffered rows as one row group and streams it out. */
  async writeRowGroup(buffer: ColumnBuffer): Promise<void> {
    const n = buffer.rows;
    if (n === 0) return;
    const columnData = buffer.take();
    await this.writer.write({ columnData: columnData as never, rowGroupSize: n });
    this.rows += n;
  }

  /** Writes the footer and waits until HDFS has the whole file; resolves with its size. */
  async close(): Promise<number> {
    this.writer.finish();
    const tail = Buffer.from(new Uint8Array(this.bytes.buffer, 0, this.bytes.index));
    this.bytes.index = 0;
    this.stream.end(tail);
    await this.upload;
    return this.bytes.offset;
  }

  /** Stops the upload; the partial file stays in staging and is cleaned up by the next run. */
  abort(): void {
    this.stream.destroy();
  }
}
