import assert from 'node:assert/strict';
import { parquetReadObjects } from 'hyparquet';
import type { GameEvent } from '../../../src/lib/events/event.js';
import { ParquetFileEncoder, RowGroup } from '../../../src/lib/lake/parquet/encoder.js';
import {
  appendEvent,
  appendRejected,
  OUTPUT_COLUMNS,
  outputOf,
} from '../../../src/lib/lake/rows.js';
import type { Output } from '../../../src/lib/lake/layout.js';

/** One row group of one output, encoded and read back with another library. */
async function roundTrip(
  output: Output,
  fill: (g: RowGroup) => void,
): Promise<Record<string, unknown>> {
  const group = new RowGroup(OUTPUT_COLUMNS[output]);
  fill(group);
  for (const c of group.columns) assert.equal(c.rows, 1, `column ${c.spec.name} got no value`);
  const file = new ParquetFileEncoder(OUTPUT_COLUMNS[output]);
  const bytes = Buffer.concat([...file.head(), ...file.rowGroup(group), ...file.footer()]);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  const rows = (await parquetReadObjects({ file: ab as ArrayBuffer, utf8: false })) as Array<
    Record<string, unknown>
  >;
  assert.equal(rows.length, 1);
  return rows[0] as Record<string, unknown>;
}

const origin = { partition: 2, offset: 41, timestamp: Date.UTC(2024, 0, 2, 3, 4, 5, 6) };
const ts = Date.UTC(2024, 0, 2, 3, 4, 5);

describe('lake/rows: a record becomes a row, each value in the column of its name', () => {
  it('a purchase lands in purchases with every column', async () => {
    const e = {
      event_type: 'sword purchased',
      event_id: '5f1f7e1e-8f55-4f7a-9b0e-0d7b1d9d2a11',
      timestamp: '2024-01-02T03:04:05Z',
      Host: 'user7.comcast.com',
      'User-Agent': 'curl/8',
      Accept: '*/*',
      price: 9.5,
      currency: 'EUR',
      quantity: 3,
      user_id: 'u7',
      schema_version: 1,
    } as GameEvent;
    assert.equal(outputOf(e), 'purchases');
    const row = await roundTrip('purchases', (g) => appendEvent(g, e, ts, origin));
    assert.deepEqual(
      { ...row, timestamp: (row.timestamp as Date).getTime() },
      {
        event_id: e.event_id,
        event_type: 'sword purchased',
        timestamp: ts,
        Host: 'user7.comcast.com',
        'User-Agent': 'curl/8',
        Accept: '*/*',
        item: 'sword',
        price: 9.5,
        currency: 'EUR',
        quantity: 3,
        user_id: 'u7',
        schema_version: 1,
        kafka_partition: 2,
        kafka_offset: 41n,
        kafka_timestamp: new Date(origin.timestamp),
      },
    );
  });

  it('a guild join lands in join_guild, absent fields as nulls', async () => {
    const e = {
      event_type: 'join_guild',
      event_id: '0b5b2b56-3f7e-4a0e-8d4e-1c1e2f3a4b5c',
      timestamp: '2024-01-02T03:04:05Z',
      Host: 'user1.att.com',
      guild_id: 'g9',
      schema_version: 1,
    } as GameEvent;
    assert.equal(outputOf(e), 'join_guild');
    const row = await roundTrip('join_guild', (g) => appendEvent(g, e, ts, origin));
    assert.equal(row.guild_id, 'g9');
    assert.equal(row.guild_name, null);
    assert.equal(row['User-Agent'], null);
    assert.equal(row.Host, 'user1.att.com');
    assert.equal(row.kafka_offset, 41n);
    assert.ok(!('item' in row), 'join_guild has no item column');
  });

  it('a rejected record keeps its key, reason, text and exact bytes', async () => {
    const rawBytes = Uint8Array.from([0x7b, 0xff, 0x7d]);
    const row = await roundTrip('_rejected', (g) =>
      appendRejected(
        g,
        { key: 'k1', reason: 'not valid UTF-8', raw: '{\uFFFD}', rawBytes },
        origin,
      ),
    );
    assert.equal(row.key, 'k1');
    assert.equal(row.reason, 'not valid UTF-8');
    assert.equal(row.raw, '{\uFFFD}');
    assert.deepEqual(new Uint8Array(row.raw_bytes as Uint8Array), rawBytes);
    assert.equal(row.kafka_partition, 2);
  });
});
