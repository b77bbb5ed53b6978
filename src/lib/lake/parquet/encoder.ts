/** A Parquet file's bytes, encoded row group by row group: the magic, the groups, the footer. */
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { snappyCompressor } from 'hysnappy';
import { VERSION } from '../../core/version.js';
import { ColumnValues, columnError } from './column.js';
import { FileParts, type Compress } from './pages.js';
import {
  parquetSchema,
  type ColumnSpec,
  type FileMetaData,
  type RowGroupMeta,
  type SchemaElement,
} from './schema.js';

const MAGIC = 0x31524150; // "PAR1"

/** The rows of one row group, column by column (see ColumnValues). */
export class RowGroup {
  /** In file order. */
  readonly columns: ColumnValues[];
  /** The same columns by name, for writing a row by name: `group.column['event_id']`. */
  readonly column: Readonly<Record<string, ColumnValues>>;

  constructor(specs: ColumnSpec[], capacity?: number) {
    this.columns = specs.map((s) => new ColumnValues(s, capacity));
    this.column = Object.fromEntries(this.columns.map((c) => [c.spec.name, c]));
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
