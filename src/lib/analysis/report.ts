import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { OTHER } from '../events/providers.js';
import { roundMoney } from '../core/money.js';
import { formatDate, parseDate } from '../lake/layout.js';
import { chiSquareAgainst, mixDistance } from './stats.js';
import { COHORT_QUERIES, REPORT_QUERIES, type QueryName, type ReportQuery } from './queries.js';
import { runQueries, type QueryResult, type SqlConfig, type SqlEngine } from './sql.js';

export const REPORTS = ['events', 'hosts', 'daily', 'items', 'users'] as const;
export type ReportName = (typeof REPORTS)[number];

type Cell = string | number | boolean | null;

export type { CellFormat } from '../core/render.js';
import type { CellFormat } from '../core/render.js';

export interface ReportTable {
  /** Its name for `--format csv --table NAME`. */
  name: string;
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Per column, how its numbers read (none: as they are). */
  formats?: Array<CellFormat | undefined>;
  /** Rows set apart in HTML: a drift day, a partial day. */
  marks?: Array<'drift' | 'partial' | undefined>;
}

export type Chart =
  | {
      kind: 'bars';
      title: string;
      labels: string[];
      values: number[];
      format?: 'count' | 'money';
      /** money: the currency of the values. */
      currency?: string | null;
    }
  | { kind: 'stacked'; title: string; labels: string[]; series: string[]; values: number[][] }
  | {
      kind: 'lines';
      title: string;
      labels: string[];
      /** A value that does not exist (retention with no later day) is null: a gap, not a 0. */
      series: Array<{ name: string; values: Array<number | null> }>;
      flags?: boolean[];
      /** Days still open when extracted, drawn as such. */
      partial?: boolean[];
    };

export interface Report {
  name: ReportName;
  title: string;
  question: string;
  dates: string[];
  /** Dates of the range whose day was still open when extracted. */
  partial: string[];
  tables: ReportTable[];
  charts: Chart[];
  /** What --format json prints: the report's numbers, without presentation. */
  data: Record<string, unknown>;
  /** daily only: some day's mix moved more than the threshold. */
  drift?: boolean;
}

export interface ReportOptions {
  dates?: string[];
  includeIncomplete?: boolean;
  providers: readonly string[];
  /** daily: smallest change of a mix (total variation distance, 0..1) that is flagged. */
  threshold?: number;
  /** daily: significance level of the chi-square test. */
  alpha?: number;
  /** embedded (DuckDB over local copies, the default) or spark (Spark SQL). */
  engine?: SqlEngine;
  cacheMaxBytes?: number;
  noCache?: boolean;
  /** Partial days (still open when extracted) count in drift and retention. */
  withPartial?: boolean;
}

/** What the reports are built from: the answers of their SQL queries, by query name. */
interface Lake {
  dates: string[];
  missing: string[];
  /** Dates of the range whose day was still open when extracted. */
  partial: string[];
  /** Partial days count in drift and retention (--with-partial-days). */
  withPartial: boolean;
  /** users: every date of the lake and its partial days (the cohorts' run), for retention. */
  lakeDates?: { dates: string[]; partial: string[] };
  /** Events in the range. */
  rows: number;
  answers: Partial<Record<QueryName, Array<Record<string, Cell>>>>;
}

/** The queries each report needs (queries.ts). */
const NEEDS: Record<ReportName, ReportQuery[]> = {
  events: ['event_counts'],
  hosts: ['provider_types', 'provider_revenue'],
  daily: ['event_counts', 'daily_types', 'daily_providers'],
  items: ['items'],
  users: ['users_daily', 'users_all', 'payers_daily', 'revenue_daily'],
};

function objects(r: QueryResult): Array<Record<string, Cell>> {
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i] ?? null])));
}

function answer(lake: Lake, q: QueryName): Array<Record<string, Cell>> {
  return lake.answers[q] ?? [];
}

const byCountThenName = (a: { n: number; k: string }, b: { n: number; k: string }): number =>
  b.n - a.n || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0);

