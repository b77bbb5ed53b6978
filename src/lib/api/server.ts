import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { VERSION } from '../core/version.js';
import { ErrorCodes, GamepipeError, type ErrorCode } from '../core/errors.js';
import {
  allowedHeaders,
  checkEventId,
  checkItem,
  hostProblem,
  checkMetadata,
  JOIN_GUILD,
  purchaseEventType,
  RequestEvents,
  type EventKind,
} from '../events/event.js';
import { probeKafka } from '../kafka/admin.js';
import { ApiMetrics } from './metrics.js';
import type { OutMessage } from '../kafka/protocol/produce.js';
import { EventProducer } from '../kafka/event-producer.js';

const MAX_EVENT_BYTES = 16 * 1024;
const MAX_BATCH_BYTES = 1024 * 1024;
const MAX_BATCH_EVENTS = 500;
/** A longer request target is refused with 414; more header bytes than MAX_HEADER_BYTES with 431. */
const MAX_URL_CHARS = 8 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;
/** A client that sends such a request gets no more of this connection. */
const CLOSE = { connection: 'close' };

export interface ApiOptions {
  brokers: readonly string[];
  topic: string;
  host?: string;
  port?: number;
  /** When set, event routes need `Authorization: Bearer <token>`. */
  token?: string;
  /** A request (headers and body) must arrive within this time, or it is cut off (408). */
  requestTimeoutMs?: number;
  /** An event not acknowledged by Kafka within this time gets a 503. */
  ackTimeoutMs?: number;
  lingerMs?: number;
  /** Receives JSON access-log lines (without the newline); none when undefined. */
  accessLog?: (line: string) => void;
}

export interface RunningApi {
  server: Server;
  url: string;
  metrics: ApiMetrics;
  producer: EventProducer;
  /** Stops accepting, finishes what is in flight, flushes the producer. */
  close(options?: { graceMs?: number }): Promise<void>;
}

class HttpError extends GamepipeError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

/** What the access log says about a request beyond its line. */
interface LogInfo {
  eventId?: string;
  events?: number;
}

type Route = 'purchase' | 'join_guild' | 'events' | 'healthz' | 'readyz' | 'metrics' | 'unknown';

interface Matched {
  route: Route;
  item?: string;
  /** The item in the URL is not valid percent-encoding. */
  badItem?: boolean;
  methods: readonly string[];
}

function match(pathname: string): Matched {
  if (pathname === '/join_a_guild') return { route: 'join_guild', methods: ['GET', 'POST'] };
  if (pathname === '/events') return { route: 'events', methods: ['POST'] };
  if (pathname === '/healthz') return { route: 'healthz', methods: ['GET', 'HEAD'] };
  if (pathname === '/readyz') return { route: 'readyz', methods: ['GET', 'HEAD'] };
  if (pathname === '/metrics') return { route: 'metrics', methods: ['GET'] };
  if (pathname.startsWith('/purchase/')) {
    const raw = pathname.slice('/purchase/'.length);
    let item: string | undefined;
    try {
      item = decodeURIComponent(raw);
    } catch {
      // refused by checkItem, under this route in the metrics
      return { route: 'purchase', methods: ['GET', 'POST'], badItem: true };
    }
    return { route: 'purchase', item, methods: ['GET', 'POST'] };
  }
  return { route: 'unknown', methods: [] };
}

const NO_BODY = Buffer.alloc(0);
const ITEM_KEYS = ['type', 'item', 'event_id'];
const TYPE_KEY = ['type', 'event_id'];
const EVENT_ID_KEY = ['event_id'];

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (
    req.headers['content-length'] === undefined &&
    req.headers['transfer-encoding'] === undefined
  ) {
    // no body (a seed-style GET): nothing to wait for
    req.resume();
    return Promise.resolve(NO_BODY);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(bodyTooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)),
    );
    req.on('error', reject);
    // the connection went (cut off at the request timeout, or the client left) before the body
    // was whole: without this the handler would wait for ever
    req.on('close', () => {
      if (!req.complete)
        reject(new HttpError(408, ErrorCodes.requestTimeout, 'the body did not arrive'));
    });
  });
}

function bodyTooLarge(limit: number): HttpError {
  return new HttpError(413, ErrorCodes.bodyTooLarge, `the body is larger than ${limit} bytes`);
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  // the decoder would turn such bytes into U+FFFD, and the event would land changed
  if (!isUtf8(body)) throw new HttpError(400, ErrorCodes.badJson, 'the body is not valid UTF-8');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, ErrorCodes.badJson, 'the body is not valid JSON');
  }
}

