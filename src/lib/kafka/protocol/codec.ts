/** Kafka's wire encoding: big-endian fields written and read (https://kafka.apache.org/protocol). */
const TWO_32 = 2 ** 32;

/** Appends big-endian protocol fields to a growing buffer. */
export class WireWriter {
  private buf = Buffer.allocUnsafe(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  int8(v: number): this {
    this.room(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
    return this;
  }

  int16(v: number): this {
    this.room(2);
    this.buf.writeInt16BE(v, this.length);
    this.length += 2;
    return this;
  }

  int32(v: number): this {
    this.room(4);
    this.buf.writeInt32BE(v, this.length);
    this.length += 4;
    return this;
  }

  /** A signed 64-bit integer from a JavaScript number (exact below 2⁵³). */
  int64(v: number): this {
    this.room(8);
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi, this.length);
    this.buf.writeUInt32BE(v - hi * TWO_32, this.length + 4);
    this.length += 8;
    return this;
  }

  /** A nullable string with an int16 length. */
  string(v: string | null): this {
    if (v === null) return this.int16(-1);
    const n = Buffer.byteLength(v);
    this.int16(n);
    this.room(n);
    this.buf.write(v, this.length, 'utf8');
    this.length += n;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  toBuffer(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Reads big-endian protocol fields from a response. */
export class WireReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}

  int8(): number {
    const v = this.buf.readInt8(this.pos);
    this.pos += 1;
    return v;
  }

  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  int64(): number {
    const v = readInt64(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  /** Bytes with an int32 length (null for -1), as a view of the response. */
  sizedBytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  string(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const v = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

/** A signed 64-bit big-endian integer as a number (exact below 2⁵³, which offsets and times are). */
export function readInt64(buf: Buffer, at: number): number {
  return buf.readInt32BE(at) * TWO_32 + buf.readUInt32BE(at + 4);
}
