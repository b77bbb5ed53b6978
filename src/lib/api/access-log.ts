import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { LogInfo } from './http.js';

/**
 * One access-log line: the path without its query string (a `?token=` must not reach the log),
 * and only allowlisted headers, like the events themselves.
 */
export function accessLogLine({
  method,
  status,
  path,
  t0,
  req,
  log = {},
}: {
  method: string;
  status: number;
  path: string;
  t0: number;
  req?: IncomingMessage;
  log?: LogInfo;
}): string {
  const q = path.indexOf('?');
  return JSON.stringify({
    time: new Date().toISOString(),
    method,
    path: (q === -1 ? path : path.slice(0, q)).slice(0, 200),
    status,
    ms: Math.round((performance.now() - t0) * 100) / 100,
    host: req?.headers.host?.slice(0, 256),
    user_agent: req?.headers['user-agent']?.slice(0, 256),
    event_id: log.eventId,
    events: log.events,
  });
}

/**
 * Buffers lines and writes them in chunks, so an access log line per request does not cost a
 * write per request. `target` is a file path, or - for stderr. `close` flushes.
 */
export function lineWriter(
  target: string,
  { flushMs = 200, maxBytes = 64 * 1024 }: { flushMs?: number; maxBytes?: number } = {},
): { write: (line: string) => void; close: () => Promise<void> } {
  const stream: NodeJS.WritableStream =
    target === '-' ? process.stderr : createWriteStream(target, { flags: 'a' });
  let buf: string[] = [];
  let size = 0;
  const flush = (): void => {
    if (buf.length === 0) return;
    stream.write(buf.join('\n') + '\n');
    buf = [];
    size = 0;
  };
  const timer = setInterval(flush, flushMs);
  timer.unref();
  return {
    write(line) {
      buf.push(line);
      size += line.length;
      if (size >= maxBytes) flush();
    },
    async close() {
      clearInterval(timer);
      flush();
      if (stream !== process.stderr && stream !== process.stdout) {
        await new Promise<void>((resolve) => stream.end(resolve));
      }
    },
  };
}
