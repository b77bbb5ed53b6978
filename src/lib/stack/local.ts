import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brokerAddress, namenodeHttpPort, type Config } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { sleep } from '../core/retry.js';

const run = promisify(execFile);

export type Component = 'kafka' | 'namenode' | 'datanode';
export const COMPONENTS: readonly Component[] = ['kafka', 'namenode', 'datanode'];

const MAIN_CLASS: Record<Component, string> = {
  kafka: 'kafka.Kafka',
  namenode: 'org.apache.hadoop.hdfs.server.namenode.NameNode',
  datanode: 'org.apache.hadoop.hdfs.server.datanode.DataNode',
};

/** The Maven poms that pin the stack's jars, shipped with the package. */
export const POM_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'compose',
  'local',
);

export interface StackPaths {
  home: string;
  run: string;
  logs: string;
  kafkaData: string;
  kafkaConf: string;
  hdfsConf: string;
  hdfsName: string;
  hdfsData: string;
  classpaths: string;
}

export function stackPaths(home: string): StackPaths {
  return {
    home,
    run: join(home, 'run'),
    logs: join(home, 'logs'),
    kafkaData: join(home, 'kafka', 'data'),
    kafkaConf: join(home, 'kafka', 'conf'),
    hdfsConf: join(home, 'hdfs', 'conf'),
    hdfsName: join(home, 'hdfs', 'name'),
    hdfsData: join(home, 'hdfs', 'data'),
    classpaths: join(home, 'classpath'),
  };
}

