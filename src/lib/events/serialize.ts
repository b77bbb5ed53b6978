import { SCHEMA_VERSION, type AllowedHeaders, type EventKind } from './event.js';

/**
 * The Kafka message values of one request's events, written without building event objects:
 * an event as docs/events.md lists its fields (a test parses it back against that list), with the
 * parts the events of a request share (headers, receive time) serialized once.
 */
export class RequestEvents {
  readonly host: string;
  private readonly hostJson: string;
  private readonly tail: string;

  constructor(headers: AllowedHeaders, timestamp: string) {
    this.host = headers.Host ?? '';
    this.hostJson = JSON.stringify(this.host);
    let tail = `,"timestamp":"${timestamp}","schema_version":${SCHEMA_VERSION}`;
    if (headers['User-Agent'] !== undefined)
      tail += `,"User-Agent":${JSON.stringify(headers['User-Agent'])}`;
    if (headers.Accept !== undefined) tail += `,"Accept":${JSON.stringify(headers.Accept)}`;
    this.tail = tail;
  }

  /** `item` must have passed checkItem and `metadata` checkMetadata; `eventId` is a UUID. */
  json(
    kind: EventKind,
    item: string | undefined,
    metadata: Record<string, unknown>,
    eventId: string,
  ): string {
    let out =
      kind === 'purchase'
        ? `{"event_type":"${item} purchased","Host":${this.hostJson},"event_id":"${eventId}"${this.tail},"item":"${item}"`
        : `{"event_type":"join_guild","Host":${this.hostJson},"event_id":"${eventId}"${this.tail}`;
    for (const key in metadata) {
      const v = metadata[key];
      if (v !== undefined) out += `,"${key}":${JSON.stringify(v)}`;
    }
    return out + '}';
  }
}
