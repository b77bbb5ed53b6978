import { Pool, type Dispatcher } from 'undici';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { Backoff, sleep } from '../core/retry.js';
import { VERSION } from '../core/version.js';
import { purchaseEventType, JOIN_GUILD } from '../events/event.js';
import type { LedgerEntry } from '../events/ledger.js';
import {
  batchBody,
  providerOf,
  type Burst,
  type PlannedEvent,
  type PlannedRequest,
} from './generator.js';

const USER_AGENT = `gamepipe-generate/${VERSION}`;

export interface LoadSummary {
  url: string;
  requests: number;
  sent: number;
  /** Events sent again after a network error or a 5xx (each attempt counted). */
  retried: number;
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
  /** Attempts after the first for an event that got no answer or a 5xx (same event id). */
  retries?: number;
}

function eventType(e: PlannedEvent): string {
  return e.kind === 'purchase' ? purchaseEventType(e.item ?? '') : JOIN_GUILD;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, i)] as number) * 100) / 100;
}

/** The counts of a run as answers arrive, and the summary they make. */
class Tally {
  readonly s: LoadSummary;
  /** One a request sent, retries too. */
  private readonly latencies: number[] = [];

  constructor(
    url: string,
    private readonly onAccepted?: (entry: LedgerEntry) => void,
  ) {
    this.s = {
      url,
      requests: 0,
      sent: 0,
      retried: 0,
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
  }

  latency(ms: number): void {
    this.latencies.push(ms);
  }

  accept(e: PlannedEvent, id: string): void {
    const s = this.s;
    s.accepted++;
    const type = eventType(e);
    s.byEventType[type] = (s.byEventType[type] ?? 0) + 1;
    const provider = providerOf(e.host);
    s.byProvider[provider] = (s.byProvider[provider] ?? 0) + 1;
    this.onAccepted?.({ event_id: id, event_type: type, Host: e.host });
  }

  fail(cause: string, n: number): void {
    this.s.failed += n;
    this.s.failures[cause] = (this.s.failures[cause] ?? 0) + n;
  }

  /** The summary after `elapsedMs`; an API that never answered is GP_API_UNAVAILABLE. */
  finish(elapsedMs: number): LoadSummary {
    const s = this.s;
    s.elapsedMs = Math.round(elapsedMs);
    s.eventsPerSecond = Math.round(s.accepted / Math.max(0.001, s.elapsedMs / 1000));
    const sorted = Float64Array.from(this.latencies).sort();
    s.latencyMs = {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: Math.round((sorted[sorted.length - 1] ?? 0) * 100) / 100,
    };
    const causes = Object.keys(s.failures);
    if (
      s.accepted === 0 &&
      s.failed > 0 &&
      causes.every((k) => k.startsWith('E') || k.startsWith('UND_'))
    ) {
      throw new GamepipeError(
        ErrorCodes.apiUnavailable,
        `the API at ${s.url} is unreachable (${causes.join(', ')})`,
        {
          hint: 'start it with `gamepipe serve` (and the stack with `gamepipe up`)',
          context: { url: s.url },
        },
      );
    }
    return s;
  }
}

/**
 * Hands out the requests of the bursts: bursts open in order; a sender takes a request from the
 * first open burst with a free slot, and the next burst opens when every open one is saturated.
 */
class BurstScheduler {
  private readonly active: Array<{ burst: Burst; next: number; inFlight: number }> = [];
  private nextBurst = 0;

  constructor(private readonly bursts: Burst[]) {}

  /** The next request and its burst's slot (give the slot back when done); none at the end. */
  take(): { req: PlannedRequest; slot: { inFlight: number } } | undefined {
    const active = this.active;
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
      if (this.nextBurst >= this.bursts.length) return undefined;
      active.push({ burst: this.bursts[this.nextBurst++] as Burst, next: 0, inFlight: 0 });
    }
  }
}

/** What one attempt left to do: events to send again, and why. */
interface Outcome {
  again: PlannedEvent[];
  cause: string;
  retryAfterMs?: number;
}

const DONE: Outcome = { again: [], cause: '' };

/**
 * Settles the events of one answer: accepted and rejected ones are counted, the rest come back to
 * be sent again (no answer, a 5xx, 408 or 429, or a batch entry that failed).
 */
