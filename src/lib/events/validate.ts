/**
 * The rules an event meets, shared by the API (on what a request sends) and extract (on what a
 * topic holds): the Host, strings, timestamps, item names, event ids and the optional metadata.
 * Their patterns, bounds and reasons come from schema.json, which the Spark job reads too.
 */
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import {
  HEADER_ALLOWLIST,
  ITEM_PATTERN,
  kindOf,
  itemOf,
  SCHEMA,
  SCHEMA_VERSION,
  type AllowedHeaders,
  type EventKind,
} from './event.js';

const MAX_HEADER_CHARS = SCHEMA.limits.header;

/**
 * The longest Host kept: a DNS name (253) and a port. The seed's reports key on Host (it carries
 * the player, `user12.comcast.com`), so it must be a name or address, ASCII, with an optional port.
 */
export const MAX_HOST_CHARS = SCHEMA.limits.host;
const HOST_PATTERN = new RegExp(SCHEMA.patterns.host);

type ReasonKey = keyof typeof SCHEMA.reasons;

/** A rejection reason of schema.json, its {placeholders} filled in. */
export function reason(key: ReasonKey, vars: Record<string, string | number> = {}): string {
  return SCHEMA.reasons[key].replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name]));
}

/** Why a Host value cannot key a player's events, or undefined when it can. */
export function hostProblem(host: unknown): string | undefined {
  if (host === undefined || host === null || host === '') return reason('missing_host');
  if (typeof host !== 'string') return reason('host_not_string');
  if (host.length > MAX_HOST_CHARS) return reason('host_too_long', { max: MAX_HOST_CHARS });
  if (!HOST_PATTERN.test(host)) return reason('host_pattern');
  return undefined;
}

/** False for a string with a lone UTF-16 surrogate (it has no UTF-8 form; it would land as U+FFFD). */
export function wellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

const ISO_TIMESTAMP = new RegExp(SCHEMA.patterns.timestamp);

/**
 * Milliseconds of an ISO 8601 timestamp with a zone, or NaN when it is not one or names a time
 * that does not exist (`2026-02-30`, `24:00`): Date.parse rolls those over into the next month.
 */
export function parseIsoTimestamp(s: string): number {
  const m = ISO_TIMESTAMP.exec(s);
  if (!m) return NaN;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as number[];
  const daysInMonth = new Date(Date.UTC(year as number, month as number, 0)).getUTCDate();
  if (
    (month as number) < 1 ||
    (month as number) > 12 ||
    (day as number) < 1 ||
    (day as number) > daysInMonth ||
    (hour as number) > 23 ||
    (minute as number) > 59 ||
    (second as number) > 59 ||
    (m[8] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59))
  ) {
    return NaN;
  }
  return Date.parse(s);
}

function badEvent(message: string, field?: string): GamepipeError {
  return new GamepipeError(ErrorCodes.badEvent, message, {
    hint: 'see docs/events.md for the event fields and their types',
    context: field === undefined ? {} : { field },
  });
}

type Check = (v: unknown) => boolean;

interface FieldRule {
  type: string;
  min?: number;
  max?: number;
  pattern?: string;
  want: string;
}

/** The check of one metadata field as schema.json states it. */
function checkOf(rule: FieldRule): Check {
  const min = rule.min ?? -Infinity;
  const max = rule.max ?? Infinity;
  switch (rule.type) {
    case 'number':
      return (v) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
    case 'integer':
      return (v) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
    case 'string': {
      const pattern = rule.pattern === undefined ? undefined : new RegExp(rule.pattern);
      return (v) =>
        typeof v === 'string' &&
        (pattern ? pattern.test(v) : v.length >= min && v.length <= max && wellFormed(v));
    }
    default:
      throw new Error(`schema.json: unknown field type ${rule.type}`);
  }
}

function rulesOf(
  fields: Record<string, FieldRule>,
): Record<string, { check: Check; want: string }> {
  return Object.fromEntries(
    Object.entries(fields).map(([name, rule]) => [name, { check: checkOf(rule), want: rule.want }]),
  );
}

/** Optional metadata a JSON body may carry, per kind, with its type check and description. */
export const METADATA: Record<EventKind, Record<string, { check: Check; want: string }>> = {
  purchase: rulesOf(SCHEMA.metadata.purchase),
  join_guild: rulesOf(SCHEMA.metadata.join_guild),
};

