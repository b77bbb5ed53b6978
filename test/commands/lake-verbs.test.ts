/**
 * The HDFS verbs on the lake (issue 15, item 4), on the real stack: ls with human sizes,
 * directories and globs relative to the base, du per output and date, cat of a Parquet file,
 * rm of lake paths only; and no empty _staging, _trash or _leases left after a run.
 */
import assert from 'node:assert/strict';
import {
  createTimeTopic,
  daysAgo,
  extractArgs,
  produceRaw,
  runCli,
  sampleEvents,
  uniqueName,
} from '../helpers.js';

describe('ls, du, cat, rm: the lake like hdfs dfs (real stack)', function () {
  this.timeout(120_000);
  const day = daysAgo(5);
  const base = uniqueName('/gp-test/verbs');
  const cli = (...args: string[]) => runCli([...args, '--base', base]);

  before(async () => {
    const topic = await createTimeTopic('gp-verbs', 2);
    const t = Date.parse(`${day}T08:00:00Z`);
    await produceRaw(topic, [
      ...sampleEvents(300, 1).map((e, i) => ({ key: e.key, value: e.value, timestampMs: t + i })),
      { key: 'junk', value: 'not json', timestampMs: t + 400 },
    ]);
    const ex = await runCli(extractArgs(day, topic, base));
    assert.equal(ex.code, 0, ex.stderr);
  });

  it('ls: relative paths, -h, -d and globs; a run leaves no empty _staging, _trash or _leases', async () => {
    const top = await cli('ls');
    assert.equal(top.code, 0, top.stderr);
    const names = top.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) =>
        l
          .split(' ')
          .at(-1)
          ?.slice(base.length + 1),
      );
    assert.deepEqual(names.sort(), ['_manifests', '_rejected', 'join_guild', 'purchases']);
    const human = await cli('ls', `purchases/date=${day}`, '-h');
    assert.match(human.stdout, /\d+\.\d (KiB|MiB) /);
    const dir = await cli('ls', '-d', 'purchases');
    assert.equal(dir.stdout.trim().split('\n').length, 1);
    assert.match(dir.stdout, new RegExp(`^d.* ${base}/purchases\\n$`));
    const glob = await cli('ls', '-d', `*/date=${day}`, '--format', 'json');
    assert.deepEqual(
      (JSON.parse(glob.stdout) as Array<{ path: string }>).map((e) =>
        e.path.slice(base.length + 1),
      ),
      ['_manifests', '_rejected', 'join_guild', 'purchases'].map((o) => `${o}/date=${day}`),
    );
    const none = await cli('ls', 'nosuch*');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /GP_HDFS_NOT_FOUND: .*nosuch\*: no such file or directory/);
    const help = await runCli(['ls', '--help']);
    assert.match(help.stdout, /-h, --human/);
  });

  it('du: each output per date and in all; -s -h sums a path', async () => {
    const res = await cli('du', '--format', 'json');
    assert.equal(res.code, 0, res.stderr);
    const rows = (
      JSON.parse(res.stdout) as {
        outputs: Array<{ output: string; date?: string; files: number; bytes: number }>;
      }
    ).outputs;
    const purchases = rows.filter((r) => r.output === 'purchases');
    assert.deepEqual(
      purchases.map((r) => r.date),
      [day, undefined],
    );
    assert.ok((purchases[0]?.bytes ?? 0) > 1000);
    assert.equal(purchases[0]?.bytes, purchases[1]?.bytes);
    assert.equal(rows.find((r) => r.output === '_rejected' && r.date === day)?.files, 1);
    const s = await cli('du', '-s', '-h', 'purchases');
    assert.match(s.stdout, new RegExp(`^\\d+\\.\\d KiB  ${base}/purchases\\n$`));
  });

  it('cat: a Parquet file as JSON lines or a table, --limit; a directory is a usage error', async () => {
    const listed = await cli('ls', `purchases/date=${day}`, '--format', 'json');
    const file = (JSON.parse(listed.stdout) as Array<{ path: string }>)[0]?.path as string;
    const rel = file.slice(base.length + 1);
    const res = await cli('cat', rel, '--limit', '3');
    assert.equal(res.code, 0, res.stderr);
    const rows = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(rows.length, 3);
    for (const r of rows) {
      assert.match(String(r.event_id), /^[0-9a-f-]{36}$/);
      assert.equal(r.item, 'sword');
      assert.match(String(r.timestamp), /^\d{4}-\d\d-\d\dT.*Z$/);
      assert.equal(typeof r.kafka_offset, 'number');
    }
    assert.match(res.stderr, /^3 of \d+ row\(s\) of /);
    const rejected = await cli('cat', `_rejected/date=${day}/*.parquet`);
    assert.equal(JSON.parse(rejected.stdout.trim()).reason, 'not JSON');
    const t = await cli('cat', rel, '--limit', '2', '--format', 'table');
    assert.match(t.stdout, /event_id/);
    const d = await cli('cat', `purchases/date=${day}`);
    assert.equal(d.code, 2);
    assert.match(d.stderr, /GP_USAGE: .* is a directory: cat reads one Parquet file/);
  });

  it('rm: lake paths only, never the base; a directory needs -r; nothing is deleted when one path is refused', async () => {
    const baseRm = await cli('rm', '-r', '.');
    assert.equal(baseRm.code, 2);
    assert.match(baseRm.stderr, /GP_USAGE: refusing to delete the lake's base/);
    const outside = await cli('rm', '-r', '/tmp');
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /GP_USAGE: \/tmp is outside the lake/);
    const noR = await cli('rm', `_rejected/date=${day}`);
    assert.equal(noR.code, 2);
    assert.match(noR.stderr, /is a directory/);
    // a glob that names a directory, without -r: refused, nothing deleted
    const mixed = await cli('rm', `purchases/date=${day}*`);
    assert.equal(mixed.code, 2);
    const still = await cli('ls', `purchases/date=${day}`, '--format', 'json');
    assert.ok((JSON.parse(still.stdout) as unknown[]).length > 0, 'nothing was deleted');
    const ok = await cli('rm', '-r', `_rejected/date=${day}`, '--format', 'json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), { deleted: [`${base}/_rejected/date=${day}`] });
    const gone = await cli('ls', `_rejected/date=${day}`);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /GP_HDFS_NOT_FOUND/);
  });
});
