import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { JOIN_GUILD, purchaseEventType, type EventKind } from '../events/event.js';
import { allowedHeaders, checkEventId, checkItem, checkMetadata } from '../events/validate.js';
import { RequestEvents } from '../events/serialize.js';
import type { EventProducer } from '../kafka/event-producer.js';
import type { OutMessage } from '../kafka/protocol/record-batch.js';
import {
  clientEventId,
  EVENT_ID_KEY,
  HttpError,
  ITEM_KEYS,
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  MAX_EVENT_BYTES,
  parseJson,
  readBody,
  requestHost,
  TYPE_KEY,
  wantsJson,
  type BatchResult,
  type LogInfo,
  type Matched,
} from './http.js';
import type { ApiMetrics } from './metrics.js';
import type { Responder } from './responses.js';

/** The event routes: check a request, produce its events, answer once Kafka has them. */
export class EventRoutes {
  constructor(
    private readonly producer: EventProducer,
    private readonly metrics: ApiMetrics,
    private readonly out: Responder,
  ) {}

  private countEvents(purchases: number, guild: number): void {
    if (guild > 0) this.metrics.events.inc({ kind: 'join_guild' }, guild);
    if (purchases > 0) this.metrics.events.inc({ kind: 'purchase' }, purchases);
  }

  /** One event from a route (`/purchase/<item>`, `/join_a_guild`). */
  async event(
    req: IncomingMessage,
    res: ServerResponse,
    m: Matched,
    log: LogInfo,
  ): Promise<number> {
    const kind: EventKind = m.route === 'purchase' ? 'purchase' : 'join_guild';
    requestHost(req);
    const item = kind === 'purchase' ? checkItem(m.item) : undefined;
    const body = parseJson(await readBody(req, MAX_EVENT_BYTES));
    const eventId = clientEventId(req, body) ?? randomUUID();
    const metadata = checkMetadata(kind, body, EVENT_ID_KEY);
    const writer = new RequestEvents(allowedHeaders(req.headers), new Date().toISOString());
    await this.producer.send([
      { key: writer.host, value: writer.json(kind, item, metadata, eventId) },
    ]);
    this.countEvents(kind === 'purchase' ? 1 : 0, kind === 'purchase' ? 0 : 1);
    log.eventId = eventId;
    if (wantsJson(req)) {
      const eventType = kind === 'purchase' ? purchaseEventType(item as string) : JOIN_GUILD;
      return this.out.json(
        res,
        200,
        { event_id: eventId, event_type: eventType, status: 'accepted' },
        { 'x-event-id': eventId },
      );
    }
    const text = kind === 'purchase' ? `${m.item} Purchased!\n` : 'Joined guild.\n';
    return this.out.text(res, 200, text, { 'x-event-id': eventId });
  }

  /** POST /events: each entry checked on its own, the valid ones produced together. */
  async batch(req: IncomingMessage, res: ServerResponse, log: LogInfo): Promise<number> {
    requestHost(req);
    const entries = batchEntries(parseJson(await readBody(req, MAX_BATCH_BYTES)));
    const writer = new RequestEvents(allowedHeaders(req.headers), new Date().toISOString());
    const checked = checkEntries(entries, writer);
    const { results, messages, accepted } = checked;
    const rejected = entries.length - accepted.length;
    if (messages.length > 0) {
      try {
        await this.producer.send(messages);
        this.countEvents(messages.length - checked.guild, checked.guild);
      } catch (err) {
        const e = err as GamepipeError;
        for (const index of accepted) {
          results[index] = { index, status: 'failed', error: { code: e.code, message: e.message } };
        }
        const answer = { accepted: 0, rejected, failed: accepted.length, results };
        return this.out.json(res, 503, answer, { 'retry-after': '1' });
      }
    }
    log.events = accepted.length;
    if (accepted.length === 0) {
      return this.out.json(res, 400, {
        error: {
          code: ErrorCodes.badEvent,
          message: `none of the ${entries.length} events in the batch is valid`,
        },
        accepted: 0,
        rejected,
        failed: 0,
        results,
      });
    }
    return this.out.text(res, rejected > 0 ? 207 : 200, batchAnswer(results, accepted, rejected), {
      'content-type': 'application/json',
    });
  }
}