function javaBin(env: NodeJS.ProcessEnv = process.env): string {
  return env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** Java >= 17 and Maven must be installed; says which is missing and how to get it. */
export async function checkRequirements(): Promise<{ java: number; maven: string }> {
  let javaMajor: number;
  try {
    const { stderr, stdout } = await run(javaBin(), ['-version']);
    const m = /version "(\d+)(?:\.(\d+))?/.exec(stderr + stdout);
    javaMajor = m ? Number(m[1] === '1' ? m[2] : m[1]) : 0;
  } catch (err) {
    throw new GamepipeError(
      ErrorCodes.stackRequirement,
      'Java was not found (the local stack needs Java >= 17)',
      {
        hint: 'install a JDK 17 or newer (Debian: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME; or use --mode docker',
        cause: err,
      },
    );
  }
  if (javaMajor < 17) {
    throw new GamepipeError(
      ErrorCodes.stackRequirement,
      `Java ${javaMajor} was found, the local stack needs Java >= 17`,
      { hint: 'install a JDK 17 or newer and point JAVA_HOME at it; or use --mode docker' },
    );
  }
  let maven: string;
  try {
    const { stdout } = await run('mvn', ['-v']);
    maven = /Apache Maven (\S+)/.exec(stdout)?.[1] ?? 'unknown';
  } catch (err) {
    throw new GamepipeError(
      ErrorCodes.stackRequirement,
      'Maven (mvn) was not found (the local stack resolves its jars with it)',
      {
        hint: 'install Maven (Debian: apt-get install maven; or https://maven.apache.org) and make sure `mvn` is on PATH; or use --mode docker',
        cause: err,
      },
    );
  }
  return { java: javaMajor, maven };
}

/**
 * The classpath of one pom, resolved by Maven into the local Maven repository (downloaded once)
 * and cached in the stack home under the pom's hash.
 */
export async function resolveClasspath(
  paths: StackPaths,
  name: 'kafka' | 'hadoop',
): Promise<string> {
  const pom = join(POM_DIR, `${name}.pom.xml`);
  const hash = createHash('sha256').update(readFileSync(pom)).digest('hex').slice(0, 12);
  const file = join(paths.classpaths, `${name}-${hash}.txt`);
  if (existsSync(file)) {
    const cp = readFileSync(file, 'utf8').trim();
    if (cp.split(':').every((jar) => existsSync(jar))) return cp;
  }
  mkdirSync(paths.classpaths, { recursive: true });
  try {
    await run(
      'mvn',
      ['-q', '-B', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${file}`],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (err) {
    const out =
      String((err as { stdout?: string }).stdout ?? '') +
      String((err as { stderr?: string }).stderr ?? '');
    const line = out.split('\n').find((l) => l.includes('ERROR')) ?? String(err);
    throw new GamepipeError(
      ErrorCodes.stackStart,
      `Maven could not resolve the ${name} jars: ${line.trim()}`,
      {
        hint: 'check that Maven Central is reachable (or your mirror in ~/.m2/settings.xml), then rerun',
        cause: err,
        context: { pom },
      },
    );
  }
  return readFileSync(file, 'utf8').trim();
}

/** Version of the main artifact in a resolved classpath, e.g. kafka_2.13-4.4.0.jar → 4.4.0. */
export function versionFromClasspath(cp: string, artifact: string): string | undefined {
  const jar = cp.split(':').find((p) => p.includes(`/${artifact}-`) && p.endsWith('.jar'));
  return jar ? new RegExp(`${artifact}-([0-9][^/]*?)(?:-tests)?\\.jar$`).exec(jar)?.[1] : undefined;
}

/**
 * A KRaft cluster id (16 random bytes, base64url) that does not start with '-': StorageTool would
 * read one that does as an option and fail the format (as Kafka's own Uuid.randomUuid avoids).
 */
export function kraftClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function xmlConfig(props: Record<string, string | number | boolean>): string {
  const body = Object.entries(props)
    .map(([k, v]) => `  <property><name>${k}</name><value>${String(v)}</value></property>`)
    .join('\n');
  return `<?xml version="1.0"?>\n<!-- written by gamepipe up; edits are overwritten -->\n<configuration>\n${body}\n</configuration>\n`;
}

function writeKafkaConfig(config: Config, paths: StackPaths): string {
  const { port } = brokerAddress(config);
  const ctl = config.kafkaControllerPort;
  mkdirSync(paths.kafkaConf, { recursive: true });
  const props: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.bootstrap.servers': `127.0.0.1:${ctl}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${ctl}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${ctl}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': paths.kafkaData,
    'num.partitions': 1,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': 'false',
  };
  const file = join(paths.kafkaConf, 'server.properties');
  writeFileSync(
    file,
    '# written by gamepipe up; edits are overwritten\n' +
      Object.entries(props)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n') +
      '\n',
  );
  writeFileSync(
    join(paths.kafkaConf, 'log4j2.properties'),
    [
      'status = warn',
      'appender.file.type = RollingFile',
      'appender.file.name = file',
      `appender.file.fileName = ${join(paths.logs, 'kafka-server.log')}`,
      `appender.file.filePattern = ${join(paths.logs, 'kafka-server.log.%i')}`,
      'appender.file.layout.type = PatternLayout',
      'appender.file.layout.pattern = [%d] %p %m (%c)%n',
      'appender.file.policies.type = Policies',
      'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
      'appender.file.policies.size.size = 50MB',
      'appender.file.strategy.type = DefaultRolloverStrategy',
      'appender.file.strategy.max = 3',
      'rootLogger.level = info',
      'rootLogger.appenderRef.file.ref = file',
      '',
    ].join('\n'),
  );
  return file;
}

function writeHdfsConfig(config: Config, paths: StackPaths): void {
  mkdirSync(paths.hdfsConf, { recursive: true });
  writeFileSync(
    join(paths.hdfsConf, 'core-site.xml'),
    xmlConfig({
      'fs.defaultFS': `hdfs://127.0.0.1:${config.namenodeRpcPort}`,
      'hadoop.tmp.dir': join(paths.home, 'hdfs', 'tmp'),
      'hadoop.http.staticuser.user': config.hdfsUser,
    }),
  );
  writeFileSync(
    join(paths.hdfsConf, 'hdfs-site.xml'),
    xmlConfig({
      'dfs.replication': 1,
      'dfs.namenode.name.dir': `file://${paths.hdfsName}`,
      'dfs.datanode.data.dir': `file://${paths.hdfsData}`,
      'dfs.namenode.rpc-address': `127.0.0.1:${config.namenodeRpcPort}`,
      'dfs.namenode.http-address': `127.0.0.1:${namenodeHttpPort(config)}`,
      'dfs.datanode.address': `127.0.0.1:${config.datanodePort}`,
      'dfs.datanode.http.address': `127.0.0.1:${config.datanodeHttpPort}`,
      'dfs.datanode.ipc.address': `127.0.0.1:${config.datanodeIpcPort}`,
      // WebHDFS redirects name the DataNode by the host it registered: make that reachable
      'dfs.datanode.hostname': '127.0.0.1',
      'dfs.namenode.datanode.registration.ip-hostname-check': false,
      'dfs.webhdfs.enabled': true,
      'dfs.permissions.enabled': false,
      // one DataNode: leave safe mode at once, and notice a dead DataNode in about a minute
      'dfs.namenode.safemode.extension': 0,
      'dfs.namenode.heartbeat.recheck-interval': 15_000,
      'dfs.heartbeat.interval': 3,
      // WebHDFS writes go through the DataNode's own HDFS client, whose close asks the NameNode
      // until the DataNode has reported the block: first after 400 ms by default, which every
      // other file waited. Ask after 25 ms, doubling, with twice the retries (25.6 s in all,
      // more than the default's 12.4 s)
      'dfs.client.block.write.locateFollowingBlock.initial.delay.ms': 25,
      'dfs.client.block.write.locateFollowingBlock.retries': 10,
    }),
  );
  writeFileSync(
    join(paths.hdfsConf, 'log4j.properties'),
    [
      'log4j.rootLogger=INFO,RFA',
      'log4j.appender.RFA=org.apache.log4j.RollingFileAppender',
      'log4j.appender.RFA.File=${hadoop.log.dir}/${hadoop.log.file}',
      'log4j.appender.RFA.MaxFileSize=50MB',
      'log4j.appender.RFA.MaxBackupIndex=3',
      'log4j.appender.RFA.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.RFA.layout.ConversionPattern=%d{ISO8601} %p %c: %m%n',
      'log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR',
      '',
    ].join('\n'),
  );
}

function pidFile(paths: StackPaths, c: Component): string {
  return join(paths.run, `${c}.pid`);
}

/** The pid of a component this stack started, if that process still runs. */
export function runningPid(paths: StackPaths, c: Component): number | undefined {
  const file = pidFile(paths, c);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  // guard against a recycled pid: the process must still be our java main class
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(MAIN_CLASS[c])) return undefined;
  } catch {
    // no /proc (macOS): trust the pid
  }
  return pid;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The ports a component of the local stack listens on, its client port first. */
export function componentPorts(config: Config, c: Component): number[] {
  switch (c) {
    case 'kafka':
      return [brokerAddress(config).port, config.kafkaControllerPort];
    case 'namenode':
      return [namenodeHttpPort(config), config.namenodeRpcPort];
    case 'datanode':
      return [config.datanodeHttpPort, config.datanodePort, config.datanodeIpcPort];
  }
}

/** Where a component's own output (stdout and stderr: JVM errors, crashes) goes. */
export function logFile(paths: StackPaths, c: Component): string {
  return join(paths.logs, `${c}.out`);
}

/** A component's log: what its log4j writes (rotated to `.1`, `.2`... beside it). */
export function serviceLog(paths: StackPaths, c: Component): string {
  return join(paths.logs, c === 'kafka' ? 'kafka-server.log' : `${c}.log`);
}

function spawnJava(paths: StackPaths, c: Component, args: string[]): number {
  mkdirSync(paths.logs, { recursive: true });
  mkdirSync(paths.run, { recursive: true });
  const out = openSync(logFile(paths, c), 'a');
  try {
    const child = spawn(javaBin(), args, { detached: true, stdio: ['ignore', out, out] });
    if (child.pid === undefined) {
      throw new GamepipeError(ErrorCodes.stackStart, `could not start ${c}: java did not start`, {
        hint: 'check that `java -version` works',
      });
    }
    child.unref();
    writeFileSync(pidFile(paths, c), `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

async function runJavaOnce(args: string[], what: string, log: string): Promise<void> {
  try {
    await run(javaBin(), args, { maxBuffer: 32 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    writeFileSync(log, `${e.stdout ?? ''}${e.stderr ?? ''}`);
    throw new GamepipeError(ErrorCodes.stackStart, `${what} failed; its output is in ${log}`, {
      hint: 'read the log; `gamepipe down --purge` resets the stack data if it is corrupt',
      cause: err,
    });
  }
}

export interface LocalStartResult {
  started: Component[];
  alreadyRunning: Component[];
  versions: { kafka?: string; hadoop?: string };
}

/**
 * Starts whatever of Kafka, NameNode and DataNode is not running: resolves jars, writes configs,
 * formats storage on first use, and spawns each as a detached java process with a pid file.
 * It does not wait for readiness.
 */
export async function startLocal(
  config: Config,
  { onProgress = () => undefined }: { onProgress?: (message: string) => void } = {},
): Promise<LocalStartResult> {
  const paths = stackPaths(config.home);
  const missing = COMPONENTS.filter((c) => runningPid(paths, c) === undefined);
  const result: LocalStartResult = {
    started: [],
    alreadyRunning: COMPONENTS.filter((c) => !missing.includes(c)),
    versions: {},
  };
  await checkRequirements();
  onProgress('resolving jars with Maven (first run downloads them)');
  const kafkaCp = await resolveClasspath(paths, 'kafka');
  const hadoopCp = await resolveClasspath(paths, 'hadoop');
  result.versions = {
    kafka: versionFromClasspath(kafkaCp, 'kafka_2.13'),
    hadoop: versionFromClasspath(hadoopCp, 'hadoop-hdfs'),
  };
  if (missing.length === 0) return result;
  for (const c of missing) await assertPortsFree(config, c);
  mkdirSync(paths.logs, { recursive: true });
  if (missing.includes('kafka')) {
    await startKafka(config, paths, kafkaCp, onProgress);
    result.started.push('kafka');
  }
  const hdfs = missing.filter((c) => c === 'namenode' || c === 'datanode');
  if (hdfs.length > 0) {
    await startHdfs(config, paths, hadoopCp, hdfs, onProgress);
    result.started.push(...hdfs);
  }
  return result;
}

async function assertPortsFree(config: Config, c: Component): Promise<void> {
  for (const port of componentPorts(config, c)) {
    if (await portInUse(port)) {
      throw new GamepipeError(
        ErrorCodes.stackStart,
        `cannot start ${c}: port ${port} on 127.0.0.1 is taken by another process`,
        {
          hint: 'stop that process, or move gamepipe to other ports (see docs/configuration.md)',
          context: { component: c, port },
        },
      );
    }
  }
}

/** Writes Kafka's config, formats its storage (KRaft) on first use, and spawns the broker. */
async function startKafka(
  config: Config,
  paths: StackPaths,
  kafkaCp: string,
  onProgress: (message: string) => void,
): Promise<void> {
  const props = writeKafkaConfig(config, paths);
  if (!existsSync(join(paths.kafkaData, 'meta.properties'))) {
    onProgress('formatting Kafka storage (KRaft)');
    mkdirSync(paths.kafkaData, { recursive: true });
    const clusterId = kraftClusterId();
    await runJavaOnce(
      [
        '-cp',
        kafkaCp,
        'kafka.tools.StorageTool',
        'format',
        '-t',
        clusterId,
        '-c',
        props,
        '--standalone',
        '-g',
      ],
      'formatting Kafka storage',
      join(paths.logs, 'kafka-format.out'),
    );
  }
  onProgress('starting Kafka');
  spawnJava(paths, 'kafka', [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    `-Dlog4j2.configurationFile=${join(paths.kafkaConf, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${paths.logs}`,
    '-cp',
    kafkaCp,
    MAIN_CLASS.kafka,
    props,
  ]);
}

/** Writes HDFS's config and spawns the NameNode (formatted on first use) and DataNode asked. */
async function startHdfs(
  config: Config,
  paths: StackPaths,
  hadoopCp: string,
  which: Component[],
  onProgress: (message: string) => void,
): Promise<void> {
  writeHdfsConfig(config, paths);
  const cp = `${paths.hdfsConf}:${hadoopCp}`;
  const common = (c: Component): string[] => [
    '-Xms128m',
    '-Xmx512m',
    `-Dhadoop.log.dir=${paths.logs}`,
    `-Dhadoop.log.file=${c}.log`,
    `-Dhadoop.home.dir=${join(paths.home, 'hdfs')}`,
    `-Dhadoop.tmp.dir=${join(paths.home, 'hdfs', 'tmp')}`,
    '-Djava.net.preferIPv4Stack=true',
    '-cp',
    cp,
  ];
  if (which.includes('namenode')) {
    if (!existsSync(join(paths.hdfsName, 'current', 'VERSION'))) {
      onProgress('formatting the HDFS NameNode');
      await runJavaOnce(
        [...common('namenode'), MAIN_CLASS.namenode, '-format', '-force', '-nonInteractive'],
        'formatting the NameNode',
        join(paths.logs, 'namenode-format.out'),
      );
    }
    onProgress('starting the HDFS NameNode');
    spawnJava(paths, 'namenode', [...common('namenode'), MAIN_CLASS.namenode]);
  }
  if (which.includes('datanode')) {
    onProgress('starting the HDFS DataNode');
    mkdirSync(paths.hdfsData, { recursive: true });
    spawnJava(paths, 'datanode', [...common('datanode'), MAIN_CLASS.datanode]);
  }
}

/** Throws a start error with the tail of its log when a started process has died. */
export function assertStillRunning(config: Config, c: Component): void {
  const paths = stackPaths(config.home);
  if (runningPid(paths, c) !== undefined) return;
  const log = logFile(paths, c);
  const tail = existsSync(log)
    ? readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' | ')
    : '';
  throw new GamepipeError(
    ErrorCodes.stackStart,
    `${c} exited during start-up${tail ? `: ${tail.slice(0, 300)}` : ''}`,
    {
      hint: `read ${log} and ${serviceLog(paths, c)}`,
      context: { component: c },
    },
  );
}

export interface StopResult {
  stopped: Component[];
  killed: Component[];
}

/** Stops the processes `startLocal` started: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopLocal(
  config: Config,
  {
    graceMs = 20_000,
    components = [...COMPONENTS].reverse(),
  }: { graceMs?: number; components?: Component[] } = {},
): Promise<StopResult> {
  const paths = stackPaths(config.home);
  const result: StopResult = { stopped: [], killed: [] };
  const targets = components
    .map((c) => ({ c, pid: runningPid(paths, c) }))
    .filter((t): t is { c: Component; pid: number } => t.pid !== undefined);
  // the DataNode goes before the NameNode, and both before Kafka is fine: they do not depend on it
  for (const { c, pid } of targets) {
    signalGroup(pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) {
      signalGroup(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
      result.killed.push(c);
    }
    result.stopped.push(c);
  }
  for (const c of components) rmSync(pidFile(paths, c), { force: true });
  return result;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Deletes the stack's data and logs; keeps the config file and the classpath cache. */
export function purgeLocal(config: Config): void {
  const paths = stackPaths(config.home);
  for (const dir of [join(paths.home, 'kafka'), join(paths.home, 'hdfs'), paths.logs, paths.run]) {
    rmSync(dir, { recursive: true, force: true });
  }
}
