import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The tests run on a stack of their own: their own GAMEPIPE_HOME and their own free ports, set
// here before any test module resolves its config. A stack the user runs (on the default ports,
// under ~/.gamepipe) is never touched, and the fault tests may stop this one's broker and
// DataNode freely. The stack is stopped and its home deleted at the end, unless
// GAMEPIPE_TEST_KEEP_STACK=1: then it lives on in a fixed home, on the ports recorded there, and
// the next run reuses it.

type TestEnv = Record<
  | 'GAMEPIPE_HOME'
  | 'GAMEPIPE_BROKERS'
  | 'GAMEPIPE_KAFKA_CONTROLLER_PORT'
  | 'GAMEPIPE_WEBHDFS_URL'
  | 'GAMEPIPE_NAMENODE_RPC_PORT'
  | 'GAMEPIPE_DATANODE_HTTP_PORT'
  | 'GAMEPIPE_DATANODE_PORT'
  | 'GAMEPIPE_DATANODE_IPC_PORT'
  | 'GAMEPIPE_API_PORT',
  string
>;

/** Distinct ports that were free a moment ago (all listening at once, so none repeats). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const srv = createServer();
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

async function testEnv(keep: boolean): Promise<TestEnv> {
  const home = keep
    ? join(tmpdir(), 'gamepipe-test-stack')
    : mkdtempSync(join(tmpdir(), 'gamepipe-test-'));
  const saved = join(home, 'test-env.json');
  if (keep && existsSync(saved)) return JSON.parse(readFileSync(saved, 'utf8')) as TestEnv;
  const [broker, controller, nnHttp, nnRpc, dnHttp, dn, dnIpc, api] = await freePorts(8);
  const env: TestEnv = {
    GAMEPIPE_HOME: home,
    GAMEPIPE_BROKERS: `127.0.0.1:${broker}`,
    GAMEPIPE_KAFKA_CONTROLLER_PORT: String(controller),
    GAMEPIPE_WEBHDFS_URL: `http://127.0.0.1:${nnHttp}`,
    GAMEPIPE_NAMENODE_RPC_PORT: String(nnRpc),
    GAMEPIPE_DATANODE_HTTP_PORT: String(dnHttp),
    GAMEPIPE_DATANODE_PORT: String(dn),
    GAMEPIPE_DATANODE_IPC_PORT: String(dnIpc),
    GAMEPIPE_API_PORT: String(api),
  };
  mkdirSync(home, { recursive: true });
  writeFileSync(saved, JSON.stringify(env, null, 2) + '\n');
  return env;
}

const keep = process.env.GAMEPIPE_TEST_KEEP_STACK === '1';
const env = await testEnv(keep);
// a config file or GAMEPIPE_* settings of the user's must not point the tests at their stack
delete process.env.GAMEPIPE_CONFIG;
for (const key of Object.keys(process.env)) {
  if (key.startsWith('GAMEPIPE_') && key !== 'GAMEPIPE_TEST_KEEP_STACK') delete process.env[key];
}
Object.assign(process.env, env);

const { probeServices, up, down } = await import('../src/lib/stack/stack.js');
const { resolveConfig } = await import('../src/lib/core/config.js');

let startedHere = false;
// what the run found, so that a kept stack loses the topics and lake paths the run made
let topicsBefore = new Set<string>();
let rootBefore = new Set<string>();

async function snapshot(): Promise<{ topics: Set<string>; root: Set<string> }> {
  const { listTopics } = await import('../src/lib/kafka/admin.js');
  const { withHdfs } = await import('../src/lib/hdfs/webhdfs.js');
  const config = resolveConfig();
  const topics = new Set(await listTopics(config));
  const root = await withHdfs(
    config,
    async (hdfs) => new Set((await hdfs.listStatus('/')).map((f) => f.pathSuffix)),
  );
  return { topics, root };
}

/** Deletes the topics and top-level HDFS paths that appeared during the run. */
async function cleanUp(): Promise<void> {
  const { withAdmin } = await import('../src/lib/kafka/admin.js');
  const { withHdfs } = await import('../src/lib/hdfs/webhdfs.js');
  const config = resolveConfig();
  const now = await snapshot();
  const topics = [...now.topics].filter((t) => !topicsBefore.has(t) && t !== config.topic);
  if (topics.length > 0) await withAdmin(config, (admin) => admin.deleteTopics({ topics }));
  await withHdfs(config, async (hdfs) => {
    for (const p of now.root) {
      if (rootBefore.has(p) || `/${p}` === config.base) continue;
      if (p === 'tmp') {
        // the tests write under /tmp/gamepipe-test; whatever else appeared in /tmp meanwhile (a
        // bench's lake on a kept stack) is not theirs to delete
        await hdfs.delete('/tmp/gamepipe-test', { recursive: true });
        await hdfs.deleteIfEmpty('/tmp');
      } else await hdfs.delete(`/${p}`, { recursive: true });
    }
  });
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context): Promise<void> {
    this.timeout(600_000);
    const config = resolveConfig();
    const services = await probeServices(config);
    if (services.every((s) => s.state === 'up')) {
      await up(config, { mode: 'local' });
      ({ topics: topicsBefore, root: rootBefore } = await snapshot());
      return;
    }
    process.stderr.write(
      `test setup: starting the tests' own stack under ${config.home} (Kafka ${config.brokers.join(',')}, WebHDFS ${config.webhdfsUrl})\n`,
    );
    const res = await up(config, { mode: 'local', timeoutMs: 300_000 });
    startedHere = res.started.length > 0;
    ({ topics: topicsBefore, root: rootBefore } = await snapshot());
    process.stderr.write(`test setup: stack up in ${(res.elapsedMs / 1000).toFixed(1)}s\n`);
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(120_000);
    await (await import('./cluster.js')).closeSharedCluster();
    if (keep) {
      await cleanUp();
      return;
    }
    const config = resolveConfig();
    if (startedHere) await down(config, { purge: true });
    rmSync(config.home, { recursive: true, force: true });
  },
};