/** The size of the request's header lines, as they came. */
function headerBytes(req: IncomingMessage): number {
  let n = 0;
  for (const h of req.rawHeaders) n += h.length + 2;
  return n;
}

/** A client error's status, code and message: 408, 414, 431 or 400. */
function clientErrorAnswer(err: NodeJS.ErrnoException & { rawPacket?: Buffer }): {
  status: number;
  code: string;
  message: string;
} {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return {
      status: 408,
      code: ErrorCodes.requestTimeout,
      message: 'the request took too long to arrive',
    };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    // the parser counts the request line with the headers: no line end in sight means the URL
    const raw = err.rawPacket;
    const eol = raw === undefined ? 0 : raw.indexOf('\r\n');
    if (eol === -1 || eol > MAX_URL_CHARS) {
      return { status: 414, code: ErrorCodes.urlTooLong, message: 'the URL is too long' };
    }
    return {
      status: 431,
      code: ErrorCodes.headersTooLarge,
      message: 'the request headers are too large',
    };
  }
  return {
    status: 400,
    code: ErrorCodes.badRequest,
    message: `malformed HTTP request (${err.code ?? 'parse error'})`,
  };
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

/** Writes an error answer straight to a socket the HTTP server gave up on, and closes it. */
function answerSocket(
  socket: Socket,
  status: number,
  code: string,
  message: string,
  headers = '',
): void {
  if (!socket.writable || socket.destroyed) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } }) + '\n';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${headers}connection: close\r\n\r\n${body}`,
  );
}

function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('application/json');
}

function tokenMatches(header: string | undefined, token: string): boolean {
  // the scheme is case-insensitive (RFC 9110 11.1)
  const m = /^Bearer +(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const a = Buffer.from(m[1] as string);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The request's Host, which keys the player in the data: exactly one Host header that names a
 * host, on HTTP/1.0 or 1.1. Node keeps the first of two Host headers and reads bytes as Latin-1,
 * so both are checked on the raw headers.
 */
function requestHost(req: IncomingMessage): string {
  if (req.httpVersionMajor !== 1 || (req.httpVersionMinor !== 0 && req.httpVersionMinor !== 1)) {
    throw new HttpError(
      400,
      ErrorCodes.badRequest,
      `HTTP/${req.httpVersion} is not supported; send HTTP/1.1 with a Host header`,
    );
  }
  const hosts: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'host') hosts.push(raw[i + 1] as string);
  }
  if (hosts.length > 1) {
    throw new HttpError(400, ErrorCodes.badHost, 'the request has more than one Host header');
  }
  const problem = hostProblem(hosts[0]);
  if (problem !== undefined) {
    throw new HttpError(
      400,
      ErrorCodes.badHost,
      `${problem}: the Host header names the player (e.g. user12.comcast.com)`,
    );
  }
  return hosts[0] as string;
}

/** The client's id for a single event: `event_id` in the body or an `Idempotency-Key` header. */
function clientEventId(req: IncomingMessage, body: unknown): string | undefined {
  const header = req.headers['idempotency-key'];
  const fromHeader = header === undefined ? undefined : checkEventId(header, 'Idempotency-Key');
  const inBody =
    typeof body === 'object' && body !== null && Object.hasOwn(body, 'event_id')
      ? checkEventId((body as { event_id: unknown }).event_id)
      : undefined;
  if (fromHeader !== undefined && inBody !== undefined && fromHeader !== inBody) {
    throw new GamepipeError(
      ErrorCodes.badEvent,
      "the Idempotency-Key header and the body's event_id differ; send one of them",
    );
  }
  return inBody ?? fromHeader;
}

interface BatchResult {
  index: number;
  status: 'accepted' | 'rejected' | 'failed';
  event_id?: string;
  error?: { code: string; message: string };
}

/**
 * Starts the game API: purchases and guild joins become events on Kafka; a 2xx is sent only after
 * Kafka acknowledged the event (acks=all).
 */
export async function startApi({
  brokers,
  topic,
  host = '127.0.0.1',
  port = 5000,
  token,
  requestTimeoutMs = 10_000,
  ackTimeoutMs = 5_000,
  lingerMs = 0,
  accessLog,
}: ApiOptions): Promise<RunningApi> {
  const metrics = new ApiMetrics();
  const producer = new EventProducer({
    brokers,
    topic,
    ackTimeoutMs,
    lingerMs,
    onAck: (ms) => metrics.produceLatency.observe(ms / 1000),
  });
  producer.connect().catch(() => undefined); // first request retries; readyz tells
  let closing = false;
  let lastProbe = { at: 0, ok: false, detail: '' };

  async function ready(): Promise<{ ok: boolean; detail: string }> {
    if (closing) return { ok: false, detail: 'shutting down' };
    if (!producer.healthy)
      return { ok: false, detail: producer.lastFailure?.message ?? 'Kafka is slow' };
    if (Date.now() - lastProbe.at > 1_000) {
      try {
        await probeKafka({ brokers }, { connectionTimeoutMs: 1_000 });
        lastProbe = { at: Date.now(), ok: true, detail: '' };
      } catch (err) {
        lastProbe = { at: Date.now(), ok: false, detail: (err as Error).message };
      }
    }
    return { ok: lastProbe.ok, detail: lastProbe.detail };
  }

  function countEvents(purchases: number, guild: number): void {
    if (guild > 0) metrics.events.inc({ kind: 'join_guild' }, guild);
    if (purchases > 0) metrics.events.inc({ kind: 'purchase' }, purchases);
  }

  async function handleEvent(
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
    await producer.send([{ key: writer.host, value: writer.json(kind, item, metadata, eventId) }]);
    countEvents(kind === 'purchase' ? 1 : 0, kind === 'purchase' ? 0 : 1);
    log.eventId = eventId;
    if (wantsJson(req)) {
      const eventType = kind === 'purchase' ? purchaseEventType(item as string) : JOIN_GUILD;
      return send(
        res,
        200,
        { event_id: eventId, event_type: eventType, status: 'accepted' },
        { 'x-event-id': eventId },
      );
    }
    const text = kind === 'purchase' ? `${m.item} Purchased!\n` : 'Joined guild.\n';
    return sendText(res, 200, text, { 'x-event-id': eventId });
  }

  async function handleBatch(
    req: IncomingMessage,
    res: ServerResponse,
    log: LogInfo,
  ): Promise<number> {
    requestHost(req);
    const body = parseJson(await readBody(req, MAX_BATCH_BYTES));
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
    const writer = new RequestEvents(allowedHeaders(req.headers), new Date().toISOString());
    const results: BatchResult[] = [];
    const messages: OutMessage[] = [];
    const accepted: number[] = [];
    const ids = new Map<string, number>();
    let guild = 0;
    for (let index = 0; index < body.length; index++) {
      const entry: unknown = body[index];
      try {
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
        messages.push({
          key: writer.host,
          value: writer.json(type, checkedItem, metadata, eventId),
        });
        accepted.push(index);
        if (type === 'join_guild') guild++;
        results[index] = { index, status: 'accepted', event_id: eventId };
      } catch (err) {
        if (!(err instanceof GamepipeError)) throw err;
        results[index] = {
          index,
          status: 'rejected',
          error: { code: err.code, message: err.message },
        };
      }
    }
    let status = 200;
    if (messages.length > 0) {
      try {
        await producer.send(messages);
        countEvents(messages.length - guild, guild);
      } catch (err) {
        const e = err as GamepipeError;
        for (const index of accepted) {
          results[index] = { index, status: 'failed', error: { code: e.code, message: e.message } };
        }
        return send(
          res,
          503,
          {
            accepted: 0,
            rejected: body.length - accepted.length,
            failed: accepted.length,
            results,
          },
          { 'retry-after': '1' },
        );
      }
    }
    log.events = accepted.length;
    const rejected = body.length - accepted.length;
    if (accepted.length === 0) {
      return send(res, 400, {
        error: {
          code: ErrorCodes.badEvent,
          message: `none of the ${body.length} events in the batch is valid`,
        },
        accepted: 0,
        rejected,
        failed: 0,
        results,
      });
    }
    if (rejected > 0) status = 207;
    // what JSON.stringify would write, with the accepted entries (the bulk) written directly
    const text = `{"accepted":${accepted.length},"rejected":${rejected},"failed":0,"results":[${results
      .map((r) =>
        r.status === 'accepted'
          ? `{"index":${r.index},"status":"accepted","event_id":"${r.event_id}"}`
          : JSON.stringify(r),
      )
      .join(',')}]}\n`;
    return sendText(res, status, text, { 'content-type': 'application/json' });
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    log: LogInfo,
  ): Promise<{ status: number; route: Route }> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    let m: Matched = { route: 'unknown', methods: [] };
    try {
      m = match(pathname);
      if (url.length > MAX_URL_CHARS) {
        throw new HttpError(
          414,
          ErrorCodes.urlTooLong,
          `the URL is longer than ${MAX_URL_CHARS} characters`,
          CLOSE,
        );
      }
      if (headerBytes(req) > MAX_HEADER_BYTES) {
        throw new HttpError(
          431,
          ErrorCodes.headersTooLarge,
          `the request headers are larger than ${MAX_HEADER_BYTES} bytes`,
          CLOSE,
        );
      }
      if (m.route === 'unknown') {
        throw new HttpError(
          404,
          ErrorCodes.routeNotFound,
          'no such route; the API has /purchase/<item>, /join_a_guild and /events',
        );
      }
      const method = req.method ?? 'GET';
      if (!m.methods.includes(method)) {
        throw new HttpError(
          405,
          ErrorCodes.methodNotAllowed,
          `${method} is not allowed here; use ${m.methods.join(' or ')}`,
          {
            allow: m.methods.join(', '),
          },
        );
      }
      switch (m.route) {
        case 'healthz':
          return { status: sendText(res, 200, 'ok\n'), route: m.route };
        case 'readyz': {
          const r = await ready();
          return {
            status: send(res, r.ok ? 200 : 503, {
              status: r.ok ? 'ready' : 'not ready',
              version: VERSION,
              detail: r.detail,
            }),
            route: m.route,
          };
        }
        case 'metrics':
          return {
            status: sendText(res, 200, metrics.render(), {
              'content-type': 'text/plain; version=0.0.4',
            }),
            route: m.route,
          };
        default:
          break;
      }
      if (token !== undefined && !tokenMatches(req.headers.authorization, token)) {
        throw new HttpError(401, ErrorCodes.unauthorized, 'a valid bearer token is required', {
          'www-authenticate': 'Bearer',
        });
      }
      if (m.badItem) {
        throw new HttpError(
          400,
          ErrorCodes.badEvent,
          'the item name in the URL is not valid percent-encoding',
        );
      }
      const status =
        m.route === 'events'
          ? await handleBatch(req, res, log)
          : await handleEvent(req, res, m, log);
      return { status, route: m.route };
    } catch (err) {
      return { status: sendError(res, err), route: m.route };
    }
  }

  function send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): number {
    return sendText(res, status, JSON.stringify(body) + '\n', {
      'content-type': 'application/json',
      ...headers,
    });
  }

  function sendText(
    res: ServerResponse,
    status: number,
    text: string,
    headers: Record<string, string> = {},
  ): number {
    if (res.headersSent) return status;
    const h: Record<string, string | number> = {
      'content-type': 'text/plain; charset=utf-8',
      ...headers,
      'content-length': Buffer.byteLength(text),
    };
    if (closing) h.connection = 'close';
    res.writeHead(status, h).end(text);
    return status;
  }

  function sendError(res: ServerResponse, err: unknown): number {
    if (err instanceof HttpError) {
      return send(
        res,
        err.status,
        { error: { code: err.code, message: err.message } },
        err.headers,
      );
    }
    if (err instanceof GamepipeError) {
      if (err.code === ErrorCodes.badEvent) {
        return send(res, 400, { error: { code: err.code, message: err.message } });
      }
      // anything else from Kafka (down, slow, the topic missing) means we cannot take events now
      return send(
        res,
        503,
        { error: { code: err.code, message: err.message } },
        { 'retry-after': '1' },
      );
    }
    return send(res, 500, { error: { code: ErrorCodes.internal, message: 'internal error' } });
  }

  /** Writes one access-log line and counts the request. */
  function record(
    route: Route,
    method: string,
    status: number,
    path: string,
    t0: number,
    req?: IncomingMessage,
    log: LogInfo = {},
  ): void {
    metrics.requests.inc({ route, method, status: String(status) });
    if (!accessLog) return;
    const q = path.indexOf('?');
    accessLog(
      JSON.stringify({
        time: new Date().toISOString(),
        method,
        // no query string: a ?token= or other secret must not reach the log
        path: (q === -1 ? path : path.slice(0, q)).slice(0, 200),
        status,
        ms: Math.round((performance.now() - t0) * 100) / 100,
        // only allowlisted headers, like the events themselves
        host: req?.headers.host?.slice(0, 256),
        user_agent: req?.headers['user-agent']?.slice(0, 256),
        event_id: log.eventId,
        events: log.events,
      }),
    );
  }

  // Requests in flight on each connection, and an error answer held back until they are done: a
  // pipelining client must get the 2xx of every event that went to Kafka before the 400 that
  // closes the connection, or it retries and the event lands twice.
  const pending = new WeakMap<Socket, Set<IncomingMessage>>();
  const heldBack = new WeakMap<Socket, () => void>();
  // what the server wrote itself on a connection (a 408 while a body was awaited, say): the
  // request's handler then fails, but the log and the metrics must say what the client got
  const answered = new WeakMap<Socket, number>();

  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(requestTimeoutMs, 10_000),
      keepAliveTimeout: 5_000,
      // how often node looks for requests past their timeout (30 s by default)
      connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs),
      // room past our own limits (414, 431), so that they answer rather than the parser
      maxHeaderSize: 4 * MAX_HEADER_BYTES,
    },
    (req, res) => {
      const t0 = performance.now();
      const socket = req.socket;
      let inFlight = pending.get(socket);
      if (!inFlight) pending.set(socket, (inFlight = new Set()));
      inFlight.add(req);
      metrics.inFlight.value++;
      const log: LogInfo = {};
      void handle(req, res, log).then(({ status, route }) => {
        metrics.inFlight.value--;
        record(
          route,
          req.method ?? '',
          answered.get(socket) ?? status,
          req.url ?? '',
          t0,
          req,
          log,
        );
        inFlight.delete(req);
        if (inFlight.size === 0) heldBack.get(socket)?.();
      });
    },
  );
  server.on(
    'clientError',
    (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
      const t0 = performance.now();
      if (answered.has(socket) || heldBack.has(socket)) {
        // already answered, or an answer is waiting (the client then left, say): it stands
        if (!heldBack.has(socket)) socket.destroy();
        return;
      }
      const { status, code, message } = clientErrorAnswer(err);
      const inFlight = pending.get(socket);
      const answer = (): void => {
        heldBack.delete(socket);
        answerSocket(socket, status, code, message);
      };
      // a request in flight that is still reading its body (or timed out) is the broken one:
      // it produced nothing, and this answer is its answer
      const broken =
        inFlight !== undefined && [...inFlight].some((r) => !r.complete || status === 408);
      answered.set(socket, status);
      if (broken) {
        answer();
        return;
      }
      // bytes after whole requests: they get their answers first, then this one
      record('unknown', '', status, '', t0);
      if (inFlight !== undefined && inFlight.size > 0) {
        answered.delete(socket);
        heldBack.set(socket, answer);
      } else {
        answer();
      }
    },
  );
  // CONNECT is not for this server: answered, not dropped
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    const t0 = performance.now();
    record('unknown', 'CONNECT', 405, req.url ?? '', t0, req);
    answerSocket(
      socket,
      405,
      ErrorCodes.methodNotAllowed,
      'CONNECT is not supported here',
      'allow: GET, POST\r\n',
    );
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    await producer.close().catch(() => undefined);
    throw listenError(err as NodeJS.ErrnoException, host, port);
  }
  const address = server.address() as AddressInfo;

  return {
    server,
    url: `http://${host}:${address.port}`,
    metrics,
    producer,
    async close({ graceMs = 10_000 } = {}) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      await producer.close();
    },
  };
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): GamepipeError {
  if (err.code === 'EADDRINUSE') {
    return new GamepipeError(ErrorCodes.usage, `port ${port} on ${host} is already in use`, {
      hint: 'stop the other server or pick another --port',
      cause: err,
    });
  }
  if (err.code === 'ENOTFOUND' || err.code === 'EADDRNOTAVAIL' || err.code === 'EAI_AGAIN') {
    return new GamepipeError(
      ErrorCodes.usage,
      `cannot listen on ${host}: not an address of this machine (${err.code})`,
      {
        hint: 'give --host an address of this machine, like 127.0.0.1 or 0.0.0.0',
        cause: err,
      },
    );
  }
  if (err.code === 'EACCES') {
    return new GamepipeError(ErrorCodes.usage, `no permission to listen on ${host}:${port}`, {
      hint: 'pick a --port above 1023',
      cause: err,
    });
  }
  return new GamepipeError(ErrorCodes.usage, `cannot listen on ${host}:${port}: ${err.message}`, {
    hint: 'check --host and --port',
    cause: err,
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
