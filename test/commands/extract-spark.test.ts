/**
 * extract --engine spark against the embedded engine, on the real stack with Spark in local[2]
 * (pyspark from the project's .venv, set up by `npm test`): the same topic, garbage included,
 * lands the same files with the same rows, the same rejections with the same reasons, and verify
 * passes on both; a Spark job killed midway leaves the published date as it was.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { withHdfs } from '../../src/lib/hdfs/webhdfs.js';
import { manifestPath, outputDir, OUTPUTS, stagingDir } from '../../src/lib/lake/layout.js';
import { readColumns } from '../../src/lib/lake/reader.js';
import { OUTPUT_COLUMNS } from '../../src/lib/lake/rows.js';
import {
  checksums,
  createTimeTopic,
  daysAgo,
  extractArgs,
  makeEvent,
  produceRaw,
  runCli,
  stackConfig,
  uniqueName,
} from '../helpers.js';

const PROVIDERS = ['comcast', 'att', 'google', 'cox'];
const ITEMS = ['sword', 'knife', 'shield'];

/** Valid events of a day, some of them sent twice (the copies in another partition, or later). */
function validRecords(date: string, n: number): Array<{ key: string; value: string; id: string }> {
  const start = Date.parse(`${date}T00:00:00Z`);
  const out = Array.from({ length: n }, (_, i) => {
    const host = `user${i % 37}.${PROVIDERS[i % 4]}.com${i % 11 === 0 ? ':8080' : ''}`;
    const purchase = i % 3 !== 0;
    const e = makeEvent({
      kind: purchase ? 'purchase' : 'join_guild',
      item: purchase ? ITEMS[i % 3] : undefined,
      headers: { Host: host, ...(i % 5 ? { 'User-Agent': `game/1.${i % 4}` } : {}), Accept: '*/*' },
      metadata: purchase
        ? {
            price: [4.99, 10000, 0.1, 1e9, 0][i % 5],
            currency: i % 7 === 0 ? null : i % 2 ? 'USD' : 'JPY',
            quantity: i % 4 === 0 ? undefined : 1 + (i % 3),
            ...(i % 6 === 1 && { user_id: `p-${i}` }),
          }
        : { guild_id: `g${i % 9}`, ...(i % 2 === 0 && { guild_name: 'Iron Wolves ⚔' }) },
      now: new Date(start + 1000 + i * 997),
    });
    return { key: host, value: JSON.stringify(e), id: e.event_id };
  });
  // copies: the same event_id again, under another key (another partition) and the same key
  const copies = out
    .filter((_, i) => i % 17 === 0)
    .map((r, j) => ({ ...r, key: j % 2 ? r.key : `other-${j}` }));
  return [...out, ...copies];
}

