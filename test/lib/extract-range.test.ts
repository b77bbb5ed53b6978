import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTimestamp } from '../../src/lib/extract-range.js';
import { splitRanges } from '../../src/lib/extract.js';

describe('lib/extract-range', () => {
  it('parseTimestamp equals Date.parse on ISO timestamps and near-misses', () => {
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
        assert.ok(Object.is(parseTimestamp(s), Date.parse(s)), s);
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
