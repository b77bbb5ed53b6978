import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withHdfs, type WebHdfs } from '../../../src/lib/hdfs/webhdfs.js';
import { LakeCache } from '../../../src/lib/lake/cache.js';
import type { LakeFile } from '../../../src/lib/lake/files.js';
import { stackConfig, uniqueName } from '../../helpers.js';

/** Writes `text` at `path` on HDFS and returns it as the lake lists a file. */
async function put(hdfs: WebHdfs, path: string, text: string): Promise<LakeFile> {
  await hdfs.create(path, text, { overwrite: true });
  const s = await hdfs.stat(path);
  assert.ok(s);
  return {
    date: '2026-12-01',
    output: 'purchases',
    path,
    length: s.length,
    modificationTime: s.modificationTime,
  };
}

describe('lake/cache: local copies of the lake files (real HDFS)', function () {
  this.timeout(60_000);

  it('fetches what it lacks, keeps within its size by dropping the copy used longest ago, and fetches a rewritten file again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp-cache-'));
    const root = `/tmp/gamepipe-test/${uniqueName('cache')}`;
    const cache = new LakeCache(dir, 2_500);
    await withHdfs(stackConfig(), async (hdfs) => {
      const [a, b, c] = await Promise.all(
        ['a', 'b', 'c'].map((n) => put(hdfs, `${root}/${n}.parquet`, n.repeat(1_000))),
      );
      const first = await cache.get(hdfs, [a as LakeFile, b as LakeFile]);
      assert.deepEqual([first.fetched, first.hits, first.evicted], [2, 0, 0]);
      assert.equal(readFileSync(first.paths[0] as string, 'utf8'), 'a'.repeat(1_000));
      // laid out as the lake is, so one hive-partitioned scan gives the date column
      assert.match(
        first.paths[0] as string,
        new RegExp(`^${dir}/purchases/date=2026-12-01/[0-9a-f]{32}\\.parquet$`),
      );
      await new Promise((r) => setTimeout(r, 20)); // a's and b's last use before c's
      const again = await cache.get(hdfs, [b as LakeFile]);
      assert.deepEqual([again.fetched, again.hits], [0, 1]);
      await new Promise((r) => setTimeout(r, 20));
      // a third file passes 2,500 bytes: a, used longest ago, goes; b stays
      const third = await cache.get(hdfs, [c as LakeFile]);
      assert.deepEqual([third.fetched, third.evicted], [1, 1]);
      assert.equal(existsSync(first.paths[0] as string), false);
      assert.equal(existsSync(first.paths[1] as string), true);
      // the same path rewritten (a rerun of its date) is another file: fetched, not the old copy
      const b2 = await put(hdfs, (b as LakeFile).path, 'B'.repeat(900));
      const fresh = await cache.get(hdfs, [b2]);
      assert.equal(fresh.fetched, 1);
      assert.equal(readFileSync(fresh.paths[0] as string, 'utf8'), 'B'.repeat(900));
      await hdfs.delete(root, { recursive: true });
    });
  });
});
