import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { FingerprintSet } from '../../src/lib/dedup.js';

describe('lib/dedup', () => {
  it('keeps each id once, across growth of the table', () => {
    const set = new FingerprintSet(16); // 16 slots: grows several times below
    const ids = Array.from({ length: 5_000 }, () => randomUUID());
    for (const id of ids) assert.equal(set.add(id), true);
    assert.equal(set.size, ids.length);
    for (const id of ids) assert.equal(set.add(id), false, `${id} is already there`);
    assert.equal(set.add(''), true);
    assert.equal(set.add(''), false);
    assert.equal(set.size, ids.length + 1);
  });

  it('tells apart ids that differ in one character or only in length', () => {
    const set = new FingerprintSet(1 << 10);
    const base = 'ab958c11-ae65-402c-9bc3-c1112f2133c1';
    const near = [base, base.slice(0, -1), `${base}0`, base.replace('a', 'b'), base.toUpperCase()];
    for (const id of near) assert.equal(set.add(id), true, id);
  });
});