function share(n: number, total: number): number {
  return total === 0 ? 0 : Math.round((n / total) * 10_000) / 10_000;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** A query's (key, count) pairs, by count then name. */
function counts(
  rows: Array<Record<string, Cell>>,
  key: string,
  n = 'events',
): Array<{ k: string; n: number }> {
  return rows.map((r) => ({ k: String(r[key]), n: Number(r[n]) })).sort(byCountThenName);
}

/** Q1: what are the most popular events? Count and share per event_type. */
function eventsReport(lake: Lake): Report {
  const rows = counts(answer(lake, 'event_counts'), 'event_type');
  const total = lake.rows;
  return {
    name: 'events',
    title: 'Most popular events',
    question: 'What are the most popular events? (purchases and guild joins, by event_type)',
    dates: lake.dates,
    partial: lake.partial,
    tables: [
      {
        name: 'events_by_type',
        title: 'Events by type',
        columns: ['event_type', 'events', 'share'],
        rows: rows.map((r) => [r.k, r.n, share(r.n, total)]),
        formats: [undefined, undefined, 'share'],
      },
    ],
    charts: [
      {
        kind: 'bars',
        title: 'Events by type',
        labels: rows.map((r) => r.k),
        values: rows.map((r) => r.n),
      },
    ],
    data: {
      total,
      events: rows.map((r) => ({ event_type: r.k, events: r.n, share: share(r.n, total) })),
    },
  };
}

/** Q2's figures: each provider's events, players and top event, and the provider × type counts. */
function hostsCounts(lake: Lake): {
  rows: Array<{ provider: string; events: number; share: number; players: number; top: string }>;
  /** Event types by count, providers by events: the matrix's columns and rows. */
  types: string[];
  order: string[];
  matrix: number[][];
} {
  // the per-provider rows of the grouping sets are those without an event_type
  const answers = answer(lake, 'provider_types');
  const perProvider = answers
    .filter((r) => r.event_type === null)
    .map((r) => ({
      provider: String(r.provider),
      events: Number(r.events),
      players: Number(r.players),
    }));
  const pairs = answers
    .filter((r) => r.event_type !== null)
    .map((r) => ({
      provider: String(r.provider),
      event_type: String(r.event_type),
      n: Number(r.events),
    }));
  // the types by count, from the provider × type counts: no third pass over the rows
  const perType = new Map<string, number>();
  for (const p of pairs) perType.set(p.event_type, (perType.get(p.event_type) ?? 0) + p.n);
  const types = [...perType]
    .map(([k, n]) => ({ k, n }))
    .sort(byCountThenName)
    .map((r) => r.k);
  const order = perProvider
    .map((p) => ({ k: p.provider, n: p.events }))
    .sort(byCountThenName)
    .map((p) => p.k);
  const cell = new Map(pairs.map((p) => [`${p.provider}\u0000${p.event_type}`, p.n]));
  const top = (provider: string): string =>
    pairs
      .filter((p) => p.provider === provider)
      .map((p) => ({ k: p.event_type, n: p.n }))
      .sort(byCountThenName)[0]?.k ?? '';
  const rows = order.map((k) => {
    const p = perProvider.find((x) => x.provider === k) as { events: number; players: number };
    return {
      provider: k,
      events: p.events,
      share: share(p.events, lake.rows),
      players: p.players,
      top: top(k),
    };
  });
  const matrix = order.map((p) => types.map((e) => cell.get(`${p}\u0000${e}`) ?? 0));
  return { rows, types, order, matrix };
}

/** Q2: which providers do players use, and which events are most popular on each? */
function hostsReport(lake: Lake, providers: readonly string[]): Report {
  const total = lake.rows;
  const { rows, types, order, matrix } = hostsCounts(lake);
  const money = answer(lake, 'provider_revenue').map((r) => ({
    provider: String(r.provider),
    currency: currencyOf(r.currency),
    revenue: r.revenue === null ? 0 : Number(r.revenue),
    priced: Number(r.priced_purchases),
  }));
  const byCurrency = currencyTotals(money);
  const currencies = [...byCurrency.keys()];
  money.sort(
    (a, b) =>
      currencies.indexOf(a.currency) - currencies.indexOf(b.currency) ||
      b.revenue - a.revenue ||
      (a.provider < b.provider ? -1 : 1),
  );
  return {
    name: 'hosts',
    title: 'Internet providers',
    question:
      'Which internet providers do our players use, and which events are most popular on each?',
    dates: lake.dates,
    partial: lake.partial,
    tables: [
      {
        name: 'providers',
        title: 'Providers',
        columns: ['provider', 'events', 'share', 'players', 'most popular event'],
        rows: rows.map((r) => [r.provider, r.events, r.share, r.players, r.top]),
        formats: [undefined, undefined, 'share'],
      },
      {
        name: 'provider_types',
        title: 'Events by provider and type',
        columns: ['provider', ...types],
        rows: order.map((p, i) => [p, ...(matrix[i] as number[])]),
      },
      {
        name: 'provider_revenue',
        title: 'Revenue per provider and currency (never summed across currencies)',
        columns: ['provider', 'currency', 'revenue', 'priced purchases', 'share of the currency'],
        rows: money.map((m) => [
          m.provider,
          m.currency,
          roundMoney(m.revenue, m.currency),
          m.priced,
          share(m.revenue, byCurrency.get(m.currency) ?? 0),
        ]),
        formats: [undefined, undefined, { money: 1 }, undefined, 'share'],
      },
    ],
    charts: [
      {
        kind: 'stacked',
        title: 'Events by provider and type',
        labels: order,
        series: types,
        values: matrix,
      },
    ],
    data: {
      total,
      providers: rows.map((r) => ({
        provider: r.provider,
        events: r.events,
        share: r.share,
        players: r.players,
        mostPopularEvent: r.top,
      })),
      matrix: Object.fromEntries(
        order.map((p, i) => [
          p,
          Object.fromEntries(types.map((e, j) => [e, (matrix[i] as number[])[j]])),
        ]),
      ),
      matchedAgainst: [...providers, OTHER],
      revenue: money.map((m) => ({
        provider: m.provider,
        currency: m.currency,
        revenue: roundMoney(m.revenue, m.currency),
        pricedPurchases: m.priced,
      })),
    },
  };
}

/** A date's events by type and by provider (in the orders `types` and `provs`). */
interface DayCounts {
  date: string;
  total: number;
  byType: number[];
  byProvider: number[];
}

/** Each date's counts, zero-filled, with the types and providers that occur (in report order). */
function dailyCounts(
  lake: Lake,
  providers: readonly string[],
): { types: string[]; provs: string[]; days: DayCounts[] } {
  const types = counts(answer(lake, 'event_counts'), 'event_type').map((r) => r.k);
  const present = new Set(answer(lake, 'daily_providers').map((r) => String(r.provider)));
  const provs = [...providers, OTHER].filter((p) => present.has(p));
  const cells = (q: 'daily_types' | 'daily_providers', column: string): Map<string, number> =>
    new Map(
      answer(lake, q).map((r) => [`${String(r.date)}\u0000${String(r[column])}`, Number(r.events)]),
    );
  const typeCells = cells('daily_types', 'event_type');
  const provCells = cells('daily_providers', 'provider');
  const days = lake.dates.map((date) => {
    const byType = types.map((e) => typeCells.get(`${date}\u0000${e}`) ?? 0);
    const byProvider = provs.map((p) => provCells.get(`${date}\u0000${p}`) ?? 0);
    return { date, total: byType.reduce((s, v) => s + v, 0), byType, byProvider };
  });
  return { types, provs, days };
}

type MixTest = ReturnType<typeof chiSquareAgainst> & { distance: number; flagged: boolean };

/**
 * Day i against the days before it: the change from the day before, and each mix tested against
 * the pooled earlier days that had events (none for the first such day or an empty day).
 */
function dayAgainstBefore(
  days: DayCounts[],
  i: number,
  threshold: number,
  alpha: number,
): {
  change: number | null;
  typeTest: MixTest | null;
  providerTest: MixTest | null;
  drift: boolean;
  why: string;
} {
  const d = days[i] as DayCounts;
  const prev = days.slice(0, i).filter((p) => p.total > 0);
  const before = days[i - 1];
  const change = before && before.total > 0 ? (d.total - before.total) / before.total : null;
  if (prev.length === 0 || d.total === 0)
    return { change, typeTest: null, providerTest: null, drift: false, why: '' };
  const test = (k: 'byType' | 'byProvider'): MixTest => {
    const ref = d[k].map((_, j) => prev.reduce((s, p) => s + (p[k][j] as number), 0));
    const chi = chiSquareAgainst(d[k], ref);
    const distance = mixDistance(d[k], ref);
    return { ...chi, distance, flagged: chi.pValue < alpha && distance >= threshold };
  };
  const typeTest = test('byType');
  const providerTest = test('byProvider');
  const why = [typeTest.flagged ? 'event mix' : '', providerTest.flagged ? 'provider mix' : '']
    .filter(Boolean)
    .join(' + ');
  return { change, typeTest, providerTest, drift: typeTest.flagged || providerTest.flagged, why };
}

/**
 * Per day: events by type and provider shares, the change from the day before, and a drift flag
 * where a mix moved: a chi-square test of the day against the pooled previous days (p < alpha)
 * that also moved at least `threshold` in total variation distance. The test alone flags tiny
 * moves on big days; the distance alone flags noise on small days; both together hold for both.
 */
function dailyReport(
  lake: Lake,
  providers: readonly string[],
  threshold: number,
  alpha: number,
): Report {
  const { types, provs, days } = dailyCounts(lake, providers);
  const partial = new Set(lake.partial);
  // a day still open is only part of a day: not tested for drift, unless asked
  const out = days.map((d, i) => ({
    ...d,
    partial: partial.has(d.date),
    ...(partial.has(d.date) && !lake.withPartial
      ? { change: null, typeTest: null, providerTest: null, drift: false, why: '' }
      : dayAgainstBefore(days, i, threshold, alpha)),
  }));
  const drift = out.some((d) => d.drift);
  return {
    name: 'daily',
    title: 'Day by day',
    question:
      'Does the mix of providers and events stay the same from day to day? (the seed assumed it does)',
    dates: lake.dates,
    partial: lake.partial,
    drift,
    tables: [
      {
        title: `Events by day (drift: chi-square p < ${alpha} against the previous days and a move of at least ${pct(threshold)})`,
        name: 'daily_events',
        columns: ['date', 'events', 'change', ...types, 'drift', 'partial day'],
        rows: out.map((d) => [
          d.date,
          d.total,
          d.change,
          ...d.byType,
          d.drift ? `DRIFT (${d.why})` : '',
          d.partial,
        ]),
        formats: [
          undefined,
          undefined,
          'change',
          ...types.map(() => undefined),
          undefined,
          'partial',
        ],
        marks: out.map((d) => (d.drift ? 'drift' : d.partial ? 'partial' : undefined)),
      },
      {
        name: 'daily_provider_shares',
        title: 'Provider shares by day',
        columns: ['date', ...provs, 'moved', 'partial day'],
        rows: out.map((d) => [
          d.date,
          ...d.byProvider.map((v) => share(v, d.total)),
          d.providerTest ? d.providerTest.distance : null,
          d.partial,
        ]),
        formats: [undefined, ...provs.map(() => 'share' as const), 'share', 'partial'],
        marks: out.map((d) => (d.drift ? 'drift' : d.partial ? 'partial' : undefined)),
      },
    ],
    charts: [
      {
        kind: 'lines',
        title: 'Events per day',
        labels: out.map((d) => d.date),
        series: types.map((e, j) => ({ name: e, values: out.map((d) => d.byType[j] as number) })),
        flags: out.map((d) => d.drift),
        partial: out.map((d) => d.partial),
      },
      {
        kind: 'lines',
        title: 'Provider share per day (%)',
        labels: out.map((d) => d.date),
        series: provs.map((p, j) => ({
          name: p,
          values: out.map((d) => Math.round(share(d.byProvider[j] as number, d.total) * 1000) / 10),
        })),
        flags: out.map((d) => d.drift),
        partial: out.map((d) => d.partial),
      },
    ],
    data: {
      threshold,
      alpha,
      drift,
      days: out.map((d) => ({
        date: d.date,
        events: d.total,
        change: d.change,
        byEventType: Object.fromEntries(types.map((e, j) => [e, d.byType[j]])),
        providerShare: Object.fromEntries(
          provs.map((p, j) => [p, share(d.byProvider[j] as number, d.total)]),
        ),
        eventMixTest: d.typeTest,
        providerMixTest: d.providerTest,
        drift: d.drift,
        partial: d.partial,
      })),
    },
  };
}

/** Revenue per currency of rows, in order: the most revenue first, no currency last. */
function currencyTotals(
  rows: Array<{ currency: string | null; revenue: number }>,
): Map<string | null, number> {
  const totals = new Map<string | null, number>();
  for (const r of rows) totals.set(r.currency, (totals.get(r.currency) ?? 0) + r.revenue);
  return new Map(
    [...totals.entries()].sort(
      (a, b) =>
        (a[0] === null ? 1 : 0) - (b[0] === null ? 1 : 0) ||
        b[1] - a[1] ||
        String(a[0]).localeCompare(String(b[0])),
    ),
  );
}

const currencyOf = (v: Cell | undefined): string | null =>
  v === null || v === undefined || v === '' ? null : String(v);

/**
 * Units and revenue per item and currency, where purchases carry a price: never summed across
 * currencies; each item's share is of its currency's revenue.
 */
function itemsReport(lake: Lake): Report {
  const rows = answer(lake, 'items').map((r) => ({
    k: String(r.item),
    currency: currencyOf(r.currency),
    purchases: Number(r.purchases),
    units: Number(r.units),
    priced: Number(r.priced_purchases),
    // an exact decimal sum (queries.ts), so both engines give the same number
    revenue: r.revenue === null ? 0 : Number(r.revenue),
  }));
  const revenue = currencyTotals(rows);
  const currencies = [...revenue.keys()];
  rows.sort(
    (a, b) =>
      currencies.indexOf(a.currency) - currencies.indexOf(b.currency) ||
      b.revenue - a.revenue ||
      b.units - a.units ||
      (a.k < b.k ? -1 : 1),
  );
  return {
    name: 'items',
    title: 'Items',
    question:
      'Which items sell, in units and revenue? (revenue where purchases carry a price, per currency)',
    dates: lake.dates,
    partial: lake.partial,
    tables: [
      {
        name: 'items',
        title: 'Units and revenue per item and currency',
        columns: [
          'item',
          'currency',
          'purchases',
          'units',
          'priced purchases',
          'revenue',
          'share of the currency',
        ],
        rows: rows.map((r) => [
          r.k,
          r.currency,
          r.purchases,
          r.units,
          r.priced,
          roundMoney(r.revenue, r.currency),
          share(r.revenue, revenue.get(r.currency) ?? 0),
        ]),
        formats: [undefined, undefined, undefined, undefined, undefined, { money: 1 }, 'share'],
      },
    ],
    charts: currencies.map((c) => {
      const mine = rows.filter((r) => r.currency === c);
      return {
        kind: 'bars' as const,
        title: `Revenue per item (${c ?? 'no currency'})`,
        labels: mine.map((r) => r.k),
        values: mine.map((r) => roundMoney(r.revenue, c)),
        format: 'money' as const,
        currency: c,
      };
    }),
    data: {
      // per currency; purchases that name none count only when they carry a price
      revenue: Object.fromEntries(
        currencies
          .filter((c) => c !== null || (revenue.get(c) ?? 0) > 0)
          .map((c) => [c ?? '', roundMoney(revenue.get(c) ?? 0, c)]),
      ),
      items: rows.map((r) => ({
        item: r.k,
        currency: r.currency,
        purchases: r.purchases,
        units: r.units,
        pricedPurchases: r.priced,
        revenue: roundMoney(r.revenue, r.currency),
      })),
    },
  };
}

/** The date `n` days after `date` (YYYY-MM-DD). */
function plusDays(date: string, n: number): string {
  return formatDate(parseDate(date).startMs + n * 86_400_000);
}

/**
 * Players over time, per day of the range (days without events included): active players
 * (distinct Host), new (first seen in the lake that day) and returning, paying (a priced purchase),
 * conversion, D1 and D7 retention of the day's new players (where the lake holds that later day,
 * closed), and per currency revenue, ARPDAU and ARPPU.
 */
function usersReport(lake: Lake): Report {
  const byDate = <T>(q: QueryName, f: (r: Record<string, Cell>) => T): Map<string, T> =>
    new Map(answer(lake, q).map((r) => [String(r.date), f(r)]));
  const activity = byDate('users_daily', (r) => ({
    events: Number(r.events),
    players: Number(r.players),
  }));
  const payers = byDate('payers_daily', (r) => Number(r.payers));
  const cohorts = byDate('cohorts', (r) => ({
    fresh: Number(r.new_players),
    d1: Number(r.d1),
    d7: Number(r.d7),
  }));
  const held = new Set(
    (lake.lakeDates?.dates ?? lake.dates).filter(
      (d) => lake.withPartial || !(lake.lakeDates?.partial ?? lake.partial).includes(d),
    ),
  );
  const partial = new Set(lake.partial);
  const days = lake.dates.map((date) => {
    const a = activity.get(date) ?? { events: 0, players: 0 };
    const c = cohorts.get(date) ?? { fresh: 0, d1: 0, d7: 0 };
    const paying = payers.get(date) ?? 0;
    const countsHere = lake.withPartial || !partial.has(date);
    const retention = (n: number, k: 'd1' | 'd7'): number | null =>
      countsHere && c.fresh > 0 && held.has(plusDays(date, n))
        ? Math.round((c[k] / c.fresh) * 10_000) / 10_000
        : null;
    return {
      date,
      partial: partial.has(date),
      events: a.events,
      players: a.players,
      newPlayers: c.fresh,
      returningPlayers: a.players - c.fresh,
      payingPlayers: paying,
      conversion: a.players > 0 ? Math.round((paying / a.players) * 10_000) / 10_000 : null,
      d1Retention: retention(1, 'd1'),
      d7Retention: retention(7, 'd7'),
    };
  });
  const revenueRows = answer(lake, 'revenue_daily').map((r) => ({
    date: String(r.date),
    currency: currencyOf(r.currency),
    revenue: r.revenue === null ? 0 : Number(r.revenue),
    priced: Number(r.priced_purchases),
    payers: Number(r.payers),
  }));
  const currencies = [...currencyTotals(revenueRows).keys()];
  const revenue = days.flatMap((d) =>
    currencies.map((currency) => {
      const r = revenueRows.find((x) => x.date === d.date && x.currency === currency);
      const amount = r?.revenue ?? 0;
      return {
        date: d.date,
        partial: d.partial,
        currency,
        revenue: roundMoney(amount, currency),
        pricedPurchases: r?.priced ?? 0,
        payingPlayers: r?.payers ?? 0,
        arpdau: d.players > 0 ? Math.round((amount / d.players) * 10_000) / 10_000 : null,
        arppu: r && r.payers > 0 ? Math.round((amount / r.payers) * 10_000) / 10_000 : null,
      };
    }),
  );
  const all = { players: Number(answer(lake, 'users_all')[0]?.players ?? 0) };
  return {
    name: 'users',
    title: 'Players',
    question:
      'How many players are active, new, paying and retained each day, and what do they spend? (distinct Host)',
    dates: lake.dates,
    partial: lake.partial,
    tables: [
      {
        name: 'daily_players',
        title:
          'Players per day (new: first seen in the lake that day; retention: of the new players, active 1 and 7 days later)',
        columns: [
          'date',
          'active players',
          'new',
          'returning',
          'paying',
          'conversion',
          'D1 retention',
          'D7 retention',
          'events',
          'partial day',
        ],
        rows: days.map((d) => [
          d.date,
          d.players,
          d.newPlayers,
          d.returningPlayers,
          d.payingPlayers,
          d.conversion,
          d.d1Retention,
          d.d7Retention,
          d.events,
          d.partial,
        ]),
        formats: [
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          'share',
          'share',
          'share',
          undefined,
          'partial',
        ],
        marks: days.map((d) => (d.partial ? 'partial' : undefined)),
      },
      {
        name: 'daily_revenue',
        title:
          'Revenue per day and currency (ARPDAU: per active player; ARPPU: per paying player in that currency)',
        columns: [
          'date',
          'currency',
          'revenue',
          'priced purchases',
          'paying players',
          'ARPDAU',
          'ARPPU',
          'partial day',
        ],
        rows: revenue.map((r) => [
          r.date,
          r.currency,
          r.revenue,
          r.pricedPurchases,
          r.payingPlayers,
          r.arpdau,
          r.arppu,
          r.partial,
        ]),
        formats: [
          undefined,
          undefined,
          { money: 1 },
          undefined,
          undefined,
          { money: 1 },
          { money: 1 },
          'partial',
        ],
        marks: revenue.map((d) => (d.partial ? 'partial' : undefined)),
      },
    ],
    charts: [
      {
        kind: 'lines',
        title: 'Players per day',
        labels: days.map((d) => d.date),
        series: [
          { name: 'active players', values: days.map((d) => d.players) },
          { name: 'new', values: days.map((d) => d.newPlayers) },
          { name: 'paying', values: days.map((d) => d.payingPlayers) },
        ],
        partial: days.map((d) => d.partial),
      },
      ...currencies.map((c) => ({
        kind: 'lines' as const,
        title: `Revenue per day (${c ?? 'no currency'})`,
        labels: days.map((d) => d.date),
        series: [
          {
            name: `revenue ${c ?? ''}`.trim(),
            values: revenue.filter((r) => r.currency === c).map((r) => r.revenue),
          },
        ],
        partial: days.map((d) => d.partial),
      })),
      ...currencies.map((c) => ({
        kind: 'lines' as const,
        title: `ARPDAU and ARPPU per day (${c ?? 'no currency'})`,
        labels: days.map((d) => d.date),
        series: [
          {
            name: `ARPDAU ${c ?? ''}`.trim(),
            values: revenue.filter((r) => r.currency === c).map((r) => r.arpdau),
          },
          {
            name: `ARPPU ${c ?? ''}`.trim(),
            values: revenue.filter((r) => r.currency === c).map((r) => r.arppu),
          },
        ],
        partial: days.map((d) => d.partial),
      })),
      {
        kind: 'lines',
        title: "Conversion, and retention of each day's new players (%)",
        labels: days.map((d) => d.date),
        series: (
          [
            ['conversion', 'conversion'],
            ['D1 retention', 'd1Retention'],
            ['D7 retention', 'd7Retention'],
          ] as const
        )
          .map(([name, k]) => ({
            name,
            values: days.map((d) => (d[k] === null ? null : Math.round(d[k] * 1000) / 10)),
          }))
          // a figure no day has (D7 in a short range) is left out
          .filter((series) => series.values.some((v) => v !== null)),
        partial: days.map((d) => d.partial),
      },
    ],
    data: { playersInRange: all.players, days, revenue },
  };
}

/** Builds the named reports from one read of the lake. */
export async function buildReports(
  config: SqlConfig,
  names: readonly ReportName[],
  {
    dates,
    includeIncomplete,
    providers,
    threshold = 0.05,
    alpha = 0.001,
    engine,
    cacheMaxBytes,
    noCache,
    withPartial = false,
  }: ReportOptions,
): Promise<{ reports: Report[]; missing: string[]; rows: number }> {
  if (!(threshold > 0 && threshold < 1)) {
    throw new GamepipeError(
      ErrorCodes.usage,
      `--threshold must be between 0 and 1, got ${threshold}`,
      {
        hint: 'e.g. --threshold 0.05 flags a mix that moved by 5 percentage points or more',
      },
    );
  }
  const needed = new Set(names.flatMap((n) => NEEDS[n]));
  // the range's events are a sum of an answer the reports need anyway, else a query of their own
  const sums: Array<[ReportQuery, (r: Record<string, Cell>) => boolean]> = [
    ['event_counts', () => true],
    ['provider_types', (r) => r.event_type === null],
    ['users_daily', () => true],
  ];
  const sum = sums.find(([q]) => needed.has(q));
  if (!sum) needed.add('total');
  const options = { includeIncomplete, engine, cacheMaxBytes, noCache };
  const run = await runQueries(
    config,
    Object.fromEntries([...needed].map((q) => [q, REPORT_QUERIES[q](providers)])),
    { dates, ...options },
  );
  // users: who is new is a question of the lake before the range too, and D7 of the week after
  const last = run.dates.at(-1);
  const cohorts = names.includes('users')
    ? await runQueries(
        config,
        Object.fromEntries(Object.entries(COHORT_QUERIES).map(([q, f]) => [q, f()])),
        { ...options, until: last === undefined ? undefined : plusDays(last, 7) },
      )
    : undefined;
  const answers = Object.fromEntries(
    Object.entries({ ...run.results, ...cohorts?.results }).map(([q, r]) => [q, objects(r)]),
  ) as Lake['answers'];
  const rows = sum
    ? (answers[sum[0]] ?? []).filter(sum[1]).reduce((n, r) => n + Number(r.events), 0)
    : Number(answers.total?.[0]?.events ?? 0);
  const lake: Lake = {
    dates: run.dates,
    missing: run.missing,
    partial: run.partial,
    withPartial,
    ...(cohorts && { lakeDates: { dates: cohorts.dates, partial: cohorts.partial } }),
    rows,
    answers,
  };
  const reports = names.map((n) => {
    switch (n) {
      case 'events':
        return eventsReport(lake);
      case 'hosts':
        return hostsReport(lake, providers);
      case 'daily':
        return dailyReport(lake, providers, threshold, alpha);
      case 'items':
        return itemsReport(lake);
      case 'users':
        return usersReport(lake);
    }
  });
  return { reports, missing: lake.missing, rows: lake.rows };
}
