import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { EventKind } from '../../src/lib/events/event.js';
import { manifestPath, outputDir, type Manifest } from '../../src/lib/lake/layout.js';
import { readColumns } from '../../src/lib/lake/reader.js';
import { WebHdfs, withHdfs } from '../../src/lib/hdfs/webhdfs.js';
import {
  checksums,
  createTimeTopic,
  foreignLease,
  freshTopic,
  produceRaw,
  PYTHON,
  runCli,
  stackConfig,
  uniqueName,
  lakeEventIds,
  makeEvent,
  daysAgo,
  extractArgs,
  textError,
} from '../helpers.js';

const config = stackConfig();
const DAYS = [daysAgo(12), daysAgo(11), daysAgo(10)];
const PROVIDERS = ['comcast', 'att', 'google', 'frontier', 'cox', 'earthlink'];
const ITEMS = ['sword', 'shield', 'helmet', 'knife', 'gauntlet'];

interface Planted {
  id: string;
  day: string;
  kind: EventKind;
  value: string;
  key: string;
  ts: number;
}

/** n events on a day, at times spread over the day, in time order. */
function dayOfEvents(day: string, n: number, seed: number): Planted[] {
  const start = Date.parse(`${day}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => {
    const ts = start + Math.floor(((i + 0.5) / n) * 86_400_000);
    const kind: EventKind = (i + seed) % 4 === 0 ? 'join_guild' : 'purchase';
    const host = `user${(i % 99) + 1}.${PROVIDERS[(i + seed) % 6]}.com`;
    const e = makeEvent({
      kind,
      item: kind === 'purchase' ? ITEMS[(i * 7 + seed) % 5] : undefined,
      headers: { Host: host, 'User-Agent': 'test', Accept: '*/*' },
      metadata:
        kind === 'purchase'
          ? { price: 4.99, currency: 'USD', quantity: 1 + (i % 3) }
          : { guild_id: 'g01', guild_name: 'Iron Wolves' },
      now: new Date(ts),
    });
    return { id: e.event_id, day, kind, value: JSON.stringify(e), key: host, ts };
  });
}

async function manifest(base: string, date: string): Promise<Manifest | undefined> {
  return withHdfs(config, async (hdfs) => {
    const s = await hdfs.stat(manifestPath(base, date));
    return s
      ? (JSON.parse((await hdfs.read(manifestPath(base, date))).toString()) as Manifest)
      : undefined;
  });
}

async function tree(path: string): Promise<string[]> {
  return withHdfs(config, async (hdfs) => {
    if (!(await hdfs.stat(path))) return [];
    return (await hdfs.list(path, { recursive: true })).map((e) => e.path.slice(path.length));
  });
}

describe('extract: a day from Kafka to Parquet on HDFS (real broker and HDFS)', function () {
  this.timeout(300_000);
  let topic: string;
  let base: string;
  const planted: Planted[] = [];
  const extractIn = (env: NodeJS.ProcessEnv, date: string, ...extra: string[]) =>
    runCli(extractArgs(date, topic, base, '--format', 'json', ...extra), { env });
  const extract = (date: string, ...extra: string[]) => extractIn({}, date, ...extra);

  before(async () => {
    topic = await createTimeTopic('gp-extract', 3);
    base = `/tmp/gamepipe-test/${uniqueName('lake')}`;
    DAYS.forEach((d, i) => planted.push(...dayOfEvents(d, [300, 500, 200][i] as number, i)));
    await produceRaw(
      topic,
      planted.map((p) => ({ key: p.key, value: p.value, timestampMs: p.ts })),
    );
  });

  it('the middle day gives exact counts per type and none from its neighbours', async () => {
    const res = await extract(DAYS[1] as string);
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as {
      records: number;
      outputs: Record<string, { rows: number; files: unknown[] }>;
      ranges: unknown[];
      dayClosed: boolean;
    };
    const day = planted.filter((p) => p.day === DAYS[1]);
    const purchases = day
      .filter((p) => p.kind === 'purchase')
      .map((p) => p.id)
      .sort();
    const guild = day
      .filter((p) => p.kind === 'join_guild')
      .map((p) => p.id)
      .sort();
    assert.equal(r.records, 500);
    assert.equal(r.outputs.purchases?.rows, purchases.length);
    assert.equal(r.outputs.join_guild?.rows, guild.length);
    assert.equal(r.outputs._rejected?.rows, 0);
    assert.equal(r.ranges.length, 3);
    assert.equal(r.dayClosed, true);
    const ids = await lakeEventIds(base, DAYS[1] as string);
    assert.deepEqual(ids.purchases.sort(), purchases);
    assert.deepEqual(ids.join_guild.sort(), guild);
    const m = await manifest(base, DAYS[1] as string);
    assert.equal(m?.records, 500);
    assert.equal(m?.outputs.purchases.rows, purchases.length);
    assert.equal(m?.outputs.purchases.files.length, 3, 'one file a partition');
    for (const f of m?.outputs.purchases.files ?? [])
      assert.match(f.name, /^events\+\d\+\d+\+\d+\.parquet$/);
    assert.deepEqual(await tree(`${base}/_staging`), []);
  });

  it('a rerun is byte-identical', async () => {
    const before = {
      p: await checksums(outputDir(base, 'purchases', DAYS[1] as string)),
      g: await checksums(outputDir(base, 'join_guild', DAYS[1] as string)),
    };
    assert.equal(Object.keys(before.p).length, 3);
    const res = await extract(DAYS[1] as string);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(await checksums(outputDir(base, 'purchases', DAYS[1] as string)), before.p);
    assert.deepEqual(await checksums(outputDir(base, 'join_guild', DAYS[1] as string)), before.g);
  });

  it('progress on stderr (a line every few seconds when it is not a terminal); --quiet prints only the data, --verbose each phase; data stays on stdout', async () => {
    const day = DAYS[1] as string;
    // not a terminal, a line at most every GAMEPIPE_PROGRESS_SECONDS: here, every time
    const lines = await extractIn({ GAMEPIPE_PROGRESS_SECONDS: '0.001' }, day);
    assert.equal(lines.code, 0, lines.stderr);
    assert.match(
      lines.stderr,
      /^\[\s+\d+s\] extracting \S+ from \S+: [\d,]+\/500 records \(\d+%\)/m,
    );
    JSON.parse(lines.stdout);
    // text: the sentence is a status line (stderr), the tables are the data (stdout)
    const text = await runCli(extractArgs(day, topic, base));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stderr, new RegExp(`^${day}: landed 500 record\\(s\\)`, 'm'));
    assert.doesNotMatch(text.stdout, /landed/);
    assert.match(text.stdout, /│ partition │ start offset/);
    const quiet = await runCli(extractArgs(day, topic, base, '--quiet'));
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    assert.equal(quiet.stdout, text.stdout);
    const verbose = await runCli(extractArgs(day, topic, base, '-v'));
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.match(verbose.stderr, /^\[\s+0s\] extracting \S+ from \S+\n/m);
    const both = await runCli(extractArgs(day, topic, base, '-q', '-v'));
    assert.equal(both.code, 2);
    assert.match(both.stderr, /GP_USAGE: --quiet and --verbose contradict each other/);
  });

  it('kill -9 at any point leaves the previous complete output or none; the rerun is exact and leaves no staging', async () => {
    const date = DAYS[1] as string;
    // small row groups, so a crash can hit between two of them; the same setting for every run
    const small = ['--row-group-rows', '50'];
    assert.equal((await extract(date, ...small)).code, 0);
    const good = {
      p: await checksums(outputDir(base, 'purchases', date)),
      g: await checksums(outputDir(base, 'join_guild', date)),
    };
    for (const point of [
      'row-group',
      'file-closed',
      'staged',
      'published-purchases',
      'published-join_guild',
      'published-_rejected',
    ]) {
      const crashed = await runCli(extractArgs(date, topic, base, ...small), {
        env: { GAMEPIPE_TEST_CRASH_AT: point },
      });
      assert.notEqual(crashed.code, 0, `${point}: the run was killed`);
      // at the final paths: each output is the previous complete one or absent, never a part
      for (const [o, want] of [
        ['purchases', good.p],
        ['join_guild', good.g],
      ] as const) {
        const now = await checksums(outputDir(base, o, date));
        assert.ok(
          Object.keys(now).length === 0 || JSON.stringify(now) === JSON.stringify(want),
          `${point}: ${o} holds ${Object.keys(now).length} file(s) that differ from the complete output`,
        );
      }
      const m = await manifest(base, date);
      if (point.startsWith('published'))
        assert.equal(m, undefined, `${point}: no manifest while publishing`);
      const rerun = await extract(date, ...small);
      assert.equal(rerun.code, 0, `${point}: rerun: ${rerun.stderr}`);
      assert.deepEqual(
        await checksums(outputDir(base, 'purchases', date)),
        good.p,
        `${point}: rerun output`,
      );
      assert.deepEqual(
        await checksums(outputDir(base, 'join_guild', date)),
        good.g,
        `${point}: rerun output`,
      );
      assert.deepEqual(await tree(`${base}/_staging`), [], `${point}: staging left`);
      assert.deepEqual(await tree(`${base}/_trash`), [], `${point}: trash left`);
      assert.equal((await manifest(base, date))?.records, 500);
    }
  });

  it('garbage records land in _rejected with their reasons; good ones of the day land; duplicates are kept once', async () => {
    const day = daysAgo(9);
    const t = Date.parse(`${day}T12:00:00Z`);
    const good = dayOfEvents(day, 20, 5);
    const dup = good[3] as Planted;
    const garbage: Array<[string | Buffer, string]> = [
      ['this is not json', 'not JSON'],
      [Buffer.from([0xff, 0xfe, 0x00, 0x01]), 'not valid UTF-8'],
      ['[1,2,3]', 'not a JSON object'],
      [
        `{"event_type":"dance","event_id":"x","timestamp":"${day}T12:00:00Z"}`,
        'unknown event_type',
      ],
      [`{"event_type":"join_guild","timestamp":"${day}T12:00:00Z"}`, 'missing or invalid event_id'],
      [
        '{"event_type":"knife purchased","event_id":"y","timestamp":"yesterday"}',
        'missing or invalid timestamp',
      ],
      [
        `{"event_type":"knife purchased","event_id":"z","timestamp":"${day}T12:00:00Z","Host":"user1.att.com","price":"free"}`,
        'price must be',
      ],
      [
        `{"event_type":"join_guild","event_id":"w","timestamp":"${day}T12:00:00Z","Host":42}`,
        'Host must be a string',
      ],
    ];
    await produceRaw(topic, [
      ...good.map((p) => ({ key: p.key, value: p.value, timestampMs: t })),
      ...garbage.map(([value], i) => ({ key: `junk${i}`, value, timestampMs: t + 1 })),
      { key: dup.key, value: dup.value, timestampMs: t + 2 },
    ]);
    const res = await extract(day);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, new RegExp(`warning: 8 record\\(s\\) of ${day} are not valid events`));
    const r = JSON.parse(res.stdout) as {
      rejected: number;
      duplicates: number;
      outputs: Record<string, { rows: number }>;
    };
    assert.equal(r.rejected, 8);
    assert.equal(r.duplicates, 1);
    assert.equal((r.outputs.purchases?.rows ?? 0) + (r.outputs.join_guild?.rows ?? 0), 20);
    const ids = await lakeEventIds(base, day);
    assert.deepEqual([...ids.purchases, ...ids.join_guild].sort(), good.map((g) => g.id).sort());
    await withHdfs(config, async (hdfs) => {
      const dir = outputDir(base, '_rejected', day);
      const reasons: string[] = [];
      const raws: string[] = [];
      for (const f of await hdfs.listStatus(dir)) {
        const { data } = await readColumns(hdfs, `${dir}/${f.pathSuffix}`, [
          'reason',
          'raw',
          'kafka_offset',
        ]);
        reasons.push(...Array.from(data.reason as ArrayLike<string>));
        raws.push(...Array.from(data.raw as ArrayLike<string>));
      }
      assert.equal(reasons.length, 8);
      for (const [value, reason] of garbage) {
        if (typeof value === 'string') {
          const i = raws.indexOf(value);
          assert.ok(i >= 0, `rejected record ${value} is kept raw`);
          assert.ok(
            reasons[i]?.startsWith(reason),
            `${value}: reason ${reasons[i]} starts with ${reason}`,
          );
        }
      }
    });
  });

  it('gzip batches are read; an aborted transaction is skipped and a committed one lands (read_committed)', async function () {
    const { CompressionTypes } = await import('kafkajs');
    const { createKafka } = await import('../../src/lib/kafka/admin.js');
    // transaction markers carry the broker's clock: only with LogAppendTime (the events topic's
    // setting) are record times in order, so this test uses such a topic and today's date
    const own = await freshTopic('gp-test-tx', 2);
    const day = new Date().toISOString().slice(0, 10);
    type Msgs = Array<{ key: string; value: string }>;
    const [zipped, aborted, committed] = [0, 1, 2].map((k) =>
      dayOfEvents(day, 30, k).map((p) => ({ key: p.key, value: p.value })),
    ) as Array<Array<{ key: string; value: string }>> as [Msgs, Msgs, Msgs];
    const kafka = createKafka({ brokers: config.brokers });
    const plain = kafka.producer({ idempotent: true });
    await plain.connect();
    await plain.send({
      topic: own,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: zipped,
    });
    await plain.disconnect();
    const tx = kafka.producer({
      transactionalId: uniqueName('gp-test-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await tx.connect();
    const a = await tx.transaction();
    await a.send({ topic: own, messages: aborted });
    await a.abort();
    const c = await tx.transaction();
    await c.send({ topic: own, messages: committed });
    await c.commit();
    await tx.disconnect();
    if (new Date().toISOString().slice(0, 10) !== day) this.skip(); // midnight UTC passed
    const res = await runCli(extractArgs(day, own, base, '--format', 'json'));
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as { records: number; rejected: number };
    assert.equal(r.rejected, 0);
    assert.equal(r.records, 60);
    const ids = await lakeEventIds(base, day);
    const idOf = (v: { value: string }): string =>
      (JSON.parse(v.value) as { event_id: string }).event_id;
    assert.deepEqual(
      [...ids.purchases, ...ids.join_guild].sort(),
      [...zipped, ...committed].map(idOf).sort(),
    );
  });

  it('an id in two partitions is kept once, in the lower partition, whatever order the threads read them in', async () => {
    const { partitionForKey } = await import('../../src/lib/kafka/partitioner.js');
    const day = daysAgo(7);
    const t = Date.parse(`${day}T09:00:00Z`);
    const events = dayOfEvents(day, 40, 7);
    const twin = events[5] as Planted;
    const home = partitionForKey(Buffer.from(twin.key), 3);
    let other = 0;
    while (partitionForKey(Buffer.from(`elsewhere${other}`), 3) === home) other++;
    const away = `elsewhere${other}`;
    await produceRaw(topic, [
      ...events.map((p) => ({ key: p.key, value: p.value, timestampMs: t })),
      { key: away, value: twin.value, timestampMs: t + 1 },
    ]);
    const runs: Array<{ sums: Record<string, string>; partitions: number[] }> = [];
    // in reverse order on one thread the higher partition keeps the id first and must give it up
    const reverse = {
      GAMEPIPE_TEST_PARTITION_ORDER: 'reverse',
      GAMEPIPE_TEST_JOBS_PER_THREAD: '1',
    };
    for (const env of [{}, reverse]) {
      const res = await extractIn(env, day, '--threads', '1');
      assert.equal(res.code, 0, res.stderr);
      const r = JSON.parse(res.stdout) as { duplicates: number; records: number };
      assert.deepEqual([r.records, r.duplicates], [41, 1]);
      const ids = await lakeEventIds(base, day);
      const all = [...ids.purchases, ...ids.join_guild];
      assert.equal(all.filter((id) => id === twin.id).length, 1);
      assert.equal(all.length, 40);
      const dir = outputDir(base, twin.kind === 'purchase' ? 'purchases' : 'join_guild', day);
      const partitions = await withHdfs(config, async (hdfs) => {
        const found: number[] = [];
        for (const f of await hdfs.listStatus(dir)) {
          const { data } = await readColumns(hdfs, `${dir}/${f.pathSuffix}`, [
            'event_id',
            'kafka_partition',
          ]);
          const idsIn = Array.from(data.event_id as ArrayLike<string>);
          const ps = Array.from(data.kafka_partition as ArrayLike<number>);
          idsIn.forEach((id, i) => id === twin.id && found.push(ps[i] as number));
        }
        return found;
      });
      runs.push({ sums: await checksums(dir), partitions });
    }
    const lower = Math.min(home, partitionForKey(Buffer.from(away), 3));
    assert.deepEqual(runs[0]?.partitions, [lower]);
    assert.deepEqual(runs[1]?.partitions, [lower]);
    assert.deepEqual(runs[1]?.sums, runs[0]?.sums, 'both orders write the same bytes');
  });

  it('an empty day writes an empty, complete manifest and says so', async () => {
    const empty = daysAgo(22);
    const res = await runCli(extractArgs(empty, topic, base));
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, new RegExp(`no events on ${empty}: an empty, complete manifest`));
    const m = await manifest(base, empty);
    assert.equal(m?.records, 0);
    assert.deepEqual(m?.outputs.purchases, { rows: 0, files: [] });
  });

  it('--dry-run prints ranges and counts and writes nothing', async () => {
    const res = await extract(DAYS[2] as string, '--dry-run');
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as { records: number; dryRun: boolean };
    assert.deepEqual([r.records, r.dryRun], [200, true]);
    assert.equal(await manifest(base, DAYS[2] as string), undefined);
    assert.deepEqual(await tree(outputDir(base, 'purchases', DAYS[2] as string)), []);
  });

  it('pyarrow and DuckDB read the files with the expected columns and types', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp-read-'));
    await withHdfs(config, async (hdfs) => {
      for (const o of ['purchases', 'join_guild'] as const) {
        const src = outputDir(base, o, DAYS[1] as string);
        const dst = join(dir, o, `date=${DAYS[1]}`);
        mkdirSync(dst, { recursive: true });
        for (const f of await hdfs.listStatus(src))
          writeFileSync(join(dst, f.pathSuffix), await hdfs.read(`${src}/${f.pathSuffix}`));
      }
    });
    const py = execFileSync(
      PYTHON,
      [
        '-c',
        `import json, sys, pyarrow.dataset as ds
out = {}
for o in ['purchases', 'join_guild']:
    t = ds.dataset(sys.argv[1] + '/' + o, format='parquet', partitioning='hive').to_table()
    out[o] = {'rows': t.num_rows, 'types': {f.name: str(f.type) for f in t.schema}}
print(json.dumps(out))`,
        dir,
      ],
      { encoding: 'utf8' },
    );
    const arrow = JSON.parse(py) as Record<string, { rows: number; types: Record<string, string> }>;
    const p = arrow.purchases as { rows: number; types: Record<string, string> };
    const day = planted.filter((x) => x.day === DAYS[1]);
    assert.equal(p.rows, day.filter((x) => x.kind === 'purchase').length);
    assert.deepEqual(
      [
        p.types.event_id,
        p.types.event_type,
        p.types.timestamp,
        p.types.Host,
        p.types['User-Agent'],
        p.types.Accept,
        p.types.item,
        p.types.price,
        p.types.currency,
        p.types.quantity,
        p.types.kafka_partition,
        p.types.kafka_offset,
        p.types.kafka_timestamp,
      ],
      [
        'string',
        'string',
        'timestamp[ms, tz=UTC]',
        'string',
        'string',
        'string',
        'string',
        'double',
        'string',
        'int32',
        'int32',
        'int64',
        'timestamp[ms, tz=UTC]',
      ],
    );
    assert.ok(p.types.date, 'the Hive folder gives a date column');
    assert.equal(arrow.join_guild?.types.guild_id, 'string');

    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    try {
      const described = await conn.runAndReadAll(
        `DESCRIBE SELECT * FROM read_parquet('${dir}/purchases/*/*.parquet', hive_partitioning = true)`,
      );
      const types = Object.fromEntries(
        described.getRowObjects().map((r) => [String(r.column_name), String(r.column_type)]),
      );
      assert.equal(types.timestamp, 'TIMESTAMP WITH TIME ZONE');
      assert.equal(types.price, 'DOUBLE');
      assert.equal(types.quantity, 'INTEGER');
      assert.equal(types.kafka_offset, 'BIGINT');
      assert.equal(types.event_type, 'VARCHAR');
      const counted = await conn.runAndReadAll(
        `SELECT event_type, count(*) AS n FROM read_parquet('${dir}/purchases/*/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1`,
      );
      const total = counted.getRowObjects().reduce((n, r) => n + Number(r.n), 0);
      assert.equal(total, p.rows);
    } finally {
      conn.closeSync();
    }
  });

  it('a topic that does not exist is GP_TOPIC_NOT_FOUND, and nothing is written', async () => {
    const missing = uniqueName('gp-no-such-topic');
    const res = await runCli([
      'extract',
      '--date',
      DAYS[0] as string,
      '--topic',
      missing,
      '--base',
      base,
    ]);
    assert.equal(res.code, 1);
    assert.match(
      textError(res.stderr),
      /GP_TOPIC_NOT_FOUND: topic gp-no-such-topic\S* does not exist/,
    );
    assert.match(textError(res.stderr), /--topic/);
  });

  it('bad dates and a base that is a file give their coded errors', async () => {
    const future = await runCli(extractArgs('2099-01-01', topic, base));
    assert.equal(future.code, 1);
    assert.match(textError(future.stderr), /^gamepipe: error GP_DATE_IN_FUTURE: /);
    const bad = await runCli(extractArgs('2026-02-30', topic, base));
    assert.match(textError(bad.stderr), /^gamepipe: error GP_BAD_DATE: "2026-02-30" is not a date/);
    const hdfs = new WebHdfs({ url: config.webhdfsUrl, user: config.hdfsUser });
    const file = `${base}-file`;
    await hdfs.create(file, 'not a directory', { overwrite: true });
    await hdfs.close();
    const onFile = await runCli([
      'extract',
      '--date',
      DAYS[0] as string,
      '--topic',
      topic,
      '--base',
      file,
    ]);
    assert.equal(onFile.code, 1);
    assert.match(
      textError(onFile.stderr),
      new RegExp(`^gamepipe: error GP_HDFS_NOT_DIRECTORY: the lake base ${file} is a file`),
    );
    const noKafka = await extract(DAYS[0] as string, '--brokers', '127.0.0.1:1');
    assert.match(textError(noKafka.stderr), /^gamepipe: error GP_KAFKA_UNAVAILABLE: /);
    const noHdfs = await extract(DAYS[0] as string, '--webhdfs-url', 'http://127.0.0.1:1');
    assert.match(textError(noHdfs.stderr), /^gamepipe: error GP_HDFS_UNAVAILABLE: /);
  });
});

