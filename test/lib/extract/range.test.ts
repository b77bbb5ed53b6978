import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTimestamp } from '../../../src/lib/extract/range.js';
import { splitRanges } from '../../../src/lib/extract/run.js';

/**
 * What a timestamp should parse to: Date.parse for an ISO 8601 time with a zone that exists, NaN
 * for the rest. Date.parse itself rolls `02-30` over into March and takes shapes like
 * `1970-01-01Z00:00:00Z`; existence is checked here by setting the fields and reading them back.
 */
function strict(s: string): number {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/.exec(s);
  if (!m) return NaN;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number) as number[];
  const t = new Date(0);
  t.setUTCFullYear(y as number, (mo as number) - 1, d as number);
  t.setUTCHours(h as number, mi as number, se as number, 0);
  const exists =
    t.getUTCFullYear() === y &&
    t.getUTCMonth() === (mo as number) - 1 &&
    t.getUTCDate() === d &&
    t.getUTCHours() === h &&
    t.getUTCMinutes() === mi &&
    t.getUTCSeconds() === se &&
    (m[9] === undefined || (Number(m[9]) <= 23 && Number(m[10]) <= 59));
  return exists ? Date.parse(s) : NaN;
}

describe('lib/extract-range', () => {
  it('parseTimestamp parses the ISO timestamps that exist, as Date.parse does, and refuses near-misses', () => {
    for (const bad of [
      '2026-02-30T00:00:00Z',
      '2026-11-21T24:00:00Z',
      '2025-02-29T12:00:00.000Z',
      '1970-01-01Z00:00:00.000Z',
      '2026-11-21T10:60:00Z',
    ]) {
      assert.ok(Number.isNaN(parseTimestamp(bad)), bad);
    }
    assert.equal(parseTimestamp('2024-02-29T12:00:00.000Z'), Date.UTC(2024, 1, 29, 12));
    const iso = fc
      .date({
        min: new Date('0001-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
    const mutated = fc
      .tuple(iso, fc.nat(23), fc.constantFrom('0', '9', 'x', '-', ':', 'Z', '.', '+', ' '))
      .map(([s, i, c]) => s.slice(0, i) + c + s.slice(i + 1));
    const short = iso.map((s) => s.replace(/\.\d{3}Z$/, 'Z'));
    fc.assert(
      fc.property(fc.oneof(iso, mutated, short), (s) => {
        assert.ok(Object.is(parseTimestamp(s), strict(s)), s);
      }),
      { numRuns: 5_000 },
    );
  });

  it('splitRanges cuts long ranges into equal parts that cover each range exactly', () => {
    const parts = splitRanges(
      [
        { partition: 1, startOffset: 10, endOffset: 510 },
        { partition: 0, startOffset: 0, endOffset: 100 },
        { partition: 2, startOffset: 5, endOffset: 5 },
      ],
      200,
    );
    assert.deepEqual(parts, [
      { partition: 0, startOffset: 0, endOffset: 100 },
      { partition: 1, startOffset: 10, endOffset: 176 },
      { partition: 1, startOffset: 176, endOffset: 343 },
      { partition: 1, startOffset: 343, endOffset: 510 },
    ]);
  });
});
