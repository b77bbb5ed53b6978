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
): Promise<{ dates: string[]; after?: string; from?: string }> {
  const yesterday = formatDate(nowMs - 86_400_000);
  const today = formatDate(nowMs);
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
  const from = await earliestRetainedDate(config, topic, today);
  return from === undefined ? { dates: [] } : { dates: dateRange(from, yesterday), from };
}
