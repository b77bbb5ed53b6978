import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { KafkaAccess } from '../core/config.js';
import { ErrorCodes } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { probeKafka } from '../kafka/admin.js';
import { EventProducer } from '../kafka/event-producer.js';
import { accessLogLine } from './access-log.js';
import { ConnectionTracker } from './connections.js';
import { EventRoutes } from './handlers.js';
import {
  answerSocket,
  CLOSE,
  headerBytes,
  HttpError,
  listenError,
  match,
  MAX_HEADER_BYTES,
  MAX_URL_CHARS,
  tokenMatches,
  type LogInfo,
  type Matched,
  type Route,
} from './http.js';
import { ApiMetrics } from './metrics.js';
import { Responder } from './responses.js';

export interface ApiOptions extends KafkaAccess {
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

/** What routing needs from the running server. */
interface RouteContext {
  out: Responder;
  routes: EventRoutes;
  metrics: ApiMetrics;
  token: string | undefined;
  ready: () => Promise<{ ok: boolean; detail: string }>;
}

/** /readyz: the producer is healthy and Kafka answered a metadata probe within the last second. */
function readiness(
  access: KafkaAccess,
  producer: EventProducer,
  closing: () => boolean,
): () => Promise<{ ok: boolean; detail: string }> {
  let lastProbe = { at: 0, ok: false, detail: '' };
  return async () => {
    if (closing()) return { ok: false, detail: 'shutting down' };
    if (!producer.healthy)
      return { ok: false, detail: producer.lastFailure?.message ?? 'Kafka is slow' };
    if (Date.now() - lastProbe.at > 1_000) {
      try {
        await probeKafka(access, { connectionTimeoutMs: 1_000 });
        lastProbe = { at: Date.now(), ok: true, detail: '' };
      } catch (err) {
        lastProbe = { at: Date.now(), ok: false, detail: (err as Error).message };
      }
    }
    return { ok: lastProbe.ok, detail: lastProbe.detail };
  };
}

/** The URL's and headers' size limits, then the route and its methods: an HttpError if not. */
function checkRequest(req: IncomingMessage, url: string, m: Matched): void {
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
      { allow: m.methods.join(', ') },
    );
  }
}

/** The operator's routes (health, readiness, metrics), open without a token; else undefined. */
async function serviceRoute(
  ctx: RouteContext,
  route: Route,
  res: ServerResponse,
): Promise<number | undefined> {
  switch (route) {
    case 'healthz':
      return ctx.out.text(res, 200, 'ok\n');
    case 'readyz': {
      const r = await ctx.ready();
      return ctx.out.json(res, r.ok ? 200 : 503, {
        status: r.ok ? 'ready' : 'not ready',
        version: VERSION,
        detail: r.detail,
      });
    }
    case 'metrics':
      return ctx.out.text(res, 200, ctx.metrics.render(), {
        'content-type': 'text/plain; version=0.0.4',
      });
    default:
      return undefined;
  }
}

/** Routes one request: limits, route and method, auth, then the handler; the status it got. */
async function handle(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  log: LogInfo,
): Promise<{ status: number; route: Route }> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  let m: Matched = { route: 'unknown', methods: [] };
  try {
    m = match(q === -1 ? url : url.slice(0, q));
    checkRequest(req, url, m);
    const served = await serviceRoute(ctx, m.route, res);
    if (served !== undefined) return { status: served, route: m.route };
    if (ctx.token !== undefined && !tokenMatches(req.headers.authorization, ctx.token)) {
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
        ? await ctx.routes.batch(req, res, log)
        : await ctx.routes.event(req, res, m, log);
    return { status, route: m.route };
  } catch (err) {
    return { status: ctx.out.error(res, err), route: m.route };
  }
}

/**
 * The HTTP server: each request routed and handled, then counted and logged; parser errors and
 * CONNECT answered (not dropped) and counted too.
 */
function createApiServer(
  ctx: RouteContext,
  requestTimeoutMs: number,
  accessLog: ApiOptions['accessLog'],
): Server {
  const { metrics } = ctx;
  const connections = new ConnectionTracker();

  /** Counts a request and writes its access-log line. */
  const record = (
    route: Route,
    method: string,
    status: number,
    path: string,
    t0: number,
    req?: IncomingMessage,
    log?: LogInfo,
  ): void => {
    metrics.requests.inc({ route, method, status: String(status) });
    accessLog?.(accessLogLine({ method, status, path, t0, req, log }));
  };

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
      connections.begin(req);
      metrics.inFlight.value++;
      const log: LogInfo = {};
      void handle(ctx, req, res, log).then(({ status, route }) => {
        metrics.inFlight.value--;
        const got = connections.end(req, socket, status);
        record(route, req.method ?? '', got, req.url ?? '', t0, req, log);
      });
    },
  );
  server.on(
    'clientError',
    (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
      const t0 = performance.now();
      connections.clientError(err, socket, (status) => record('unknown', '', status, '', t0));
    },
  );
  // CONNECT is not for this server: answered, not dropped
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    record('unknown', 'CONNECT', 405, req.url ?? '', performance.now(), req);
    answerSocket(
      socket,
      405,
      ErrorCodes.methodNotAllowed,
      'CONNECT is not supported here',
      'allow: GET, POST\r\n',
    );
  });

  return server;
}

/**
 * Starts the game API: purchases and guild joins become events on Kafka; a 2xx is sent only after
 * Kafka acknowledged the event (acks=all).
 */
export async function startApi({
  brokers,
  kafkaSecurity,
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
    kafkaSecurity,
    topic,
    ackTimeoutMs,
    lingerMs,
    onAck: (ms) => metrics.produceLatency.observe(ms / 1000),
  });
  producer.connect().catch(() => undefined); // first request retries; readyz tells
  const out = new Responder();
  const ctx: RouteContext = {
    out,
    routes: new EventRoutes(producer, metrics, out),
    metrics,
    token,
    ready: readiness({ brokers, kafkaSecurity }, producer, () => out.closing),
  };
  const server = createApiServer(ctx, requestTimeoutMs, accessLog);
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
      out.closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
      await producer.close();
    },
  };
}
