import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { ParquetFileEncoder, RowGroup } from '../../../../src/lib/lake/parquet/encoder.js';
import { PAGE_ROWS } from '../../../../src/lib/lake/parquet/pages.js';
import type { ColumnSpec } from '../../../../src/lib/lake/parquet/schema.js';

const COLUMNS: ColumnSpec[] = [
  { name: 'id', kind: 'string', required: true, plain: true },
  { name: 'kind', kind: 'string', required: true },
  { name: 'host', kind: 'string' },
  { name: 'n', kind: 'int32' },
  { name: 'offset', kind: 'int64', required: true },
  { name: 'at', kind: 'timestamp', required: true },
  { name: 'price', kind: 'double' },
  { name: 'raw', kind: 'binary', required: true, plain: true },
];

interface Row {
  id: string;
  kind: string;
  host: string | null;
  n: number | null;
  offset: number;
  at: number;
  price: number | null;
  raw: Uint8Array;
}

/** The bytes in an ArrayBuffer of their own, as hyparquet reads them. */
const arrayBuffer = (b: Buffer): ArrayBuffer => new Uint8Array(b).buffer;

/** A string as it reads back from UTF-8: lone surrogates become U+FFFD. */
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');

function encode(groups: Row[][]): Buffer {
  const file = new ParquetFileEncoder(COLUMNS);
  const parts: Uint8Array[] = [...file.head()];
  for (const rows of groups) {
    const g = new RowGroup(COLUMNS);
    const c = g.columns;
    for (const r of rows) {
      c[0]!.string(r.id);
      c[1]!.string(r.kind);
      c[2]!.string(r.host);
      c[3]!.number(r.n);
      c[4]!.number(r.offset);
      c[5]!.number(r.at);
      c[6]!.number(r.price);
      c[7]!.binary(r.raw);
    }
    parts.push(...file.rowGroup(g));
  }
  parts.push(...file.footer());
  return Buffer.concat(parts);
}

async function readBack(bytes: Buffer): Promise<Row[]> {
  const file = arrayBuffer(bytes);
  const objects = (await parquetReadObjects({ file, utf8: false })) as Array<
    Record<string, unknown>
  >;
  return objects.map((o) => ({
    id: o.id as string,
    kind: o.kind as string,
    host: (o.host ?? null) as string | null,
    n: (o.n ?? null) as number | null,
    offset: Number(o.offset as bigint),
    at: (o.at as Date).getTime(),
    price: (o.price ?? null) as number | null,
    raw: new Uint8Array(o.raw as Uint8Array),
  }));
}

const rowArb: fc.Arbitrary<Row> = fc.record({
  id: fc.string({ unit: 'binary', maxLength: 40 }),
  kind: fc.constantFrom('sword purchased', 'join_guild', 'épée purchased', '剣 purchased'),
  host: fc.option(fc.constantFrom('a.example', 'b.example', ''), { nil: null }),
  n: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { nil: null }),
  offset: fc.maxSafeInteger(),
  at: fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }),
  price: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null }),
  raw: fc.uint8Array({ maxLength: 24 }),
});

const expected = (rows: Row[]): Row[] =>
  rows.map((r) => ({ ...r, id: utf8(r.id), raw: new Uint8Array(r.raw) }));

