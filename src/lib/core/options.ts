import { ErrorCodes, GamepipeError } from './errors.js';

/**
 * The one parser of command-line values that are not words: durations, counts, numbers, URLs.
 * A bad value is a usage error (exit 2) that names the option and says what it takes.
 */

function usage(option: string, value: unknown, want: string, example: string): GamepipeError {
  return new GamepipeError(
    ErrorCodes.usage,
    `${option} must be ${want}, got ${JSON.stringify(String(value)).slice(0, 60)}`,
    { hint: `e.g. ${option} ${example}`, context: { option } },
  );
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

export interface DurationBounds {
  /** Smallest accepted duration, in ms (default 1: zero is not a duration). */
  minMs?: number;
  maxMs?: number;
}

/** `500ms`, `20s`, `3m`, `1h` or a plain number of seconds (`1.5`), in milliseconds. */
export function parseDuration(
  option: string,
  value: string | number,
  { minMs = 1, maxMs = 7 * 86_400_000 }: DurationBounds = {},
): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/.exec(String(value));
  const ms = m ? Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 's'] as number)) : NaN;
  const range = `${formatMs(minMs)} to ${formatMs(maxMs)}`;
  if (!m || !Number.isFinite(ms)) {
    throw usage(option, value, `a duration (500ms, 20s, 3m, 1h or seconds) from ${range}`, '20s');
  }
  if (ms < minMs || ms > maxMs) throw usage(option, value, `a duration from ${range}`, '20s');
  return ms;
}

function formatMs(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/** A whole number from `min` to `max`. */
export function parseCount(
  option: string,
  value: string | number,
  { min = 1, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  const s = String(value).trim();
  const n = /^-?\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const upTo = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw usage(option, value, `a whole number ${upTo}`, String(Math.max(min, 1)));
  }
  return n;
}

/** A number (decimals allowed) from `min` to `max`. */
export function parseNumber(
  option: string,
  value: string | number,
  { min = -Infinity, max = Infinity, above }: { min?: number; max?: number; above?: number } = {},
): number {
  const s = String(value).trim();
  const n = /^-?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n) || n < min || n > max || (above !== undefined && !(n > above))) {
    const lower = above !== undefined ? `above ${above}` : `from ${min}`;
    throw usage(option, value, `a number ${lower}${max === Infinity ? '' : ` up to ${max}`}`, '1');
  }
  return n;
}

/** An http:// or https:// URL, without a trailing slash. */
export function parseHttpUrl(option: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw usage(option, value, 'an http:// or https:// URL', 'http://127.0.0.1:5000');
  }
  return value.replace(/\/+$/, '');
}
