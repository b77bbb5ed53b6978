import * as aq from 'arquero';
import type { Config } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { lakeFiles } from '../lake/files.js';
import { OTHER, providerMatcher } from '../events/providers.js';
import { readColumns } from '../lake/reader.js';
import { chiSquareAgainst, mixDistance } from './stats.js';
import { withHdfs } from '../hdfs/webhdfs.js';

export const REPORTS = ['events', 'hosts', 'daily', 'items', 'users'] as const;
export type ReportName = (typeof REPORTS)[number];

type Cell = string | number | boolean | null;

export interface ReportTable {
  title: string;
  columns: string[];
  rows: Cell[][];
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
}

interface Lake {
  dates: string[];
  missing: string[];
  table: aq.ColumnTable;
  rows: number;
}

/** Files read at the same time. */
const READ_AHEAD = 4;

const COLUMNS: Record<ReportName, string[]> = {
  events: ['event_type'],
  hosts: ['event_type', 'Host'],
  daily: ['event_type', 'Host'],
  items: ['event_type', 'item', 'price', 'quantity'],
  users: ['Host'],
};

/**
 * Reads the requested dates of the lake (only dates with a manifest, unless includeIncomplete)
 * straight from the Parquet files through WebHDFS, into one arquero table with a `date` column.
 */
export async function loadLake(
  config: Pick<Config, 'webhdfsUrl' | 'hdfsUser' | 'base'>,
  {
    dates,
    includeIncomplete = false,
    columns,
  }: { dates?: string[]; includeIncomplete?: boolean; columns: string[] },
): Promise<Lake> {
  return withHdfs(config, async (hdfs) => {
    const {
      dates: chosen,
      missing,
      files,
    } = await lakeFiles(hdfs, config.base, {
      dates,
      includeIncomplete,
    });
    // a few files at a time: one is decoded while the DataNode sends the next
    const read = new Array<Awaited<ReturnType<typeof readColumns>>>(files.length);
    let next = 0;
    const reader = async (): Promise<void> => {
      while (next < files.length) {
        const i = next++;
        read[i] = await readColumns(hdfs, (files[i] as { path: string }).path, columns);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_AHEAD, files.length) }, reader));
    // the files' columns one after another, in file order, into arrays of the final size
    const total = read.reduce((n, r) => n + r.rows, 0);
    const cols: Record<string, unknown[]> = { date: new Array<unknown>(total) };
    for (const c of columns) cols[c] = new Array<unknown>(total);
    let at = 0;
    for (const [k, { rows, data }] of read.entries()) {
      (cols.date as unknown[]).fill((files[k] as { date: string }).date, at, at + rows);
      for (const c of columns) {
        const src = data[c] as ArrayLike<unknown>;
        const dst = cols[c] as unknown[];
        for (let i = 0; i < rows; i++) dst[at + i] = src[i] ?? null;
      }
      at += rows;
    }
    const table = aq.table(cols);
    return {
      dates: chosen,
      missing,
      table,
      rows: table.numRows(),
    };
  });
}

const byCountThenName = (a: { n: number; k: string }, b: { n: number; k: string }): number =>
  b.n - a.n || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0);

function share(n: number, total: number): number {
  return total === 0 ? 0 : Math.round((n / total) * 10_000) / 10_000;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function counts(table: aq.ColumnTable, key: string): Array<{ k: string; n: number }> {
  return (table.groupby(key).count({ as: 'n' }).objects() as Array<Record<string, unknown>>)
    .map((r) => ({ k: String(r[key]), n: Number(r.n) }))
    .sort(byCountThenName);
}

function withProviders(table: aq.ColumnTable, providers: readonly string[]): aq.ColumnTable {
  const match = providerMatcher(providers);
  const hosts = table.array('Host') as ArrayLike<string | null>;
  const out = new Array<string>(hosts.length);
  for (let i = 0; i < hosts.length; i++) out[i] = match(hosts[i]);
  return table.assign({ provider: out });
}

/** Q1: what are the most popular events? Count and share per event_type. */
function eventsReport(lake: Lake): Report {
  const rows = counts(lake.table, 'event_type');
  const total = lake.rows;
  return {
    name: 'events',
    title: 'Most popular events',
    question: 'What are the most popular events? (purchases and guild joins, by event_type)',
    dates: lake.dates,
    tables: [
      {
        title: 'Events by type',
        columns: ['event_type', 'events', 'share'],
        rows: rows.map((r) => [r.k, r.n, pct(share(r.n, total))]),
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
function hostsCounts(
  lake: Lake,
  providers: readonly string[],
): {
  rows: Array<{ provider: string; events: number; share: number; players: number; top: string }>;
  /** Event types by count, providers by events: the matrix's columns and rows. */
  types: string[];
  order: string[];
  matrix: number[][];
} {
  const t = withProviders(lake.table, providers);
  const perProvider = t
    .groupby('provider')
    .rollup({ events: aq.op.count(), players: aq.op.distinct('Host') })
    .objects() as Array<{ provider: string; events: number; players: number }>;
  const pairs = t.groupby('provider', 'event_type').count({ as: 'n' }).objects() as Array<{
    provider: string;
    event_type: string;
    n: number;
  }>;
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
  const { rows, types, order, matrix } = hostsCounts(lake, providers);
  return {
    name: 'hosts',
    title: 'Internet providers',
    question:
      'Which internet providers do our players use, and which events are most popular on each?',
    dates: lake.dates,
    tables: [
      {
        title: 'Providers',
        columns: ['provider', 'events', 'share', 'players', 'most popular event'],
        rows: rows.map((r) => [r.provider, r.events, pct(r.share), r.players, r.top]),
      },
      {
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
        most_popular_event: r.top,
      })),
      matrix: Object.fromEntries(
        order.map((p, i) => [
          p,
          Object.fromEntries(types.map((e, j) => [e, (matrix[i] as number[])[j]])),
        ]),
      ),
      matched_against: [...providers, OTHER],
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
  const t = withProviders(lake.table, providers);
  const types = counts(t, 'event_type').map((r) => r.k);
  const present = new Set(counts(t, 'provider').map((r) => r.k));
  const provs = [...providers, OTHER].filter((p) => present.has(p));
  const cells = (column: 'event_type' | 'provider'): Map<string, number> =>
    new Map(
      (t.groupby('date', column).count({ as: 'n' }).objects() as Array<Record<string, string>>).map(
        (r) => [`${r.date}\u0000${r[column]}`, Number(r.n)],
      ),
    );
  const typeCells = cells('event_type');
  const provCells = cells('provider');
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
        columns: ['date', 'events', 'change', ...types, 'drift'],
        rows: out.map((d) => [
          d.date,
          d.total,
          d.change === null ? '' : `${d.change >= 0 ? '+' : ''}${pct(d.change)}`,
          ...d.byType,
          d.drift ? `DRIFT (${d.why})` : '',
        ]),
      },
      {
        title: 'Provider shares by day',
        columns: ['date', ...provs, 'moved'],
        rows: out.map((d) => [
          d.date,
          ...d.byProvider.map((v) => pct(share(v, d.total))),
          d.providerTest ? pct(d.providerTest.distance) : '',
        ]),
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
        by_event_type: Object.fromEntries(types.map((e, j) => [e, d.byType[j]])),
        provider_share: Object.fromEntries(
          provs.map((p, j) => [p, share(d.byProvider[j] as number, d.total)]),
        ),
        event_mix_test: d.typeTest,
        provider_mix_test: d.providerTest,
        drift: d.drift,
      })),
    },
  };
}

