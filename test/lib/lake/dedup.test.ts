import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Claim, FingerprintSet, SharedIdTable } from '../../../src/lib/lake/dedup.js';

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

describe('lib/dedup: the id table shared by extract threads', () => {
  it('keeps an id in the lowest range that has it, and marks a later range that kept it first', () => {
    const t = SharedIdTable.forIds(100, 4);
    assert.equal(t.claim('a', 2), Claim.Keep);
    assert.equal(t.claim('a', 2), Claim.Drop, 'a repeat in the same range');
    assert.equal(t.claim('a', 3), Claim.Drop, 'a later range');
    assert.equal(t.isDirty(2), false);
    assert.equal(t.claim('a', 0), Claim.Keep, 'an earlier range takes it over');
    assert.equal(t.isDirty(2), true);
    assert.equal(t.ownerOf('a'), 0);
    assert.equal(t.ownerOf('never seen'), -1);
  });

  it('gives the same answers through a second view of the same buffers (another thread)', () => {
    const t = SharedIdTable.forIds(1000, 2);
    const other = new SharedIdTable(t.buffers);
    const ids = Array.from({ length: 500 }, () => randomUUID());
    for (const id of ids) assert.equal(t.claim(id, 1), Claim.Keep);
    for (const id of ids) assert.equal(other.claim(id, 1), Claim.Drop);
    assert.equal(other.ownerOf(ids[7] as string), 1);
  });
});
