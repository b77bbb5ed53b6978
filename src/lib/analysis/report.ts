import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { OTHER } from '../events/providers.js';
import { chiSquareAgainst, mixDistance } from './stats.js';
import { REPORT_QUERIES, type QueryName } from './queries.js';
import { runQueries, type QueryResult, type SqlConfig, type SqlEngine } from './sql.js';

export const REPORTS = ['events', 'hosts', 'daily', 'items', 'users'] as const;
export type ReportName = (typeof REPORTS)[number];

type Cell = string | number | boolean | null;

/** How a number cell reads in a table for people (CSV and JSON keep the number itself). */
export type CellFormat = 'share' | 'change' | 'money' | 'ratio';

export interface ReportTable {
  /** Its name for `--format csv --table NAME`. */
  name: string;
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Per column, how its numbers read (none: as they are). */
  formats?: Array<CellFormat | undefined>;
}

export type Chart =
  | { kind: 'bars'; title: string; labels: string[]; values: number[]; format?: 'count' | 'money' }
  | { kind: 'stacked'; title: string; labels: string[]; series: string[]; values: number[][] }
  | {
      kind: 'lines';
      title: string;
      labels: string[];
      series: Array<{ name: string; values: number[] }>;
      flags?: boolean[];
    };

export interface Report {
  name: ReportName;
  title: string;
  question: string;
  dates: string[];
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
}

/** What the reports are built from: the answers of their SQL queries, by query name. */
interface Lake {
  dates: string[];
  missing: string[];
  /** Events in the range. */
  rows: number;
  answers: Partial<Record<QueryName, Array<Record<string, Cell>>>>;
}

/** The queries each report needs (queries.ts). */
const NEEDS: Record<ReportName, QueryName[]> = {
  events: ['event_counts'],
  hosts: ['provider_types'],
  daily: ['event_counts', 'daily_types', 'daily_providers'],
  items: ['items'],
  users: ['users_daily', 'users_all'],
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

const cents = (x: number): number => Math.round(x * 100) / 100;

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
  return {
    name: 'hosts',
    title: 'Internet providers',
    question:
      'Which internet providers do our players use, and which events are most popular on each?',
    dates: lake.dates,
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
  const out = days.map((d, i) => ({ ...d, ...dayAgainstBefore(days, i, threshold, alpha) }));
  const drift = out.some((d) => d.drift);
  return {
    name: 'daily',
    title: 'Day by day',
    question:
      'Does the mix of providers and events stay the same from day to day? (the seed assumed it does)',
    dates: lake.dates,
    drift,
    tables: [
      {
        title: `Events by day (drift: chi-square p < ${alpha} against the previous days and a move of at least ${pct(threshold)})`,
        name: 'daily_events',
        columns: ['date', 'events', 'change', ...types, 'drift'],
        rows: out.map((d) => [
          d.date,
          d.total,
          d.change,
          ...d.byType,
          d.drift ? `DRIFT (${d.why})` : '',
        ]),
        formats: [undefined, undefined, 'change'],
      },
      {
        name: 'daily_provider_shares',
        title: 'Provider shares by day',
        columns: ['date', ...provs, 'moved'],
        rows: out.map((d) => [
          d.date,
          ...d.byProvider.map((v) => share(v, d.total)),
          d.providerTest ? d.providerTest.distance : null,
        ]),
        formats: [undefined, ...provs.map(() => 'share' as const), 'share'],
      },
    ],
    charts: [
      {
        kind: 'lines',
        title: 'Events per day',
        labels: out.map((d) => d.date),
        series: types.map((e, j) => ({ name: e, values: out.map((d) => d.byType[j] as number) })),
        flags: out.map((d) => d.drift),
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
      })),
    },
  };
}

