import {
  Kafka,
  logLevel as KafkaLogLevel,
  type Admin,
  type ITopicConfig,
  type KafkaConfig,
  type logCreator,
  type RetryOptions,
} from 'kafkajs';
import { kafkaAccess as access, type KafkaAccess, type KafkaSecurity } from '../core/config.js';
import { ErrorCodes, GamepipeError, STACK_HINT } from '../core/errors.js';
import { CERTIFICATE, TLS_HINT, tlsOptions } from './protocol/connection.js';
import { SASL_HINT } from './protocol/sasl.js';

/** Topic settings the events topic must have: the daily extract reads days by record time. */
export const EVENTS_TOPIC_CONFIG: Readonly<Record<string, string>> = Object.freeze({
  'message.timestamp.type': 'LogAppendTime',
});

export interface KafkaClientOptions extends KafkaAccess {
  clientId?: string;
  /** kafkajs log lines go here; silent by default. */
  logCreator?: logCreator;
  connectionTimeoutMs?: number;
  retry?: RetryOptions;
}

const silent: logCreator = () => () => undefined;

export function createKafka({
  brokers,
  kafkaSecurity,
  clientId = 'gamepipe',
  logCreator = silent,
  connectionTimeoutMs = 3_000,
  retry = { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
}: KafkaClientOptions): Kafka {
  return new Kafka({
    brokers: [...brokers],
    clientId,
    logLevel: KafkaLogLevel.WARN,
    logCreator,
    connectionTimeout: connectionTimeoutMs,
    requestTimeout: 30_000,
    retry,
    ...kafkajsSecurity(kafkaSecurity),
  });
}

/** The same TLS and SASL settings as the wire client's, in kafkajs's terms. */
function kafkajsSecurity(security: KafkaSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  if (!security) return {};
  const { tls, sasl } = security;
  return {
    // kafkajs hands `ssl` to tls.connect, adding the broker's host as the server name
    ...(tls && { ssl: tlsOptions(tls) }),
    ...(sasl && {
      sasl:
        sasl.mechanism === 'PLAIN'
          ? { mechanism: 'plain', username: sasl.username, password: sasl.password }
          : sasl.mechanism === 'SCRAM-SHA-256'
            ? { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password }
            : { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password },
    }),
  };
}

interface KafkaJsError extends Error {
  retriable?: boolean;
  type?: string;
  originalError?: KafkaJsError;
}

const UNREACHABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
  'KafkaJSConnectionClosedError',
]);

/** Turns a kafkajs error into a coded GamepipeError that keeps `retriable`. */
export function wrapKafkaError(
  err: unknown,
  {
    brokers,
    topic,
    user,
  }: {
    brokers: readonly string[];
    topic?: string;
    /** the SASL user, for a refused login */ user?: string;
  },
): GamepipeError {
  if (err instanceof GamepipeError) return err;
  let e = err as KafkaJsError;
  // kafkajs wraps the last failure of a retry loop; the inner error says what went wrong
  while (e?.name === 'KafkaJSNumberOfRetriesExceeded' && e.originalError) e = e.originalError;
  const name = e?.name ?? 'Error';
  const context = { brokers: brokers.join(','), topic };
  const where = brokers.join(',');
  const refused = authFailure(err, where, user);
  if (refused) return refused;
  if (
    UNREACHABLE.has(name) ||
    /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.test(String(e?.message))
  ) {
    return new GamepipeError(
      ErrorCodes.kafkaUnavailable,
      `Kafka at ${where} is unreachable (${e.message})`,
      {
        hint: STACK_HINT,
        cause: err,
        context,
        retriable: true,
      },
    );
  }
  if (e?.type === 'TOPIC_ALREADY_EXISTS') {
    return new GamepipeError(
      ErrorCodes.topicExists,
      `topic ${topic ?? ''} already exists on ${where}`,
      {
        hint: 'use --if-not-exists to accept an existing topic, or `gamepipe topic describe`',
        cause: err,
        context,
      },
    );
  }
  if (e?.type === 'UNKNOWN_TOPIC_OR_PARTITION') {
    return new GamepipeError(
      ErrorCodes.topicNotFound,
      `topic ${topic ?? ''} does not exist on ${where}`,
      {
        hint: 'create it with `gamepipe topic create`',
        cause: err,
        context,
      },
    );
  }
  return new GamepipeError(
    ErrorCodes.kafka,
    `Kafka error from ${where}: ${e?.message ?? String(err)}`,
    {
      cause: err,
      context,
      retriable: e?.retriable ?? false,
    },
  );
}

/**
 * A login or a certificate the cluster refused, anywhere in a kafkajs error's chain: not worth a
 * retry, and said as the wire client says it (GP_KAFKA_AUTH). kafkajs's SASL message names the
 * mechanism and the reason, never the password.
 */
