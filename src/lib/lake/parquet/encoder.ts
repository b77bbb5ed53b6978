import { PassThrough } from 'node:stream';
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { snappyCompressor } from 'hysnappy';
import { ErrorCodes, GamepipeError } from '../../core/errors.js';
import { VERSION } from '../../core/version.js';
import type { WebHdfs } from '../../hdfs/webhdfs.js';

// the format's types as hyparquet-writer (and the hyparquet it depends on) declares them
type FileMetaData = Parameters<typeof writeMetadata>[1];
type SchemaElement = FileMetaData['schema'][number];
type RowGroupMeta = FileMetaData['row_groups'][number];
type ColumnChunk = RowGroupMeta['columns'][number];
type ColumnMetaData = NonNullable<ColumnChunk['meta_data']>;
type Encoding = ColumnMetaData['encodings'][number];
type ParquetType = ColumnMetaData['type'];
type Statistics = NonNullable<ColumnMetaData['statistics']>;

export type ColumnKind = 'string' | 'int32' | 'int64' | 'double' | 'timestamp' | 'binary';

export interface ColumnSpec {
  name: string;
  kind: ColumnKind;
  required?: boolean;
  /**
   * Values mostly distinct (ids, free text): written PLAIN, with no dictionary tried and no
   * min/max. Every other string column is dictionary-encoded in each row group where that pays.
   */
  plain?: boolean;
}

/** The columns of each output, in file order. */
export const COMMON_HEAD: ColumnSpec[] = [
  { name: 'event_id', kind: 'string', required: true, plain: true },
  { name: 'event_type', kind: 'string', required: true },
  { name: 'timestamp', kind: 'timestamp', required: true },
  { name: 'Host', kind: 'string' },
  { name: 'User-Agent', kind: 'string' },
  { name: 'Accept', kind: 'string' },
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
  { name: 'currency', kind: 'string' },
  { name: 'quantity', kind: 'int32' },
  { name: 'user_id', kind: 'string' },
  ...COMMON_TAIL,
];

export const GUILD_COLUMNS: ColumnSpec[] = [
  ...COMMON_HEAD,
  { name: 'guild_id', kind: 'string' },
  { name: 'guild_name', kind: 'string' },
  { name: 'user_id', kind: 'string' },
  ...COMMON_TAIL,
];

