import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventKind } from '../../src/lib/events/event.js';
import { prng } from '../../src/lib/traffic/generator.js';
import { outputDir } from '../../src/lib/lake/layout.js';
import { WebHdfs } from '../../src/lib/hdfs/webhdfs.js';
import {
  createTimeTopic,
  makeEvent,
  produceRaw,
  ROOT,
  runCli,
  stackConfig,
  uniqueName,
  daysAgo,
  textError,
  openInChromium,
} from '../helpers.js';

const config = stackConfig();
const DAYS = [daysAgo(40), daysAgo(39), daysAgo(38), daysAgo(37)];
const PROVIDERS = ['comcast', 'att', 'google', 'frontier', 'cox', 'earthlink'];
const ITEMS = ['sword', 'shield', 'helmet', 'knife', 'gauntlet'];
const PRICE: Record<string, number> = {
  sword: 12.99,
  shield: 9.99,
  helmet: 7.49,
  knife: 4.99,
  gauntlet: 6.49,
};

interface Planted {
  day: string;
  type: string;
  host: string;
  provider: string;
  item?: string;
  price?: number;
  quantity?: number;
}

function pick<T>(rand: () => number, values: T[], weights: number[]): T {
  let u = rand() * weights.reduce((s, w) => s + w, 0);
  for (let i = 0; i < values.length; i++) {
    u -= weights[i] as number;
    if (u < 0) return values[i] as T;
  }
  return values[values.length - 1] as T;
}

/** Four days of the same mix, except the last, whose provider mix is shifted on purpose. */
function plant(): Planted[] {
  const rand = prng('report-test');
  const out: Planted[] = [];
  DAYS.forEach((day, d) => {
    const weights =
      d === 3 ? [0.6, 0.08, 0.08, 0.08, 0.08, 0.08] : [0.2, 0.15, 0.1, 0.1, 0.225, 0.225];
    for (let i = 0; i < 1500; i++) {
      const provider = pick(rand, PROVIDERS, weights);
      const host = `user${1 + Math.floor(rand() * 99)}.${provider}.com`;
      if (rand() < 0.3) {
        out.push({ day, type: 'join_guild', host, provider });
      } else {
        const item = pick(rand, ITEMS, [0.18, 0.2, 0.2, 0.3, 0.12]);
        const priced = rand() < 0.8;
        out.push({
          day,
          type: `${item} purchased`,
          host,
          provider,
          item,
          price: priced ? PRICE[item] : undefined,
          quantity: rand() < 0.7 ? undefined : 2,
        });
      }
    }
  });
  // provider matching by whole label: these count as comcast and as other (first, so record
  // times stay in order, as LogAppendTime keeps them)
  out.unshift(
    {
      day: DAYS[0] as string,
      type: 'join_guild',
      host: 'seattle.comcast.net',
      provider: 'comcast',
    },
    { day: DAYS[0] as string, type: 'join_guild', host: 'matter.example.com', provider: 'other' },
  );
  return out;
}

function tally<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of items) m.set(key(x), (m.get(key(x)) ?? 0) + 1);
  return m;
}

const sorted = (m: Map<string, number>): Array<[string, number]> =>
  [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));

