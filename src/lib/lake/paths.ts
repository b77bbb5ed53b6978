/**
 * Paths as the HDFS verbs take them (`ls`, `du`, `cat`, `rm`): relative to the lake's base unless
 * absolute, with `*`, `?` and `[...]` globs in any segment, as `hdfs dfs` expands them.
 */
import { posix } from 'node:path';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import type { WebHdfs } from '../hdfs/webhdfs.js';

/** An absolute HDFS path: `p` under `base` unless it starts with `/`; `.` and `..` resolved. */
export function lakePath(base: string, p: string | undefined): string {
  if (p === undefined || p === '' || p === '.') return base;
  return posix.resolve(base, p);
}

const GLOB = /[*?[]/;

/** A glob segment as a regular expression (`*`, `?`, `[abc]`, `[!abc]`). */
function segmentPattern(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = segment.slice(i + 1, end);
        re += `[${body.startsWith('!') ? '^' + body.slice(1) : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The paths a pattern names, sorted: the path itself when it has no glob; otherwise every path
 * whose segments match, found by listing each globbed segment's parent. A glob that matches
 * nothing is GP_HDFS_NOT_FOUND, as `hdfs dfs -ls` says "No such file or directory".
 */
export async function expandGlob(hdfs: WebHdfs, pattern: string): Promise<string[]> {
  if (!GLOB.test(pattern)) return [pattern];
  const segments = pattern.split('/').filter(Boolean);
  let paths = ['/'];
  for (const segment of segments) {
    const next: string[] = [];
    for (const dir of paths) {
      const join = (name: string): string => (dir === '/' ? `/${name}` : `${dir}/${name}`);
      if (!GLOB.test(segment)) {
        if (await hdfs.stat(join(segment))) next.push(join(segment));
        continue;
      }
      const re = segmentPattern(segment);
      const status = await hdfs.stat(dir);
      if (status?.type !== 'DIRECTORY') continue;
      for (const child of await hdfs.listStatus(dir)) {
        if (re.test(child.pathSuffix)) next.push(join(child.pathSuffix));
      }
    }
    paths = next;
  }
  if (paths.length === 0) {
    throw new GamepipeError(ErrorCodes.hdfsNotFound, `${pattern}: no such file or directory`, {
      hint: 'check the path with `gamepipe ls` (paths are relative to the lake base)',
      context: { path: pattern },
    });
  }
  return paths.sort();
}

/** A path `rm` may delete: inside the lake's base, never the base itself. */
export function assertRemovable(base: string, path: string): void {
  const inside = path.startsWith(base === '/' ? '/' : `${base}/`) && path !== base;
  if (!inside) {
    throw new GamepipeError(
      ErrorCodes.usage,
      path === base
        ? `refusing to delete the lake's base ${base}`
        : `${path} is outside the lake (${base}): rm deletes lake paths only`,
      {
        hint:
          path === base
            ? 'delete what is under it (e.g. `gamepipe rm -r purchases/date=2026-11-01`)'
            : 'use `hdfs dfs -rm` for paths outside the lake',
        context: { path },
      },
    );
  }
}
