import Table from 'cli-table3';
import type { Ora } from 'ora';
import { GamepipeError, ErrorCodes } from './errors.js';

export type Format = 'table' | 'json';

export function parseFormat<T extends string>(value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new GamepipeError(ErrorCodes.usage, `unknown format ${value}`, {
      hint: `use --format ${allowed.join('|')}`,
    });
  }
  return value as T;
}

/** A terminal table; cells are stringified, empty for null/undefined. */
export function table(head: string[], rows: unknown[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) t.push(row.map((c) => (c === undefined || c === null ? '' : String(c))));
  return t.toString();
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** 1234 → "1.2s", 65000 → "1m 5s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m ${Math.round((ms % 60_000) / 1000)}s`;
}

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Permission bits as `hadoop fs -ls` prints them: "755" → "rwxr-xr-x". */
export function permissionString(octal: string, isDir: boolean): string {
  const bits = octal.padStart(3, '0').slice(-3);
  const rwx = [...bits]
    .map((d) => {
      const n = Number(d);
      return (n & 4 ? 'r' : '-') + (n & 2 ? 'w' : '-') + (n & 1 ? 'x' : '-');
    })
    .join('');
  return (isDir ? 'd' : '-') + rwx;
}

/** "2026-11-28 03:57" in UTC, like `hadoop fs -ls`. */
export function shortTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 16).replace('T', ' ');
}

export interface Spinner {
  text(message: string): void;
  succeed(message: string): void;
  fail(message: string): void;
  stop(): void;
}

/** An ora spinner on stderr when it is a TTY; otherwise silent until the final line. */
export async function spinner(
  initial: string,
  stream: NodeJS.WriteStream = process.stderr,
): Promise<Spinner> {
  if (!stream.isTTY) {
    return {
      text: () => undefined,
      succeed: (m) => stream.write(`${m}\n`),
      fail: (m) => stream.write(`${m}\n`),
      stop: () => undefined,
    };
  }
  const { default: ora } = await import('ora');
  const s: Ora = ora({ text: initial, stream }).start();
  return {
    text: (m) => {
      s.text = m;
    },
    succeed: (m) => {
      s.succeed(m);
    },
    fail: (m) => {
      s.fail(m);
    },
    stop: () => {
      s.stop();
    },
  };
}
