import { timingSafeEqual } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { ErrorCodes, GamepipeError, type ErrorCode } from '../core/errors.js';
import { checkEventId, hostProblem } from '../events/validate.js';

/** The HTTP edges of the API: limits, routing, reading and checking a request, raw answers. */

export const MAX_EVENT_BYTES = 16 * 1024;
export const MAX_BATCH_BYTES = 1024 * 1024;
export const MAX_BATCH_EVENTS = 500;
/** A longer request target is refused with 414; more header bytes than MAX_HEADER_BYTES with 431. */
export const MAX_URL_CHARS = 8 * 1024;
export const MAX_HEADER_BYTES = 16 * 1024;
/** A client that sends such a request gets no more of this connection. */
export const CLOSE = { connection: 'close' };

export class HttpError extends GamepipeError {
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
export interface LogInfo {
  eventId?: string;
  events?: number;
}

export type Route =
  'purchase' | 'join_guild' | 'events' | 'healthz' | 'readyz' | 'metrics' | 'unknown';

export interface Matched {
  route: Route;
  item?: string;
  /** The item in the URL is not valid percent-encoding. */
  badItem?: boolean;
  methods: readonly string[];
}

export function match(pathname: string): Matched {
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
export const ITEM_KEYS = ['type', 'item', 'event_id'];
export const TYPE_KEY = ['type', 'event_id'];
export const EVENT_ID_KEY = ['event_id'];

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
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

export function parseJson(body: Buffer): unknown {
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
export function headerBytes(req: IncomingMessage): number {
  let n = 0;
  for (const h of req.rawHeaders) n += h.length + 2;
  return n;
}

/** A client error's status, code and message: 408, 414, 431 or 400. */
export function clientErrorAnswer(err: NodeJS.ErrnoException & { rawPacket?: Buffer }): {
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
export function answerSocket(
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

export function wantsJson(req: IncomingMessage): boolean {
  return (req.headers.accept ?? '').includes('application/json');
}

export function tokenMatches(header: string | undefined, token: string): boolean {
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
export function requestHost(req: IncomingMessage): string {
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
export function clientEventId(req: IncomingMessage, body: unknown): string | undefined {
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

export interface BatchResult {
  index: number;
  status: 'accepted' | 'rejected' | 'failed';
  event_id?: string;
  error?: { code: string; message: string };
}

/** The coded error of a listen that failed: what to change (--host, --port). */
export function listenError(err: NodeJS.ErrnoException, host: string, port: number): GamepipeError {
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
