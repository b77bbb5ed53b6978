import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { WebHdfs } from '../hdfs/webhdfs.js';
import type { LakeFile } from './files.js';

/** Files fetched at the same time. */
const PARALLEL = 4;

export interface CacheUse {
  /** The local copy of each file asked for, in the order asked. */
  paths: string[];
  hits: number;
  fetched: number;
  fetchedBytes: number;
  /** Copies deleted to keep the cache within its size. */
  evicted: number;
}

/**
 * Local copies of the lake's Parquet files, for engines that read local files (DuckDB), laid out
 * as the lake is (`<dir>/<output>/date=D/`), so that one hive-partitioned scan reads a range of
 * dates with its `date` column. A copy is named by the file's path, length and modification
 * time, so a file rewritten on HDFS (a rerun of its date) is fetched again and its old copy ages
 * out; the lake's file names are deterministic, so a name never stands for two contents. The
 * cache keeps at most `maxBytes`, dropping the copies used longest ago (a copy's modification time
 * is its last use).
 */
export class LakeCache {
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /** The local copies of `files`, fetched over WebHDFS where missing. */
  async get(hdfs: WebHdfs, files: readonly LakeFile[]): Promise<CacheUse> {
    const paths = files.map((f) => join(this.dir, f.output, `date=${f.date}`, copyName(f)));
    await Promise.all(
      [...new Set(paths.map((p) => dirname(p)))].map((d) => mkdir(d, { recursive: true })),
    );
    const use: CacheUse = { paths, hits: 0, fetched: 0, fetchedBytes: 0, evicted: 0 };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < files.length) {
        const i = next++;
        const file = files[i] as LakeFile;
        const local = paths[i] as string;
        const now = new Date();
        const held = await stat(local).catch(() => undefined);
        if (held?.size === file.length) {
          await utimes(local, now, now);
          use.hits++;
          continue;
        }
        const bytes = await hdfs.read(file.path);
        // written whole under a temporary name, then renamed: a copy is never seen half-written
        const tmp = `${local}.${process.pid}.${i}.tmp`;
        await writeFile(tmp, bytes);
        await rename(tmp, local);
        use.fetched++;
        use.fetchedBytes += bytes.length;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, files.length) }, worker));
    use.evicted = await this.evict(new Set(paths));
    return use;
  }

  /** Deletes the copies used longest ago until the cache fits, never one of `keep`. */
  private async evict(keep: ReadonlySet<string>): Promise<number> {
    const entries = await Promise.all(
      (await readdir(this.dir, { recursive: true }))
        .filter((n) => n.endsWith('.parquet'))
        .map(async (n) => {
          const path = join(this.dir, n);
          const s = await stat(path).catch(() => undefined);
          return { path, size: s?.size ?? 0, used: s?.mtimeMs ?? 0 };
        }),
    );
    let total = entries.reduce((n, e) => n + e.size, 0);
    let evicted = 0;
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      if (keep.has(e.path)) continue;
      await rm(e.path, { force: true });
      // a date directory left empty goes too
      await rmdir(dirname(e.path)).catch(() => undefined);
      total -= e.size;
      evicted++;
    }
    return evicted;
  }
}

function copyName(f: LakeFile): string {
  const id = createHash('sha256')
    .update(`${f.path}\0${f.length}\0${f.modificationTime}`)
    .digest('hex')
    .slice(0, 32);
  return `${id}.parquet`;
}
