import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { readInt64 } from '../../../../src/lib/kafka/protocol/codec.js';
import {
  batchCrc,
  crc32c,
  encodeRecordBatch,
  TransactionFilter,
  walkRecords,
} from '../../../../src/lib/kafka/protocol/record-batch.js';

describe('lib/kafka-produce', () => {
  it('crc32c matches the Castagnoli check values', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(0)), 0);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43); // 32 bytes of ones
  });

  it('a record batch reads back (keys, values in UTF-8, offsets) and carries its producer fields', () => {
    const messages = [
      { key: 'user1.comcast.com', value: '{"a":1}' },
      { key: 'ünïcødé', value: 'x'.repeat(300) },
      { key: '', value: '' },
    ];
    const batch = encodeRecordBatch(messages, 4242, 3, 17, Date.UTC(2026, 10, 28));
    assert.equal(batch.readInt32BE(8), batch.length - 12);
    assert.equal(readInt64(batch, 43), 4242);
    assert.equal(batch.readInt16BE(51), 3);
    assert.equal(batch.readInt32BE(53), 17);
    assert.equal(batch.readUInt32BE(17), crc32c(batch, 21));
    const seen: Array<[number, number, string, string]> = [];
    walkRecords(batch, 0, 10, new TransactionFilter(), (offset, ts, buf, ks, ke, vs, ve) =>
      seen.push([offset, ts, buf.toString('utf8', ks, ke), buf.toString('utf8', vs, ve)]),
    );
    const ts = Date.UTC(2026, 10, 28);
    assert.deepEqual(
      seen,
      messages.map((m, i) => [i, ts, m.key, m.value]),
    );
  });
});

/** The batch with its records compressed by `compress` and the codec set in its attributes. */
function compressed(batch: Buffer, codec: number, compress: (b: Buffer) => Buffer): Buffer {
  const records = compress(batch.subarray(61));
  const out = Buffer.concat([batch.subarray(0, 61), records]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(codec, 21);
  out.writeUInt32BE(crc32c(out, 21), 17);
  return out;
}

/** A zstd frame of raw (stored) blocks: valid zstd that any decoder must read. */
function zstdStored(data: Buffer): Buffer {
  // magic; a frame header without content size or checksum; a window of 2^(10+11) bytes
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58])];
  for (let p = 0; p < data.length || p === 0; p += 100) {
    const chunk = data.subarray(p, Math.min(data.length, p + 100));
    const last = p + 100 >= data.length ? 1 : 0;
    const header = (chunk.length << 3) | (0 << 1) | last; // Raw_Block
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), chunk);
  }
  return Buffer.concat(parts);
}

/** Snappy the way the Java client frames it (xerial): magic, versions, then length-prefixed blocks. */
function xerial(raw: Buffer): Buffer {
  const header = Buffer.from([
    0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1,
  ]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(raw.length);
  return Buffer.concat([header, len, raw]);
}

describe('lib/kafka record batches: every codec, and the CRC', () => {
  const messages = Array.from({ length: 50 }, (_, i) => ({
    key: `user${i % 7}.comcast.com`,
    value: JSON.stringify({ event_type: 'sword purchased', n: i, pad: 'x'.repeat(i) }),
  }));
  const plain = encodeRecordBatch(messages, 7, 0, 0, Date.UTC(2024, 0, 1));
  const read = (batch: Buffer): string[] => {
    const seen: string[] = [];
    walkRecords(batch, 0, 1_000, new TransactionFilter(), (_o, _t, buf, _ks, _ke, vs, ve) =>
      seen.push(buf.toString('utf8', vs, ve)),
    );
    return seen;
  };

  it('gzip, snappy (xerial-framed and raw), lz4 (frame) and zstd batches read back record for record', async () => {
    const { snappyCompressor } = await import('hysnappy');
    const lz4 = (await import('lz4-napi')).compressFrameSync;
    const snappy = snappyCompressor();
    const cases: Array<[string, number, (b: Buffer) => Buffer]> = [
      ['gzip', 1, (b) => gzipSync(b)],
      ['snappy, xerial framing', 2, (b) => xerial(Buffer.from(snappy(b)))],
      ['snappy, raw block', 2, (b) => Buffer.from(snappy(b))],
      ['lz4 frame', 3, (b) => lz4(b)],
      ['zstd', 4, (b) => zstdStored(b)],
    ];
    for (const [name, codec, compress] of cases) {
      const batch = compressed(plain, codec, compress);
      assert.equal(batch.readInt16BE(21) & 7, codec);
      assert.deepEqual(
        read(batch),
        messages.map((m) => m.value),
        name,
      );
    }
  });

  it('a batch whose bytes changed fails its CRC-32C check: GP_KAFKA_CORRUPT naming its offset', () => {
    const batch = Buffer.from(plain);
    batch.writeBigInt64BE(1234n, 0); // base offset 1234 (not under the CRC)
    const flipped = Buffer.from(batch);
    flipped[200] = (flipped[200] as number) ^ 0x01;
    assert.throws(
      () => walkRecords(flipped, 1234, 2_000, new TransactionFilter(), () => undefined),
      (e: { code?: string; message?: string }) =>
        e.code === 'GP_KAFKA_CORRUPT' &&
        /offset 1234 fails its CRC-32C check/.test(e.message ?? ''),
    );
    // the untouched batch reads
    let n = 0;
    walkRecords(batch, 1234, 2_000, new TransactionFilter(), () => n++);
    assert.equal(n, messages.length);
  });

  it('compressed bytes that do not decompress are GP_KAFKA_CORRUPT too, naming the codec', () => {
    for (const codec of [1, 2, 3, 4]) {
      const batch = compressed(plain, codec, () =>
        Buffer.from('not compressed at all, not at all'),
      );
      assert.throws(
        () => read(batch),
        (e: { code?: string; message?: string }) =>
          e.code === 'GP_KAFKA_CORRUPT' && /does not decompress/.test(e.message ?? ''),
        `codec ${codec}`,
      );
    }
    const unknown = compressed(plain, 6, (b) => b);
    assert.throws(() => read(unknown), /unknown compression codec \(6\)/);
  });
});

describe('lib/kafka CRC-32C: the native one and ours agree', () => {
  it('on random buffers and slices of every alignment', () => {
    for (let n = 0; n < 200; n++) {
      const buf = randomBytes(1 + ((n * 7919) % 5000));
      const start = n % 13;
      const end = Math.max(start, buf.length - (n % 7));
      assert.equal(batchCrc(buf, start, end), crc32c(buf, start, end), `case ${n}`);
    }
    assert.equal(batchCrc(Buffer.from('123456789'), 0, 9), 0xe3069283);
  });
});
