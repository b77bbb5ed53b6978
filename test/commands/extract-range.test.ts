import assert from 'node:assert/strict';
import { ConfigResourceTypes } from 'kafkajs';
import { withHdfs } from '../../src/lib/hdfs/webhdfs.js';
import { withAdmin } from '../../src/lib/kafka/admin.js';
import { manifestPath } from '../../src/lib/lake/layout.js';
import {
  createTimeTopic,
  daysAgo,
  foreignLease,
  lakeEventIds,
  makeEvent,
  produceRaw,
  runCli,
  stackConfig,
  uniqueName,
} from '../helpers.js';

const config = stackConfig();

/** `n` purchases stamped (CreateTime) through `day`. */
function eventsOn(day: string, n: number) {
  return Array.from({ length: n }, (_, i) => {
    const ts = Date.parse(`${day}T00:00:00Z`) + (i + 1) * 60_000;
    const host = `user${i % 7}.comcast.com`;
    const e = makeEvent({
      kind: 'purchase',
      item: 'sword',
      headers: { Host: host, Accept: '*/*' },
      metadata: { price: 1.5 },
      now: new Date(ts),
    });
    return { key: host, value: JSON.stringify(e), timestampMs: ts };
  });
}

const exists = (path: string) =>
  withHdfs(config, async (hdfs) => (await hdfs.stat(path)) !== undefined);