/** The entries of a batch body: a JSON array of 1 to MAX_BATCH_EVENTS. */
function batchEntries(body: unknown): unknown[] {
  if (!Array.isArray(body)) {
    throw new HttpError(
      400,
      ErrorCodes.badEvent,
      'the body of POST /events must be a JSON array of events',
    );
  }
  if (body.length === 0) throw new HttpError(400, ErrorCodes.badEvent, 'the batch is empty');
  if (body.length > MAX_BATCH_EVENTS) {
    throw new HttpError(
      413,
      ErrorCodes.batchTooLarge,
      `a batch holds at most ${MAX_BATCH_EVENTS} events, got ${body.length}`,
    );
  }
  return body;
}

/** A batch's entries checked: each one's result, and the messages of the accepted ones. */
interface CheckedBatch {
  results: BatchResult[];
  messages: OutMessage[];
  /** Indexes of the accepted entries, in order. */
  accepted: number[];
  /** How many of the accepted are guild joins. */
  guild: number;
}

function checkEntries(entries: unknown[], writer: RequestEvents): CheckedBatch {
  const out: CheckedBatch = { results: [], messages: [], accepted: [], guild: 0 };
  const ids = new Map<string, number>();
  for (let index = 0; index < entries.length; index++) {
    try {
      const { type, message, eventId } = checkEntry(entries[index], index, ids, writer);
      out.messages.push(message);
      out.accepted.push(index);
      if (type === 'join_guild') out.guild++;
      out.results[index] = { index, status: 'accepted', event_id: eventId };
    } catch (err) {
      if (!(err instanceof GamepipeError)) throw err;
      out.results[index] = {
        index,
        status: 'rejected',
        error: { code: err.code, message: err.message },
      };
    }
  }
  return out;
}

/**
 * One entry of a batch, checked as a route's event is, its message written; an `event_id` the
 * batch already used is refused (`ids`: the client ids seen so far, by index).
 */
function checkEntry(
  entry: unknown,
  index: number,
  ids: Map<string, number>,
  writer: RequestEvents,
): { type: EventKind; message: OutMessage; eventId: string } {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new GamepipeError(ErrorCodes.badEvent, 'each event must be a JSON object');
  }
  const { type, item } = entry as { type?: unknown; item?: unknown };
  if (type !== 'purchase' && type !== 'join_guild') {
    throw new GamepipeError(ErrorCodes.badEvent, 'type must be "purchase" or "join_guild"');
  }
  const checkedItem = type === 'purchase' ? checkItem(item) : undefined;
  const metadata = checkMetadata(type, entry, type === 'purchase' ? ITEM_KEYS : TYPE_KEY);
  const own = Object.hasOwn(entry, 'event_id')
    ? checkEventId((entry as { event_id: unknown }).event_id)
    : undefined;
  if (own !== undefined && ids.has(own)) {
    throw new GamepipeError(
      ErrorCodes.badEvent,
      `event_id ${own} is also the id of event ${ids.get(own)} of this batch`,
    );
  }
  const eventId = own ?? randomUUID();
  if (own !== undefined) ids.set(own, index);
  const message = { key: writer.host, value: writer.json(type, checkedItem, metadata, eventId) };
  return { type, message, eventId };
}

/** What JSON.stringify would write, with the accepted entries (the bulk) written directly. */
function batchAnswer(results: BatchResult[], accepted: number[], rejected: number): string {
  const entries = results.map((r) =>
    r.status === 'accepted'
      ? `{"index":${r.index},"status":"accepted","event_id":"${r.event_id}"}`
      : JSON.stringify(r),
  );
  return `{"accepted":${accepted.length},"rejected":${rejected},"failed":0,"results":[${entries.join(',')}]}\n`;
}