/**
 * A short description of a value for an error message. Strings are cut before they are quoted,
 * and nothing else is serialized: an array nested 200,000 deep would overflow JSON.stringify.
 */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.slice(0, 60)) + (v.length > 60 ? '...' : '');
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v).slice(0, 40)}`;
}

/** Checks an item name from a URL or a batch entry. */
export function checkItem(item: unknown): string {
  if (typeof item !== 'string' || !ITEM_PATTERN.test(item)) {
    throw badEvent(`item must match [A-Za-z0-9_-]{1,64}, got ${describeValue(item)}`, 'item');
  }
  return item;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A client's own id for an event (a UUID, lower-cased), so that its retries are idempotent end to
 * end: the API keeps it as `event_id` and extract keeps each event_id once a date.
 */
export function checkEventId(id: unknown, field = 'event_id'): string {
  if (typeof id !== 'string' || !UUID.test(id)) {
    throw badEvent(
      `${field} must be a UUID like 3f1c2a9e-0b7d-4c61-9a53-5d2e8f4b7a10, got ${describeValue(id)}`,
      field,
    );
  }
  return id.toLowerCase();
}

/**
 * Checks the metadata of one event (a JSON object), field by field; unknown fields are refused so
 * that a typo does not silently drop data.
 */
export function checkMetadata(
  kind: EventKind,
  body: unknown,
  ignore: readonly string[] = [],
): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw badEvent('the body must be a JSON object');
  const spec = METADATA[kind];
  const out: Record<string, unknown> = {};
  for (const key in body) {
    if (ignore.includes(key)) continue;
    const value = (body as Record<string, unknown>)[key];
    // own keys only: `constructor`, `__proto__` or `toString` are unknown fields, not lookups
    const field = Object.hasOwn(spec, key) ? spec[key] : undefined;
    if (!field) {
      throw badEvent(
        `unknown field ${JSON.stringify(key).slice(0, 80)} for a ${kind} event (known: ${Object.keys(spec).join(', ')})`,
        key,
      );
    }
    if (value === null) continue;
    if (!field.check(value)) throw badEvent(`${key} must be ${field.want}`, key);
    out[key] = value;
  }
  return out;
}

/** The allowlisted headers of a request, from node's lower-cased header map. */
export function allowedHeaders(
  headers: Record<string, string | string[] | undefined>,
): AllowedHeaders {
  const out: AllowedHeaders = {};
  for (const name of HEADER_ALLOWLIST) {
    const raw = headers[name.toLowerCase()];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) {
      // Host is checked whole (hostProblem); the others are cut to their bound
      out[name] = name === 'Host' ? value : value.slice(0, MAX_HEADER_CHARS);
    }
  }
  return out;
}

const PURCHASE_METADATA = Object.entries(METADATA.purchase);
const GUILD_METADATA = Object.entries(METADATA.join_guild);

/**
 * Checks a parsed record read back from Kafka, in place: the reason it is not a valid event, or
 * undefined when it is one. Fields the schema does not know are ignored, not refused: records
 * written by older producers (the seed copied every header) still land.
 */
export function storedEventProblem(obj: unknown): string | undefined {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return reason('not_object');
  const o = obj as Record<string, unknown>;
  const type = o.event_type;
  if (typeof type !== 'string') return reason('no_event_type');
  const kind = kindOf(type);
  if (!kind) return reason('unknown_event_type', { value: JSON.stringify(type).slice(0, 80) });
  const id = o.event_id;
  if (typeof id !== 'string' || id.length === 0 || id.length > SCHEMA.limits.event_id) {
    return reason('bad_event_id');
  }
  if (typeof o.timestamp !== 'string' || !ISO_TIMESTAMP.test(o.timestamp)) {
    return reason('bad_timestamp');
  }
  if (o.schema_version !== undefined && o.schema_version !== SCHEMA_VERSION) {
    return reason('bad_schema_version', { value: describeValue(o.schema_version) });
  }
  // the API's rules: a Host that can key a player, other headers within their bound
  const host = hostProblem(o.Host);
  if (host !== undefined) return host;
  for (const header of SCHEMA.headers) {
    const v = o[header];
    if (v === undefined) continue;
    if (typeof v !== 'string') return reason('header_not_string', { header });
    if (v.length > MAX_HEADER_CHARS)
      return reason('header_too_long', { header, max: MAX_HEADER_CHARS });
    if (!wellFormed(v)) return reason('header_not_unicode', { header });
  }
  if (kind === 'purchase' && o.item !== undefined && o.item !== itemOf(type)) {
    return reason('item_mismatch');
  }
  for (const [field, rule] of kind === 'purchase' ? PURCHASE_METADATA : GUILD_METADATA) {
    const v = o[field];
    if (v !== undefined && v !== null && !rule.check(v))
      return reason('bad_field', { field, want: rule.want });
  }
  return undefined;
}
