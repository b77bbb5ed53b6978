import type { ICustomPartitioner } from 'kafkajs';

/**
 * Kafka's murmur2, as the Java client computes it, on 32-bit integer math. kafkajs's own version
 * goes through a Long emulation and costs more than the rest of a message's encoding.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & 3;
  if (tail === 3) h ^= (data[whole + 2] as number) << 16;
  if (tail >= 2) h ^= (data[whole + 1] as number) << 8;
  if (tail >= 1) {
    h ^= data[whole] as number;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition the Java client's default partitioner picks for a key. */
export function partitionForKey(key: Uint8Array, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * A partitioner that places keyed messages exactly where the Java client (and kafkajs's
 * DefaultPartitioner) would, with a cache per key: the key is the player's Host, and players repeat.
 * Messages without a key go round-robin.
 */
export const HostPartitioner: ICustomPartitioner = () => {
  const cache = new Map<string, number>();
  let cachedFor = -1;
  let next = 0;
  return ({ partitionMetadata, message }) => {
    const n = partitionMetadata.length;
    if (n !== cachedFor) {
      cache.clear();
      cachedFor = n;
    }
    const key = message.key;
    if (key === null || key === undefined) return partitionMetadata[next++ % n]?.partitionId ?? 0;
    const k = typeof key === 'string' ? key : key.toString('latin1');
    let p = cache.get(k);
    if (p === undefined) {
      p = partitionForKey(typeof key === 'string' ? Buffer.from(key) : key, n);
      if (cache.size > 100_000) cache.clear();
      cache.set(k, p);
    }
    return p;
  };
};
