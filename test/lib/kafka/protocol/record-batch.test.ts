import assert from 'node:assert/strict';
import { readInt64 } from '../../../../src/lib/kafka/protocol/codec.js';
import {
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
