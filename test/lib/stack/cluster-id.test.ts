import assert from 'node:assert/strict';
import { kraftClusterId } from '../../../src/lib/stack/local.js';

describe('lib/stack: KRaft cluster ids', () => {
  it('never start with "-" (StorageTool would read one as an option; 1 in 64 did)', () => {
    for (let i = 0; i < 5_000; i++) {
      const id = kraftClusterId();
      assert.equal(id.length, 22);
      assert.ok(!id.startsWith('-'), id);
    }
  });
});
