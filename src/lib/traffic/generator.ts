import { createHash, randomUUID } from 'node:crypto';
import { roundMoney } from '../core/money.js';
import type { EventKind } from '../events/event.js';
import { DEFAULT_PROVIDERS, providerMatcher } from '../events/providers.js';

/** The seed generator's universe: players are Host names over these providers. */
export const PROVIDERS = DEFAULT_PROVIDERS;
export const ITEMS = ['sword', 'shield', 'helmet', 'knife', 'gauntlet'] as const;
export const PLAYERS_PER_PROVIDER = 99;

/** Prices in USD, per item. */
export const PRICES: Record<(typeof ITEMS)[number], number> = {
  sword: 12.99,
  shield: 9.99,
  helmet: 7.49,
  knife: 4.99,
  gauntlet: 6.49,
};

export const GUILDS: ReadonlyArray<{ id: string; name: string }> = [
  { id: 'g01', name: 'Iron Wolves' },
  { id: 'g02', name: 'Silver Ravens' },
  { id: 'g03', name: 'Ember Court' },
  { id: 'g04', name: 'Night Owls' },
  { id: 'g05', name: 'Stone Giants' },
  { id: 'g06', name: 'Tide Callers' },
  { id: 'g07', name: 'Ash Walkers' },
  { id: 'g08', name: 'Frost Hollow' },
];

// The mix: knife is the most bought item and cox and earthlink the biggest providers, as the
// seed's analysis found.
const ITEM_WEIGHTS = [0.18, 0.2, 0.2, 0.3, 0.12];
const PROVIDER_WEIGHTS = [0.2, 0.15, 0.1, 0.1, 0.225, 0.225];
const PURCHASE_SHARE = 0.7;
/** Share of single-event requests sent the seed's way: a GET without a body. */
const PLAIN_GET_SHARE = 0.1;
const MAX_BURST = 60;