describe('lib/parquet', () => {
  it('every value reads back from the encoder in hyparquet, nulls and all', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(rowArb, { maxLength: 40 }), { maxLength: 3 }),
        async (groups) => {
          const rows = await readBack(encode(groups));
          assert.deepEqual(rows, expected(groups.flat()));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('several pages, a dictionary that stops paying mid-group, and statistics, in DuckDB too', async () => {
    const n = PAGE_ROWS * 2 + 123; // pages in every column but the dictionary ones
    const rows: Row[] = Array.from({ length: n }, (_, i) => ({
      id: `id-${i}-é`,
      kind: ['b', 'a', 'c'][i % 3] as string,
      // distinct hosts from row 5000 on: the dictionary gives way to PLAIN halfway through
      host: i % 7 === 0 ? null : i < 5000 ? `h${i % 10}` : `host-${i}`,
      n: i % 5 === 0 ? null : i - 20_000,
      offset: 2 ** 40 + i,
      at: Date.UTC(2026, 10, 1) + i * 1000,
      price: i % 3 === 0 ? null : i / 4 - 10,
      raw: Uint8Array.of(i & 255, 0, 255),
    }));
    const bytes = encode([rows.slice(0, 10), rows.slice(10)]);
    assert.deepEqual(await readBack(bytes), expected(rows));

    const meta = parquetMetadata(arrayBuffer(bytes));
    const chunk = (name: string) =>
      meta.row_groups[1]?.columns.find((c) => c.meta_data?.path_in_schema[0] === name)?.meta_data;
    const big = rows.slice(10);
    assert.deepEqual(
      [chunk('kind')?.statistics?.min_value, chunk('kind')?.statistics?.max_value],
      ['a', 'c'],
    );
    assert.ok(chunk('kind')?.encodings.includes('RLE_DICTIONARY'));
    assert.ok(!chunk('host')?.encodings.includes('RLE_DICTIONARY'), 'host fell back to PLAIN');
    assert.equal(chunk('host')?.statistics?.null_count, BigInt(big.filter((r) => !r.host).length));
    assert.deepEqual(
      [chunk('n')?.statistics?.min_value, chunk('n')?.statistics?.max_value],
      [Math.min(...big.flatMap((r) => r.n ?? [])), Math.max(...big.flatMap((r) => r.n ?? []))],
    );
    assert.equal(chunk('offset')?.statistics?.max_value, BigInt(2 ** 40 + n - 1));
    assert.equal(chunk('id')?.statistics?.min_value, undefined, 'no min/max for PLAIN ids');

    const dir = mkdtempSync(join(tmpdir(), 'gp-parquet-'));
    writeFileSync(join(dir, 'f.parquet'), bytes);
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    try {
      const got = await conn.runAndReadAll(
        `SELECT count(*) AS rows, count(host) AS hosts, sum(n) AS n, max("offset") AS o,
                max("at") = make_timestamptz(${(rows.at(-1) as Row).at}::BIGINT * 1000) AS at_ok,
                sum(price) AS price, count(DISTINCT id) AS ids, min(kind) AS kind
         FROM read_parquet('${dir}/f.parquet')`,
      );
      const r = got.getRowObjects()[0] as Record<string, unknown>;
      assert.equal(Number(r.rows), n);
      assert.equal(Number(r.hosts), rows.filter((x) => x.host !== null).length);
      assert.equal(
        Number(r.n),
        rows.reduce((s, x) => s + (x.n ?? 0), 0),
      );
      assert.equal(BigInt(r.o as bigint), BigInt(2 ** 40 + n - 1));
      assert.equal(r.at_ok, true);
      assert.equal(
        r.price,
        rows.reduce((s, x) => s + (x.price ?? 0), 0),
      );
      assert.equal(Number(r.ids), n);
      assert.equal(r.kind, 'a');
    } finally {
      conn.closeSync();
    }
  });

  it('a value a column cannot hold, or a missing required value, is refused', () => {
    const g = new RowGroup(COLUMNS);
    assert.throws(() => g.columns[3]!.number(1.5), /column n \(int32\) cannot hold 1.5/);
    assert.throws(() => g.columns[4]!.number(2 ** 53), /column offset \(int64\) cannot hold/);
    assert.throws(() => g.columns[0]!.string(null), /column id is required/);
  });

  it('a file is the same bytes whatever this thread encoded before it (reruns are byte-identical)', () => {
    // Random ids (as event_ids are) leave Snappy skipping ahead. A compressor that remembers the
    // pages of earlier files finds matches at positions it skipped in this one, which a fresh one
    // does not: its output depended on what the thread had encoded before (1 file in ~70 here).
    const columns: ColumnSpec[] = [{ name: 'id', kind: 'string', required: true, plain: true }];
    const file = (ids: string[]): Buffer => {
      const f = new ParquetFileEncoder(columns);
      const g = new RowGroup(columns);
      for (const id of ids) g.columns[0]!.string(id);
      return Buffer.concat([...f.head(), ...f.rowGroup(g), ...f.footer()]);
    };
    let differ = 0;
    for (let s = 1; s <= 400; s++) {
      let seed = s;
      const hex = (): string => {
        seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
        return (seed >>> 8).toString(16).padStart(6, '0');
      };
      const ids = (n: number): string[] =>
        Array.from({ length: n }, () => `${hex()}${hex()}-${hex()}-${hex()}-${hex()}${hex()}`);
      const target = ids(200);
      const first = file(target);
      file(ids(200));
      if (!file(target).equals(first)) differ++;
    }
    assert.equal(differ, 0, `${differ} of 400 files changed with what was encoded before them`);
  });
});
