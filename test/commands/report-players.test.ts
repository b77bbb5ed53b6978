/**
 * Issue 16's figures, exact: players over time (active, new, returning, paying, conversion, D1 and
 * D7 retention), money per currency (per item, provider and day, with ARPDAU and ARPPU), a day with
 * no events, and a partial day, on a lake built from the seeded generator's own plan in two
 * currencies spread over several days; then the HTML page in headless Chromium.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { minorDigits } from '../../src/lib/core/money.js';
import type { EventKind } from '../../src/lib/events/event.js';
import { planRun, providerOf } from '../../src/lib/traffic/generator.js';
import {
  createTimeTopic,
  daysAgo,
  makeEvent,
  openInChromium,
  produceRaw,
  ROOT,
  runCli,
  uniqueName,
} from '../helpers.js';

interface Planted {
  day: string;
  host: string;
  kind: EventKind;
  item?: string;
  /** Price in the currency's minor units (cents, yen), so sums are exact. */
  minor?: number;
  currency?: string;
  quantity: number;
}

const D = [daysAgo(30), daysAgo(29), daysAgo(28), daysAgo(27)];
const EMPTY = daysAgo(26);
/** The first day's D7. */
const WEEK = daysAgo(23);
const TODAY = daysAgo(0);
const DAYS = [...D, EMPTY, WEEK, TODAY];
const r4 = (x: number): number => Math.round(x * 10_000) / 10_000;
const plus = (date: string, n: number): string =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** The generator's plan (seeded, USD and JPY), its bursts spread over the days with events. */
function plant(): Planted[] {
  const withEvents = [...D, WEEK, TODAY];
  const bursts = planRun({
    n: 2_400,
    seed: 'players',
    maxConcurrency: 4,
    currencies: ['USD', 'JPY'],
  });
  return bursts.flatMap((b, i) =>
    b.requests.flatMap((r) =>
      r.events.map((e): Planted => {
        const m = e.metadata as { price?: number; currency?: string; quantity?: number };
        return {
          day: withEvents[i % withEvents.length] as string,
          host: e.host,
          kind: e.kind,
          item: e.item,
          minor:
            m.price === undefined ? undefined : Math.round(m.price * 10 ** minorDigits(m.currency)),
          currency: m.currency,
          quantity: m.quantity ?? 1,
        };
      }),
    ),
  );
}