/** Records no engine may land as events, each with something a naive port would get wrong. */
function garbage(date: string): Array<{ key: string | null; value: string | Buffer | null }> {
  const ok = JSON.parse(
    JSON.stringify(
      makeEvent({
        kind: 'purchase',
        item: 'sword',
        headers: { Host: 'user1.att.com' },
        metadata: { price: 1, currency: 'USD', quantity: 1 },
        now: new Date(`${date}T12:00:00Z`),
      }),
    ),
  ) as Record<string, unknown>;
  const v = (patch: Record<string, unknown>): string => JSON.stringify({ ...ok, ...patch });
  const values: Array<string | Buffer | null> = [
    'this is not json',
    '',
    null,
    '[1, 2, 3]',
    '"a string"',
    '42',
    'null',
    '{"event_type": NaN}',
    '\uFEFF' + v({}),
    Buffer.from([0x7b, 0xc3, 0x28, 0x7d]),
    Buffer.concat([Buffer.from(v({}).slice(0, -1)), Buffer.from([0xf0, 0x80, 0x80, 0x7d])]),
    v({ event_type: undefined }),
    v({ event_type: 7 }),
    v({ event_type: 'dance' }),
    v({ event_type: `${'x'.repeat(100)} purchased` }),
    v({ event_type: 'sw\u00f6rd purchased' }),
    v({ event_type: '"quoted"\n\u0001 purchased!' }),
    v({ event_id: '' }),
    v({ event_id: 'x'.repeat(129) }),
    v({ event_id: 12 }),
    v({ timestamp: `${date}T12:00:00` }),
    v({ timestamp: `${date} 12:00:00Z` }),
    v({ timestamp: `${date.slice(0, 5)}02-30T00:00:00Z` }),
    v({ timestamp: `${date}T24:00:00Z` }),
    v({ timestamp: `${date}T12:00:00+24:00` }),
    v({ timestamp: `${date}T12:00:60Z` }),
    // Date.UTC reads year 0 as 1900, which has no 29 February
    v({ timestamp: '0000-02-29T00:00:00Z' }),
    v({ timestamp: '\u0661\u0669\u0667\u0660-01-01T00:00:00Z' }),
    v({ schema_version: 2 }),
    v({ schema_version: '1' }),
    v({ schema_version: 1.5e-7 }),
    v({ schema_version: 1e21 }),
    v({ schema_version: 'BIG' }).replace('"BIG"', '123456789012345678901234567890'),
    v({ schema_version: true }),
    v({ schema_version: null }),
    v({ schema_version: [1] }),
    v({ schema_version: { v: 1 } }),
    v({ schema_version: 'ü'.repeat(70) }),
    v({ schema_version: '\ud83d\ude00'.repeat(40) }),
    v({ Host: undefined }),
    v({ Host: '' }),
    v({ Host: 5 }),
    v({ Host: 'h'.repeat(256) }),
    v({ Host: 'user 1.att.com' }),
    v({ Host: 'us\u00e9r.att.com' }),
    v({ Host: 'user1.att.com:123456' }),
    v({ 'User-Agent': null }),
    v({ 'User-Agent': 'a'.repeat(257) }),
    v({ Accept: ['*/*'] }),
    v({ 'User-Agent': 'PLACEHOLDER' }).replace('PLACEHOLDER', '\\udc00'),
    v({ item: 'knife' }),
    v({ item: null }),
    v({ price: '4.99' }),
    v({ price: -1 }),
    v({ price: 1e9 + 1 }),
    v({ price: true }),
    v({ currency: 'usd' }),
    v({ currency: 'USDX' }),
    v({ quantity: 1.5 }),
    v({ quantity: 0 }),
    v({ quantity: 1000001 }),
    v({ quantity: '2' }),
    v({ user_id: '' }),
    v({ user_id: 'u'.repeat(129) }),
    v({ event_type: 'join_guild', guild_id: 'g'.repeat(65) }),
    v({ event_type: 'join_guild', guild_name: 42 }),
    v({}).replace('"price":1', '"price":1e400'),
    v({}).replace('"quantity":1', '"quantity":1e400'),
  ];
  return values.map((value, i) => ({ key: i % 4 === 0 ? null : `junk-\u00e9-${i}`, value }));
}

/** Valid events that sit on the edges of the rules: both engines must land them alike. */
function edgeEvents(date: string): Array<{ key: string; value: string; id: string }> {
  const base = {
    event_type: 'sword purchased',
    Host: 'user2.cox.com',
    schema_version: 1,
  };
  const mk = (
    i: number,
    patch: Record<string, unknown>,
  ): { key: string; value: string; id: string } => {
    const id = `edge-${i}-${date}`;
    return {
      key: 'edge',
      id,
      value: JSON.stringify({
        ...base,
        event_id: id,
        timestamp: `${date}T01:02:03.456Z`,
        ...patch,
      }),
    };
  };
  return [
    mk(1, { timestamp: `${date}T23:30:00.999999999-05:30` }),
    mk(2, { timestamp: `${date}T00:00:00+19:00` }),
    mk(3, { timestamp: `${date}T12:00:00.1Z` }),
    mk(4, { timestamp: '0004-02-29T00:00:00Z' }),
    mk(5, { timestamp: '2000-02-29T00:00:00Z' }),
    mk(6, { quantity: 5.0, price: 1e-7 }),
    mk(7, { Host: '[::1]:8080', 'User-Agent': 'é'.repeat(256) }),
    mk(8, { Host: '1.2.3.4', extra_field: { nested: [1, 2] }, item: 'sword' }),
    mk(9, { user_id: '\ud83d\ude00'.repeat(64) }),
    mk(10, { event_type: 'join_guild', guild_id: 'g', guild_name: 'ギルド', price: 'ignored' }),
    mk(11, { schema_version: undefined }),
    mk(12, { schema_version: 1.0, price: null, currency: null, quantity: null }),
  ];
}

