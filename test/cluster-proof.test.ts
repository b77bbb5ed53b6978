import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withAdmin } from '../src/lib/kafka/admin.js';
import { sharedCluster, type SecureCluster } from './cluster.js';
import {
  corruptBatch,
  extractArgs,
  freePort,
  javaProduce,
  lakeEventIds,
  sampleEvents,
  uniqueName,
} from './helpers.js';
import {
  extractAndVerify,
  loadDuring,
  printFigures,
  run,
  serve,
  type Cli,
  type Figures,
} from './proof.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many partitions each node leads. */
function leadCounts(leaders: Map<number, number>): Map<number, number> {
  const counts = new Map<number, number>();
  for (const node of leaders.values()) counts.set(node, (counts.get(node) ?? 0) + 1);
  return counts;
}

describe('the real cluster: three brokers over SASL_SSL, the config file alone, under load', function () {
  this.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'gp-cluster-proof-'));
  const figures: Figures[] = [];
  let cluster: SecureCluster;
  let cli: Cli;

  before(async () => {
    cluster = await sharedCluster();
    // what an operator runs: a config file (SCRAM-SHA-512, TLS with the cluster's CA, the password
    // in a file beside it) and no GAMEPIPE_* settings at all
    cli = {
      prefix: ['--config', cluster.configFile('scram512'), '--home', join(dir, 'home')],
      options: { bare: true },
    };
  });

  after(() => printFigures(figures));

  /** A topic of six partitions made through the CLI, a lake path, a ledger, and `serve` on them. */
  async function startCase(name: string, ...topicFlags: string[]) {
    const topic = uniqueName(`gp-cluster-${name}`);
    const created = await run(cli, [
      'topic',
      'create',
      '--topic',
      topic,
      '--partitions',
      '6',
      ...topicFlags,
    ]);
    assert.equal(created.code, 0, created.stderr);
    const base = `/tmp/gamepipe-test/${uniqueName('cluster-lake')}`;
    const ledger = join(dir, `${name}.jsonl`);
    const port = await freePort();
    const since = Date.now();
    const server = await serve(cli, port, topic);
    return { topic, base, ledger, since, server, url: `http://127.0.0.1:${port}` };
  }

  type Case = Awaited<ReturnType<typeof startCase>>;

  /** Stops `serve` (SIGTERM: exit 0); again, once it stopped, does nothing more. */
  async function stopServe(server: Case['server']) {
    server.child.kill('SIGTERM');
    const done = await server.done;
    assert.equal(done.code, 0, done.stderr);
  }

  /** Stops `serve`, says what the load met, then extracts, verifies and keeps the figures. */
  async function finishCase(
    c: Case,
    fault: string,
    faults: number,
    load?: { what: string; runs: number; retried: number; failed: number },
  ) {
    await stopServe(c.server);
    if (load) {
      process.stderr.write(
        `      (${load.what}: ${load.runs} generate runs, ${load.retried} retried, ${load.failed} not acknowledged)\n`,
      );
    }
    const { topic, base, ledger, since } = c;
    figures.push(await extractAndVerify(cli, { fault, topic, base, ledger, since, faults }));
  }

  it('topic, status, serve, generate, consume, extract and verify work with the config file alone', async () => {
    const c = await startCase('cli');
    const { topic, ledger, server, url } = c;
    const described = await run(cli, ['topic', 'describe', '--topic', topic]);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /6 partition\(s\); message\.timestamp\.type=LogAppendTime/);
    // the cluster's default replication factor: three replicas, all in sync
    assert.equal(described.stdout.match(/│ \d\s+│ \d\s+│ \d,\d,\d\s+│ \d,\d,\d /g)?.length, 6);
    const status = await run(cli, ['status', '--format', 'json']);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /"kafka"/);
    assert.doesNotMatch(status.stdout + status.stderr, /scram512-secret/);
    const g = await run(cli, ['generate', '2000', '--url', url, '--ledger', ledger]);
    assert.equal(g.code, 0, g.stderr);
    await stopServe(server);
    const consumed = await run(cli, ['consume', '--topic', topic, '--from-beginning', '--exit']);
    assert.equal(consumed.code, 0, consumed.stderr);
    const lines = consumed.stdout.trim().split('\n');
    assert.equal(lines.length, 2000);
    const ledgerIds = new Set(
      readFileSync(ledger, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { event_id: string }).event_id),
    );
    assert.ok(lines.every((l) => ledgerIds.has((JSON.parse(l) as { event_id: string }).event_id)));
    await finishCase(c, 'none (config file alone)', 0);
  });

  it('a rolling restart of all three brokers under load: leaders move each time, nothing lost or duplicated', async () => {
    const c = await startCase('rolling');
    const { topic, ledger, url } = c;
    let moved = 0;
    const load = await loadDuring(cli, url, ledger, 21, async () => {
      await sleep(1_500);
      for (const node of cluster.nodes.map((n) => n.id)) {
        const before = await cluster.leaders(topic);
        await cluster.stop(node, 'SIGTERM');
        const during = await cluster.leaders(topic);
        assert.ok(![...during.values()].includes(node), `node ${node} still leads after stopping`);
        moved += [...before].filter(([p, leader]) => during.get(p) !== leader).length;
        await sleep(1_000);
        await cluster.restart(node);
        await cluster.waitInSync(topic);
      }
    });
    await finishCase(c, 'rolling restart (3 brokers)', 3, {
      what: `rolling restart: ${moved} leader moves`,
      ...load,
    });
    assert.ok(moved >= 3, `leaders moved ${moved} times`);
  });

  it('kill -9 of the broker that leads most partitions, under load: nothing lost or duplicated', async () => {
    const c = await startCase('kill9');
    const { topic, ledger, url } = c;
    let victim = 0;
    const load = await loadDuring(cli, url, ledger, 22, async () => {
      await sleep(1_500);
      const counts = leadCounts(await cluster.leaders(topic));
      victim = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 1;
      await cluster.stop(victim, 'SIGKILL');
      await sleep(3_000);
      await cluster.restart(victim);
      await cluster.waitInSync(topic);
    });
    await finishCase(c, 'kill -9 the busiest leader', 1, {
      what: `kill -9 node ${victim}`,
      ...load,
    });
  });

  it('a partition reassignment under load (every replica set changes, every leader leaves): nothing lost or duplicated', async () => {
    // replication factor 2 of 3 brokers: each partition can move to the broker it is not on
    const c = await startCase('reassign', '--replication-factor', '2');
    const { topic, ledger, server, url } = c;
    const admin = cluster.config('admin');
    const target = new Map<number, number[]>();
    const load = await loadDuring(cli, url, ledger, 23, async () => {
      await sleep(1_500);
      await withAdmin(admin, async (a) => {
        const meta = await a.fetchTopicMetadata({ topics: [topic] });
        for (const p of meta.topics[0]?.partitions ?? []) {
          // the leader leaves the replica set; the broker that had no replica comes in first
          const spare = cluster.nodes.map((n) => n.id).find((id) => !p.replicas.includes(id));
          const kept = p.replicas.filter((id) => id !== p.leader);
          target.set(p.partitionId, [spare as number, ...kept]);
        }
        await a.alterPartitionReassignments({
          topics: [
            {
              topic,
              partitionAssignment: [...target].map(([partition, replicas]) => ({
                partition,
                replicas,
              })),
            },
          ],
        });
        for (let i = 0; i < 240; i++) {
          const pending = await a.listPartitionReassignments({
            topics: [{ topic, partitions: [...target.keys()] }],
          });
          if (pending.topics.every((t) => t.partitions.length === 0)) return;
          await sleep(500);
        }
        throw new Error('the reassignment did not finish in 120 s');
      });
    });
    await stopServe(server);
    const after = await withAdmin(admin, (a) => a.fetchTopicMetadata({ topics: [topic] }));
    for (const p of after.topics[0]?.partitions ?? []) {
      assert.deepEqual(
        [...p.replicas].sort(),
        [...(target.get(p.partitionId) ?? [])].sort(),
        `partition ${p.partitionId} moved`,
      );
    }
    await finishCase(c, 'partition reassignment', 1, {
      what: `reassignment of ${target.size} partitions`,
      ...load,
    });
  });

  it('batches of every codec from the Java producer over SASL_SSL land, each event once; a corrupted one is GP_KAFKA_CORRUPT', async function () {
    const day = new Date().toISOString().slice(0, 10);
    const properties = cluster.javaProperties('scram256');
    const topic = uniqueName('gp-cluster-codecs');
    assert.equal(
      (await run(cli, ['topic', 'create', '--topic', topic, '--partitions', '2'])).code,
      0,
    );
    const sent: string[] = [];
    const lines = ['none', 'gzip', 'snappy', 'lz4', 'zstd'].flatMap((codec, c) =>
      sampleEvents(40, c).map((e) => {
        sent.push(e.id);
        return `${codec}\t${e.key}\t${e.value}`;
      }),
    );
    await javaProduce(topic, lines, { brokers: cluster.brokers, properties });
    const base = `/tmp/gamepipe-test/${uniqueName('cluster-codecs')}`;
    if (new Date().toISOString().slice(0, 10) !== day) this.skip(); // midnight UTC passed
    const res = await run(cli, extractArgs(day, topic, base, '--format', 'json'));
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(res.stdout) as { records: number; rejected: number; duplicates: number };
    assert.deepEqual([r.records, r.rejected, r.duplicates], [200, 0, 0]);
    const ids = await lakeEventIds(base, day);
    assert.deepEqual([...ids.purchases, ...ids.join_guild].sort(), [...sent].sort());
    // the Spark engine over SASL_SSL (SCRAM, the CA as a PEM truststore), from the config alone
    const spark = await run(cli, [
      ...extractArgs(day, topic, `${base}-spark`, '--format', 'json'),
      '--engine',
      'spark',
    ]);
    assert.equal(spark.code, 0, spark.stderr);
    const rs = JSON.parse(spark.stdout) as {
      records: number;
      rejected: number;
      duplicates: number;
    };
    assert.deepEqual([rs.records, rs.rejected, rs.duplicates], [200, 0, 0]);
    assert.deepEqual(await lakeEventIds(`${base}-spark`, day), ids);

    // three batches in one partition, the one at offset 10 corrupted on its leader's disk
    const bad = uniqueName('gp-cluster-corrupt');
    assert.equal(
      (await run(cli, ['topic', 'create', '--topic', bad, '--partitions', '1'])).code,
      0,
    );
    for (const codec of ['none', 'gzip', 'zstd']) {
      const batch = sampleEvents(10, 0).map((e) => `${codec}\t${e.key}\t${e.value}`);
      await javaProduce(bad, batch, { brokers: cluster.brokers, properties });
    }
    const leader = (await cluster.leaders(bad)).get(0) as number;
    corruptBatch(
      join(cluster.dir, `node${leader}`, 'data', `${bad}-0`, '00000000000000000000.log'),
      10,
    );
    const failed = await run(cli, extractArgs(day, bad, `${base}-corrupt`));
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(
      failed.stderr,
      new RegExp(
        `^gamepipe: error GP_KAFKA_CORRUPT: ${bad} partition 0: record batch at offset 10 `,
        'm',
      ),
    );
  });

  it('in all: nothing lost, nothing duplicated', () => {
    assert.equal(figures.length, 4);
    assert.ok(
      figures.every((f) => f.missing === 0 && f.duplicated === 0 && f.acknowledged === f.inLake),
    );
  });
});
