import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendFileSync } from 'node:fs';
import { ROOT, runCli, startCli, textError } from '../helpers.js';

interface StatusJson {
  ok: boolean;
  services: Array<{
    service: string;
    state: string;
    version: string;
    pid: number | null;
    ports: number[];
  }>;
}

/** Pids of live processes whose command line mentions `needle`. */
function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) out.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function pidOf(home: string, component: string): number {
  return Number(readFileSync(join(home, 'run', `${component}.pid`), 'utf8').trim());
}

// A second stack of its own, on other ports and another home, so stopping parts of it does not
// disturb the shared stack the other tests use.
describe('up / status / down (a stack of its own, on other ports)', function () {
  this.timeout(600_000);
  const home = mkdtempSync(join(tmpdir(), 'gp-stack-'));
  const env = {
    GAMEPIPE_HOME: home,
    GAMEPIPE_BROKERS: '127.0.0.1:19092',
    GAMEPIPE_KAFKA_CONTROLLER_PORT: '19093',
    GAMEPIPE_WEBHDFS_URL: 'http://127.0.0.1:19870',
    GAMEPIPE_NAMENODE_RPC_PORT: '18020',
    GAMEPIPE_DATANODE_HTTP_PORT: '19864',
    GAMEPIPE_DATANODE_PORT: '19866',
    GAMEPIPE_DATANODE_IPC_PORT: '19867',
    GAMEPIPE_API_PORT: '15000',
  };
  const cli = (...args: string[]) => runCli(args, { env });
  const status = async (): Promise<{ code: number; json: StatusJson }> => {
    const res = await cli('status', '--format', 'json');
    return { code: res.code, json: JSON.parse(res.stdout) as StatusJson };
  };

  after(async () => {
    await cli('down', '--purge');
    for (const pid of processesMentioning(home)) process.kill(pid, 'SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });

  it('status of a stack that is not running: all down, exit 1', async () => {
    const { code, json } = await status();
    assert.equal(code, 1);
    assert.equal(json.ok, false);
    assert.deepEqual(
      json.services.filter((s) => s.service !== 'api').map((s) => s.state),
      ['down', 'down', 'down'],
    );
    // no log yet: a coded error saying how one comes to be
    const logs = await cli('logs', 'kafka');
    assert.equal(logs.code, 1);
    assert.match(
      textError(logs.stderr),
      /^gamepipe: error GP_NO_LOG: no kafka log in .*gamepipe up/,
    );
  });

  it('up starts Kafka, NameNode and DataNode and waits until they are ready', async () => {
    const t0 = Date.now();
    const res = await cli('up', '--mode', 'local');
    assert.equal(res.code, 0, res.stderr);
    process.stderr.write(
      `      (up from nothing took ${((Date.now() - t0) / 1000).toFixed(1)}s)\n`,
    );
    assert.match(res.stderr, /the stack is up \(local; started kafka, namenode, datanode\) in/);
    assert.match(res.stdout, /127\.0\.0\.1:19092/);
    const { code, json } = await status();
    assert.equal(code, 0, JSON.stringify(json));
    assert.deepEqual(
      json.services.filter((s) => s.service !== 'api').map((s) => [s.service, s.state]),
      [
        ['kafka', 'up'],
        ['namenode', 'up'],
        ['datanode', 'up'],
      ],
    );
    // the versions the poms pin, whatever they are pinned to
    const pinned = (pom: string, re: RegExp): string | undefined =>
      re.exec(readFileSync(join(ROOT, 'compose', 'local', pom), 'utf8'))?.[1];
    assert.equal(
      json.services[0]?.version,
      pinned('kafka.pom.xml', /<artifactId>kafka_2\.13<\/artifactId>\s*<version>([^<]+)</),
    );
    assert.equal(
      json.services[1]?.version,
      pinned('hadoop.pom.xml', /<hadoop\.version>([^<]+)<\/hadoop\.version>/),
    );
    // each process by its pid and ports, as `docker compose ps` shows them
    assert.deepEqual(
      json.services.map((s) => [s.service, s.pid, s.ports]),
      [
        ['kafka', pidOf(home, 'kafka'), [19092, 19093]],
        ['namenode', pidOf(home, 'namenode'), [19870, 18020]],
        ['datanode', pidOf(home, 'datanode'), [19864, 19866, 19867]],
        ['api', null, [15000]],
      ],
    );
    const text = await cli('status');
    assert.match(
      text.stdout,
      new RegExp(`kafka\\s+│ up\\s+│ ${pidOf(home, 'kafka')}\\s+│ 19092,19093`),
    );
  });

  it('consume right after up works: the first consumer group waits for its coordinator to load', async () => {
    // the cluster's first group creates __consumer_offsets; kafkajs gave up while it loaded
    const { createKafka } = await import('../../src/lib/kafka/admin.js');
    const producer = createKafka({ brokers: [env.GAMEPIPE_BROKERS] }).producer();
    await producer.connect();
    await producer.send({ topic: 'events', messages: [{ key: 'k', value: '{}' }] });
    await producer.disconnect();
    const res = await cli('consume', '--from-beginning', '--exit');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /% read 1 event\(s\) from events/);
  });

  it("logs: a service's log, --tail N its last N lines; -f prints lines as they are appended until Ctrl-C", async () => {
    const whole = await cli('logs', 'namenode');
    assert.equal(whole.code, 0, whole.stderr);
    const file = join(home, 'logs', 'namenode.log');
    assert.ok(readFileSync(file, 'utf8').startsWith(whole.stdout.slice(0, 2000)));
    assert.match(whole.stdout, /NameNode/);
    const last = await cli('logs', 'namenode', '--tail', '3');
    assert.equal(last.code, 0, last.stderr);
    const lines = last.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 3);
    assert.ok(readFileSync(file, 'utf8').includes(lines.join('\n')));
    // the newest Spark job's log (a file only this test writes); a last line without its newline
    // is a line too
    const spark = join(home, 'logs', 'spark-test.log');
    const marker = `gamepipe-test-marker-${Date.now()}`;
    appendFileSync(spark, `${marker}-0\n${marker}-1\n${marker}-2`);
    const two = await cli('logs', 'spark', '-n', '2');
    assert.equal(two.stdout, `${marker}-1\n${marker}-2`);
    appendFileSync(spark, '\n');
    const follow = startCli(['logs', 'spark', '-f', '--tail', '1'], { env });
    let seen = '';
    follow.child.stdout?.on('data', (d: Buffer) => (seen += d.toString()));
    const until = async (re: RegExp): Promise<void> => {
      for (let i = 0; i < 200 && !re.test(seen); i++) await new Promise((r) => setTimeout(r, 50));
      assert.match(seen, re);
    };
    await until(new RegExp(`${marker}-2\\n$`));
    appendFileSync(spark, `${marker}-3\n`);
    await until(new RegExp(`${marker}-3\\n$`));
    follow.child.kill('SIGINT');
    const done = await follow.done;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stdout, `${marker}-2\n${marker}-3\n`);
    rmSync(spark);
  });

  it('restart kafka: a new broker process on the same ports, the others untouched, the stack ready again', async () => {
    // a record on a topic of its own, acknowledged by every replica before the restart
    assert.equal((await cli('topic', 'create', '--topic', 'restart-check')).code, 0);
    const { createKafka } = await import('../../src/lib/kafka/admin.js');
    const producer = createKafka({ brokers: [env.GAMEPIPE_BROKERS] }).producer();
    await producer.connect();
    await producer.send({
      topic: 'restart-check',
      acks: -1,
      messages: [{ key: 'k', value: '{}' }],
    });
    await producer.disconnect();
    const before = ['kafka', 'namenode', 'datanode'].map((c) => pidOf(home, c));
    const res = await cli('restart', 'kafka', '--format', 'json');
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as { stopped: string[]; started: string[] };
    assert.deepEqual([out.stopped, out.started], [['kafka'], ['kafka']]);
    const after = ['kafka', 'namenode', 'datanode'].map((c) => pidOf(home, c));
    assert.notEqual(after[0], before[0]);
    assert.deepEqual(after.slice(1), before.slice(1));
    const { code, json } = await status();
    assert.equal(code, 0, JSON.stringify(json));
    assert.equal(json.services[0]?.pid, after[0]);
    // the topic and its record survived the restart
    const read = await cli('consume', '--topic', 'restart-check', '--from-beginning', '--exit');
    assert.equal(read.code, 0, read.stderr);
    assert.match(read.stderr, /% read 1 event\(s\) from restart-check/);
    const bad = await cli('restart', 'hbase');
    assert.equal(bad.code, 2);
  });

  it('up again says so, exits 0 and starts nothing', async () => {
    const pids = ['kafka', 'namenode', 'datanode'].map((c) => pidOf(home, c));
    const res = await cli('up');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /already up/);
    assert.deepEqual(
      ['kafka', 'namenode', 'datanode'].map((c) => pidOf(home, c)),
      pids,
    );
  });

  it('a stopped DataNode shows as down (exit 1); up brings it back', async () => {
    const dn = pidOf(home, 'datanode');
    process.kill(dn, 'SIGKILL');
    while (processesMentioning(home).includes(dn)) await new Promise((r) => setTimeout(r, 100));
    const down = await status();
    assert.equal(down.code, 1);
    assert.equal(down.json.services.find((s) => s.service === 'datanode')?.state, 'down');
    assert.equal(down.json.services.find((s) => s.service === 'kafka')?.state, 'up');

    const res = await cli('up');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /started datanode\)/);
    const again = await status();
    assert.equal(again.code, 0, JSON.stringify(again.json));
  });

  it('down leaves no stack process behind; --purge deletes the data', async () => {
    assert.ok(processesMentioning(home).length >= 3);
    const res = await cli('down');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /stopped datanode, namenode, kafka/);
    assert.deepEqual(processesMentioning(home), []);
    const { code } = await status();
    assert.equal(code, 1);
    const purged = await cli('down', '--purge');
    assert.equal(purged.code, 0);
    assert.deepEqual(
      readdirSync(home).filter((f) => ['kafka', 'hdfs', 'logs'].includes(f)),
      [],
    );
  });
});
