import type { Config, KafkaAccess } from '../core/config.js';
import { assertTopicExists, withAdmin } from '../kafka/admin.js';
import { withHdfs } from '../hdfs/webhdfs.js';
import { dateRange, formatDate, listDates, parseDate } from '../lake/layout.js';

/** How far back the search for a topic's oldest record goes. */
const MAX_DAYS_BACK = 3_660;

/**
 * The UTC date of the oldest record the topic still holds (by the records' timestamps), or
 * undefined when it holds none before `before`. A binary search over dates with ListOffsets by
 * timestamp: a date qualifies when some partition has a record before its end.
 */
export async function earliestRetainedDate(
  config: KafkaAccess,
  topic: string,
  before: string,
): Promise<string | undefined> {
  return withAdmin(
    config,
    async (admin) => {
      await assertTopicExists(admin, topic, config.brokers);
      const low = new Map(
        (await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.low)]),
      );
      const hasRecordsBefore = async (ms: number): Promise<boolean> =>
        (await admin.fetchTopicOffsetsByTimestamp(topic, ms)).some(
          (o) => Number(o.offset) > (low.get(o.partition) ?? 0),
        );
      const start = parseDate(before).startMs;
      if (!(await hasRecordsBefore(start))) return undefined;
      // the most days k back from `before` with records older than them: the oldest record is in
      // the day before that
      let lo = 0;
      let hi = MAX_DAYS_BACK;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (await hasRecordsBefore(start - mid * 86_400_000)) lo = mid;
        else hi = mid - 1;
      }
      return formatDate(start - (lo + 1) * 86_400_000);
    },
    { topic },
  );
}

/**
 * The dates `extract --catch-up` lands: every closed date after the lake's newest complete one up
 * to yesterday, or, when the lake has none, from the topic's oldest retained date.
 */
export async function catchUpDates(
  config: Config,
  topic: string,
  nowMs = Date.now(),
  oldestRetained: () => Promise<string | undefined> = () =>
    earliestRetainedDate(config, topic, formatDate(nowMs)),
): Promise<{ dates: string[]; after?: string; from?: string }> {
  const yesterday = formatDate(nowMs - 86_400_000);
  const complete = await withHdfs(
    config,
    async (hdfs) => (await listDates(hdfs, config.base)).complete,
  );
  const newest = complete.sort().at(-1);
  if (newest !== undefined) {
    if (newest >= yesterday) return { dates: [], after: newest };
    const next = formatDate(parseDate(newest).endMs);
    return { dates: dateRange(next, yesterday), after: newest };
  }
  const from = await oldestRetained();
  return from === undefined ? { dates: [] } : { dates: dateRange(from, yesterday), from };
}

/** How soon before Kafka may delete a date's records `status` warns that it is not extracted. */
export const RETENTION_WARNING_MS = 86_400_000;

/** Where the lake stands against the topic: what is extracted, what waits, what Kafka may delete. */
export interface Freshness {
  topic: string;
  base: string;
  /** The newest date with a complete manifest. */
  newestComplete: string | null;
  /** Closed dates not extracted yet, oldest first (what `extract --catch-up` would land). */
  waiting: string[];
  /** The date of the oldest record Kafka still holds. */
  oldestInKafka: string | null;
  /** The topic's retention.ms; null when records are kept forever. */
  retentionMs: number | null;
  /** When Kafka may start deleting the oldest waiting date's records (retention from its start). */
  oldestWaitingDeletableAt: string | null;
  /** True when that is less than a day away (or past): extract now, or lose the date. */
  atRisk: boolean;
}

export async function freshness(
  config: Config,
  topic: string,
  nowMs = Date.now(),
): Promise<Freshness> {
  const { describeTopic } = await import('../kafka/admin.js');
  // one search for the oldest record, shared with the catch-up plan when the lake is empty
  const oldestRetained = earliestRetainedDate(config, topic, formatDate(nowMs));
  const [{ dates, after }, oldest, described] = await Promise.all([
    catchUpDates(config, topic, nowMs, () => oldestRetained),
    oldestRetained,
    describeTopic(config, topic),
  ]);
  const retention = Number(described.configs['retention.ms'] ?? -1);
  const retentionMs = Number.isFinite(retention) && retention >= 0 ? retention : null;
  const first = dates[0];
  const deletableMs =
    first !== undefined && retentionMs !== null
      ? parseDate(first).startMs + retentionMs
      : undefined;
  return {
    topic,
    base: config.base,
    newestComplete: after ?? null,
    waiting: dates,
    oldestInKafka: oldest ?? null,
    retentionMs,
    oldestWaitingDeletableAt:
      deletableMs === undefined ? null : new Date(deletableMs).toISOString(),
    atRisk: deletableMs !== undefined && deletableMs - nowMs < RETENTION_WARNING_MS,
  };
}