/** Every row of every output of a date, file by file, in the lake's column order. */
async function lakeRows(base: string, date: string): Promise<Record<string, unknown[][]>> {
  return withHdfs(stackConfig(), async (hdfs) => {
    const out: Record<string, unknown[][]> = {};
    for (const o of OUTPUTS) {
      const dir = outputDir(base, o, date);
      const cols = OUTPUT_COLUMNS[o].map((c) => c.name);
      for (const f of (await hdfs.stat(dir)) ? await hdfs.listStatus(dir) : []) {
        const { rows, data } = await readColumns(hdfs, `${dir}/${f.pathSuffix}`, cols);
        out[`${o}/${f.pathSuffix}`] = Array.from({ length: rows }, (_, i) =>
          cols.map((c) => {
            const x = (data[c] as ArrayLike<unknown>)[i];
            return x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x;
          }),
        );
      }
    }
    return out;
  });
}

/** Each output's Parquet schema, as its first file's footer states it (the root's name aside). */
async function lakeSchemas(base: string, date: string): Promise<Record<string, unknown>> {
  const { parquetMetadata } = await import('hyparquet');
  return withHdfs(stackConfig(), async (hdfs) => {
    const out: Record<string, unknown> = {};
    for (const o of OUTPUTS) {
      const dir = outputDir(base, o, date);
      const first = (await hdfs.listStatus(dir))[0]?.pathSuffix as string;
      const buf = await hdfs.read(`${dir}/${first}`);
      const meta = parquetMetadata(
        buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer,
      );
      out[o] = meta.schema.slice(1).map((e) => ({
        name: e.name,
        type: e.type,
        repetition: e.repetition_type,
        logical: e.logical_type,
      }));
    }
    return out;
  });
}

async function manifest(base: string, date: string): Promise<Record<string, unknown>> {
  return withHdfs(stackConfig(), async (hdfs) =>
    JSON.parse((await hdfs.read(manifestPath(base, date))).toString('utf8')),
  );
}

