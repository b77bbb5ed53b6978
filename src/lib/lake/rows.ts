/**
 * How a record becomes a row of its output: an event of `purchases` or `join_guild`, or a record
 * of `_rejected` with its reason. Each value is written to its column by name, as the schema
 * (lake/parquet/schema.ts) names it, so the order of the file's columns lives in one place.
 */
import { itemOf, JOIN_GUILD, SCHEMA_VERSION, type GameEvent } from '../events/event.js';
import type { RowGroup } from './parquet/encoder.js';
import {
  GUILD_COLUMNS,
  PURCHASE_COLUMNS,
  REJECTED_COLUMNS,
  type ColumnSpec,
} from './parquet/schema.js';
import type { Output } from './layout.js';

export const OUTPUT_COLUMNS: Record<Output, ColumnSpec[]> = {
  purchases: PURCHASE_COLUMNS,
  join_guild: GUILD_COLUMNS,
  _rejected: REJECTED_COLUMNS,
};

/** Where a record was in Kafka: every row of the lake carries it. */
export interface KafkaOrigin {
  partition: number;
  offset: number;
  /** The broker's LogAppendTime, in ms. */
  timestamp: number;
}

/** The output a valid event lands in. */
export function outputOf(e: GameEvent): 'purchases' | 'join_guild' {
  return e.event_type === JOIN_GUILD ? 'join_guild' : 'purchases';
}

/** Appends a valid event (its output's group, see outputOf); `tsMs` is its parsed timestamp. */
export function appendEvent(group: RowGroup, e: GameEvent, tsMs: number, from: KafkaOrigin): void {
  const c = group.column;
  c['event_id']!.string(e.event_id);
  c['event_type']!.string(e.event_type);
  c['timestamp']!.number(tsMs);
  c['Host']!.string(e.Host ?? '');
  c['User-Agent']!.string(e['User-Agent']);
  c['Accept']!.string(e.Accept);
  if (e.event_type === JOIN_GUILD) {
    c['guild_id']!.string(e.guild_id);
    c['guild_name']!.string(e.guild_name);
  } else {
    c['item']!.string(itemOf(e.event_type));
    c['price']!.number(e.price);
    c['currency']!.string(e.currency);
    c['quantity']!.number(e.quantity);
  }
  c['user_id']!.string(e.user_id);
  c['schema_version']!.number(SCHEMA_VERSION);
  c['kafka_partition']!.number(from.partition);
  c['kafka_offset']!.number(from.offset);
  c['kafka_timestamp']!.number(from.timestamp);
}

/** A record that is not a valid event, as `_rejected` keeps it. */
export interface RejectedRecord {
  key: string | null;
  reason: string;
  /** The value as text (invalid UTF-8 replaced), and its bytes as they were. */
  raw: string;
  rawBytes: Uint8Array;
}

/** Appends a rejected record; its bytes are copied at once (the fetch buffer is reused). */
export function appendRejected(group: RowGroup, r: RejectedRecord, from: KafkaOrigin): void {
  const c = group.column;
  c['kafka_partition']!.number(from.partition);
  c['kafka_offset']!.number(from.offset);
  c['kafka_timestamp']!.number(from.timestamp);
  c['key']!.string(r.key);
  c['reason']!.string(r.reason);
  c['raw']!.string(r.raw);
  c['raw_bytes']!.binary(r.rawBytes);
}
