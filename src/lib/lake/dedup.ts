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
  private readonly fp = new Fingerprint();
  size = 0;

  constructor(capacity = 1 << 23) {
    const slots = 1 << Math.ceil(Math.log2(Math.max(16, capacity)));
    this.hi = new Uint32Array(slots);
    this.lo = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  /** Adds an id; false when it was there already. */
  add(id: string): boolean {
    const fp = this.fp.of(id);
    const h = fp.hi >>> 0;
    const l = fp.lo >>> 0;
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

/**
 * Two independent 32-bit hashes of an id (FNV-1a and a murmur-style mix), 64 bits in all, as two
 * int32 halves. One object per table, reused for every id: nothing is allocated on the hot path.
 */
class Fingerprint {
  hi = 0;
  lo = 0;

  /** Sets this to the fingerprint of `id`, and returns it. */
  of(id: string): this {
    let a = 0x811c9dc5;
    let b = 0x9747b28c ^ id.length;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    this.hi = a | 0;
    this.lo = b | 0;
    return this;
  }
}

/** What a range's reader does with an event id it reads. */
export const enum Claim {
  /** First seen: keep it. */
  Keep = 0,
  /** Seen before in this range or an earlier one: drop it. */
  Drop = 1,
}

/**
 * The event ids of one day, shared by the threads that read its ranges at the same time
 * (SharedArrayBuffers and Atomics). Ranges are numbered in reading order (partition, then offset),
 * and the result must equal reading them one after another: an id is kept at its first occurrence
 * in the lowest-numbered range that has it. Each slot records that range (the owner). When a range
 * finds an id first kept by a later one, it takes the id over and marks the later range dirty;
 * dirty ranges are read again at the end with `ownerOf`. That is rare: the events topic is keyed
 * by Host, so an id's copies sit close together in one partition and seldom straddle two ranges.
 * 62 bits of fingerprint: two different ids collide with probability about n²/2⁶³.
 */
export class SharedIdTable {
  /** One Int32Array of slots of three: fingerprint high and low half, owner (one cache line). */
  readonly buffers: { slots: SharedArrayBuffer; dirty: SharedArrayBuffer };
  private readonly t: Int32Array;
  private readonly dirty: Int32Array;
  private readonly mask: number;
  private readonly fp = new Fingerprint();

  /** A table for `ids` ids at most (≤ 75 % full), at least 8 M slots (96 MiB, touched as used). */
  static forIds(ids: number, ranges: number): SharedIdTable {
    const slots = 2 ** Math.max(23, Math.ceil(Math.log2(Math.max(1, ids) / 0.75)));
    return new SharedIdTable({
      slots: new SharedArrayBuffer(slots * 12),
      dirty: new SharedArrayBuffer(Math.max(1, ranges) * 4),
    });
  }

  constructor(buffers: SharedIdTable['buffers']) {
    this.buffers = buffers;
    this.t = new Int32Array(buffers.slots);
    this.dirty = new Int32Array(buffers.dirty);
    this.mask = this.t.length / 3 - 1;
  }

  /**
   * The index (of its first int) of the slot holding fingerprint (h, l), or -1 - the index of the
   * empty slot where it would go.
   */
  private find(h: number, l: number): number {
    const t = this.t;
    let s = (l ^ Math.imul(h, 0x9e3779b1)) & this.mask;
    for (;;) {
      const i = s * 3;
      const cur = Atomics.load(t, i);
      if (cur === 0) return -1 - i;
      if (cur === h) {
        let lo = Atomics.load(t, i + 1);
        while (lo === 0) lo = Atomics.load(t, i + 1); // another thread is filling the slot
        if (lo === l) return i;
      }
      s = (s + 1) & this.mask;
    }
  }

  /** Keep or drop this occurrence of `id`, read in order within range number `range`. */
  claim(id: string, range: number): Claim {
    const fp = this.fp.of(id);
    const h = fp.hi | 1; // neither half zero: zero marks an empty or unfinished slot
    const l = fp.lo | 1;
    const t = this.t;
    let i: number;
    for (;;) {
      i = this.find(h, l);
      if (i >= 0) break;
      const empty = -1 - i;
      if (Atomics.compareExchange(t, empty, 0, h) === 0) {
        Atomics.store(t, empty + 2, range);
        Atomics.store(t, empty + 1, l); // low half last: non-zero means the slot is complete
        return Claim.Keep;
      }
      // another thread took that slot first: look again
    }
    for (;;) {
      const owner = Atomics.load(t, i + 2);
      if (owner <= range) return Claim.Drop;
      // a later range kept it first: the id is ours, and that range must be read again
      if (Atomics.compareExchange(t, i + 2, owner, range) === owner) {
        Atomics.store(this.dirty, owner, 1);
        return Claim.Keep;
      }
    }
  }

  /** The lowest-numbered range that has `id`, once every range was read; -1 when unknown. */
  ownerOf(id: string): number {
    const fp = this.fp.of(id);
    const i = this.find(fp.hi | 1, fp.lo | 1);
    return i < 0 ? -1 : Atomics.load(this.t, i + 2);
  }

  isDirty(range: number): boolean {
    return Atomics.load(this.dirty, range) === 1;
  }
}
