/**
 * A studio-like Kafka cluster for the tests: three KRaft nodes (each broker and controller, a
 * three-voter quorum, so one node down keeps the cluster up) behind a SASL_SSL listener only.
 * Certificates come from keytool, the SCRAM users are created when the storage is formatted, and
 * topics get replication factor 3 with min.insync.replicas=2. It runs from the same Maven
 * classpath as the tests' own stack, in a directory of its own, on ports of its own.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { resolveConfig, type Config } from '../src/lib/core/config.js';
import { kraftClusterId, resolveClasspath, stackPaths } from '../src/lib/stack/local.js';
import { freePort } from './helpers.js';

const run = promisify(execFile);

/** The users the cluster knows: the brokers' own (PLAIN), and SCRAM users made at format time. */
export const USERS = {
  admin: { mechanism: 'PLAIN', password: 'admin-secret' },
  plain: { mechanism: 'PLAIN', password: 'plain-secret' },
  scram256: { mechanism: 'SCRAM-SHA-256', password: 'scram256-secret' },
  scram512: { mechanism: 'SCRAM-SHA-512', password: 'scram512-secret' },
} as const;
export type User = keyof typeof USERS;

const STORE_PASSWORD = 'cluster-store';

interface Node {
  id: number;
  port: number;
  controllerPort: number;
  props: string;
  child: ChildProcess | undefined;
}

export class SecureCluster {
  private constructor(
    readonly dir: string,
    private readonly classpath: string,
    readonly nodes: Node[],
  ) {}

