/**
 * A set of 64-bit fingerprints of event ids in an open-addressing table of typed arrays: 8 bytes
 * an id instead of the ~80 a JavaScript Set of strings costs, and a size fixed up front so a
 * bigger day does not need more memory (64 MiB for 8 M slots; the table doubles only past 75 %
 * load, at 6.3 M ids a day, and from then on costs 8 bytes an id). Two different ids share a fingerprint with probability about n²/2⁶⁵ (7·10⁻⁷ for 5 M
 * ids a day).
 */
export class FingerprintSet {
  // (0, 0) marks an empty slot; an id that hashes to it is stored as (0, 1)
  private hi: Uint32Array;
  private lo: Uint32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1 << 23) {
    const slots = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  /** Adds an id; false when it was there already. */
  add(id: string): boolean {
    const [h, l] = fingerprint(id);
    if (this.size >= (this.mask + 1) * 0.75) this.grow();
    return this.insert(h, h === 0 && l === 0 ? 1 : l);
  }

  private insert(h: number, l: number): boolean {
    let i = (l ^ Math.imul(h, 0x9e3779b1)) & this.mask;
    while (this.hi[i] !== 0 || this.lo[i] !== 0) {
      if (this.hi[i] === h && this.lo[i] === l) return false;
      i = (i + 1) & this.mask;
    }
    this.hi[i] = h;
    this.lo[i] = l;
    this.size++;
    return true;
  }

  private grow(): void {
    const { hi, lo } = this;
    const slots = (this.mask + 1) * 2;
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots);
    this.mask = slots - 1;
    this.size = 0;
    for (let i = 0; i < hi.length; i++)
      if (hi[i] !== 0 || lo[i] !== 0) this.insert(hi[i] as number, lo[i] as number);
  }
}

/** Two independent 32-bit hashes of the id (FNV-1a and a murmur-style mix): 64 bits. */
function fingerprint(id: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a >>> 0, b >>> 0];
}