/** Units and revenue per item, where purchases carry a price. */
function itemsReport(lake: Lake): Report {
  const rows = answer(lake, 'items')
    .map((r) => ({
      k: String(r.item),
      purchases: Number(r.purchases),
      units: Number(r.units),
      priced: Number(r.priced_purchases),
      // an exact decimal sum (queries.ts), so both engines give the same number
      revenue: r.revenue === null ? 0 : Number(r.revenue),
    }))
    .sort((a, b) => b.revenue - a.revenue || b.units - a.units || (a.k < b.k ? -1 : 1));
  const revenue = rows.reduce((s, r) => s + r.revenue, 0);
  return {
    name: 'items',
    title: 'Items',
    question: 'Which items sell, in units and revenue? (revenue where purchases carry a price)',
    dates: lake.dates,
    tables: [
      {
        name: 'items',
        title: 'Units and revenue per item',
        columns: ['item', 'purchases', 'units', 'priced purchases', 'revenue', 'revenue share'],
        rows: rows.map((r) => [
          r.k,
          r.purchases,
          r.units,
          r.priced,
          cents(r.revenue),
          share(r.revenue, revenue),
        ]),
        formats: [undefined, undefined, undefined, undefined, 'money', 'share'],
      },
    ],
    charts: [
      {
        kind: 'bars',
        title: 'Revenue per item',
        labels: rows.map((r) => r.k),
        values: rows.map((r) => Math.round(r.revenue * 100) / 100),
        format: 'money',
      },
    ],
    data: {
      revenue: Math.round(revenue * 100) / 100,
      items: rows.map((r) => ({
        item: r.k,
        purchases: r.purchases,
        units: r.units,
        pricedPurchases: r.priced,
        revenue: Math.round(r.revenue * 100) / 100,
      })),
    },
  };
}

/** Daily active players: distinct Host per day. */
function usersReport(lake: Lake): Report {
  const perDay = answer(lake, 'users_daily')
    .map((r) => ({ date: String(r.date), events: Number(r.events), players: Number(r.players) }))
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const all = { players: Number(answer(lake, 'users_all')[0]?.players ?? 0) };
  return {
    name: 'users',
    title: 'Players',
    question: 'How many players are active each day? (distinct Host)',
    dates: lake.dates,
    tables: [
      {
        name: 'daily_players',
        title: 'Daily active players',
        columns: ['date', 'players', 'events', 'events per player'],
        rows: perDay.map((d) => [
          d.date,
          d.players,
          d.events,
          Math.round((d.events / Math.max(1, d.players)) * 100) / 100,
        ]),
        formats: [undefined, undefined, undefined, 'ratio'],
      },
    ],
    charts: [
      {
        kind: 'lines',
        title: 'Daily active players',
        labels: perDay.map((d) => d.date),
        series: [{ name: 'players', values: perDay.map((d) => d.players) }],
      },
    ],
    data: { playersInRange: all.players, days: perDay },
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
  const needed = new Set<QueryName>(names.flatMap((n) => NEEDS[n]));
  // the range's events are a sum of an answer the reports need anyway, else a query of their own
  const sums: Array<[QueryName, (r: Record<string, Cell>) => boolean]> = [
    ['event_counts', () => true],
    ['provider_types', (r) => r.event_type === null],
    ['users_daily', () => true],
  ];
  const sum = sums.find(([q]) => needed.has(q));
  if (!sum) needed.add('total');
  const run = await runQueries(
    config,
    Object.fromEntries([...needed].map((q) => [q, REPORT_QUERIES[q](providers)])),
    { dates, includeIncomplete, engine, cacheMaxBytes, noCache },
  );
  const answers = Object.fromEntries(
    Object.entries(run.results).map(([q, r]) => [q, objects(r)]),
  ) as Lake['answers'];
  const rows = sum
    ? (answers[sum[0]] ?? []).filter(sum[1]).reduce((n, r) => n + Number(r.events), 0)
    : Number(answers.total?.[0]?.events ?? 0);
  const lake: Lake = { dates: run.dates, missing: run.missing, rows, answers };
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