describe('report: players over time, money per currency, honest days (the seeded generator over several days, real stack)', function () {
  this.timeout(300_000);
  const planted = plant();
  let base: string;
  const report = (...args: string[]) => runCli(['report', ...args, '--base', base]);
  const reportJson = async <T>(name: string): Promise<T> => {
    const res = await report(name, '--format', 'json');
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as T;
  };

  before(async () => {
    const topic = await createTimeTopic('gp-players', 3);
    base = `/tmp/gamepipe-test/${uniqueName('lake')}`;
    const seen = new Map<string, number>();
    const todayFrom = Math.max(Date.parse(`${TODAY}T00:00:00Z`), Date.now() - 120_000);
    await produceRaw(
      topic,
      planted
        .map((p) => {
          const k = (seen.get(p.day) ?? 0) + 1;
          seen.set(p.day, k);
          const ts =
            p.day === TODAY ? todayFrom + k : Date.parse(`${p.day}T00:00:00Z`) + k * 20_000;
          const metadata: Record<string, unknown> = {};
          if (p.minor !== undefined) {
            metadata.price = p.minor / 10 ** minorDigits(p.currency);
            metadata.currency = p.currency;
            metadata.quantity = p.quantity;
          }
          const e = makeEvent({
            kind: p.kind,
            item: p.item,
            headers: { Host: p.host, Accept: '*/*' },
            metadata,
            now: new Date(ts),
          });
          return { key: p.host, value: JSON.stringify(e), timestampMs: ts };
        })
        // in time order, as the events topic's LogAppendTime keeps them (extract relies on it)
        .sort((a, b) => a.timestampMs - b.timestampMs),
    );
    for (const d of DAYS) {
      const res = await runCli(['extract', '--date', d, '--topic', topic, '--base', base]);
      assert.equal(res.code, 0, res.stderr);
    }
    // a purchase's price fields only where it has one: the plain GETs carry none
    assert.ok(planted.some((p) => p.kind === 'purchase' && p.minor === undefined));
    assert.ok(
      planted.some((p) => p.currency === 'JPY') && planted.some((p) => p.currency === 'USD'),
    );
  });

  it('users: per day (the empty day too) active, new, returning and paying players, conversion, D1 and D7 retention; revenue, ARPDAU and ARPPU per currency; the partial day marked', async () => {
    const j = await reportJson<{
      days: Array<Record<string, unknown>>;
      revenue: Array<Record<string, unknown>>;
    }>('users');
    const hostsOn = (d: string, f: (p: Planted) => boolean = () => true): Set<string> =>
      new Set(planted.filter((p) => p.day === d && f(p)).map((p) => p.host));
    const first = new Map<string, string>();
    for (const d of DAYS) for (const h of hostsOn(d)) if (!first.has(h)) first.set(h, d);
    const priced = (p: Planted): boolean => p.kind === 'purchase' && p.minor !== undefined;
    const want = DAYS.map((date) => {
      const active = hostsOn(date);
      const fresh = [...active].filter((h) => first.get(h) === date);
      const paying = hostsOn(date, priced);
      const retention = (n: number): number | null => {
        const later = plus(date, n);
        if (date === TODAY || fresh.length === 0 || !DAYS.includes(later) || later === TODAY)
          return null;
        const then = hostsOn(later);
        return r4(fresh.filter((h) => then.has(h)).length / fresh.length);
      };
      return {
        date,
        partial: date === TODAY,
        events: planted.filter((p) => p.day === date).length,
        players: active.size,
        newPlayers: fresh.length,
        returningPlayers: active.size - fresh.length,
        payingPlayers: paying.size,
        conversion: active.size > 0 ? r4(paying.size / active.size) : null,
        d1Retention: retention(1),
        d7Retention: retention(7),
      };
    });
    assert.deepEqual(j.days, want);
    // a range: new means first seen in the lake, before the range too; D1 reaches past its end
    const ranged = await report(
      'users',
      '--from',
      D[1] as string,
      '--to',
      D[3] as string,
      '--format',
      'json',
    );
    assert.equal(ranged.code, 0, ranged.stderr);
    assert.deepEqual((JSON.parse(ranged.stdout) as typeof j).days, want.slice(1, 4));
    // what the test is about is there: the empty day, retention both ways, the partial day
    assert.equal(want[4]?.players, 0);
    assert.ok(want.some((d) => typeof d.d1Retention === 'number' && d.d1Retention > 0));
    assert.ok(typeof want[0]?.d7Retention === 'number');
    assert.equal(
      want[3]?.d1Retention,
      0,
      'D3 + 1 is the empty day: none of its new players came back',
    );

    const wantRevenue = DAYS.flatMap((date) =>
      ['JPY', 'USD'].map((currency) => {
        const mine = planted.filter((p) => p.day === date && priced(p) && p.currency === currency);
        const minor = mine.reduce((s, p) => s + (p.minor as number) * p.quantity, 0);
        const revenue = minor / 10 ** minorDigits(currency);
        const payers = new Set(mine.map((p) => p.host)).size;
        const active = hostsOn(date).size;
        return {
          date,
          partial: date === TODAY,
          currency,
          revenue,
          pricedPurchases: mine.length,
          payingPlayers: payers,
          arpdau: active > 0 ? r4(revenue / active) : null,
          arppu: payers > 0 ? r4(revenue / payers) : null,
        };
      }),
    );
    assert.deepEqual(j.revenue, wantRevenue, 'JPY first: the currency of most revenue');

    // the terminal: money with separators and its code, the partial day said, never summed
    const text = await report('users');
    assert.equal(text.code, 0, text.stderr);
    const jpy = wantRevenue.find((r) => r.currency === 'JPY' && r.revenue >= 1000) as {
      revenue: number;
    };
    assert.match(text.stdout, new RegExp(`${jpy.revenue.toLocaleString('en-US')} JPY`));
    assert.match(text.stdout, new RegExp(`${TODAY}[^\\n]*partial`));
    // a report over the range says which of its days is partial
    const eventsJson = await reportJson<{ partial: string[] }>('events');
    assert.deepEqual(eventsJson.partial, [TODAY]);
    const events = await report('events');
    assert.match(events.stdout, new RegExp(`; partial: ${TODAY} \\(still open when extracted\\)`));
    // a narrow terminal gets the wide table in parts, each with the date
    const narrow = await runCli(['report', 'users', '--base', base], { env: { COLUMNS: '80' } });
    assert.match(narrow.stdout, /\(columns 2-\d+ of 10\)/);
    for (const line of narrow.stdout.split('\n').filter((l) => /^[┌│├└]/.test(l)))
      assert.ok(line.length <= 80, line);
    // CSV of one table, its numbers as they are
    const csv = await report('users', '--format', 'csv', '--table', 'daily_revenue');
    assert.equal(csv.code, 0, csv.stderr);
    const rows = csv.stdout.trim().split('\n');
    assert.equal(
      rows[0],
      'date,currency,revenue,priced purchases,paying players,ARPDAU,ARPPU,partial day',
    );
    assert.equal(rows.length, 1 + wantRevenue.length);
    assert.equal(
      rows.at(-1),
      `${TODAY},USD,${wantRevenue.at(-1)?.revenue},${wantRevenue.at(-1)?.pricedPurchases},${wantRevenue.at(-1)?.payingPlayers},${wantRevenue.at(-1)?.arpdau ?? ''},${wantRevenue.at(-1)?.arppu ?? ''},true`,
    );
  });

  it('items and hosts: units and revenue per item and per provider, per currency, never summed across currencies', async () => {
    const items = await reportJson<{
      revenue: Record<string, number>;
      items: Array<{ item: string; currency: string | null; units: number; revenue: number }>;
    }>('items');
    const purchases = planted.filter((p) => p.kind === 'purchase');
    const key = (p: Planted): string => `${p.item}|${p.currency ?? ''}`;
    const want = new Map<string, { units: number; minor: number; currency?: string }>();
    for (const p of purchases) {
      const w = want.get(key(p)) ?? { units: 0, minor: 0, currency: p.currency };
      w.units += p.quantity;
      w.minor += (p.minor ?? 0) * p.quantity;
      want.set(key(p), w);
    }
    assert.deepEqual(
      new Map(items.items.map((r) => [`${r.item}|${r.currency ?? ''}`, [r.units, r.revenue]])),
      new Map([...want].map(([k, w]) => [k, [w.units, w.minor / 10 ** minorDigits(w.currency)]])),
    );
    const total = (c: string): number =>
      purchases
        .filter((p) => p.currency === c)
        .reduce((s, p) => s + (p.minor ?? 0) * p.quantity, 0) /
      10 ** minorDigits(c);
    assert.deepEqual(items.revenue, { JPY: total('JPY'), USD: total('USD') });

    const hosts = await reportJson<{
      revenue: Array<{
        provider: string;
        currency: string;
        revenue: number;
        pricedPurchases: number;
      }>;
    }>('hosts');
    const byProvider = new Map<string, { minor: number; n: number }>();
    for (const p of purchases.filter((x) => x.minor !== undefined)) {
      const k = `${providerOf(p.host)}|${p.currency}`;
      const w = byProvider.get(k) ?? { minor: 0, n: 0 };
      w.minor += (p.minor as number) * p.quantity;
      w.n++;
      byProvider.set(k, w);
    }
    assert.deepEqual(
      new Map(
        hosts.revenue.map((r) => [`${r.provider}|${r.currency}`, [r.revenue, r.pricedPurchases]]),
      ),
      new Map(
        [...byProvider].map(([k, w]) => [k, [w.minor / 10 ** minorDigits(k.split('|')[1]), w.n]]),
      ),
    );
  });

  it('daily: the empty day is listed with zeros; the partial day is marked and not tested for drift (unless asked)', async () => {
    const j = await reportJson<{
      days: Array<{
        date: string;
        events: number;
        partial: boolean;
        drift: boolean;
        eventMixTest: unknown;
      }>;
    }>('daily');
    assert.deepEqual(
      j.days.map((d) => [d.date, d.events, d.partial]),
      DAYS.map((d) => [d, planted.filter((p) => p.day === d).length, d === TODAY]),
    );
    const today = j.days.at(-1);
    assert.equal(today?.eventMixTest, null);
    const asked = await report('daily', '--format', 'json', '--with-partial-days');
    const withToday = JSON.parse(asked.stdout) as typeof j;
    assert.notEqual(withToday.days.at(-1)?.eventMixTest, null);
  });

  it("the HTML page in Chromium: no console errors, a chart's bars equal its table's numbers, a table sorts, one colour per category", async () => {
    const dir = join(ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'report-players.html');
    const res = await report('all', '--format', 'html', '--out', file);
    assert.equal(res.code, 0, res.stderr);
    const { browser, page, errors } = await openInChromium(file);
    try {
      assert.deepEqual(errors, []);
      // the JPY revenue chart's bars against the items table's JPY rows
      const bars = await page
        .locator('svg.chart[aria-label="Revenue per item (JPY)"] rect.bar')
        .evaluateAll((els) =>
          els.map((e) => [e.getAttribute('data-label'), Number(e.getAttribute('data-value'))]),
        );
      const rows = await page.locator('table[data-name="items"] tbody tr').evaluateAll((trs) =>
        trs
          .map((tr) =>
            Array.from(
              (tr as unknown as { cells: ArrayLike<{ dataset: { v?: string } }> }).cells,
              (td) => td.dataset.v ?? '',
            ),
          )
          .filter((cells) => cells[1] === 'JPY')
          .map((cells) => [cells[0], Number(cells[5])]),
      );
      assert.ok(bars.length >= 3);
      assert.deepEqual(bars, rows);
      // a click on "revenue" sorts ascending, a second descending
      const header = page.locator('table[data-name="items"] th', { hasText: /^revenue$/ });
      const revenues = () =>
        page
          .locator('table[data-name="items"] tbody tr td:nth-child(6)')
          .evaluateAll((tds) =>
            tds.map((td) => Number((td as unknown as { dataset: { v?: string } }).dataset.v)),
          );
      await header.click();
      const up = await revenues();
      assert.deepEqual(
        up,
        [...up].sort((a, b) => a - b),
      );
      await header.click();
      const down = await revenues();
      assert.deepEqual(
        down,
        [...up].sort((a, b) => b - a),
      );
      // one colour per category: an event type's colour is the same in every chart that has it
      const fills = await page
        .locator('svg.chart rect.bar[data-label], svg.chart g rect')
        .evaluateAll((els) =>
          els.map((e) => [
            e.getAttribute('data-label') ?? e.parentElement?.textContent ?? '',
            e.getAttribute('fill'),
          ]),
        );
      const colour = new Map<string, Set<string>>();
      for (const [label, fill] of fills) {
        if (!label || !fill) continue;
        colour.set(label, (colour.get(label) ?? new Set()).add(fill));
      }
      // the categories seen in more than one place: event types in bars and legends, items in both
      // currencies' revenue charts
      assert.ok(colour.has('join_guild') && colour.has('sword'), [...colour.keys()].join(', '));
      for (const [label, set] of colour)
        assert.equal(set.size, 1, `${label}: ${[...set].join(', ')}`);
      // the partial day is drawn as such
      assert.ok((await page.locator('svg.chart rect.partial').count()) >= 1);
      assert.ok((await page.locator('tr.partial').count()) >= 1);
      await page.screenshot({ path: join(dir, 'report-players.png'), fullPage: true });
      // the section docs/reports.md shows (docs/images/report-users.png is a copy of it)
      await page.locator('#users').screenshot({ path: join(dir, 'report-users.png') });
    } finally {
      await browser.close();
    }
  });
});
