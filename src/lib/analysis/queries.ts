/**
 * The reports' figures as SQL over the lake's tables, one definition that both engines run:
 * DuckDB and Spark SQL read it alike (no engine's own functions; money summed as DECIMAL, so the
 * sum does not depend on the order rows arrive in). The reports are built from these answers in
 * report.ts; docs/reports.md shows them.
 */
import { OTHER } from '../events/providers.js';

/** A purchase's revenue, price × units, as an exact decimal (both engines sum it alike). */
const REVENUE = 'CAST(price AS DECIMAL(18, 6)) * COALESCE(quantity, 1)';

/** Both tables' events, with the columns the reports read. */
const EVENTS = `events AS (
  SELECT date, event_type, Host FROM purchases
  UNION ALL
  SELECT date, event_type, Host FROM join_guild
)`;

/**
 * The provider of a Host as providers.ts matches it: the first provider of the list that is a
 * whole domain label of the host (port dropped, any case), else "other". Provider names are DNS
 * labels (checked by parseProviders), so they are safe inside a LIKE pattern.
 */
export function providerSql(providers: readonly string[], host = 'Host'): string {
  const labels = `CONCAT('.', LOWER(REGEXP_REPLACE(${host}, ':[0-9]+$', '')), '.')`;
  const whens = providers.map((p) => `WHEN ${labels} LIKE '%.${p}.%' THEN '${p}'`);
  return `CASE ${whens.join(' ')} ELSE '${OTHER}' END`;
}

/**
 * Events per Host and a key column, with the Host's provider: the provider's CASE runs once per
 * distinct (Host, key), not once per event.
 */
const perHost = (providers: readonly string[], key: 'event_type' | 'date'): string =>
  `${EVENTS}, per_host AS (SELECT Host, ${key}, COUNT(*) AS n FROM events GROUP BY Host, ${key}), ` +
  `tagged AS (SELECT Host, ${key}, n, ${providerSql(providers)} AS provider FROM per_host)`;

export const REPORT_QUERIES = {
  /** Events in the range. */
  total: () => `WITH ${EVENTS} SELECT COUNT(*) AS events FROM events`,
  /** Q1: events per event_type. */
  event_counts: () =>
    `WITH ${EVENTS} SELECT event_type, COUNT(*) AS events FROM events GROUP BY event_type`,
  /**
   * Q2: events and players (distinct Host) per provider and event_type, and per provider (the
   * rows whose event_type is NULL), in one pass.
   */
  provider_types: (p: readonly string[]) =>
    `WITH ${perHost(p, 'event_type')} SELECT provider, event_type, SUM(n) AS events, COUNT(DISTINCT Host) AS players ` +
    `FROM tagged GROUP BY GROUPING SETS ((provider, event_type), (provider))`,
  /** daily: events per date and event_type. */
  daily_types: () =>
    `WITH ${EVENTS} SELECT CAST(date AS STRING) AS date, event_type, COUNT(*) AS events FROM events GROUP BY date, event_type`,
  /** daily: events per date and provider. */
  daily_providers: (p: readonly string[]) =>
    `WITH ${perHost(p, 'date')} SELECT CAST(date AS STRING) AS date, provider, SUM(n) AS events FROM tagged GROUP BY date, provider`,
  /**
   * items: per item and currency (never summed across currencies), purchases, units (quantity,
   * 1 when absent), purchases with a price, and revenue (price × units) summed as an exact
   * decimal of 6 places.
   */
  items: () =>
    `SELECT item, currency, COUNT(*) AS purchases, SUM(COALESCE(quantity, 1)) AS units, COUNT(price) AS priced_purchases, ` +
    `SUM(${REVENUE}) AS revenue FROM purchases GROUP BY item, currency`,
  /** hosts: revenue per provider and currency, the provider matched once per distinct Host. */
  provider_revenue: (p: readonly string[]) =>
    `WITH per_host AS (SELECT Host, currency, SUM(${REVENUE}) AS revenue, COUNT(*) AS purchases FROM purchases ` +
    `WHERE price IS NOT NULL GROUP BY Host, currency), ` +
    `tagged AS (SELECT currency, revenue, purchases, ${providerSql(p)} AS provider FROM per_host) ` +
    `SELECT provider, currency, SUM(revenue) AS revenue, SUM(purchases) AS priced_purchases FROM tagged GROUP BY provider, currency`,
  /** users: events and players (distinct Host) per date. */
  users_daily: () =>
    `WITH ${EVENTS} SELECT CAST(date AS STRING) AS date, COUNT(*) AS events, COUNT(DISTINCT Host) AS players FROM events GROUP BY date`,
  /** users: players in the whole range. */
  users_all: () => `WITH ${EVENTS} SELECT COUNT(DISTINCT Host) AS players FROM events`,
  /** users: players with a priced purchase per date, in any currency. */
  payers_daily: () =>
    `SELECT CAST(date AS STRING) AS date, COUNT(DISTINCT Host) AS payers FROM purchases WHERE price IS NOT NULL GROUP BY date`,
  /** users: revenue, priced purchases and paying players per date and currency. */
  revenue_daily: () =>
    `SELECT CAST(date AS STRING) AS date, currency, SUM(${REVENUE}) AS revenue, COUNT(*) AS priced_purchases, ` +
    `COUNT(DISTINCT Host) AS payers FROM purchases WHERE price IS NOT NULL GROUP BY date, currency`,
} satisfies Record<string, (providers: readonly string[]) => string>;

/**
 * The cohort queries of the users report, run over every date of the lake (a player is new on
 * the first date the lake has an event of theirs, whatever the range asked): per first date, the
 * new players and how many of them were active 1 and 7 days later.
 */
export const COHORT_QUERIES = {
  cohorts: () =>
    `WITH ${EVENTS}, firsts AS (SELECT Host, MIN(date) AS first FROM events GROUP BY Host), ` +
    `active AS (SELECT DISTINCT Host, date FROM events) ` +
    `SELECT CAST(f.first AS STRING) AS date, COUNT(DISTINCT f.Host) AS new_players, ` +
    `SUM(CASE WHEN a.date = f.first + 1 THEN 1 ELSE 0 END) AS d1, ` +
    `SUM(CASE WHEN a.date = f.first + 7 THEN 1 ELSE 0 END) AS d7 ` +
    `FROM firsts f JOIN active a ON a.Host = f.Host GROUP BY f.first`,
} satisfies Record<string, () => string>;

/** A query of one range's dates. */
export type ReportQuery = keyof typeof REPORT_QUERIES;
export type QueryName = ReportQuery | keyof typeof COHORT_QUERIES;