  get brokers(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  /** The CA gamepipe must trust (the brokers' self-signed certificate, PEM). */
  get caFile(): string {
    return join(this.dir, 'ca.pem');
  }

  /** Java client properties of `user` (for the Java producer). */
  javaProperties(user: User = 'scram512'): string {
    const file = join(this.dir, `client-${user}.properties`);
    const { mechanism, password } = USERS[user];
    const module =
      mechanism === 'PLAIN'
        ? 'org.apache.kafka.common.security.plain.PlainLoginModule'
        : 'org.apache.kafka.common.security.scram.ScramLoginModule';
    writeFileSync(
      file,
      [
        'security.protocol=SASL_SSL',
        `sasl.mechanism=${mechanism}`,
        `sasl.jaas.config=${module} required username="${user}" password="${password}";`,
        `ssl.truststore.location=${join(this.dir, 'broker.p12')}`,
        `ssl.truststore.password=${STORE_PASSWORD}`,
        'ssl.truststore.type=PKCS12',
        '',
      ].join('\n'),
    );
    return file;
  }

  /**
   * A gamepipe config file for this cluster and the tests' HDFS, complete on its own: what a
   * studio's operator would write (the password in a file beside it).
   */
  configFile(user: User = 'scram512', extra: Record<string, string> = {}): string {
    const { mechanism, password } = USERS[user];
    const passwordFile = join(this.dir, `${user}.password`);
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    const hdfs = resolveConfig();
    const file = join(this.dir, `gamepipe-${user}.yaml`);
    const settings: Record<string, string> = {
      brokers: this.brokers.join(','),
      kafkaSecurityProtocol: 'SASL_SSL',
      kafkaSslCaFile: 'ca.pem',
      kafkaSaslMechanism: mechanism,
      kafkaSaslUsername: user,
      kafkaSaslPasswordFile: `${user}.password`,
      webhdfsUrl: hdfs.webhdfsUrl,
      hdfsUser: hdfs.hdfsUser,
      ...extra,
    };
    writeFileSync(
      file,
      Object.entries(settings)
        .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
        .join('\n') + '\n',
    );
    return file;
  }

  /** The resolved config of configFile(user): what the library functions take. */
  config(user: User = 'scram512'): Config {
    return resolveConfig({ configFile: this.configFile(user), flags: { brokers: this.brokers } });
  }

  /** Starts the cluster in a new temporary directory; resolves once all three brokers serve. */
  static async start(): Promise<SecureCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'gamepipe-cluster-'));
    const home = process.env.GAMEPIPE_HOME ?? join(dir, 'home');
    const classpath = await resolveClasspath(stackPaths(home), 'kafka');
    await makeCertificates(dir);
    const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    const nodes: Node[] = [1, 2, 3].map((id) => ({
      id,
      port: ports[id - 1] as number,
      controllerPort: ports[id + 2] as number,
      props: join(dir, `node${id}`, 'server.properties'),
      child: undefined,
    }));
    const cluster = new SecureCluster(dir, classpath, nodes);
    const clusterId = kraftClusterId();
    await Promise.all(nodes.map((n) => cluster.format(n, clusterId)));
    for (const n of nodes) cluster.spawn(n);
    await cluster.waitReady();
    return cluster;
  }

  private async format(node: Node, clusterId: string): Promise<void> {
    const dir = join(this.dir, `node${node.id}`);
    mkdirSync(join(dir, 'data'), { recursive: true });
    const voters = this.nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
    const plainUsers = (['admin', 'plain'] as const)
      .map((u) => `user_${u}="${USERS[u].password}"`)
      .join(' ');
    const store = join(this.dir, 'broker.p12');
    const props: Record<string, string | number> = {
      'process.roles': 'broker,controller',
      'node.id': node.id,
      'controller.quorum.voters': voters,
      listeners: `SASL_SSL://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
      'advertised.listeners': `SASL_SSL://127.0.0.1:${node.port}`,
      'controller.listener.names': 'CONTROLLER',
      'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
      'inter.broker.listener.name': 'SASL_SSL',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol': 'PLAIN',
      'listener.name.sasl_ssl.plain.sasl.jaas.config':
        'org.apache.kafka.common.security.plain.PlainLoginModule required ' +
        `username="admin" password="${USERS.admin.password}" ${plainUsers};`,
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config':
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'ssl.keystore.location': store,
      'ssl.keystore.password': STORE_PASSWORD,
      'ssl.keystore.type': 'PKCS12',
      'ssl.truststore.location': store,
      'ssl.truststore.password': STORE_PASSWORD,
      'ssl.truststore.type': 'PKCS12',
      'log.dirs': join(dir, 'data'),
      'num.partitions': 3,
      'default.replication.factor': 3,
      'min.insync.replicas': 2,
      'offsets.topic.replication.factor': 3,
      'transaction.state.log.replication.factor': 3,
      'transaction.state.log.min.isr': 2,
      'share.coordinator.state.topic.replication.factor': 3,
      'share.coordinator.state.topic.min.isr': 2,
      'group.initial.rebalance.delay.ms': 0,
      'auto.create.topics.enable': 'false',
      // a restarted broker takes its partitions back soon, so leaders move in the tests
      'leader.imbalance.check.interval.seconds': 5,
    };
    writeFileSync(
      node.props,
      Object.entries(props)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') + '\n',
    );
    writeFileSync(
      join(dir, 'log4j2.properties'),
      [
        'appender.file.type = File',
        'appender.file.name = file',
        `appender.file.fileName = ${join(dir, 'server.log')}`,
        'appender.file.layout.type = PatternLayout',
        'appender.file.layout.pattern = [%d] %p %m (%c)%n',
        'rootLogger.level = info',
        'rootLogger.appenderRef.file.ref = file',
        '',
      ].join('\n'),
    );
    const scram = (['scram256', 'scram512'] as const).flatMap((u) => [
      '--add-scram',
      `${USERS[u].mechanism}=[name=${u},password=${USERS[u].password}]`,
    ]);
    await run(
      'java',
      [
        '-cp',
        this.classpath,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        node.props,
        ...scram,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  }

  private spawn(node: Node): void {
    const dir = join(this.dir, `node${node.id}`);
    const out = openSync(join(dir, 'node.out'), 'a');
    try {
      node.child = spawn(
        'java',
        [
          '-Xms128m',
          '-Xmx448m',
          '-XX:+UseG1GC',
          '-XX:TieredStopAtLevel=1',
          `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`,
          '-cp',
          this.classpath,
          'kafka.Kafka',
          node.props,
        ],
        { stdio: ['ignore', out, out] },
      );
      // a node never holds the test run open; sharedCluster()'s exit handler kills what is left
      node.child.unref();
    } finally {
      closeSync(out);
    }
  }

  /** Until every broker is registered and answers over SASL_SSL. */
  async waitReady(timeoutMs = 120_000): Promise<void> {
    const { probeKafka } = await import('../src/lib/kafka/admin.js');
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const info = await probeKafka(this.config('admin'), { connectionTimeoutMs: 2_000 });
        if (info.brokers === this.nodes.length) return;
        last = new Error(`${info.brokers} of ${this.nodes.length} brokers registered`);
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`the secure cluster did not come up in ${this.dir}: ${String(last)}`);
  }

  /** Stops one node: SIGTERM is a controlled shutdown (leaders move first), SIGKILL a crash. */
  async stop(id: number, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const node = this.node(id);
    const child = node.child;
    node.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.ref(); // unref'd while it runs; waiting for its exit must keep the process alive
    child.kill(signal);
    await exited;
  }

  /** Starts a stopped node again and waits until it serves. */
  async restart(id: number): Promise<void> {
    const node = this.node(id);
    if (!node.child) this.spawn(node);
    await this.waitReady();
  }

  /** Until every partition of `topic` has all its replicas in sync (after a node came back). */
  async waitInSync(topic: string, timeoutMs = 120_000): Promise<void> {
    const { withAdmin } = await import('../src/lib/kafka/admin.js');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const meta = await withAdmin(this.config('admin'), (a) =>
        a.fetchTopicMetadata({ topics: [topic] }),
      ).catch(() => undefined);
      const parts = meta?.topics[0]?.partitions ?? [];
      if (parts.length > 0 && parts.every((p) => p.isr.length === p.replicas.length)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${topic}'s replicas did not get back in sync in ${timeoutMs} ms`);
  }

  /** Partition → leader node id of `topic`, as metadata says now. */
  async leaders(topic: string): Promise<Map<number, number>> {
    const { withAdmin } = await import('../src/lib/kafka/admin.js');
    const meta = await withAdmin(this.config('admin'), (a) =>
      a.fetchTopicMetadata({ topics: [topic] }),
    );
    return new Map((meta.topics[0]?.partitions ?? []).map((p) => [p.partitionId, p.leader]));
  }

  private node(id: number): Node {
    const node = this.nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  /** Kills every node and deletes the directory. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stop(n.id, 'SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One self-signed key pair for the three brokers, naming localhost and 127.0.0.1, in a PKCS12
 * store that is their keystore and truststore; its certificate, as PEM, is the CA gamepipe trusts.
 */
async function makeCertificates(dir: string): Promise<void> {
  const store = join(dir, 'broker.p12');
  const common = ['-storetype', 'PKCS12', '-keystore', store, '-storepass', STORE_PASSWORD];
  await run('keytool', [
    '-genkeypair',
    ...common,
    '-alias',
    'broker',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-validity',
    '30',
    '-dname',
    'CN=localhost, O=gamepipe test cluster',
    '-ext',
    'SAN=dns:localhost,ip:127.0.0.1',
    '-keypass',
    STORE_PASSWORD,
  ]);
  await run('keytool', [
    '-exportcert',
    '-rfc',
    ...common,
    '-alias',
    'broker',
    '-file',
    join(dir, 'ca.pem'),
  ]);
}

/**
 * The run's one cluster, kept on globalThis: the root hook (test/setup.ts, loaded by mocha's
 * `require`) and the test files can get separate instances of this module, and the root hook
 * must close the cluster the test files started (else its nodes outlive the run and keep it open).
 */
interface Shared {
  starting?: Promise<SecureCluster>;
  started?: SecureCluster;
}
const SHARED = Symbol.for('gamepipe.test.secureCluster');
const registry = ((globalThis as Record<symbol, Shared | undefined>)[SHARED] ??= {});

/** The one secure cluster of a test run, started by the first test file that asks for it. */
export function sharedCluster(): Promise<SecureCluster> {
  registry.starting ??= SecureCluster.start().then((c) => {
    registry.started = c;
    // whatever way the run ends, no broker outlives it
    process.once('exit', () => {
      for (const n of c.nodes) n.child?.kill('SIGKILL');
    });
    return c;
  });
  return registry.starting;
}

/** Called by the root hook at the end of the run. */
export async function closeSharedCluster(): Promise<void> {
  const cluster = registry.started;
  registry.started = undefined;
  registry.starting = undefined;
  if (!cluster) return;
  await cluster.close();
  process.stderr.write(`test teardown: secure cluster stopped (${cluster.dir})\n`);
}
