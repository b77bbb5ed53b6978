/**
 * Pages, the unit a column chunk is written in: the parts a file's bytes are streamed as, one
 * page's header, levels and Snappy-compressed body, and the page-sized scratch buffers of a thread.
 */
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import type { ColumnKind } from './schema.js';

/**
 * Rows in one data page at most for PLAIN strings and numbers (event ids: about 650 KB a page;
 * numbers: 128 KB), small enough that encoding a page allocates little. Dictionary indexes take a
 * few bits a row, so a row group's fit in one page: fewer, fuller pages read faster.
 */
export const PAGE_ROWS = 16_384;
const TWO_32 = 2 ** 32;

/** A Snappy compressor: one wasm instance whose memory grows to the largest page it saw. */
export type Compress = (input: Uint8Array) => Uint8Array;

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
export function page(
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
export const levelWriter = new ByteWriter(PAGE_ROWS / 4);
export const indexWriter = new ByteWriter(PAGE_ROWS * 4);
const numberView = new DataView(new ArrayBuffer(PAGE_ROWS * 8));

export function scratch(w: ByteWriter): ByteWriter {
  w.index = 0;
  w.offset = 0;
  return w;
}

/** Values [from, to) of a number column as PLAIN little-endian bytes, in the shared buffer. */
export function plainNumbers(
  kind: ColumnKind,
  num: Float64Array,
  from: number,
  to: number,
): Uint8Array {
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