export const REJECTED_COLUMNS: ColumnSpec[] = [
  { name: 'kafka_partition', kind: 'int32', required: true },
  { name: 'kafka_offset', kind: 'int64', required: true },
  { name: 'kafka_timestamp', kind: 'timestamp', required: true },
  { name: 'key', kind: 'string', plain: true },
  { name: 'reason', kind: 'string', required: true },
  { name: 'raw', kind: 'string', required: true, plain: true },
  { name: 'raw_bytes', kind: 'binary', required: true, plain: true },
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

/**
 * Rows in one data page at most for PLAIN strings and numbers (event ids: about 650 KB a page;
 * numbers: 128 KB), small enough that encoding a page allocates little. Dictionary indexes take a
 * few bits a row, so a row group's fit in one page: fewer, fuller pages read faster.
 */
export const PAGE_ROWS = 16_384;
/** A row group's dictionary is kept while its distinct values are at most this share of values. */
const DICTIONARY_SHARE = 0.5;
/** Distinct values a dictionary may collect before the share is checked while rows arrive. */
const DICTIONARY_PROBE = 4096;
const MAGIC = 0x31524150; // "PAR1"
const TWO_32 = 2 ** 32;

const PHYSICAL: Record<ColumnKind, ParquetType> = {
  string: 'BYTE_ARRAY',
  binary: 'BYTE_ARRAY',
  int32: 'INT32',
  int64: 'INT64',
  timestamp: 'INT64',
  double: 'DOUBLE',
};

/**
 * One column's values in one row group, kept the way they are written: numbers in a Float64Array,
 * strings as a dictionary and its indexes (or, where most values differ, as PLAIN bytes), nulls
 * as definition levels. Nothing is kept per row as a JavaScript object, and the chunk is encoded
 * in one pass with hyparquet-writer's page, level and footer encoders.
 */
export class ColumnValues {
  rows = 0;
  /** Values that are not null. */
  private count = 0;
  /** Definition levels of an optional column: 1 for a value, 0 for a null. */
  private def: Uint8Array | undefined;
  private num: Float64Array | undefined;
  private min = Infinity;
  private max = -Infinity;
  private dict: Map<string, number> | undefined;
  private entries: string[] = [];
  private idx: Int32Array | undefined;
  /** PLAIN byte arrays, back to back: a 4-byte little-endian length, then the bytes. */
  private bytes: Buffer | undefined;
  private pos = 0;

  /** `capacity`: the rows expected, allocated up front (more grow the buffers). */
  constructor(
    readonly spec: ColumnSpec,
    capacity = 1024,
  ) {
    if (!spec.required) this.def = new Uint8Array(capacity);
    if (spec.kind === 'string' && !spec.plain) {
      this.dict = new Map();
      this.idx = new Int32Array(capacity);
    } else if (spec.kind === 'string' || spec.kind === 'binary') {
      // room for an event id (36 bytes and its length) a row
      this.bytes = Buffer.allocUnsafe(capacity * 40);
    } else {
      this.num = new Float64Array(capacity);
    }
  }

  /** Empties the column for the next row group; its buffers are kept for reuse. */
  reset(): void {
    this.rows = 0;
    this.count = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.pos = 0;
    this.entries = [];
    if (this.idx !== undefined) this.dict = new Map();
  }

  /** Appends a number (int32, int64, timestamp in ms, double), or a null. */
  number(v: number | null | undefined): void {
    if (v === null || v === undefined) {
      this.level(0);
      return;
    }
    const kind = this.spec.kind;
    if (kind === 'int32' ? (v | 0) !== v : kind !== 'double' && !Number.isSafeInteger(v)) {
      throw columnError(`parquet column ${this.spec.name} (${kind}) cannot hold ${v}`);
    }
    this.level(1);
    let num = this.num as Float64Array;
    if (this.count === num.length) num = this.num = grown(num);
    num[this.count++] = v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Appends a string, or a null. */
  string(v: string | null | undefined): void {
    if (v === null || v === undefined) {
      this.level(0);
      return;
    }
    this.level(1);
    const dict = this.dict;
    if (dict === undefined) {
      this.reserve(4 + v.length * 3);
      const bytes = this.bytes as Buffer;
      const n = bytes.write(v, this.pos + 4, 'utf8');
      bytes.writeUInt32LE(n, this.pos);
      this.pos += 4 + n;
      this.count++;
      return;
    }
    let i = dict.get(v);
    if (i === undefined) {
      i = this.entries.length;
      if (i >= DICTIONARY_PROBE && i > this.count * DICTIONARY_SHARE) {
        // most values differ: the rest of the row group goes PLAIN
        this.toPlain();
        this.rows--; // the row is counted again by the plain path
        this.string(v);
        return;
      }
      dict.set(v, i);
      this.entries.push(v);
    }
    let idx = this.idx as Int32Array;
    if (this.count === idx.length) idx = this.idx = grown(idx);
    idx[this.count++] = i;
  }

  /** Appends bytes (a binary column). */
  binary(v: Uint8Array): void {
    this.level(1);
    this.appendPlain(v);
    this.count++;
  }

  /** Appends one PLAIN byte array: its length, then its bytes. */
  private appendPlain(v: Uint8Array): void {
    this.reserve(4 + v.length);
    const bytes = this.bytes as Buffer;
    bytes.writeUInt32LE(v.length, this.pos);
    bytes.set(v, this.pos + 4);
    this.pos += 4 + v.length;
  }

  /** Counts a row, with its definition level when the column is optional. */
  private level(present: 0 | 1): void {
    let def = this.def;
    if (def === undefined) {
      if (present === 0) throw columnError(`parquet column ${this.spec.name} is required`);
    } else {
      if (this.rows === def.length) def = this.def = grown(def);
      def[this.rows] = present;
    }
    this.rows++;
  }

  private reserve(n: number): void {
    const bytes = this.bytes as Buffer;
    if (this.pos + n <= bytes.length) return;
    const next = Buffer.allocUnsafe(Math.max(bytes.length * 2, this.pos + n));
    bytes.copy(next, 0, 0, this.pos);
    this.bytes = next;
  }

  /** Turns the dictionary and its indexes into PLAIN bytes. */
  private toPlain(): void {
    const encoded = this.entries.map((e) => Buffer.from(e, 'utf8'));
    const idx = this.idx as Int32Array;
    this.bytes ??= Buffer.allocUnsafe(64 * 1024);
    this.pos = 0;
    for (let k = 0; k < this.count; k++) this.appendPlain(encoded[idx[k] as number] as Buffer);
    this.dict = undefined; // the indexes stay allocated for the next row group
    this.entries = [];
  }

  /**
   * Writes the column chunk (a dictionary page if the dictionary pays, then data pages of at most
   * PAGE_ROWS rows, each body Snappy-compressed) to `out`, and returns its metadata.
   */
  writeChunk(out: FileParts): ColumnChunk {
    const { name, kind } = this.spec;
    const start = out.offset;
    let uncompressed = 0;
    const encodings: Encoding[] = ['PLAIN'];
    let dictionaryPageOffset: bigint | undefined;
    let statistics: Statistics = { null_count: BigInt(this.rows - this.count) };

    if (this.dict !== undefined && this.entries.length > this.count * DICTIONARY_SHARE) {
      this.toPlain();
    }
    let width = 0;
    if (this.dict !== undefined) {
      const encoded = this.entries.map((e) => Buffer.from(e, 'utf8'));
      const body = Buffer.allocUnsafe(encoded.reduce((n, b) => n + 4 + b.length, 0));
      let p = 0;
      let lo = encoded[0] as Buffer;
      let hi = lo;
      for (const b of encoded) {
        body.writeUInt32LE(b.length, p);
        body.set(b, p + 4);
        p += 4 + b.length;
        // min and max in UTF-8 byte order, as Parquet compares strings
        if (Buffer.compare(b, lo) < 0) lo = b;
        if (Buffer.compare(b, hi) > 0) hi = b;
      }
      if (encoded.length > 0) statistics = { ...statistics, min_value: lo, max_value: hi };
      dictionaryPageOffset = BigInt(out.offset);
      uncompressed += page(out, body, undefined, (packed) => ({
        type: 'DICTIONARY_PAGE',
        uncompressed_page_size: body.length,
        compressed_page_size: packed,
        dictionary_page_header: { num_values: encoded.length, encoding: 'PLAIN' },
      }));
      encodings.push('RLE_DICTIONARY');
      width = Math.max(1, Math.ceil(Math.log2(encoded.length)));
    } else if (this.num !== undefined && this.count > 0) {
      // min -0 and max +0, as the format asks of floating-point zeros
      const min = this.min === 0 && kind === 'double' ? -0 : this.min;
      const max = this.max === 0 ? 0 : this.max;
      statistics = { ...statistics, min_value: min, max_value: max };
    }
    if (this.def !== undefined) encodings.push('RLE');

    const dataPageOffset = BigInt(out.offset);
    let v = 0; // values written so far
    let p = 0; // position in the PLAIN bytes
    const pageRows = this.dict !== undefined ? Math.max(1, this.rows) : PAGE_ROWS;
    for (let a = 0; a < this.rows; a += pageRows) {
      const b = Math.min(this.rows, a + pageRows);
      let n = b - a;
      let levels: Uint8Array | undefined;
      if (this.def !== undefined) {
        const d = this.def.subarray(a, b);
        n = 0;
        for (let k = 0; k < d.length; k++) n += d[k] as number;
        const w = scratch(levelWriter);
        writeRleBitPackedHybrid(w, d, 1);
        levels = w.getBytes();
      }
      let body: Uint8Array;
      if (this.dict !== undefined) {
        const w = scratch(indexWriter);
        w.appendUint8(width);
        writeRleBitPackedHybrid(w, (this.idx as Int32Array).subarray(v, v + n), width);
        body = w.getBytes();
      } else if (this.bytes !== undefined) {
        const bytes = this.bytes;
        let q = p;
        for (let k = 0; k < n; k++) q += 4 + bytes.readUInt32LE(q);
        body = bytes.subarray(p, q);
        p = q;
      } else {
        body = plainNumbers(kind, this.num as Float64Array, v, v + n);
      }
      v += n;
      const levelBytes = levels?.length ?? 0;
      uncompressed += page(out, body, levels, (packed) => ({
        type: 'DATA_PAGE_V2',
        uncompressed_page_size: levelBytes + body.length,
        compressed_page_size: levelBytes + packed,
        data_page_header_v2: {
          num_values: b - a,
          num_nulls: b - a - n,
          num_rows: b - a,
          encoding: width > 0 ? 'RLE_DICTIONARY' : 'PLAIN',
          definition_levels_byte_length: levelBytes,
          repetition_levels_byte_length: 0,
          is_compressed: true,
        },
      }));
    }
    return {
      file_offset: BigInt(start),
      meta_data: {
        type: PHYSICAL[kind],
        encodings,
        path_in_schema: [name],
        codec: 'SNAPPY',
        num_values: BigInt(this.rows),
        total_uncompressed_size: BigInt(uncompressed),
        total_compressed_size: BigInt(out.offset - start),
        data_page_offset: dataPageOffset,
        dictionary_page_offset: dictionaryPageOffset,
        statistics: this.spec.plain ? { null_count: statistics.null_count } : statistics,
      },
    };
  }
}

/** A Snappy compressor: one wasm instance whose memory grows to the largest page it saw. */
type Compress = (input: Uint8Array) => Uint8Array;

/**
 * Where a file's bytes go as they are encoded: a list of parts streamed in order, each a page's
 * compressed body as the compressor returned it, or a small copy of a header or levels. No part
 * is copied into one big buffer, so encoding allocates nothing much larger than a page.
 */
export class FileParts {
  readonly parts: Uint8Array[] = [];

  /**
   * `offset`: where in the file the first part goes; `compress`: the file's own compressor.
   * hysnappy's wasm keeps its hash table between calls, so a compressor shared with other files
   * finds matches that depend on what it compressed before: one per file keeps a file's bytes a
   * function of its rows (reruns byte-identical), at one wasm instance per file, not per page.
   */
  constructor(
    public offset: number,
    readonly compress: Compress,
  ) {}

  push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.offset += bytes.length;
  }

  /** Encodes with `fn` into this thread's scratch writer and keeps a copy of the bytes. */
  encode(fn: (w: ByteWriter) => void): void {
    const w = scratch(headerWriter);
    fn(w);
    this.push(Buffer.from(w.getBytes()));
  }
}

/** Writes one page (header, levels, Snappy-compressed body); its uncompressed size. */
function page(
  out: FileParts,
  body: Uint8Array,
  levels: Uint8Array | undefined,
  header: (compressedBody: number) => Parameters<typeof writePageHeader>[1],
): number {
  const packed = out.compress(body);
  const h = out.offset;
  out.encode((w) => writePageHeader(w, header(packed.length)));
  const headerBytes = out.offset - h;
  if (levels) out.push(Buffer.from(levels)); // a copy: the level writer is reused
  out.push(packed);
  return headerBytes + (levels?.length ?? 0) + body.length;
}

/**
 * Page-sized buffers this thread reuses for every page: levels, dictionary indexes and numbers are
 * encoded into them and compressed (copied) out at once, so no page allocates its own.
 */
const headerWriter = new ByteWriter(1024);
const levelWriter = new ByteWriter(PAGE_ROWS / 4);
const indexWriter = new ByteWriter(PAGE_ROWS * 4);
const numberView = new DataView(new ArrayBuffer(PAGE_ROWS * 8));

function scratch(w: ByteWriter): ByteWriter {
  w.index = 0;
  w.offset = 0;
  return w;
}

/** Values [from, to) of a number column as PLAIN little-endian bytes, in the shared buffer. */
function plainNumbers(kind: ColumnKind, num: Float64Array, from: number, to: number): Uint8Array {
  const n = to - from;
  const view = numberView;
  if (kind === 'int32') {
    for (let k = 0; k < n; k++) view.setInt32(k * 4, num[from + k] as number, true);
    return new Uint8Array(view.buffer, 0, n * 4);
  }
  if (kind === 'double') {
    for (let k = 0; k < n; k++) view.setFloat64(k * 8, num[from + k] as number, true);
  } else {
    // int64 from a safe integer: low 32 bits, then the high 32 (signed)
    for (let k = 0; k < n; k++) {
      const x = num[from + k] as number;
      const hi = Math.floor(x / TWO_32);
      view.setUint32(k * 8, x - hi * TWO_32, true);
      view.setInt32(k * 8 + 4, hi, true);
    }
  }
  return new Uint8Array(view.buffer, 0, n * 8);
}

function grown<T extends Uint8Array | Int32Array | Float64Array>(a: T): T {
  const next = new (a.constructor as new (n: number) => T)(a.length * 2);
  next.set(a);
  return next;
}

/** The rows of one row group, column by column (see ColumnValues). */
export class RowGroup {
  readonly columns: ColumnValues[];

  constructor(specs: ColumnSpec[], capacity?: number) {
    this.columns = specs.map((s) => new ColumnValues(s, capacity));
  }

  get rows(): number {
    return this.columns[0]?.rows ?? 0;
  }

  /** Empties the group for reuse once it is encoded. */
  reset(): void {
    for (const c of this.columns) c.reset();
  }
}

/**
 * A Parquet file's bytes as they are encoded: the magic, each row group as it is added, then the
 * footer. Each call returns the parts it encoded, for the caller to stream in order.
 */
export class ParquetFileEncoder {
  rows = 0;
  /** Bytes encoded so far. */
  size = 0;
  private readonly schema: SchemaElement[];
  private readonly groups: RowGroupMeta[] = [];
  private compress: Compress | undefined;

  constructor(columns: ColumnSpec[]) {
    this.schema = parquetSchema(columns);
  }

  /** The file's first bytes. */
  head(): Uint8Array[] {
    return this.encode((out) => out.encode((w) => w.appendUint32(MAGIC)));
  }

  /** Encodes the rows as one row group (nothing for none). */
  rowGroup(group: RowGroup): Uint8Array[] {
    const n = group.rows;
    if (n === 0) return [];
    return this.encode((out) => {
      const start = out.offset;
      const columns = group.columns.map((c) => {
        if (c.rows !== n)
          throw columnError(`parquet column ${c.spec.name} has ${c.rows} of ${n} rows`);
        return c.writeChunk(out);
      });
      let size = 0n;
      for (const c of columns) size += c.meta_data?.total_uncompressed_size ?? 0n;
      this.groups.push({
        columns,
        total_byte_size: size,
        num_rows: BigInt(n),
        file_offset: BigInt(start),
        total_compressed_size: BigInt(out.offset - start),
      });
      this.rows += n;
    });
  }

  /** Encodes the footer: the file is complete with these bytes. */
  footer(): Uint8Array[] {
    const metadata: FileMetaData = {
      version: 2,
      schema: this.schema,
      num_rows: BigInt(this.rows),
      row_groups: this.groups,
      // no time or host in the file: a rerun writes the same bytes
      created_by: `gamepipe version ${VERSION}`,
      metadata_length: 0, // not written: the footer's length follows it
    };
    return this.encode((out) => {
      const w = new ByteWriter(64 * 1024);
      writeMetadata(w, metadata);
      w.appendUint32(MAGIC);
      out.push(w.getBytes());
    });
  }

  private encode(fn: (out: FileParts) => void): Uint8Array[] {
    const out = new FileParts(this.size, (this.compress ??= snappyCompressor()));
    fn(out);
    this.size = out.offset;
    return out.parts;
  }
}

/**
 * A Parquet file streamed to HDFS as it is written: each row group is encoded and sent to the
 * DataNode (one chunked WebHDFS CREATE), so memory holds one row group, not the file.
 */
export class HdfsParquetFile {
  readonly path: string;
  private readonly stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly upload: Promise<void>;
  private readonly encoder: ParquetFileEncoder;
  private failure: unknown;
  private aborted = false;

  constructor(hdfs: WebHdfs, path: string, columns: ColumnSpec[]) {
    this.path = path;
    this.encoder = new ParquetFileEncoder(columns);
    this.upload = hdfs.create(path, this.stream, { overwrite: true });
    this.upload.catch((err: unknown) => {
      this.failure = err;
      this.stream.destroy();
    });
    for (const part of this.encoder.head()) this.stream.write(part);
  }

  get rows(): number {
    return this.encoder.rows;
  }

  /** Encodes the rows as one row group and streams it out; waits while the upload is behind. */
  async writeRowGroup(group: RowGroup): Promise<void> {
    if (group.rows === 0) return;
    const parts = this.encoder.rowGroup(group);
    if (this.failure) throw this.failure;
    let room = true;
    for (const part of parts) room = this.stream.write(part);
    if (!room) {
      await new Promise<void>((resolve, reject) => {
        this.stream.once('drain', resolve);
        // the stream closes before the upload's own failure arrives: that failure is the answer
        this.stream.once('close', () => {
          this.upload.then(() => reject(this.stopped()), reject);
        });
      });
    }
  }

  /** Writes the footer and waits until HDFS has the whole file; resolves with its size. */
  async close(): Promise<number> {
    const parts = this.encoder.footer();
    for (const part of parts.slice(0, -1)) this.stream.write(part);
    this.stream.end(parts.at(-1));
    await this.upload;
    return this.encoder.size;
  }

  /** Stops the upload; the partial file stays in staging and is cleaned up by the next run. */
  abort(): void {
    this.aborted = true;
    this.stream.destroy();
  }

  private stopped(): GamepipeError {
    return new GamepipeError(
      ErrorCodes.hdfsUnavailable,
      `the upload of ${this.path} stopped before it was complete${this.aborted ? ' (the run was stopping)' : ''}`,
      { hint: 'rerun: the lake is as it was', context: { path: this.path }, retriable: true },
    );
  }
}

/** A value the schema cannot hold: validation let through what it should not, a bug. */
function columnError(message: string): GamepipeError {
  return new GamepipeError(ErrorCodes.internal, message, {
    hint: 'report it with the record; the lake is as it was',
  });
}