describe('report: the business questions from the lake (real stack)', function () {
  this.timeout(300_000);
  const planted = plant();
  let base: string;
  const report = (...args: string[]) => runCli(['report', ...args, '--base', base]);

  before(async () => {
    const topic = await createTimeTopic('gp-report', 3);
    base = `/tmp/gamepipe-test/${uniqueName('lake')}`;
    const seen = new Map<string, number>();
    await produceRaw(
      topic,
      planted.map((p) => {
        const k = (seen.get(p.day) ?? 0) + 1;
        seen.set(p.day, k);
        const ts = Date.parse(`${p.day}T00:00:00Z`) + k * 10_000;
        const kind: EventKind = p.type === 'join_guild' ? 'join_guild' : 'purchase';
        const metadata: Record<string, unknown> = {};
        if (p.price !== undefined) metadata.price = p.price;
        if (p.quantity !== undefined) metadata.quantity = p.quantity;
        const e = makeEvent({
          kind,
          item: p.item,
          headers: { Host: p.host, Accept: '*/*' },
          metadata,
          now: new Date(ts),
        });
        return { key: p.host, value: JSON.stringify(e), timestampMs: ts };
      }),
    );
    for (const d of DAYS) {
      const res = await runCli(['extract', '--date', d, '--topic', topic, '--base', base]);
      assert.equal(res.code, 0, res.stderr);
    }
  });

  it('events (Q1): exact counts and shares, most popular first, ties by name, in every format', async () => {
    const want = sorted(tally(planted, (p) => p.type));
    const res = await report('events', '--format', 'json');
    assert.equal(res.code, 0, res.stderr);
    const j = JSON.parse(res.stdout) as {
      total: number;
      events: Array<{ event_type: string; events: number; share: number }>;
      dates: string[];
    };
    assert.equal(j.total, planted.length);
    assert.deepEqual(j.dates, DAYS);
    assert.deepEqual(
      j.events.map((e) => [e.event_type, e.events]),
      want,
    );
    assert.ok(Math.abs((j.events[0]?.share ?? 0) - (want[0]?.[1] ?? 0) / planted.length) < 1e-4);

    const csv = await report('events', '--format', 'csv');
    const lines = csv.stdout.trim().split('\n');
    assert.equal(lines[0], 'event_type,events,share');
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(',').slice(0, 2)),
      want.map(([k, n]) => [k, String(n)]),
    );
    const md = await report('events', '--format', 'markdown');
    // for people, counts with thousands separators
    const sep = (n: number): string => n.toLocaleString('en-US');
    for (const [k, n] of want) assert.match(md.stdout, new RegExp(`\\| ${k} \\| ${sep(n)} \\| `));
    const table = await report('events');
    for (const [k, n] of want) assert.match(table.stdout, new RegExp(`│ ${k} +│ ${sep(n)} +│`));
    const one = await report('events', '--date', DAYS[1] as string, '--format', 'json');
    assert.equal(
      (JSON.parse(one.stdout) as { total: number }).total,
      planted.filter((p) => p.day === DAYS[1]).length,
    );
  });

  it('hosts (Q2): providers by whole label, with events, players and the most popular event', async () => {
    const res = await report('hosts', '--format', 'json');
    assert.equal(res.code, 0, res.stderr);
    const j = JSON.parse(res.stdout) as {
      providers: Array<{
        provider: string;
        events: number;
        players: number;
        mostPopularEvent: string;
      }>;
      matrix: Record<string, Record<string, number>>;
    };
    const byProvider = sorted(tally(planted, (p) => p.provider));
    assert.deepEqual(
      j.providers.map((p) => [p.provider, p.events]),
      byProvider,
    );
    for (const p of j.providers) {
      const mine = planted.filter((x) => x.provider === p.provider);
      assert.equal(p.players, new Set(mine.map((x) => x.host)).size, p.provider);
      assert.equal(p.mostPopularEvent, sorted(tally(mine, (x) => x.type))[0]?.[0], p.provider);
      for (const [type, n] of tally(mine, (x) => x.type))
        assert.equal(j.matrix[p.provider]?.[type], n);
    }
    assert.equal(j.providers.find((p) => p.provider === 'other')?.events, 1);
    // CSV is one table: several need --table (the error names them); shares are numbers
    const several = await report('hosts', '--format', 'csv');
    assert.equal(several.code, 2);
    assert.match(
      textError(several.stderr),
      /GP_USAGE: CSV holds one table and this report has 3: providers, provider_types, provider_revenue — pick one with --table NAME/,
    );
    const providersCsv = await report('hosts', '--format', 'csv', '--table', 'providers');
    assert.equal(providersCsv.code, 0, providersCsv.stderr);
    const csvRows = providersCsv.stdout.trim().split('\n');
    assert.equal(csvRows[0], 'provider,events,share,players,most popular event');
    const [, events, shareText] = (csvRows[1] as string).split(',');
    assert.equal(
      Number(shareText),
      Math.round((Number(events) / planted.length) * 10_000) / 10_000,
    );
    const matrixCsv = await report('hosts', '--format', 'csv', '--table', 'provider_types');
    assert.match(matrixCsv.stdout, /^provider,/);
    const wrong = await report('hosts', '--format', 'csv', '--table', 'nosuch');
    assert.equal(wrong.code, 2);
    assert.match(
      textError(wrong.stderr),
      /no table "nosuch" in this report — its tables: providers, provider_types, provider_revenue/,
    );
    // the terminal still reads shares as percent
    const shown = await report('hosts');
    assert.match(shown.stdout, /│ \d+\.\d%/);
    // --format html holds the report asked for only; --out - writes it to stdout
    const html = await report('hosts', '--format', 'html', '--out', '-');
    assert.equal(html.code, 0, html.stderr);
    assert.match(html.stdout, /<section id="hosts">/);
    assert.doesNotMatch(html.stdout, /<section id="events">/);
    const custom = await report('hosts', '--providers', 'att,cox', '--format', 'json');
    const c = JSON.parse(custom.stdout) as {
      providers: Array<{ provider: string; events: number }>;
    };
    assert.deepEqual(c.providers.map((p) => p.provider).sort(), ['att', 'cox', 'other']);
  });

  it('daily: flags the day whose provider mix was shifted, not the days of the same mix; --fail-on-drift exits 3', async () => {
    const res = await report('daily', '--format', 'json');
    assert.equal(res.code, 0, res.stderr);
    const j = JSON.parse(res.stdout) as {
      days: Array<{
        date: string;
        events: number;
        drift: boolean;
        providerMixTest: { distance: number } | null;
      }>;
    };
    assert.deepEqual(
      j.days.map((d) => [d.date, d.drift]),
      [
        [DAYS[0], false],
        [DAYS[1], false],
        [DAYS[2], false],
        [DAYS[3], true],
      ],
    );
    assert.deepEqual(
      j.days.map((d) => d.events),
      DAYS.map((d) => planted.filter((p) => p.day === d).length),
    );
    const fail = await report('daily', '--fail-on-drift');
    assert.equal(fail.code, 3);
    assert.match(fail.stdout, /DRIFT \(provider mix\)/);
    const calm = await report(
      'daily',
      '--fail-on-drift',
      '--from',
      DAYS[0] as string,
      '--to',
      DAYS[2] as string,
    );
    assert.equal(calm.code, 0, calm.stdout);
  });

  it('items and users: units, revenue and daily active players', async () => {
    const items = JSON.parse((await report('items', '--format', 'json')).stdout) as {
      items: Array<{ item: string; units: number; revenue: number; purchases: number }>;
    };
    for (const it of ITEMS) {
      const mine = planted.filter((p) => p.item === it);
      const row = items.items.find((x) => x.item === it);
      assert.equal(row?.purchases, mine.length, it);
      assert.equal(
        row?.units,
        mine.reduce((s, p) => s + (p.quantity ?? 1), 0),
        it,
      );
      const revenue = mine.reduce((s, p) => s + (p.price ?? 0) * (p.quantity ?? 1), 0);
      assert.ok(
        Math.abs((row?.revenue ?? 0) - revenue) < 0.01,
        `${it}: ${row?.revenue} vs ${revenue}`,
      );
    }
    const users = JSON.parse((await report('users', '--format', 'json')).stdout) as {
      days: Array<{ date: string; players: number }>;
    };
    assert.deepEqual(
      users.days.map((d) => [d.date, d.players]),
      DAYS.map((d) => [d, new Set(planted.filter((p) => p.day === d).map((p) => p.host)).size]),
    );
  });

  it('the HTML report opens in headless Chromium without console errors and shows its charts', async () => {
    const dir = join(ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'report.html');
    const res = await report('all', '--format', 'html', '--out', file);
    assert.equal(res.code, 0, res.stderr);
    const html = readFileSync(file, 'utf8');
    assert.doesNotMatch(
      html,
      /<script[^>]*\ssrc=|https?:\/\/(?!www\.w3\.org)/,
      'self-contained: no external script, no network',
    );
    assert.equal(html.match(/<script>/g)?.length, 1, 'one small inline script: sorting, CSV');
    const { browser, page, errors } = await openInChromium(file);
    try {
      assert.deepEqual(errors, []);
      assert.equal(await page.locator('section').count(), 5);
      assert.ok((await page.locator('svg.chart').count()) >= 6);
      assert.ok((await page.locator('svg.chart rect.bar').count()) >= 20, 'bars are drawn');
      assert.ok((await page.locator('svg.chart polyline.series').count()) >= 3, 'lines are drawn');
      assert.equal(
        await page.locator('svg.chart rect.drift').count(),
        2,
        'the drifting day is marked on both daily charts',
      );
      const box = await page.locator('svg.chart').first().boundingBox();
      assert.ok(box && box.width > 300 && box.height > 50);
      await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    assert.ok(existsSync(join(dir, 'report.png')));
  });

  it('an empty range, a missing date, a corrupt file and a bad provider list give their coded errors', async () => {
    const empty = await runCli([
      'report',
      'events',
      '--base',
      `/tmp/gamepipe-test/${uniqueName('empty')}`,
    ]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^gamepipe: error GP_NO_DATA: the lake at .* has no complete dates/);
    const before = daysAgo(41);
    const missing = await report('events', '--date', before);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      new RegExp(
        `^gamepipe: error GP_NO_DATA: no data for ${before}; dates in the lake: ${DAYS.join(', ')}`,
      ),
    );
    const bad = await report('hosts', '--providers', 'comcast,at&t');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^gamepipe: error GP_USAGE: not a provider name: "at&t"/);
    const hdfs = new WebHdfs({ url: config.webhdfsUrl, user: config.hdfsUser });
    const corrupt = `${outputDir(base, 'purchases', DAYS[0] as string)}/zz-corrupt.parquet`;
    try {
      await hdfs.create(corrupt, 'PAR1 this is not parquet PAR1');
      const res = await report('events', '--date', DAYS[0] as string);
      assert.equal(res.code, 1);
      assert.match(
        res.stderr,
        new RegExp(
          `^gamepipe: error GP_CORRUPT_FILE: ${corrupt.replace(/[+]/g, '\\+')} is not a readable Parquet file`,
        ),
      );
    } finally {
      await hdfs.delete(corrupt);
      await hdfs.close();
    }
    const tmp = mkdtempSync(join(tmpdir(), 'gp-report-'));
    const out = await report('events', '--format', 'csv', '--out', join(tmp, 'events.csv'));
    assert.equal(out.code, 0);
    assert.match(readFileSync(join(tmp, 'events.csv'), 'utf8'), /^event_type,events,share\n/);
  });

  it('sql: the events question as SQL gives the numbers the report gives; files come from the local cache the second time', async () => {
    const home = mkdtempSync(join(tmpdir(), 'gp-sql-'));
    const sql = (...args: string[]) => runCli(['--home', home, 'sql', ...args, '--base', base]);
    const q1 =
      'SELECT event_type, count(*) AS events FROM (SELECT event_type FROM purchases UNION ALL ' +
      'SELECT event_type FROM join_guild) GROUP BY event_type ORDER BY events DESC, event_type';
    const first = await sql(q1, '--format', 'json');
    assert.equal(first.code, 0, first.stderr);
    const rows = (
      JSON.parse(first.stdout) as { rows: Array<{ event_type: string; events: number }> }
    ).rows;
    assert.deepEqual(
      rows.map((r) => [r.event_type, r.events]),
      sorted(tally(planted, (p) => p.type)),
    );
    assert.match(first.stderr, /4 date\(s\); 0 file\(s\) from the local cache, (\d+) fetched/);
    const files = Number(/(\d+) fetched/.exec(first.stderr)?.[1]);
    // the same files again: all from the cache, none fetched
    const perDay = await sql(
      'SELECT date, count(*) AS n FROM purchases GROUP BY date ORDER BY date',
      '--format',
      'csv',
    );
    assert.equal(perDay.code, 0, perDay.stderr);
    assert.match(perDay.stderr, new RegExp(`${files} file\\(s\\) from the local cache, 0 fetched`));
    const want = DAYS.map((d) => `${d},${planted.filter((p) => p.day === d && p.item).length}`);
    assert.deepEqual(perDay.stdout.trim().split('\n'), ['date,n', ...want]);
    // the hosts question (Q2) as docs/reports.md writes it: providers by whole label of Host
    const label = "concat('.', lower(regexp_replace(Host, ':[0-9]+$', '')), '.')";
    const q2 =
      `SELECT CASE ${PROVIDERS.map((p) => `WHEN ${label} LIKE '%.${p}.%' THEN '${p}'`).join(' ')} ` +
      "ELSE 'other' END AS provider, count(*) AS events FROM (SELECT Host FROM purchases " +
      'UNION ALL SELECT Host FROM join_guild) GROUP BY provider ORDER BY events DESC, provider';
    const hosts = await sql(q2, '--format', 'json');
    assert.equal(hosts.code, 0, hosts.stderr);
    assert.deepEqual(
      (JSON.parse(hosts.stdout) as { rows: Array<{ provider: string; events: number }> }).rows.map(
        (r) => [r.provider, r.events],
      ),
      sorted(tally(planted, (p) => p.provider)),
    );
    // one date; a table no date has rows for is still a table
    const one = await sql('SELECT count(*) AS n FROM join_guild', '--date', DAYS[1] as string);
    assert.equal(one.code, 0, one.stderr);
    assert.match(
      one.stdout,
      new RegExp(`\\b${planted.filter((p) => p.day === DAYS[1] && !p.item).length}\\b`),
    );
    // --no-cache leaves nothing behind in the cache it does not use
    const uncached = await sql('SELECT 1 AS one', '--no-cache');
    assert.equal(uncached.code, 0, uncached.stderr);
    assert.match(uncached.stderr, /0 file\(s\) from the local cache/);
    // a bad query is a usage error naming what failed, in one line; no data is GP_NO_DATA
    const bad = await sql('SELECT * FROM nosuch');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^gamepipe: error GP_USAGE: the query failed: .*nosuch/);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    const none = await sql('SELECT 1', '--date', daysAgo(41));
    assert.equal(none.code, 1);
    assert.match(none.stderr, /GP_NO_DATA: no data for/);
  });

  it("every report and an analyst's SQL give exactly the same answers on Spark (local[2]) as on the embedded engine", async () => {
    const home = mkdtempSync(join(tmpdir(), 'gp-engines-'));
    const both = async (args: string[]): Promise<[unknown, unknown]> => {
      const a = await runCli(['--home', home, ...args, '--base', base, '--format', 'json']);
      assert.equal(a.code, 0, a.stderr);
      const b = await runCli([
        '--home',
        home,
        ...args,
        '--base',
        base,
        '--format',
        'json',
        '--engine',
        'spark',
      ]);
      assert.equal(b.code, 0, b.stderr);
      return [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    };
    const [embedded, spark] = await both(['report', 'all']);
    assert.deepEqual(spark, embedded);
    // the numbers are the planted ones, not just equal to each other
    const all = embedded as Record<string, { total?: number; playersInRange?: number }>;
    assert.deepEqual(Object.keys(all).sort(), ['daily', 'events', 'hosts', 'items', 'users']);
    assert.equal(all.events?.total, planted.length);
    assert.equal(all.users?.playersInRange, new Set(planted.map((p) => p.host)).size);
    const q =
      // money as DECIMAL: a DOUBLE's sum or mean depends on the order rows arrive in (docs/reports.md)
      'SELECT date, item, count(*) AS purchases, sum(quantity) AS units, ' +
      'sum(CAST(price AS DECIMAL(18, 6))) AS revenue, ' +
      'min(timestamp) AS first, max(kafka_offset) AS last_offset FROM purchases ' +
      'GROUP BY date, item ORDER BY date, item';
    const [sa, sb] = await both(['sql', q]);
    assert.deepEqual(sb, sa);
    assert.equal((sa as { rows: unknown[] }).rows.length, DAYS.length * ITEMS.length);
  });
});
