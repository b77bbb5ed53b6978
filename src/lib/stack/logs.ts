/**
 * The stack's logs, as `docker compose logs` shows a service's: the last lines of a log file, and
 * lines as they are appended (`-f`). The local stack writes one file a service in
 * `$GAMEPIPE_HOME/logs/`; each Spark job writes its own `spark-<job>.log` there.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { logFile, serviceLog, stackPaths, type Component } from './local.js';

/** What `gamepipe logs` can show: each process of the local stack, and the newest Spark job. */
export type LogService = Component | 'spark';

/**
 * The log file of a service, and (for a process of the stack) the file of its own output, where a
 * JVM that fails to start writes; GP_NO_LOG when there is no log yet, saying how one comes to be.
 */
export function logPath(
  config: Pick<Config, 'home'>,
  service: LogService,
): { path: string; output?: string } {
  const paths = stackPaths(config.home);
  if (service === 'spark') {
    const newest = (existsSync(paths.logs) ? readdirSync(paths.logs) : [])
      .filter((n) => /^spark-.*\.log$/.test(n))
      .map((n) => ({ path: join(paths.logs, n), mtime: statSync(join(paths.logs, n)).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime)[0];
    if (!newest) {
      throw new GamepipeError(ErrorCodes.noLog, `no Spark job has run with ${paths.logs}`, {
        hint: 'a run with --engine spark writes its log there',
      });
    }
    return { path: newest.path };
  }
  const path = serviceLog(paths, service);
  const output = logFile(paths, service);
  if (!existsSync(path) && !existsSync(output)) {
    throw new GamepipeError(ErrorCodes.noLog, `no ${service} log in ${paths.logs}`, {
      hint: '`gamepipe up` starts the local stack and logs there (a stack run by docker compose: `docker compose logs`)',
    });
  }
  return existsSync(path) ? { path, output } : { path: output };
}

/**
 * The byte offset where the last `n` lines of the file begin (0 for all of it), read backwards in
 * blocks so that a large log is not read whole. A last line without its newline counts as a line.
 */
export async function tailOffset(path: string, n: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    if (n <= 0) return size;
    const block = Buffer.alloc(64 * 1024);
    let end = size;
    let newlines = 0;
    // a newline that ends the file ends the last line; it does not start one
    let skipLast = true;
    while (end > 0) {
      const start = Math.max(0, end - block.length);
      const { bytesRead } = await handle.read(block, 0, end - start, start);
      for (let i = bytesRead - 1; i >= 0; i--) {
        if (block[i] !== 0x0a) {
          skipLast = false;
          continue;
        }
        if (skipLast) {
          skipLast = false;
          continue;
        }
        if (++newlines === n) return start + i + 1;
      }
      end = start;
    }
    return 0;
  } finally {
    await handle.close();
  }
}

/**
 * Copies the file from `from` to `write`, then, with `follow`, what is appended as it comes (a
 * poll every `pollMs`; a file that shrinks was rotated or truncated: it is read from its start)
 * until `signal` aborts.
 */
export async function copyLog(
  path: string,
  from: number,
  write: (chunk: Buffer) => void,
  {
    follow = false,
    signal,
    pollMs = 250,
  }: { follow?: boolean; signal?: AbortSignal; pollMs?: number },
): Promise<void> {
  let offset = from;
  const buf = Buffer.alloc(256 * 1024);
  for (;;) {
    const handle = await open(path, 'r').catch(() => undefined);
    if (handle) {
      try {
        const size = (await handle.stat()).size;
        if (size < offset) offset = 0;
        while (offset < size) {
          const { bytesRead } = await handle.read(
            buf,
            0,
            Math.min(buf.length, size - offset),
            offset,
          );
          if (bytesRead === 0) break;
          write(Buffer.from(buf.subarray(0, bytesRead)));
          offset += bytesRead;
        }
      } finally {
        await handle.close();
      }
    }
    if (!follow || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, pollMs);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
    if (signal?.aborted) return;
  }
}
