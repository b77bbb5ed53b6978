import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import type { Config } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { Backoff } from '../core/retry.js';
import { createTopic, probeKafka } from '../kafka/admin.js';
import {
  assertStillRunning,
  COMPONENTS,
  componentPorts,
  purgeLocal,
  runningPid,
  stackPaths,
  startLocal,
  stopLocal,
  type Component,
} from './local.js';
import { dockerAvailable, dockerDown, dockerRestart, dockerUp, DOCKER_VERSIONS } from './docker.js';
import { WebHdfs, withHdfs } from '../hdfs/webhdfs.js';

export type Mode = 'auto' | 'local' | 'docker';
export type ServiceName = Component | 'api';

export interface ServiceStatus {
  service: ServiceName;
  state: 'up' | 'down';
  endpoint: string;
  version: string;
  detail: string;
  /** The process of the local stack (null for a docker stack, a cluster, or the API). */
  pid?: number | null;
  /** The ports it listens on, its client port first. */
  ports?: number[];
}

/** What `up` last started, so `down` and `status` know the mode and versions. */
interface StackState {
  mode: 'local' | 'docker';
  startedAt: string;
  versions: { kafka?: string; hadoop?: string };
}

function stateFile(config: Config): string {
  return join(config.home, 'stack.json');
}