function settle(
  tally: Tally,
  events: PlannedEvent[],
  batch: boolean,
  res: { status: number; headers: Dispatcher.ResponseData['headers']; text: string },
): Outcome {
  const { status, headers, text } = res;
  const retryAfter = Number(headers['retry-after']);
  const retryAfterMs =
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
  const clientError = status >= 400 && status < 500 && status !== 408 && status !== 429;
  if (!batch) {
    const id = headers['x-event-id'];
    if (status === 200 && typeof id === 'string') {
      tally.accept(events[0] as PlannedEvent, id);
      return DONE;
    }
    if (clientError) {
      tally.s.rejected++;
      return DONE;
    }
    return { again: events, cause: String(status), retryAfterMs };
  }
  let results: Array<{ status: string; event_id?: string; error?: { code: string } }> = [];
  try {
    results = (JSON.parse(text) as { results?: typeof results }).results ?? [];
  } catch {
    // not the batch answer: the status decides
  }
  if (results.length === events.length) {
    const again: PlannedEvent[] = [];
    let cause = String(status);
    results.forEach((r, i) => {
      const e = events[i] as PlannedEvent;
      if (r.status === 'accepted' && r.event_id) tally.accept(e, r.event_id);
      else if (r.status === 'rejected') tally.s.rejected++;
      else {
        again.push(e);
        cause = r.error?.code ?? cause;
      }
    });
    return { again, cause, retryAfterMs };
  }
  if (clientError) {
    tally.s.rejected += events.length;
    return DONE;
  }
  return { again: events, cause: String(status), retryAfterMs };
}

/** Sends requests: at the rate asked for, each event with its id, again with backoff until settled. */
class Sender {
  private sentEvents = 0;
  private readonly auth: Record<string, string>;

  constructor(
    private readonly pool: Pool,
    private readonly tally: Tally,
    private readonly opts: { rate?: number; retries: number; token?: string; t0: number },
  ) {
    this.auth = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  }

  /** Sends a request, and its unsettled events again with backoff, up to `retries` times. */
  async send(req: PlannedRequest): Promise<void> {
    const { rate, retries, t0 } = this.opts;
    if (rate !== undefined && rate > 0) {
      const due = t0 + (this.sentEvents / rate) * 1000;
      this.sentEvents += req.events.length;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const s = this.tally.s;
    s.sent += req.events.length;
    s.requests++;
    // from 100 ms, or what the server asked for, at most 2 s
    const backoff = new Backoff({ retries, initialMs: 100, maxMs: 2_000 });
    let events = req.events;
    for (;;) {
      const out = await this.attempt(req, events);
      if (out.again.length === 0) return;
      if (backoff.exhausted) {
        this.tally.fail(out.cause, out.again.length);
        return;
      }
      s.retried += out.again.length;
      await backoff.next(out.retryAfterMs);
      events = out.again;
    }
  }

  /** Sends `events` of a request once; settles what the answer settles. */
  private async attempt(req: PlannedRequest, events: PlannedEvent[]): Promise<Outcome> {
    const batch = req.path === '/events';
    const started = performance.now();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.pool.request({
        method: req.method,
        path: req.path,
        headers: {
          host: req.host,
          'user-agent': USER_AGENT,
          accept: '*/*',
          ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
          // the same id on every attempt: a retry of an event that did land is a duplicate
          // extract removes, not a second purchase
          ...(batch ? {} : { 'idempotency-key': (events[0] as PlannedEvent).id }),
          ...this.auth,
        },
        body: batch ? batchBody(events) : req.body,
      });
    } catch (err) {
      this.tally.latency(performance.now() - started);
      return { again: events, cause: (err as { code?: string }).code ?? 'network' };
    }
    const text = await res.body.text().catch(() => '');
    this.tally.latency(performance.now() - started);
    return settle(this.tally, events, batch, {
      status: res.statusCode,
      headers: res.headers,
      text,
    });
  }
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
  retries = 5,
}: LoadOptions): Promise<LoadSummary> {
  const pool = new Pool(url, {
    connections: concurrency,
    keepAliveTimeout: 30_000,
    headersTimeout: requestTimeoutMs,
    bodyTimeout: requestTimeoutMs,
  });
  const tally = new Tally(url, onAccepted);
  const s = tally.s;
  const scheduler = new BurstScheduler(bursts);
  const t0 = performance.now();
  const sender = new Sender(pool, tally, { rate, retries, token, t0 });
  const progress = onProgress
    ? setInterval(() => onProgress({ sent: s.sent, accepted: s.accepted, failed: s.failed }), 200)
    : undefined;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let next = scheduler.take(); next; next = scheduler.take()) {
          await sender.send(next.req);
          next.slot.inFlight--;
        }
      }),
    );
  } finally {
    if (progress) clearInterval(progress);
    await pool.close();
  }
  return tally.finish(performance.now() - t0);
}
