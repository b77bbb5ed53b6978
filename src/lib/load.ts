import { Pool, type Dispatcher } from 'undici';
import { ErrorCodes, GamepipeError } from './errors.js';
import { purchaseEventType, JOIN_GUILD } from './events.js';
import type { LedgerEntry } from './ledger.js';
import { providerOf, type Burst, type PlannedEvent, type PlannedRequest } from './generator.js';

export interface LoadSummary {
  url: string;
  requests: number;
  sent: number;
  accepted: number;
  rejected: number;
  failed: number;
  elapsedMs: number;
  eventsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  byEventType: Record<string, number>;
  byProvider: Record<string, number>;
  /** Failures by cause (HTTP status or network error code). */
  failures: Record<string, number>;
}

export interface LoadOptions {
  url: string;
  bursts: Burst[];
  concurrency: number;
  /** Events per second at most. */
  rate?: number;
  token?: string;
  /** Called with every acknowledged event. */
  onAccepted?: (entry: LedgerEntry) => void;
  onProgress?: (done: { sent: number; accepted: number; failed: number }) => void;
  requestTimeoutMs?: number;
}

function eventType(e: PlannedEvent): string {
  return e.kind === 'purchase' ? purchaseEventType(e.item ?? '') : JOIN_GUILD;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, i)] as number) * 100) / 100;
}

/**
 * Sends planned bursts to the API over keep-alive connections: at most `concurrency` requests in
 * flight overall, and at most each burst's own concurrency within a burst.
 */
export async function runLoad({
  url,
  bursts,
  concurrency,
  rate,
  token,
  onAccepted,
  onProgress,
  requestTimeoutMs = 30_000,
}: LoadOptions): Promise<LoadSummary> {
  const pool = new Pool(url, {
    connections: concurrency,
    keepAliveTimeout: 30_000,
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
  });
  const totalRequests = bursts.reduce((n, b) => n + b.requests.length, 0);
  const latencies = new Float64Array(totalRequests);
  const s: LoadSummary = {
    url,
    requests: 0,
    sent: 0,
    accepted: 0,
    rejected: 0,
    failed: 0,
    elapsedMs: 0,
    eventsPerSecond: 0,
    latencyMs: { p50: 0, p95: 0, p99: 0, max: 0 },
    byEventType: {},
    byProvider: {},
    failures: {},
  };
  const accept = (e: PlannedEvent, id: string): void => {
    s.accepted++;
    const type = eventType(e);
    s.byEventType[type] = (s.byEventType[type] ?? 0) + 1;
    const provider = providerOf(e.host);
    s.byProvider[provider] = (s.byProvider[provider] ?? 0) + 1;
    onAccepted?.({ event_id: id, event_type: type, Host: e.host });
  };
  const fail = (cause: string, n: number): void => {
    s.failed += n;
    s.failures[cause] = (s.failures[cause] ?? 0) + n;
  };

  // scheduling: bursts open in order; a worker takes a request from the first open burst that has
  // a free slot, and opens the next burst when every open one is saturated
  const active: Array<{ burst: Burst; next: number; inFlight: number }> = [];
  let nextBurst = 0;
  const take = (): { req: PlannedRequest; slot: { inFlight: number } } | undefined => {
    for (;;) {
      for (let i = 0; i < active.length; i++) {
        const a = active[i] as (typeof active)[number];
        if (a.next >= a.burst.requests.length) {
          active.splice(i--, 1);
        } else if (a.inFlight < a.burst.concurrency) {
          a.inFlight++;
          return { req: a.burst.requests[a.next++] as PlannedRequest, slot: a };
        }
      }
      if (nextBurst >= bursts.length) return undefined;
      active.push({ burst: bursts[nextBurst++] as Burst, next: 0, inFlight: 0 });
    }
  };

  const t0 = performance.now();
  let sentEvents = 0;
  const auth = token ? { authorization: `Bearer ${token}` } : {};

  async function one(req: PlannedRequest): Promise<void> {
    if (rate !== undefined && rate > 0) {
      const due = t0 + (sentEvents / rate) * 1000;
      sentEvents += req.events.length;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    s.sent += req.events.length;
    const started = performance.now();
    let res: Dispatcher.ResponseData;
    try {
      res = await pool.request({
        method: req.method,
        path: req.path,
        headers: {
          host: req.host,
          'user-agent': 'gamepipe-generate/0.1.0',
          accept: '*/*',
          ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...auth,
        },
        body: req.body,
      });
    } catch (err) {
      latencies[s.requests++] = performance.now() - started;
      fail((err as { code?: string }).code ?? 'network', req.events.length);
      return;
    }
    const text = await res.body.text().catch(() => '');
    latencies[s.requests++] = performance.now() - started;
    if (req.path === '/events') {
      if (
        res.statusCode === 200 ||
        res.statusCode === 207 ||
        res.statusCode === 400 ||
        res.statusCode === 503
      ) {
        let results: Array<{ status: string; event_id?: string; error?: { code: string } }> = [];
        try {
          results = (JSON.parse(text) as { results?: typeof results }).results ?? [];
        } catch {
          // not the batch answer: count below
        }
        if (results.length === req.events.length) {
          results.forEach((r, i) => {
            const e = req.events[i] as PlannedEvent;
            if (r.status === 'accepted' && r.event_id) accept(e, r.event_id);
            else if (r.status === 'rejected') s.rejected++;
            else fail(r.error?.code ?? String(res.statusCode), 1);
          });
          return;
        }
      }
      if (res.statusCode >= 400 && res.statusCode < 500) s.rejected += req.events.length;
      else fail(String(res.statusCode), req.events.length);
      return;
    }
    const id = res.headers['x-event-id'];
    if (res.statusCode === 200 && typeof id === 'string') accept(req.events[0] as PlannedEvent, id);
    else if (res.statusCode >= 400 && res.statusCode < 500) s.rejected++;
    else fail(String(res.statusCode), 1);
  }

  const progress = onProgress
    ? setInterval(() => onProgress({ sent: s.sent, accepted: s.accepted, failed: s.failed }), 200)
    : undefined;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let next = take(); next; next = take()) {
          await one(next.req);
          next.slot.inFlight--;
        }
      }),
    );
  } finally {
    if (progress) clearInterval(progress);
    await pool.close();
  }
  s.elapsedMs = Math.round(performance.now() - t0);
  s.eventsPerSecond = Math.round(s.accepted / Math.max(0.001, s.elapsedMs / 1000));
  const sorted = latencies.subarray(0, s.requests).sort();
  s.latencyMs = {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: Math.round((sorted[sorted.length - 1] ?? 0) * 100) / 100,
  };
  if (
    s.accepted === 0 &&
    s.failed > 0 &&
    Object.keys(s.failures).every((k) => k.startsWith('E') || k.startsWith('UND_'))
  ) {
    throw new GamepipeError(
      ErrorCodes.apiUnavailable,
      `the API at ${url} is unreachable (${Object.keys(s.failures).join(', ')})`,
      {
        hint: 'start it with `gamepipe serve` (and the stack with `gamepipe up`)',
        context: { url },
      },
    );
  }
  return s;
}