/** Units and revenue per item, where purchases carry a price. */
function itemsReport(lake: Lake): Report {
  const t = lake.table;
  const item = t.array('item') as ArrayLike<string | null>;
  const price = t.array('price') as ArrayLike<number | null>;
  const qty = t.array('quantity') as ArrayLike<number | null>;
  const agg = new Map<
    string,
    { purchases: number; units: number; priced: number; revenue: number }
  >();
  for (let i = 0; i < item.length; i++) {
    const it = item[i];
    if (!it) continue;
    const a = agg.get(it) ?? { purchases: 0, units: 0, priced: 0, revenue: 0 };
    const q = qty[i] ?? 1;
    a.purchases++;
    a.units += q;
    const p = price[i];
    if (p !== null && p !== undefined) {
      a.priced++;
      a.revenue += p * q;
    }
    agg.set(it, a);
  }
  const rows = [...agg.entries()]
    .map(([k, v]) => ({ k, n: v.revenue, ...v }))
    .sort((a, b) => b.revenue - a.revenue || b.units - a.units || (a.k < b.k ? -1 : 1));
  const revenue = rows.reduce((s, r) => s + r.revenue, 0);
  const money = (x: number): string => x.toFixed(2);
  return {
    name: 'items',
    title: 'Items',
    question: 'Which items sell, in units and revenue? (revenue where purchases carry a price)',
    dates: lake.dates,
    tables: [
      {
        title: 'Units and revenue per item',
        columns: ['item', 'purchases', 'units', 'priced purchases', 'revenue', 'revenue share'],
        rows: rows.map((r) => [
          r.k,
          r.purchases,
          r.units,
          r.priced,
          money(r.revenue),
          pct(share(r.revenue, revenue)),
        ]),
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
        priced_purchases: r.priced,
        revenue: Math.round(r.revenue * 100) / 100,
      })),
    },
  };
}

/** Daily active players: distinct Host per day. */
function usersReport(lake: Lake): Report {
  const perDay = lake.table
    .groupby('date')
    .rollup({ events: aq.op.count(), players: aq.op.distinct('Host') })
    .orderby('date')
    .objects() as Array<{ date: string; events: number; players: number }>;
  const all = lake.table.rollup({ players: aq.op.distinct('Host') }).object() as {
    players: number;
  };
  return {
    name: 'users',
    title: 'Players',
    question: 'How many players are active each day? (distinct Host)',
    dates: lake.dates,
    tables: [
      {
        title: 'Daily active players',
        columns: ['date', 'players', 'events', 'events per player'],
        rows: perDay.map((d) => [
          d.date,
          d.players,
          d.events,
          (d.events / Math.max(1, d.players)).toFixed(1),
        ]),
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
    data: { players_in_range: all.players, days: perDay },
  };
}

/** Builds the named reports from one read of the lake. */
export async function buildReports(
  config: Pick<Config, 'webhdfsUrl' | 'hdfsUser' | 'base'>,
  names: readonly ReportName[],
  { dates, includeIncomplete, providers, threshold = 0.05, alpha = 0.001 }: ReportOptions,
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
  const columns = [...new Set(names.flatMap((n) => COLUMNS[n]))];
  const lake = await loadLake(config, { dates, includeIncomplete, columns });
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