describe('extract: one run owns a date; a split day reruns byte-identical; invalid records are rejected (real stack)', function () {
  this.timeout(600_000);
  let topic: string;
  let base: string;
  const day = daysAgo(12);
  const events = dayOfEvents(day, 400, 3);
  const cmd = (date: string, ...extra: string[]): string[] =>
    extractArgs(date, topic, base, '--format', 'json', ...extra);
  const exists = (path: string): Promise<boolean> =>
    withHdfs(config, async (hdfs) => (await hdfs.stat(path)) !== undefined);

  before(async () => {
    topic = await createTimeTopic('gp-lease', 3);
    base = `/tmp/gamepipe-test/${uniqueName('lake')}`;
    await produceRaw(
      topic,
      events.map((p) => ({ key: p.key, value: p.value, timestampMs: p.ts })),
    );
  });

  it('a second run of the same date exits at once with GP_DATE_LOCKED naming the first, which completes untouched', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('../helpers.js');
    const { leasePath } = await import('../../src/lib/lake/lease.js');
    const first = spawn(process.execPath, [BIN, ...cmd(day)], {
      env: { ...process.env, GAMEPIPE_TEST_PAUSE_MS: '4000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    first.stdout.on('data', (d: Buffer) => (out += d.toString()));
    first.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const done = new Promise<number>((r) => first.on('close', (c) => r(c ?? -1)));
    for (let i = 0; i < 100 && !(await exists(leasePath(base, day))); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = Date.now();
    const second = await runCli(cmd(day));
    assert.equal(second.code, 1, second.stderr);
    assert.match(
      textError(second.stderr),
      new RegExp(`GP_DATE_LOCKED: ${day} is being extracted by another run: .*pid ${first.pid}`),
    );
    assert.ok(Date.now() - t0 < 3_000, `the refused run took ${Date.now() - t0} ms`);
    assert.equal(await done, 0, err);
    const r = JSON.parse(out) as { records: number };
    assert.equal(r.records, 400);
    const ids = await lakeEventIds(base, day);
    assert.deepEqual([...ids.purchases, ...ids.join_guild].sort(), events.map((e) => e.id).sort());
    assert.ok(await manifest(base, day));
    assert.equal(await exists(leasePath(base, day)), false, 'the lease is released');
  });

  it('plain overlaps (start, 1 s, start again): one lands, the other is refused, none fails otherwise', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('../helpers.js');
    for (let round = 0; round < 3; round++) {
      const a = spawn(process.execPath, [BIN, ...cmd(day)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let aErr = '';
      a.stderr.on('data', (d: Buffer) => (aErr += d.toString()));
      const aDone = new Promise<number>((r) => a.on('close', (c) => r(c ?? -1)));
      await new Promise((r) => setTimeout(r, 300 * round));
      const b = await runCli(cmd(day));
      const aCode = await aDone;
      const codes = [aCode, b.code].sort();
      // both may land one after the other; at most one is refused, and only with GP_DATE_LOCKED
      for (const [code, stderr] of [
        [aCode, aErr],
        [b.code, b.stderr],
      ] as const) {
        if (code !== 0) assert.match(textError(stderr), /GP_DATE_LOCKED/, stderr);
      }
      assert.ok(codes[0] === 0, `round ${round}: neither run landed`);
      const ids = await lakeEventIds(base, day);
      assert.equal(ids.purchases.length + ids.join_guild.length, 400);
      assert.ok(await manifest(base, day));
    }
  });

  it('a run killed while holding the lease: the next run takes over (dead pid here, or after expiry elsewhere)', async () => {
    const { leasePath } = await import('../../src/lib/lake/lease.js');
    const killed = await runCli(cmd(day, '--lease-ttl', '2s'), {
      env: { GAMEPIPE_TEST_CRASH_AT: 'staged' },
    });
    assert.notEqual(killed.code, 0);
    assert.ok(await exists(leasePath(base, day)), 'the killed run left its lease');
    // same host, dead pid: certain, so no wait
    const next = await runCli(cmd(day));
    assert.equal(next.code, 0, next.stderr);
    // a lease of a run on another host: refused until it expires, then taken over
    const expiresAtMs = Date.now() + 3_000;
    await foreignLease(base, day, expiresAtMs);
    const refused = await runCli(cmd(day));
    assert.equal(refused.code, 1);
    assert.match(textError(refused.stderr), /GP_DATE_LOCKED: .*cron@batch-7\.example pid 4242/);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAtMs - Date.now()) + 200));
    const after = await runCli(cmd(day));
    assert.equal(after.code, 0, after.stderr);
    const ids = await lakeEventIds(base, day);
    assert.equal(ids.purchases.length + ids.join_guild.length, 400);
    assert.equal(await exists(leasePath(base, day)), false);
  });

  it('records that are not valid are rejected with the reasons the API would give', async () => {
    const date = daysAgo(11);
    const t = Date.parse(`${date}T10:00:00Z`);
    const ok = dayOfEvents(date, 5, 1);
    const base0 = JSON.parse(ok[0]?.value ?? '{}') as Record<string, unknown>;
    const variant = (patch: Record<string, unknown>, id: string): string =>
      JSON.stringify({ ...base0, ...patch, event_id: id });
    const bad: Array<[string | Buffer, string]> = [
      [variant({ timestamp: '2026-02-30T00:00:00Z' }, 'bad-1'), 'missing or invalid timestamp'],
      [variant({ timestamp: `${date}T24:00:00Z` }, 'bad-2'), 'missing or invalid timestamp'],
      [variant({ Host: 'x'.repeat(500_000) }, 'bad-3'), 'Host is longer than 255'],
      [variant({ Host: 'us\u00e9r1.att.com' }, 'bad-4'), 'Host must be a host name'],
      [
        // a lone surrogate, as JSON writes it
        variant({ Host: 'user1.att.com' }, 'bad-5').replace(
          '"user1.att.com"',
          '"us\\ud800r1.att.com"',
        ),
        'Host must be a host name',
      ],
      [
        variant({ 'User-Agent': 'PLACEHOLDER' }, 'bad-6').replace('PLACEHOLDER', '\\udc00'),
        'User-Agent is not valid Unicode',
      ],
      [
        // é as the one Latin-1 byte 0xE9, which is not UTF-8
        Buffer.from(
          variant({ Host: 'user1.att.com' }, 'bad-7').replace(
            'user1.att.com',
            'us\u00e9r1.att.com',
          ),
          'latin1',
        ),
        'not valid UTF-8',
      ],
    ];
    await produceRaw(topic, [
      ...ok.map((p) => ({ key: p.key, value: p.value, timestampMs: t })),
      ...bad.map(([value], i) => ({ key: `bad${i}`, value, timestampMs: t + 1 })),
    ]);
    const res = await runCli(cmd(date));
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as { rejected: number; records: number };
    assert.deepEqual([r.records, r.rejected], [5 + bad.length, bad.length]);
    const ids = await lakeEventIds(base, date);
    assert.deepEqual([...ids.purchases, ...ids.join_guild].sort(), ok.map((e) => e.id).sort());
    const reasons = await withHdfs(config, async (hdfs) => {
      const dir = outputDir(base, '_rejected', date);
      const out: string[] = [];
      for (const f of await hdfs.listStatus(dir)) {
        const { data } = await readColumns(hdfs, `${dir}/${f.pathSuffix}`, ['reason']);
        out.push(...Array.from(data.reason as ArrayLike<string>));
      }
      return out.sort();
    });
    const want = bad.map(([, reason]) => reason).sort();
    assert.equal(reasons.length, want.length);
    for (const w of want)
      assert.ok(
        reasons.some((x) => x.startsWith(w)),
        `no reason starting ${w} in ${reasons.join(' | ')}`,
      );
  });

  it('a day split into parts (> 250,000 records in a partition) reruns byte-identical, whatever the thread count', async () => {
    const big = await createTimeTopic('gp-split', 1);
    const date = daysAgo(10);
    const start = Date.parse(`${date}T00:00:00Z`);
    const n = 260_000;
    const records = Array.from({ length: n }, (_, i) => {
      const e = makeEvent({
        kind: i % 4 === 0 ? 'join_guild' : 'purchase',
        item: i % 4 === 0 ? undefined : ITEMS[i % 5],
        headers: { Host: `user${(i % 99) + 1}.${PROVIDERS[i % 6]}.com`, 'User-Agent': 'test' },
        now: new Date(start + Math.floor((i / n) * 86_000_000)),
      });
      return { key: e.Host, value: JSON.stringify(e), timestampMs: Date.parse(e.timestamp) };
    });
    await produceRaw(big, records);
    const splitBase = `/tmp/gamepipe-test/${uniqueName('split')}`;
    const sums: Array<Record<string, string>> = [];
    for (const threads of ['1', '2', '4']) {
      const res = await runCli(
        extractArgs(date, big, splitBase, '--threads', threads, '--format', 'json'),
      );
      assert.equal(res.code, 0, res.stderr);
      const files = await checksums(outputDir(splitBase, 'purchases', date));
      assert.ok(
        Object.keys(files).length >= 2,
        `the day was not split: ${Object.keys(files).join(', ')}`,
      );
      sums.push({ ...files, ...(await checksums(outputDir(splitBase, 'join_guild', date))) });
    }
    assert.deepEqual(sums[1], sums[0]);
    assert.deepEqual(sums[2], sums[0]);
  });
});