describe('extract --engine spark: the same lake as the embedded engine (real stack, Spark local[2])', function () {
  this.timeout(600_000);
  const date = daysAgo(3);
  let topic: string;
  const valid: Array<{ key: string; value: string; id: string }> = [];

  before(async () => {
    topic = await createTimeTopic('gp-spark', 3);
    const t = Date.parse(`${date}T06:00:00Z`);
    valid.push(...validRecords(date, 3000), ...edgeEvents(date));
    const junk = garbage(date);
    await produceRaw(topic, [
      ...valid.map((r, i) => ({ key: r.key, value: r.value, timestampMs: t + i })),
      ...junk.map((r, i) => ({ ...r, timestampMs: t + valid.length + i })),
      // the day after: in neither engine's range
      ...validRecords(daysAgo(2), 50).map((r) => ({ ...r, timestampMs: t + 86_400_000 })),
    ]);
  });

  it('same files, same rows, same rejections and reasons, same manifest counts; verify passes on both', async () => {
    const embedded = uniqueName('/gp-test/engine-embedded');
    const spark = uniqueName('/gp-test/engine-spark');
    const a = await runCli([...extractArgs(date, topic, embedded), '--format', 'json']);
    assert.equal(a.code, 0, a.stderr);
    const b = await runCli([
      ...extractArgs(date, topic, spark),
      '--engine',
      'spark',
      '--format',
      'json',
    ]);
    assert.equal(b.code, 0, b.stderr);
    const ra = JSON.parse(a.stdout) as Record<string, unknown>;
    const rb = JSON.parse(b.stdout) as Record<string, unknown>;
    for (const k of ['records', 'rejected', 'duplicates'])
      assert.equal(rb[k], ra[k], `${k}: spark ${String(rb[k])}, embedded ${String(ra[k])}`);
    const junk = garbage(date).length;
    assert.equal(ra.rejected, junk);
    assert.equal(ra.duplicates, valid.length - new Set(valid.map((r) => r.id)).size);

    const [rowsA, rowsB] = [await lakeRows(embedded, date), await lakeRows(spark, date)];
    // the same schema: names, physical and logical types, and which columns are required
    const [schemaA, schemaB] = [await lakeSchemas(embedded, date), await lakeSchemas(spark, date)];
    assert.deepEqual(schemaB, schemaA);
    assert.equal(Object.keys(schemaA).length, 3);
    assert.deepEqual(Object.keys(rowsB).sort(), Object.keys(rowsA).sort(), 'the same file names');
    for (const f of Object.keys(rowsA)) assert.deepEqual(rowsB[f], rowsA[f], `rows of ${f}`);
    const reasons = Object.entries(rowsA)
      .filter(([f]) => f.startsWith('_rejected/'))
      .flatMap(([, rows]) => rows.map((r) => r[4]));
    assert.equal(reasons.length, junk);
    assert.ok(new Set(reasons).size > 30, `many distinct reasons: ${new Set(reasons).size}`);

    const [ma, mb] = [await manifest(embedded, date), await manifest(spark, date)];
    for (const k of ['records', 'duplicates', 'ranges', 'topic', 'date'])
      assert.deepEqual(mb[k], ma[k]);
    const rowsOf = (m: Record<string, unknown>): unknown =>
      Object.fromEntries(
        Object.entries(
          m.outputs as Record<
            string,
            { rows: number; files: Array<{ name: string; rows: number }> }
          >,
        ).map(([o, x]) => [o, [x.rows, x.files.map((f) => [f.name, f.rows])]]),
      );
    assert.deepEqual(rowsOf(mb), rowsOf(ma));

    const dir = mkdtempSync(join(tmpdir(), 'gp-spark-ledger-'));
    const ledger = join(dir, 'ledger.jsonl');
    const seen = new Set<string>();
    const lines: string[] = [];
    for (const r of valid) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      const e = JSON.parse(r.value) as { event_type: string; Host: string };
      lines.push(JSON.stringify({ event_id: r.id, event_type: e.event_type, Host: e.Host }));
    }
    await writeFile(ledger, lines.join('\n') + '\n');
    for (const base of [embedded, spark]) {
      const v = await runCli(['verify', '--ledger', ledger, '--date', date, '--base', base]);
      assert.equal(v.code, 0, `verify on ${base}: ${v.stdout}${v.stderr}`);
    }
  });

  it('a Spark job killed midway leaves the published date untouched; a rerun completes it', async () => {
    const base = uniqueName('/gp-test/engine-killed');
    // a published date first: what the killed run must leave as it was
    const first = await runCli(extractArgs(date, topic, base));
    assert.equal(first.code, 0, first.stderr);
    const before: Record<string, unknown> = {};
    for (const o of [...OUTPUTS, '_manifests'] as const)
      before[o] = await checksums(
        o === '_manifests' ? `${base}/_manifests/date=${date}` : outputDir(base, o, date),
      );

    const { extractDate } = await import('../../src/lib/extract/run.js');
    const config = stackConfig();
    let killed = false;
    const watch = (pid: number): void => {
      // kill once Spark has begun to write the day's files into staging
      const poll = setInterval(() => {
        void withHdfs(config, async (hdfs) => {
          const runs = (await hdfs.stat(stagingDir(base, date)))
            ? await hdfs.listStatus(stagingDir(base, date))
            : [];
          for (const r of runs) {
            if (await hdfs.stat(`${stagingDir(base, date)}/${r.pathSuffix}/_spark`)) {
              if (!killed) process.kill(pid, 'SIGKILL');
              killed = true;
              clearInterval(poll);
            }
          }
        }).catch(() => undefined);
      }, 100);
    };
    await assert.rejects(
      extractDate(config, { date, topic, base, spark: config, onSparkStart: watch }),
      (err: { code?: string; message?: string }) => {
        assert.equal(err.code, 'GP_SPARK_FAILED', err.message);
        assert.match(err.message ?? '', /killed by SIGKILL/);
        return true;
      },
    );
    assert.ok(killed, 'the job was killed while it staged');
    for (const o of [...OUTPUTS, '_manifests'] as const)
      assert.deepEqual(
        await checksums(
          o === '_manifests' ? `${base}/_manifests/date=${date}` : outputDir(base, o, date),
        ),
        before[o],
        `${o} untouched by the killed run`,
      );

    const rerun = await runCli([...extractArgs(date, topic, base), '--engine', 'spark']);
    assert.equal(rerun.code, 0, rerun.stderr);
    for (const o of OUTPUTS) {
      const after = await checksums(outputDir(base, o, date));
      assert.deepEqual(Object.keys(after).sort(), Object.keys(before[o] as object).sort());
    }
    const rows = await lakeRows(base, date);
    const ids = Object.entries(rows)
      .filter(([f]) => !f.startsWith('_rejected/'))
      .flatMap(([, r]) => r.map((x) => x[0]));
    assert.deepEqual(ids.sort(), [...new Set(valid.map((r) => r.id))].sort());
    await withHdfs(config, async (hdfs) => {
      assert.equal(await hdfs.stat(stagingDir(base, date)), undefined, 'no staging left behind');
    });
  });
});