export function readStackState(config: Config): StackState | undefined {
  const file = stateFile(config);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

function writeStackState(config: Config, state: StackState): void {
  mkdirSync(config.home, { recursive: true });
  writeFileSync(stateFile(config), JSON.stringify(state, null, 2) + '\n');
}

async function jmx<T>(baseUrl: string, query: string, timeoutMs: number): Promise<T | undefined> {
  const res = await request(`${baseUrl}/jmx?qry=${encodeURIComponent(query)}`, {
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  if (res.statusCode !== 200) {
    await res.body.dump();
    return undefined;
  }
  const body = (await res.body.json()) as { beans?: T[] };
  return body.beans?.[0];
}

function reason(err: unknown): string {
  if (err instanceof GamepipeError) return err.message;
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  return e.cause?.code ?? e.code ?? e.message ?? String(err);
}

/** Probes each service once; never throws. */
export async function probeServices(
  config: Config,
  { timeoutMs = 2_000, includeApi = false }: { timeoutMs?: number; includeApi?: boolean } = {},
): Promise<ServiceStatus[]> {
  const versions = readStackState(config)?.versions ?? {};
  const kafka = probeKafkaService(config, timeoutMs, versions.kafka);
  const hdfs = probeHdfs(config, timeoutMs, versions.hadoop);
  const out = [await kafka, ...(await hdfs)];
  if (includeApi) out.push(await probeApi(config, timeoutMs));
  // each process of a stack `up` started by its pid and ports, as `docker compose ps` names them
  // (a studio's own cluster has neither here)
  const paths = stackPaths(config.home);
  const ours = readStackState(config) !== undefined;
  return out.map((s) => ({
    ...s,
    pid: s.service === 'api' ? null : (runningPid(paths, s.service) ?? null),
    ports: s.service === 'api' ? [config.apiPort] : ours ? componentPorts(config, s.service) : [],
  }));
}

async function probeKafkaService(
  config: Config,
  timeoutMs: number,
  version: string | undefined,
): Promise<ServiceStatus> {
  const endpoint = config.brokers.join(',');
  try {
    const info = await probeKafka(config, { connectionTimeoutMs: timeoutMs });
    return {
      service: 'kafka',
      state: 'up',
      endpoint,
      version: version ?? 'unknown',
      detail: `cluster ${info.clusterId}, ${info.brokers} broker(s)`,
    };
  } catch (err) {
    return { service: 'kafka', state: 'down', endpoint, version: '', detail: reason(err) };
  }
}

/** The NameNode (up: out of safe mode and WebHDFS lists /), then the DataNode (up: registered). */
async function probeHdfs(
  config: Config,
  timeoutMs: number,
  hadoopVersion: string | undefined,
): Promise<[ServiceStatus, ServiceStatus]> {
  const nn = await probeNameNode(config, timeoutMs);
  // registered counts only with a NameNode that is up
  const live = nn.status.state === 'up' ? nn.liveDataNodes : [];
  return [nn.status, await probeDataNode(config, timeoutMs, live, hadoopVersion)];
}

async function probeNameNode(
  config: Config,
  timeoutMs: number,
): Promise<{ status: ServiceStatus; liveDataNodes: string[] }> {
  const endpoint = config.webhdfsUrl;
  try {
    const info = await jmx<{ Version?: string; Safemode?: string; LiveNodes?: string }>(
      endpoint,
      'Hadoop:service=NameNode,name=NameNodeInfo',
      timeoutMs,
    );
    const state = await jmx<{ NumLiveDataNodes?: number }>(
      endpoint,
      'Hadoop:service=NameNode,name=FSNamesystemState',
      timeoutMs,
    );
    const live = state?.NumLiveDataNodes ?? 0;
    const liveDataNodes = liveHttpAddresses(info?.LiveNodes);
    const hdfs = new WebHdfs({ url: endpoint, user: config.hdfsUser, timeoutMs });
    try {
      await hdfs.listStatus('/');
    } finally {
      await hdfs.close();
    }
    const safemode = info?.Safemode ? 'in safe mode' : '';
    const status: ServiceStatus = {
      service: 'namenode',
      state: safemode ? 'down' : 'up',
      endpoint,
      version: (info?.Version ?? 'unknown').split(',')[0] ?? 'unknown',
      detail: safemode || `WebHDFS on, ${live} live DataNode(s)`,
    };
    return { status, liveDataNodes };
  } catch (err) {
    const status: ServiceStatus = {
      service: 'namenode',
      state: 'down',
      endpoint,
      version: '',
      detail: reason(err),
    };
    return { status, liveDataNodes: [] };
  }
}

/** The HTTP addresses (host:port) of the DataNodes the NameNode lists as live (its LiveNodes). */
function liveHttpAddresses(liveNodes: string | undefined): string[] {
  try {
    const nodes = JSON.parse(liveNodes ?? '{}') as Record<string, { infoAddr?: string }>;
    return Object.values(nodes)
      .map((n) => n.infoAddr ?? '')
      .filter((a) => a !== '' && !a.endsWith(':0'));
  } catch {
    return [];
  }
}

/**
 * A DataNode is up when the NameNode lists it as live and it answers: the ones the NameNode
 * lists are probed where they are (a studio's HDFS, or ours); with none listed, the local
 * stack's DataNode port tells "running, not registered" from down.
 */
async function probeDataNode(
  config: Config,
  timeoutMs: number,
  live: string[],
  hadoopVersion: string | undefined,
): Promise<ServiceStatus> {
  const candidates =
    live.length > 0
      ? live.map((a) => `http://${a}`)
      : [`http://127.0.0.1:${config.datanodeHttpPort}`];
  let failure: unknown;
  for (const endpoint of candidates) {
    try {
      const info = await jmx<{ Version?: string }>(
        endpoint,
        'Hadoop:service=DataNode,name=DataNodeInfo',
        timeoutMs,
      );
      const registered = live.length > 0;
      return {
        service: 'datanode',
        state: registered ? 'up' : 'down',
        endpoint,
        version: (info?.Version ?? hadoopVersion ?? 'unknown').split(',')[0] ?? 'unknown',
        detail: registered
          ? `registered with the NameNode${live.length > 1 ? ` (${live.length} live)` : ''}`
          : 'running, not registered with the NameNode',
      };
    } catch (err) {
      failure = err;
    }
  }
  const detail =
    live.length > 0
      ? `${live.length} registered with the NameNode, none answers: ${reason(failure)}`
      : reason(failure);
  return { service: 'datanode', state: 'down', endpoint: candidates[0] ?? '', version: '', detail };
}

async function probeApi(config: Config, timeoutMs: number): Promise<ServiceStatus> {
  const endpoint = `http://${config.apiHost}:${config.apiPort}`;
  try {
    const res = await request(`${endpoint}/readyz`, {
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const body = (await res.body.json().catch(() => ({}))) as { version?: string; detail?: string };
    return {
      service: 'api',
      state: res.statusCode === 200 ? 'up' : 'down',
      endpoint,
      version: body.version ?? 'unknown',
      detail: res.statusCode === 200 ? 'ready' : `not ready: ${body.detail ?? res.statusCode}`,
    };
  } catch (err) {
    return { service: 'api', state: 'down', endpoint, version: '', detail: reason(err) };
  }
}

export interface UpOptions {
  mode?: Mode;
  /** How long to wait for every service to be ready. */
  timeoutMs?: number;
  onProgress?: (message: string) => void;
}

export interface UpResult {
  mode: 'local' | 'docker';
  alreadyUp: boolean;
  started: string[];
  services: ServiceStatus[];
  topicCreated: boolean;
  elapsedMs: number;
}

export async function resolveMode(mode: Mode): Promise<'local' | 'docker'> {
  if (mode !== 'auto') return mode;
  return (await dockerAvailable()) ? 'docker' : 'local';
}

/**
 * Brings the stack up: starts what is not running, waits until Kafka answers metadata and WebHDFS
 * answers with one live DataNode, then makes sure the events topic and the lake's base exist.
 */
export async function up(
  config: Config,
  { mode = 'auto', timeoutMs = 180_000, onProgress = () => undefined }: UpOptions = {},
): Promise<UpResult> {
  if (config.kafkaSecurityProtocol !== 'PLAINTEXT') {
    // the local stack's broker speaks plaintext only: this config is for a cluster of its own
    throw new GamepipeError(
      ErrorCodes.config,
      `gamepipe up starts a local plaintext Kafka, but the config asks for kafkaSecurityProtocol ${config.kafkaSecurityProtocol}`,
      {
        hint: 'with your own cluster, skip `up` (`gamepipe status` checks it); for the local stack, leave kafkaSecurityProtocol out',
      },
    );
  }
  const t0 = Date.now();
  const before = await probeServices(config);
  const previous = readStackState(config);
  // an explicit --mode wins; otherwise the mode the stack was started in, else what is available
  const resolved = mode !== 'auto' ? mode : (previous?.mode ?? (await resolveMode(mode)));
  const allUp = before.every((s) => s.state === 'up');
  let started: string[] = [];
  if (!allUp) {
    if (resolved === 'docker') {
      onProgress('starting the stack with docker compose');
      await dockerUp(config);
      started = before.filter((s) => s.state === 'down').map((s) => s.service);
      writeStackState(config, {
        mode: 'docker',
        startedAt: new Date().toISOString(),
        versions: DOCKER_VERSIONS,
      });
    } else {
      const res = await startLocal(config, { onProgress });
      started = res.started;
      writeStackState(config, {
        mode: 'local',
        startedAt: new Date().toISOString(),
        versions: res.versions,
      });
    }
  }
  onProgress('waiting for Kafka and HDFS to be ready');
  const services = await waitReady(config, {
    timeoutMs,
    checkAlive: resolved === 'local' ? (started as Component[]) : [],
    onProgress,
  });
  const topic = await createTopic(config, { topic: config.topic, ifNotExists: true });
  await withHdfs(config, async (hdfs) => {
    await hdfs.mkdirs(config.base);
  });
  return {
    mode: resolved,
    alreadyUp: allUp,
    started,
    services,
    topicCreated: topic.created,
    elapsedMs: Date.now() - t0,
  };
}

async function waitReady(
  config: Config,
  {
    timeoutMs,
    checkAlive,
    onProgress = () => undefined,
  }: { timeoutMs: number; checkAlive: Component[]; onProgress?: (message: string) => void },
): Promise<ServiceStatus[]> {
  const t0 = Date.now();
  // a probe every half second until the deadline
  const poll = new Backoff({
    retries: Infinity,
    initialMs: 500,
    maxMs: 500,
    deadline: Date.now() + timeoutMs,
  });
  for (;;) {
    const services = await probeServices(config);
    const ready = services.filter((s) => s.state === 'up');
    if (ready.length === services.length) return services;
    onProgress(
      `waiting for Kafka and HDFS: ${ready.length}/${services.length} ready (${Math.floor((ready.length * 100) / services.length)}%; ${services
        .filter((s) => s.state !== 'up')
        .map((s) => s.service)
        .join(
          ', ',
        )} not yet), ${Math.round((Date.now() - t0) / 1000)}s of at most ${Math.round(timeoutMs / 1000)}s`,
    );
    for (const c of checkAlive) assertStillRunning(config, c);
    if (!(await poll.next())) {
      const down = services.filter((s) => s.state === 'down');
      throw new GamepipeError(
        ErrorCodes.stackTimeout,
        `the stack was not ready after ${Math.round(timeoutMs / 1000)}s: ${down
          .map((s) => `${s.service} (${s.detail})`)
          .join(', ')}`,
        {
          hint: `read the logs in ${join(config.home, 'logs')}; then \`gamepipe down\` and \`gamepipe up\``,
        },
      );
    }
  }
}

export interface DownResult {
  mode: 'local' | 'docker' | 'none';
  stopped: string[];
  killed: string[];
  purged: boolean;
}

/** Stops what `up` started (gracefully, then forcefully); `purge` also deletes the data. */
export async function down(
  config: Config,
  { purge = false, graceMs = 20_000 }: { purge?: boolean; graceMs?: number } = {},
): Promise<DownResult> {
  const state = readStackState(config);
  const paths = stackPaths(config.home);
  if (state?.mode === 'docker') {
    await dockerDown(config, { purge });
    return {
      mode: 'docker',
      stopped: ['kafka', 'namenode', 'datanode'],
      killed: [],
      purged: purge,
    };
  }
  const anyRunning = (['kafka', 'namenode', 'datanode'] as const).some(
    (c) => runningPid(paths, c) !== undefined,
  );
  const res = await stopLocal(config, { graceMs });
  if (purge) purgeLocal(config);
  return { mode: anyRunning || state ? 'local' : 'none', ...res, purged: purge };
}

export interface RestartResult extends UpResult {
  /** What was running and was stopped. */
  stopped: string[];
  /** What had to be killed after the grace period. */
  killed: string[];
}

/**
 * Stops the chosen services (all when none are named) as `down` does, then brings the stack up
 * as `up` does: what was not running is started too, and the call returns when all are ready.
 */
export async function restart(
  config: Config,
  services: readonly Component[] | undefined,
  {
    graceMs = 20_000,
    timeoutMs = 180_000,
    onProgress = () => undefined,
  }: { graceMs?: number; timeoutMs?: number; onProgress?: (message: string) => void } = {},
): Promise<RestartResult> {
  // in the order `down` stops them: the DataNode before the NameNode
  const chosen = [...COMPONENTS].reverse().filter((c) => !services || services.includes(c));
  if (readStackState(config)?.mode === 'docker') {
    const t0 = Date.now();
    onProgress(`restarting ${chosen.join(', ')} with docker compose`);
    await dockerRestart(chosen);
    onProgress('waiting for Kafka and HDFS to be ready');
    const ready = await waitReady(config, { timeoutMs, checkAlive: [] });
    return {
      mode: 'docker',
      alreadyUp: false,
      started: chosen,
      services: ready,
      topicCreated: false,
      elapsedMs: Date.now() - t0,
      stopped: chosen,
      killed: [],
    };
  }
  onProgress(`stopping ${chosen.join(', ')}`);
  const stopped = await stopLocal(config, { graceMs, components: chosen });
  const res = await up(config, { mode: 'local', timeoutMs, onProgress });
  return { ...res, stopped: stopped.stopped, killed: stopped.killed };
}