describe('extract over several dates: --from/--to backfill and --catch-up (real stack)', function () {
  this.timeout(300_000);
  // four past days: 30 events, 20, none, 10
  const days = [daysAgo(4), daysAgo(3), daysAgo(2), daysAgo(1)];
  const counts = [30, 20, 0, 10];
  let topic: string;

  before(async () => {
    topic = await createTimeTopic('gp-range', 2);
    await produceRaw(
      topic,
      days.flatMap((d, i) => eventsOn(d, counts[i] as number)),
    );
  });

  const extract = (base: string, ...args: string[]) =>
    runCli(['extract', '--topic', topic, '--base', base, ...args]);

  it('--from/--to lands each date in order, one row a date (an empty date gets its empty manifest); --dry-run writes nothing', async () => {
    const base = `/tmp/gamepipe-test/${uniqueName('range')}`;
    const dry = await extract(
      base,
      '--from',
      days[0] as string,
      '--to',
      days[3] as string,
      '--dry-run',
      '--format',
      'json',
    );
    assert.equal(dry.code, 0, dry.stderr);
    const planned = JSON.parse(dry.stdout) as { dates: Array<{ date: string; records: number }> };
    assert.deepEqual(
      planned.dates.map((d) => [d.date, d.records]),
      days.map((d, i) => [d, counts[i]]),
    );
    assert.equal(
      await exists(manifestPath(base, days[0] as string)),
      false,
      'a dry run writes nothing',
    );

    const res = await extract(base, '--from', days[0] as string, '--to', days[3] as string);
    assert.equal(res.code, 0, res.stderr);
    const rows = res.stdout.split('\n').filter((l) => /^│ \d{4}-/.test(l));
    assert.deepEqual(
      rows.map((l) => l.split('│')[1]?.trim()),
      days,
    );
    for (const [i, d] of days.entries()) {
      assert.ok(await exists(manifestPath(base, d)), `${d} has its manifest`);
      const ids = await lakeEventIds(base, d);
      assert.equal(ids.purchases.length, counts[i]);
    }
  });

  it("--catch-up: from the topic's oldest date on an empty lake, then nothing to do, then on from the newest complete date", async () => {
    const base = `/tmp/gamepipe-test/${uniqueName('catchup')}`;
    const first = await extract(base, '--catch-up', '--format', 'json');
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stderr,
      new RegExp(`the lake is empty; ${topic} holds records from ${days[0]}: 4 date\\(s\\)`),
    );
    const landed = JSON.parse(first.stdout) as { dates: Array<{ date: string; records: number }> };
    assert.deepEqual(
      landed.dates.map((d) => [d.date, d.records]),
      days.map((d, i) => [d, counts[i]]),
    );

    const again = await extract(base, '--catch-up');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`the lake is complete up to ${days[3]}: 0 date\\(s\\)`));
    assert.match(again.stderr, /nothing to extract/);

    // a lake whose newest complete date is older: catch-up goes on from the day after it
    const partial = `/tmp/gamepipe-test/${uniqueName('catchup')}`;
    assert.equal((await extract(partial, '--date', days[1] as string)).code, 0);
    const rest = await extract(partial, '--catch-up', '--format', 'json');
    assert.equal(rest.code, 0, rest.stderr);
    const restDates = (JSON.parse(rest.stdout) as { dates: Array<{ date: string }> }).dates;
    assert.deepEqual(
      restDates.map((d) => d.date),
      days.slice(2),
    );
  });

  it('a date that fails stops the run and says how to resume (exit 1); --keep-going goes on past it', async () => {
    const base = `/tmp/gamepipe-test/${uniqueName('failing')}`;
    // the second date is held by a run on another host
    await foreignLease(base, days[1] as string, Date.now() + 120_000);
    const stopped = await extract(base, '--from', days[0] as string, '--to', days[3] as string);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, new RegExp(`${days[1]}: error GP_DATE_LOCKED`));
    assert.match(
      stopped.stderr,
      new RegExp(
        `stopped at ${days[1]}; 3 date\\(s\\) not done. resume with: gamepipe extract --from ${days[1]} --to ${days[3]}`,
      ),
    );
    assert.ok(await exists(manifestPath(base, days[0] as string)));
    assert.equal(
      await exists(manifestPath(base, days[2] as string)),
      false,
      'nothing after the failure',
    );

    const going = await extract(
      base,
      '--from',
      days[0] as string,
      '--to',
      days[3] as string,
      '--keep-going',
    );
    assert.equal(going.code, 1);
    assert.match(going.stdout, /failed: GP_DATE_LOCKED/);
    for (const d of [days[0], days[2], days[3]] as string[])
      assert.ok(await exists(manifestPath(base, d)));
    assert.equal(await exists(manifestPath(base, days[1] as string)), false);
  });

  it('one way of choosing dates at a time, and a range that runs forwards', async () => {
    const base = `/tmp/gamepipe-test/${uniqueName('usage')}`;
    for (const [args, message] of [
      [['--date', days[0], '--from', days[0]], /give one of --date, --from\/--to and --catch-up/],
      [['--catch-up', '--from', days[0]], /give one of --date, --from\/--to and --catch-up/],
      [['--to', days[0]], /--to needs --from/],
      [
        ['--from', days[3], '--to', days[0]],
        new RegExp(`--to ${days[0]} is before --from ${days[3]}`),
      ],
    ] as Array<[string[], RegExp]>) {
      const res = await extract(base, ...args);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
    }
  });

  it('status shows how fresh the lake is, and warns with exit 4 when Kafka may delete a date not extracted yet', async () => {
    const base = `/tmp/gamepipe-test/${uniqueName('fresh')}`;
    const short = await createTimeTopic('gp-fresh', 1);
    // four days of retention: the oldest waiting date's records may go from today's midnight
    await withAdmin(config, (admin) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: short,
            configEntries: [{ name: 'retention.ms', value: String(4 * 86_400_000) }],
          },
        ],
      }),
    );
    await produceRaw(short, [...eventsOn(days[0] as string, 5), ...eventsOn(days[3] as string, 5)]);
    const status = (...args: string[]) =>
      runCli(['status', '--topic', short, '--base', base, ...args]);
    const risky = await status('--format', 'json');
    assert.equal(risky.code, 4, risky.stderr);
    const lake = (JSON.parse(risky.stdout) as { ok: boolean; lake: Record<string, unknown> }).lake;
    assert.deepEqual(
      [lake.newestComplete, lake.waiting, lake.oldestInKafka, lake.retentionMs, lake.atRisk],
      [null, days, days[0], 4 * 86_400_000, true],
    );
    const table = await status();
    assert.equal(table.code, 4);
    assert.match(
      table.stdout,
      new RegExp(
        `no complete date; 4 closed date\\(s\\) waiting .*Kafka holds records from ${days[0]}, retention 4d`,
      ),
    );
    assert.match(
      table.stderr,
      new RegExp(
        `^warning: ${days[0]} is not extracted and Kafka may delete its records .*run \`gamepipe extract --catch-up\` now`,
        'm',
      ),
    );

    assert.equal(
      (await runCli(['extract', '--topic', short, '--base', base, '--catch-up'])).code,
      0,
    );
    const fresh = await status('--format', 'json');
    assert.equal(fresh.code, 0, fresh.stderr);
    const after = (JSON.parse(fresh.stdout) as { lake: Record<string, unknown> }).lake;
    assert.deepEqual([after.newestComplete, after.waiting, after.atRisk], [days[3], [], false]);
  });
});