/** sfc32: a small, fast, seedable PRNG; the same seed gives the same sequence everywhere. */
export function prng(seed: string | number): () => number {
  // xmur3 string hash → four 32-bit seeds
  let h = 1779033703 ^ String(seed).length;
  for (const ch of String(seed)) {
    h = Math.imul(h ^ ch.charCodeAt(0), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  const next = (): number => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return (h ^= h >>> 16) >>> 0;
  };
  let a = next();
  let b = next();
  let c = next();
  let d = next();
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

function weighted<T>(rand: () => number, values: readonly T[], weights: readonly number[]): T {
  let u = rand();
  for (let i = 0; i < values.length; i++) {
    u -= weights[i] as number;
    if (u < 0) return values[i] as T;
  }
  return values[values.length - 1] as T;
}

export interface PlannedEvent {
  kind: EventKind;
  item?: string;
  host: string;
  metadata: Record<string, unknown>;
  /**
   * The event's own id, sent with it (Idempotency-Key, or event_id in a batch) so that a retry
   * is the same event, which extract keeps once. Random, not from the seed: a second run with
   * the same seed sends new events, not retries.
   */
  id: string;
}

/** The body of POST /events for these events. */
export function batchBody(events: readonly PlannedEvent[]): string {
  return JSON.stringify(
    events.map((e) => ({
      type: e.kind,
      ...(e.item === undefined ? {} : { item: e.item }),
      ...e.metadata,
      event_id: e.id,
    })),
  );
}

export interface PlannedRequest {
  method: 'GET' | 'POST';
  path: string;
  host: string;
  /** JSON body, if any. */
  body?: string;
  events: PlannedEvent[];
}

export interface Burst {
  /** Most requests of this burst in flight at once. */
  concurrency: number;
  requests: PlannedRequest[];
}

function randomPlayer(rand: () => number): string {
  const provider = weighted(rand, PROVIDERS, PROVIDER_WEIGHTS);
  return `user${1 + Math.floor(rand() * PLAYERS_PER_PROVIDER)}.${provider}.com`;
}

/** A price in other currencies: the USD price times about what a dollar buys. */
const PER_USD: Record<string, number> = { USD: 1, EUR: 0.92, GBP: 0.79, JPY: 150, KRW: 1380 };

/**
 * The currency a player pays in, fixed by their Host (not by the run's random sequence, so a
 * seed's events stay the same whatever the currencies): the first of `currencies` for about 70%
 * of players, the others share the rest.
 */
export function currencyOf(host: string, currencies: readonly string[]): string {
  if (currencies.length <= 1) return currencies[0] ?? 'USD';
  const h = createHash('sha256').update(host).digest().readUInt32BE(0);
  return h % 100 < 70
    ? (currencies[0] as string)
    : (currencies[1 + (h % (currencies.length - 1))] as string);
}

/** An item's price in a currency, rounded to its minor unit. */
export function priceIn(item: (typeof ITEMS)[number], currency: string): number {
  return roundMoney(PRICES[item] * (PER_USD[currency] ?? 1), currency);
}

function randomEvent(
  rand: () => number,
  host: string,
  kind?: EventKind,
  item?: string,
  currencies: readonly string[] = ['USD'],
): PlannedEvent {
  const k = kind ?? (rand() < PURCHASE_SHARE ? 'purchase' : 'join_guild');
  if (k === 'purchase') {
    const it = (item ?? weighted(rand, ITEMS, ITEM_WEIGHTS)) as (typeof ITEMS)[number];
    const quantity = rand() < 0.8 ? 1 : 2 + Math.floor(rand() * 3);
    return {
      kind: k,
      item: it,
      host,
      metadata: (() => {
        const currency = currencyOf(host, currencies);
        return { price: priceIn(it, currency), currency, quantity, user_id: host };
      })(),
      id: randomUUID(),
    };
  }
  const guild = GUILDS[Math.floor(rand() * GUILDS.length)] as { id: string; name: string };
  return {
    kind: k,
    host,
    metadata: { guild_id: guild.id, guild_name: guild.name, user_id: host },
    id: randomUUID(),
  };
}

/** Burst sizes like the seed's: inverse-logarithmic, many small bursts and a few large ones. */
function burstSize(rand: () => number): number {
  return Math.max(1, Math.floor(Math.exp(rand() * Math.log(MAX_BURST))));
}

export interface PlanOptions {
  n: number;
  seed: string | number;
  maxConcurrency: number;
  /** Events per POST /events request; single-event requests when undefined. */
  batch?: number;
  /** The currencies players pay in (each player one, by Host); default USD. */
  currencies?: readonly string[];
}

/**
 * The whole run, decided up front from the seed: bursts of requests like the seed's `ab` runs —
 * one player and one route per burst, its size inverse-logarithmic, its concurrency varying.
 * With `batch`, each request carries up to `batch` events of one player through POST /events.
 */
export function planRun({
  n,
  seed,
  maxConcurrency,
  batch,
  currencies = ['USD'],
}: PlanOptions): Burst[] {
  const rand = prng(seed);
  const bursts: Burst[] = [];
  let left = n;
  while (left > 0) {
    const host = randomPlayer(rand);
    const concurrency = 1 + Math.floor(rand() * maxConcurrency);
    const requests: PlannedRequest[] = [];
    if (batch !== undefined) {
      const size = Math.min(left, batch);
      const events = Array.from({ length: size }, () =>
        randomEvent(rand, host, undefined, undefined, currencies),
      );
      requests.push({ method: 'POST', path: '/events', host, body: batchBody(events), events });
      left -= size;
    } else {
      const size = Math.min(left, burstSize(rand));
      const first = randomEvent(rand, host, undefined, undefined, currencies);
      for (let i = 0; i < size; i++) {
        const e = randomEvent(rand, host, first.kind, first.item, currencies);
        const plain = rand() < PLAIN_GET_SHARE;
        if (plain) e.metadata = {};
        requests.push({
          method: plain ? 'GET' : 'POST',
          path: e.kind === 'purchase' ? `/purchase/${e.item}` : '/join_a_guild',
          host,
          body: plain ? undefined : JSON.stringify(e.metadata),
          events: [e],
        });
      }
      left -= size;
    }
    bursts.push({ concurrency: Math.min(concurrency, requests.length), requests });
  }
  return bursts;
}

/** The provider of a Host, by the reports' own rule (a whole label of the host name). */
export const providerOf = providerMatcher(DEFAULT_PROVIDERS);
