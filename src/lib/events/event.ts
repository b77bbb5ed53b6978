/** The event: its fields, kinds and names (docs/events.md); how a value is checked is in validate.ts. */
import SCHEMA from './schema.json' with { type: 'json' };

export { SCHEMA };
/**
 * The event as it travels through Kafka: one JSON object, key = Host. Names and values follow the
 * seed pipeline (`event_type` "knife purchased" / "join_guild", request headers by name) so
 * existing Spark and pandas analysis keeps working.
 */
export interface GameEvent {
  event_type: string;
  Host: string;
  'User-Agent'?: string;
  Accept?: string;
  event_id: string;
  /** Server receive time, ISO 8601 UTC. */
  timestamp: string;
  schema_version: number;
  item?: string;
  price?: number;
  currency?: string;
  quantity?: number;
  user_id?: string;
  guild_id?: string;
  guild_name?: string;
}

export type EventKind = 'purchase' | 'join_guild';

export const SCHEMA_VERSION: number = SCHEMA.schema_version;
export const JOIN_GUILD: string = SCHEMA.join_guild;
export const PURCHASE_SUFFIX: string = SCHEMA.purchase_suffix;

/** The only request headers that reach the data; never Authorization, Cookie or the rest. */
export const HEADER_ALLOWLIST = ['Host', 'User-Agent', 'Accept'] as const;
export type AllowedHeaders = Partial<Record<(typeof HEADER_ALLOWLIST)[number], string>>;

export const ITEM_PATTERN = new RegExp(SCHEMA.patterns.item);

export function purchaseEventType(item: string): string {
  return `${item}${PURCHASE_SUFFIX}`;
}

/** purchase or join_guild for an event_type value; undefined when it is neither. */
export function kindOf(eventType: string): EventKind | undefined {
  if (eventType === JOIN_GUILD) return 'join_guild';
  if (
    eventType.endsWith(PURCHASE_SUFFIX) &&
    ITEM_PATTERN.test(eventType.slice(0, -PURCHASE_SUFFIX.length))
  ) {
    return 'purchase';
  }
  return undefined;
}

/** The item of a purchase event_type ("sword purchased" → "sword"). */
export function itemOf(eventType: string): string {
  return eventType.slice(0, -PURCHASE_SUFFIX.length);
}
