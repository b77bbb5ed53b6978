/** One column's values in one row group, and how they are written as a column chunk. */
import { writeRleBitPackedHybrid } from 'hyparquet-writer/src/encoding.js';
import { ErrorCodes, GamepipeError } from '../../core/errors.js';
import {
  indexWriter,
  levelWriter,
  page,
  PAGE_ROWS,
  plainNumbers,
  scratch,
  type FileParts,
} from './pages.js';
import {
  PHYSICAL,
  type ColumnChunk,
  type ColumnSpec,
  type Encoding,
  type Statistics,
} from './schema.js';

/** A row group's dictionary is kept while its distinct values are at most this share of values. */
const DICTIONARY_SHARE = 0.5;
/** Distinct values a dictionary may collect before the share is checked while rows arrive. */
const DICTIONARY_PROBE = 4096;

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
    const start = out.offset;
    if (this.dict !== undefined && this.entries.length > this.count * DICTIONARY_SHARE) {
      this.toPlain();
    }
    const dictionary = this.dict !== undefined ? this.writeDictionaryPage(out) : undefined;
    const dataPageOffset = out.offset;
    const dataBytes = this.writeDataPages(out, dictionary?.width ?? 0);
    const encodings: Encoding[] = ['PLAIN'];
    if (dictionary) encodings.push('RLE_DICTIONARY');
    if (this.def !== undefined) encodings.push('RLE');
    return {
      file_offset: BigInt(start),
      meta_data: {
        type: PHYSICAL[this.spec.kind],
        encodings,
        path_in_schema: [this.spec.name],
        codec: 'SNAPPY',
        num_values: BigInt(this.rows),
        total_uncompressed_size: BigInt((dictionary?.bytes ?? 0) + dataBytes),
        total_compressed_size: BigInt(out.offset - start),
        data_page_offset: BigInt(dataPageOffset),
        dictionary_page_offset: dictionary === undefined ? undefined : BigInt(dictionary.offset),
        statistics: this.statistics(dictionary),
      },
    };
  }

  /** Null count, and min and max where they are kept (not for PLAIN ids and free text). */
  private statistics(dictionary: { min?: Buffer; max?: Buffer } | undefined): Statistics {
    const stats: Statistics = { null_count: BigInt(this.rows - this.count) };
    if (this.spec.plain) return stats;
    if (dictionary?.min !== undefined) {
      return { ...stats, min_value: dictionary.min, max_value: dictionary.max };
    }
    if (this.num !== undefined && this.count > 0) {
      // min -0 and max +0, as the format asks of floating-point zeros
      const min = this.min === 0 && this.spec.kind === 'double' ? -0 : this.min;
      const max = this.max === 0 ? 0 : this.max;
      return { ...stats, min_value: min, max_value: max };
    }
    return stats;
  }

  /**
   * The dictionary page: the distinct strings, PLAIN. Returns where it starts, its uncompressed
   * size, the bit width of the indexes and the min and max in UTF-8 byte order (as Parquet
   * compares strings).
   */
  private writeDictionaryPage(out: FileParts): {
    offset: number;
    bytes: number;
    width: number;
    min?: Buffer;
    max?: Buffer;
  } {
    const encoded = this.entries.map((e) => Buffer.from(e, 'utf8'));
    const body = Buffer.allocUnsafe(encoded.reduce((n, b) => n + 4 + b.length, 0));
    let p = 0;
    let min: Buffer | undefined;
    let max: Buffer | undefined;
    for (const b of encoded) {
      body.writeUInt32LE(b.length, p);
      body.set(b, p + 4);
      p += 4 + b.length;
      if (min === undefined || Buffer.compare(b, min) < 0) min = b;
      if (max === undefined || Buffer.compare(b, max) > 0) max = b;
    }
    const offset = out.offset;
    const bytes = page(out, body, undefined, (packed) => ({
      type: 'DICTIONARY_PAGE',
      uncompressed_page_size: body.length,
      compressed_page_size: packed,
      dictionary_page_header: { num_values: encoded.length, encoding: 'PLAIN' },
    }));
    return { offset, bytes, width: Math.max(1, Math.ceil(Math.log2(encoded.length))), min, max };
  }

  /**
   * The data pages: PAGE_ROWS rows each (a dictionary-encoded chunk in one page), each with its
   * definition levels and its values, dictionary indexes of `width` bits or PLAIN. Returns their
   * uncompressed size.
   */
  private writeDataPages(out: FileParts, width: number): number {
    let uncompressed = 0;
    let v = 0; // values written so far
    let p = 0; // position in the PLAIN bytes
    const pageRows = width > 0 ? Math.max(1, this.rows) : PAGE_ROWS;
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
      if (width > 0) {
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
        body = plainNumbers(this.spec.kind, this.num as Float64Array, v, v + n);
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
    return uncompressed;
  }
}

function grown<T extends Uint8Array | Int32Array | Float64Array>(a: T): T {
  const next = new (a.constructor as new (n: number) => T)(a.length * 2);
  next.set(a);
  return next;
}

/** A value the schema cannot hold: validation let through what it should not, a bug. */
export function columnError(message: string): GamepipeError {
  return new GamepipeError(ErrorCodes.internal, message, {
    hint: 'report it with the record; the lake is as it was',
  });
}