function authFailure(err: unknown, where: string, user?: string): GamepipeError | undefined {
  for (let e = err as (KafkaJsError & { code?: unknown }) | undefined; e; e = e.originalError) {
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      return new GamepipeError(
        ErrorCodes.kafkaAuth,
        `Kafka at ${where} refused the login${user ? ` of user ${user}` : ''}: ${e.message}`,
        {
          hint: SASL_HINT,
          cause: err,
          context: { brokers: where },
        },
      );
    }
    if (CERTIFICATE.test(String(e.code ?? '')) || /certificate|self.signed/i.test(e.message)) {
      return new GamepipeError(
        ErrorCodes.kafkaAuth,
        `Kafka at ${where} has a certificate gamepipe does not accept (${e.message})`,
        { hint: TLS_HINT, cause: err, context: { brokers: where } },
      );
    }
  }
  return undefined;
}

/** Runs `fn` with a connected admin client and always disconnects it. */
export async function withAdmin<T>(
  config: KafkaAccess,
  fn: (admin: Admin) => Promise<T>,
  { topic, connectionTimeoutMs }: { topic?: string; connectionTimeoutMs?: number } = {},
): Promise<T> {
  const admin = createKafka({ ...access(config), connectionTimeoutMs }).admin();
  try {
    await admin.connect();
    return await fn(admin);
  } catch (err) {
    throw wrapKafkaError(err, { brokers: config.brokers, topic, user: userOf(config) });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

function userOf(access: KafkaAccess): string | undefined {
  return access.kafkaSecurity?.sasl?.username;
}

/** Throws GP_TOPIC_NOT_FOUND, naming the topic and the brokers, when the topic does not exist. */
export async function assertTopicExists(
  admin: Admin,
  topic: string,
  brokers: readonly string[],
): Promise<void> {
  if ((await admin.listTopics()).includes(topic)) return;
  throw new GamepipeError(
    ErrorCodes.topicNotFound,
    `topic ${topic} does not exist on ${brokers.join(',')}`,
    {
      hint: 'pass the events topic with --topic (see `gamepipe topic list`)',
      context: { topic },
    },
  );
}

export interface CreateTopicOptions {
  topic: string;
  partitions?: number;
  replicationFactor?: number;
  ifNotExists?: boolean;
  /** Extra topic configs; the events-topic settings are always applied. */
  configEntries?: Record<string, string>;
}

/** Creates a topic with LogAppendTime; `created` is false when it existed and ifNotExists is set. */
export async function createTopic(
  config: KafkaAccess,
  {
    topic,
    partitions = 3,
    // -1: the cluster's default.replication.factor (3 on a studio's cluster, 1 on the local stack)
    replicationFactor = -1,
    ifNotExists = false,
    configEntries = {},
  }: CreateTopicOptions,
): Promise<{ topic: string; created: boolean }> {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new GamepipeError(
      ErrorCodes.usage,
      `--partitions must be a positive integer, got ${partitions}`,
    );
  }
  if (!Number.isInteger(replicationFactor) || (replicationFactor < 1 && replicationFactor !== -1)) {
    throw new GamepipeError(
      ErrorCodes.usage,
      `--replication-factor must be a positive integer, got ${replicationFactor}`,
    );
  }
  const entries = { ...configEntries, ...EVENTS_TOPIC_CONFIG };
  const spec: ITopicConfig = {
    topic,
    numPartitions: partitions,
    replicationFactor,
    configEntries: Object.entries(entries).map(([name, value]) => ({ name, value })),
  };
  return withAdmin(
    config,
    async (admin) => {
      const existing = await admin.listTopics();
      if (existing.includes(topic)) {
        if (ifNotExists) return { topic, created: false };
        throw wrapKafkaError(Object.assign(new Error('exists'), { type: 'TOPIC_ALREADY_EXISTS' }), {
          brokers: config.brokers,
          topic,
        });
      }
      try {
        await admin.createTopics({ topics: [spec], waitForLeaders: true });
      } catch (err) {
        const inner = (err as { errors?: KafkaJsError[] }).errors?.[0];
        if (inner?.type === 'TOPIC_ALREADY_EXISTS' && ifNotExists) return { topic, created: false };
        throw inner ?? err;
      }
      return { topic, created: true };
    },
    { topic },
  );
}

export interface TopicDescription {
  topic: string;
  partitions: Array<{
    partition: number;
    leader: number;
    replicas: number[];
    isr: number[];
    earliestOffset: number;
    latestOffset: number;
  }>;
  configs: Record<string, string>;
}

export async function describeTopic(config: KafkaAccess, topic: string): Promise<TopicDescription> {
  return withAdmin(
    config,
    async (admin) => {
      const topics = await admin.listTopics();
      if (!topics.includes(topic)) {
        throw wrapKafkaError(
          Object.assign(new Error('missing'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' }),
          {
            brokers: config.brokers,
            topic,
          },
        );
      }
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const offsets = await admin.fetchTopicOffsets(topic);
      const described = await admin.describeConfigs({
        resources: [{ type: 2 /* TOPIC */, name: topic }],
        includeSynonyms: false,
      });
      const configs: Record<string, string> = {};
      for (const entry of described.resources[0]?.configEntries ?? []) {
        configs[entry.configName] = entry.configValue;
      }
      const partitions = (meta.topics[0]?.partitions ?? [])
        .map((p) => {
          const o = offsets.find((x) => x.partition === p.partitionId);
          return {
            partition: p.partitionId,
            leader: p.leader,
            replicas: p.replicas,
            isr: p.isr,
            earliestOffset: Number(o?.low ?? 0),
            latestOffset: Number(o?.high ?? 0),
          };
        })
        .sort((a, b) => a.partition - b.partition);
      return { topic, partitions, configs };
    },
    { topic },
  );
}

/** Deletes a topic (GP_TOPIC_NOT_FOUND when there is none); its records are gone. */
export async function deleteTopic(config: KafkaAccess, topic: string): Promise<void> {
  await withAdmin(
    config,
    async (admin) => {
      await assertTopicExists(admin, topic, config.brokers);
      await admin.deleteTopics({ topics: [topic] });
    },
    { topic },
  );
}

/**
 * Raises a topic's partition count to `count` (Kafka can only add). Resolves with the count
 * before; the same count is a no-op, a smaller one GP_USAGE.
 */
export async function addPartitions(
  config: KafkaAccess,
  topic: string,
  count: number,
): Promise<{ before: number; after: number }> {
  return withAdmin(
    config,
    async (admin) => {
      await assertTopicExists(admin, topic, config.brokers);
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      const before = meta.topics[0]?.partitions.length ?? 0;
      if (count < before) {
        throw new GamepipeError(
          ErrorCodes.usage,
          `topic ${topic} has ${before} partitions; Kafka cannot take partitions away`,
          { hint: `give --partitions ${before} or more`, context: { topic } },
        );
      }
      if (count > before) {
        await admin.createPartitions({ topicPartitions: [{ topic, count }], validateOnly: false });
      }
      return { before, after: count };
    },
    { topic },
  );
}

/** Topic names, without Kafka's internal topics. */
export async function listTopics(config: KafkaAccess): Promise<string[]> {
  return withAdmin(config, async (admin) =>
    (await admin.listTopics()).filter((t) => !t.startsWith('__')).sort(),
  );
}

/** Cluster id and brokers when Kafka answers metadata; throws GP_KAFKA_UNAVAILABLE otherwise. */
export async function probeKafka(
  config: KafkaAccess,
  { connectionTimeoutMs = 1_500 }: { connectionTimeoutMs?: number } = {},
): Promise<{ clusterId: string; brokers: number; controller: number | null }> {
  const admin = createKafka({
    ...access(config),
    connectionTimeoutMs,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return {
      clusterId: cluster.clusterId,
      brokers: cluster.brokers.length,
      controller: cluster.controller,
    };
  } catch (err) {
    throw wrapKafkaError(err, { brokers: config.brokers, user: userOf(config) });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The leader broker (host:port) of each partition of a topic, through a connected admin. */
export async function leadersOf(admin: Admin, topic: string): Promise<TopicLeaders> {
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  const cluster = await admin.describeCluster();
  return topicLeaders(meta.topics[0]?.partitions ?? [], cluster.brokers);
}

/**
 * A topic's partitions as metadata lists them, and the leader (host:port) of those that have one
 * now. The partition count is the metadata's, whatever the leaders: keys are placed by it.
 */
export interface TopicLeaders {
  partitions: number;
  leaders: Map<number, string>;
}

export function topicLeaders(
  partitions: ReadonlyArray<{ partitionId: number; leader: number }>,
  brokers: ReadonlyArray<{ nodeId: number; host: string; port: number }>,
): TopicLeaders {
  const hosts = new Map(brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]));
  const leaders = new Map<number, string>();
  for (const p of partitions) {
    const host = hosts.get(p.leader);
    if (host) leaders.set(p.partitionId, host);
  }
  return { partitions: partitions.length, leaders };
}

/**
 * The largest record batch the topic takes (`max.message.bytes`, the topic's own or the broker's
 * default as the broker reports it); Kafka's default when the broker does not say.
 */
export async function maxMessageBytes(admin: Admin, topic: string): Promise<number> {
  const described = await admin.describeConfigs({
    resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['max.message.bytes'] }],
    includeSynonyms: false,
  });
  const value = Number(
    described.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')
      ?.configValue,
  );
  return Number.isInteger(value) && value > 0 ? value : 1_048_588;
}

/** The leader broker (host:port) of each partition of a topic. */
export async function partitionLeaders(config: KafkaAccess, topic: string): Promise<TopicLeaders> {
  return withAdmin(config, (admin) => leadersOf(admin, topic), { topic });
}
