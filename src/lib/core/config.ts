import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ErrorCodes, GamepipeError } from './errors.js';

/** The YAML parser is loaded when a config file is read, not by every `gamepipe --help`. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

/** Resolved configuration: defaults < config file < GAMEPIPE_* environment < flags. */
export interface Config {
  /** Where the local stack keeps data, logs and pid files. */
  readonly home: string;
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly webhdfsUrl: string;
  readonly hdfsUser: string;
  /** Base directory of the lake on HDFS. */
  readonly base: string;
  readonly apiHost: string;
  readonly apiPort: number;
  readonly kafkaControllerPort: number;
  readonly namenodeRpcPort: number;
  readonly datanodeHttpPort: number;
  readonly datanodePort: number;
  readonly datanodeIpcPort: number;
  /**
   * How Kafka connections are made: Kafka's own names (security.protocol), PLAINTEXT by default.
   * SSL and SASL_SSL use TLS; SASL_PLAINTEXT and SASL_SSL log in with the mechanism below.
   */
  readonly kafkaSecurityProtocol: SecurityProtocol;
  /** PEM file of the CA that signed the brokers' certificates (default: the system's CAs). */
  readonly kafkaSslCaFile: string | undefined;
  /** PEM client certificate and key, for brokers that ask for one (ssl.client.auth). */
  readonly kafkaSslCertFile: string | undefined;
  readonly kafkaSslKeyFile: string | undefined;
  /** Whether the broker's certificate must name the host connected to (on unless set false). */
  readonly kafkaSslCheckHostname: boolean;
  readonly kafkaSaslMechanism: SaslMechanism | undefined;
  readonly kafkaSaslUsername: string | undefined;
  /**
   * A file holding the SASL password (its first line). The password itself is read from the
   * file or from GAMEPIPE_KAFKA_SASL_PASSWORD, never from a config file or a flag.
   */
  readonly kafkaSaslPasswordFile: string | undefined;
  /** Where `--engine spark` jobs run: local[N], yarn, spark://host:port or k8s://... */
  readonly sparkMaster: string;
  /** The spark-submit to run (default: $SPARK_HOME/bin, PATH, then the project's .venv pyspark). */
  readonly sparkSubmit: string | undefined;
  /** Extra Spark settings, key=value, passed as --conf. */
  readonly sparkConf: readonly string[];
  /** Maven coordinates of Spark's Kafka source, matching the Spark version. */
  readonly sparkKafkaPackage: string;
  /** The lake's file system as Spark names it (default: webhdfs:// of webhdfsUrl). */
  readonly sparkHdfsUrl: string | undefined;
  /** Where the config file came from, if one was read. */
  readonly configFile: string | undefined;
  /** The Kafka settings above, checked and with their files read; undefined for PLAINTEXT. */
  readonly kafkaSecurity: KafkaSecurity | undefined;
}

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number];
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** How to reach the brokers: what every Kafka client of gamepipe is given. */
export interface KafkaAccess {
  readonly brokers: readonly string[];
  readonly kafkaSecurity?: KafkaSecurity | undefined;
}

/** Only what reaches Kafka, out of a config (or anything holding it). */
export function kafkaAccess({ brokers, kafkaSecurity }: KafkaAccess): KafkaAccess {
  return { brokers, kafkaSecurity };
}

export interface KafkaTls {
  /** PEM contents, read from the files the config names. */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly checkHostname: boolean;
}

export interface KafkaSasl {
  readonly mechanism: SaslMechanism;
  readonly username: string;
  readonly password: string;
}

/**
 * TLS and SASL settings of the Kafka connections. The password is kept out of JSON and of
 * `util.inspect` (a logged config or error context shows `[secret]`); worker threads receive it
 * as a plain copy of the fields.
 */
export class KafkaSecurity {
  constructor(
    readonly protocol: SecurityProtocol,
    readonly tls: KafkaTls | undefined,
    readonly sasl: KafkaSasl | undefined,
  ) {}

  toJSON(): Record<string, unknown> {
    return {
      protocol: this.protocol,
      tls: this.tls && { ...this.tls, key: this.tls.key && '[secret]' },
      sasl: this.sasl && { ...this.sasl, password: '[secret]' },
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): Record<string, unknown> {
    return this.toJSON();
  }
}

type Derived = 'configFile' | 'kafkaSecurity';
type Settable = Omit<Config, Derived>;
type Key = keyof Settable;
type Kind =
  | 'string'
  | 'list'
  | 'port'
  | 'url'
  | 'absPath'
  | 'file'
  | 'boolean'
  | 'protocol'
  | 'mechanism'
  | 'settings';

const KINDS: Record<Key, Kind> = {
  home: 'string',
  brokers: 'list',
  topic: 'string',
  webhdfsUrl: 'url',
  hdfsUser: 'string',
  base: 'absPath',
  apiHost: 'string',
  apiPort: 'port',
  kafkaControllerPort: 'port',
  namenodeRpcPort: 'port',
  datanodeHttpPort: 'port',
  datanodePort: 'port',
  datanodeIpcPort: 'port',
  kafkaSecurityProtocol: 'protocol',
  kafkaSslCaFile: 'file',
  kafkaSslCertFile: 'file',
  kafkaSslKeyFile: 'file',
  kafkaSslCheckHostname: 'boolean',
  kafkaSaslMechanism: 'mechanism',
  kafkaSaslUsername: 'string',
  kafkaSaslPasswordFile: 'file',
  sparkMaster: 'string',
  sparkSubmit: 'string',
  sparkConf: 'settings',
  sparkKafkaPackage: 'string',
  sparkHdfsUrl: 'string',
};

/** Read from the environment only (GAMEPIPE_KAFKA_SASL_PASSWORD): a secret is not a setting. */
export const PASSWORD_ENV = 'GAMEPIPE_KAFKA_SASL_PASSWORD';

export const CONFIG_KEYS = Object.keys(KINDS) as Key[];

function defaults(env: NodeJS.ProcessEnv): Settable {
  let user = 'gamepipe';
  try {
    user = userInfo().username || user;
  } catch {
    // no passwd entry (some containers): keep the default
  }
  return {
    home: join(env.HOME ?? homedir(), '.gamepipe'),
    brokers: ['localhost:9092'],
    topic: 'events',
    webhdfsUrl: 'http://localhost:9870',
    hdfsUser: user,
    base: '/gamepipe',
    apiHost: '127.0.0.1',
    apiPort: 5000,
    kafkaControllerPort: 9093,
    namenodeRpcPort: 8020,
    datanodeHttpPort: 9864,
    datanodePort: 9866,
    datanodeIpcPort: 9867,
    kafkaSecurityProtocol: 'PLAINTEXT',
    kafkaSslCaFile: undefined,
    kafkaSslCertFile: undefined,
    kafkaSslKeyFile: undefined,
    kafkaSslCheckHostname: true,
    kafkaSaslMechanism: undefined,
    kafkaSaslUsername: undefined,
    kafkaSaslPasswordFile: undefined,
    sparkMaster: 'local[2]',
    sparkSubmit: undefined,
    sparkConf: [],
    sparkKafkaPackage: 'org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7',
    sparkHdfsUrl: undefined,
  };
}

/** `webhdfsUrl` → `GAMEPIPE_WEBHDFS_URL`. */
export function envName(key: string): string {
  return 'GAMEPIPE_' + key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function invalid(key: string, source: string, value: unknown, want: string): GamepipeError {
  return new GamepipeError(
    ErrorCodes.config,
    `invalid ${key} from ${source}: ${JSON.stringify(value)} (expected ${want})`,
    { hint: `fix ${key} in ${source}`, context: { key, source } },
  );
}

function coerce(key: Key, raw: unknown, source: string): unknown {
  const kind = KINDS[key];
  switch (kind) {
    case 'list': {
      const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
      const items = list.map((s) => s.trim()).filter((s) => s.length > 0);
      if (items.length === 0 || items.some((b) => !/^[^\s:]+:\d{1,5}$/.test(b))) {
        throw invalid(key, source, raw, 'host:port[,host:port...]');
      }
      return Object.freeze(items);
    }
    case 'settings': {
      const list = Array.isArray(raw) ? raw.map(String) : String(raw).split(',');
      const items = list.map((s) => s.trim()).filter((s) => s.length > 0);
      if (items.some((kv) => !/^[^=\s]+=/.test(kv))) {
        throw invalid(key, source, raw, 'key=value settings, e.g. spark.executor.memory=4g');
      }
      return Object.freeze(items);
    }
    case 'port': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isInteger(n) || n < 0 || n > 65535)
        throw invalid(key, source, raw, 'a port 0-65535');
      return n;
    }
    case 'url': {
      const s = String(raw).trim().replace(/\/+$/, '');
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        throw invalid(key, source, raw, 'an http:// URL');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw invalid(key, source, raw, 'an http:// URL');
      }
      return s;
    }
    case 'absPath': {
      const s = String(raw).trim();
      if (!s.startsWith('/')) throw invalid(key, source, raw, 'an absolute path like /gamepipe');
      return s.length > 1 ? s.replace(/\/+$/, '') : s;
    }
    case 'string':
    case 'file': {
      const s = String(raw).trim();
      if (s.length === 0)
        throw invalid(key, source, raw, kind === 'file' ? 'a file path' : 'a non-empty string');
      return s;
    }
    case 'boolean': {
      const s = String(raw).trim().toLowerCase();
      if (s === 'true' || s === '1' || s === 'yes') return true;
      if (s === 'false' || s === '0' || s === 'no') return false;
      throw invalid(key, source, raw, 'true or false');
    }
    case 'protocol':
    case 'mechanism': {
      const s = String(raw).trim().toUpperCase();
      const allowed: readonly string[] = kind === 'protocol' ? SECURITY_PROTOCOLS : SASL_MECHANISMS;
      if (!allowed.includes(s)) throw invalid(key, source, raw, `one of ${allowed.join(', ')}`);
      return s;
    }
  }
}

function readConfigFile(path: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    // the first line only: the YAML parser adds a code frame below it
    const first = String((err as Error).message ?? err).split('\n')[0];
    throw new GamepipeError(ErrorCodes.config, `cannot read config file ${path}: ${first}`, {
      hint: 'fix the file (YAML or JSON) or point --config elsewhere',
      cause: err,
      context: { path },
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GamepipeError(ErrorCodes.config, `config file ${path} is not a mapping of keys`, {
      hint: `write it as key: value lines, keys among ${CONFIG_KEYS.join(', ')}`,
      context: { path },
    });
  }
  if ('kafkaSaslPassword' in parsed) {
    throw new GamepipeError(
      ErrorCodes.config,
      `config file ${path} holds kafkaSaslPassword: a password is not kept in the config file`,
      {
        hint: `remove it; put it in a file named by kafkaSaslPasswordFile, or in ${PASSWORD_ENV}`,
        context: { path },
      },
    );
  }
  const unknown = Object.keys(parsed).filter((k) => !(k in KINDS));
  if (unknown.length > 0) {
    throw new GamepipeError(
      ErrorCodes.config,
      `unknown key ${unknown.join(', ')} in config file ${path}`,
      { hint: `known keys: ${CONFIG_KEYS.join(', ')}`, context: { path } },
    );
  }
  return parsed as Record<string, unknown>;
}

export interface ResolveConfigOptions {
  /** Values from command-line flags; undefined entries are ignored. */
  flags?: Partial<Record<Key, unknown>>;
  /** An explicit config file (`--config`); otherwise GAMEPIPE_CONFIG, then <home>/config.yaml. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
}

/** Resolves and validates the configuration once; the result is frozen. */
export function resolveConfig({
  flags = {},
  configFile,
  env = process.env,
}: ResolveConfigOptions = {}): Config {
  const out: Record<string, unknown> = { ...defaults(env) };
  for (const name of ['GAMEPIPE_CONFIG', ...CONFIG_KEYS.map(envName)]) {
    // an empty value is a mistake, not "unset": `GAMEPIPE_HOME= gamepipe down --purge` must not
    // fall back to ~/.gamepipe
    if (env[name] !== undefined && env[name]?.trim() === '') {
      throw new GamepipeError(ErrorCodes.config, `environment ${name} is set but empty`, {
        hint: `give ${name} a value, or unset it (unset ${name}) to use the default`,
        context: { key: name },
      });
    }
  }
  const envHome = env[envName('home')];
  const home = (flags.home as string | undefined) ?? envHome ?? (out.home as string);
  const explicit = configFile ?? env.GAMEPIPE_CONFIG;
  const file = explicit ?? join(home, 'config.yaml');
  let usedFile: string | undefined;
  if (explicit !== undefined && !existsSync(explicit)) {
    throw new GamepipeError(ErrorCodes.config, `config file ${explicit} does not exist`, {
      hint: 'create it or drop --config / GAMEPIPE_CONFIG',
      context: { path: explicit },
    });
  }
  if (existsSync(file)) {
    usedFile = resolve(file);
    for (const [k, v] of Object.entries(readConfigFile(file))) {
      const value = coerce(k as Key, v, `config file ${file}`);
      // a file named in the config file is found next to it, wherever gamepipe runs from
      out[k] = KINDS[k as Key] === 'file' ? resolve(dirname(usedFile), value as string) : value;
    }
  }
  for (const key of CONFIG_KEYS) {
    const v = env[envName(key)];
    if (v !== undefined) out[key] = coerce(key, v, `environment ${envName(key)}`);
  }
  for (const key of CONFIG_KEYS) {
    const v = flags[key];
    if (v !== undefined) out[key] = coerce(key, v, `flag --${kebab(key)}`);
  }
  out.configFile = usedFile;
  out.kafkaSecurity = kafkaSecurityOf(out as unknown as Settable, env);
  return Object.freeze(out) as unknown as Config;
}

function configError(message: string, hint: string, key: string): GamepipeError {
  return new GamepipeError(ErrorCodes.config, message, { hint, context: { key } });
}

/** A file the config names, read whole; GP_CONFIG naming the key when it cannot be read. */
function readSetting(key: Key, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(
      `cannot read ${key} ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      `point ${key} (${envName(key)}) at a readable file`,
      key,
    );
  }
}

/** The TLS and SASL settings as one checked object: what is missing is said before connecting. */
function kafkaSecurityOf(c: Settable, env: NodeJS.ProcessEnv): KafkaSecurity | undefined {
  const protocol = c.kafkaSecurityProtocol;
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const usesSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  if (!usesTls) {
    for (const key of ['kafkaSslCaFile', 'kafkaSslCertFile', 'kafkaSslKeyFile'] as const) {
      if (c[key] !== undefined) {
        throw configError(
          `${key} is set but kafkaSecurityProtocol is ${protocol}, which does not use TLS`,
          'set kafkaSecurityProtocol to SSL or SASL_SSL, or drop the TLS settings',
          key,
        );
      }
    }
  }
  if (!usesSasl && c.kafkaSaslMechanism !== undefined) {
    throw configError(
      `kafkaSaslMechanism is set but kafkaSecurityProtocol is ${protocol}, which does not use SASL`,
      'set kafkaSecurityProtocol to SASL_SSL (or SASL_PLAINTEXT), or drop kafkaSaslMechanism',
      'kafkaSaslMechanism',
    );
  }
  if (protocol === 'PLAINTEXT') return undefined;
  let tls: KafkaTls | undefined;
  if (usesTls) {
    if ((c.kafkaSslCertFile === undefined) !== (c.kafkaSslKeyFile === undefined)) {
      throw configError(
        'a client certificate needs both kafkaSslCertFile and kafkaSslKeyFile',
        'set both (PEM files), or neither when the brokers do not ask for a client certificate',
        'kafkaSslCertFile',
      );
    }
    tls = {
      ...(c.kafkaSslCaFile !== undefined && {
        ca: readSetting('kafkaSslCaFile', c.kafkaSslCaFile),
      }),
      ...(c.kafkaSslCertFile !== undefined && {
        cert: readSetting('kafkaSslCertFile', c.kafkaSslCertFile),
      }),
      ...(c.kafkaSslKeyFile !== undefined && {
        key: readSetting('kafkaSslKeyFile', c.kafkaSslKeyFile),
      }),
      checkHostname: c.kafkaSslCheckHostname,
    };
  }
  let sasl: KafkaSasl | undefined;
  if (usesSasl) {
    const mechanism = c.kafkaSaslMechanism;
    const username = c.kafkaSaslUsername;
    if (mechanism === undefined || username === undefined) {
      const key = mechanism === undefined ? 'kafkaSaslMechanism' : 'kafkaSaslUsername';
      throw configError(
        `kafkaSecurityProtocol ${protocol} needs ${key}`,
        `set ${key} (${envName(key)}) in the config file or the environment`,
        key,
      );
    }
    sasl = { mechanism, username, password: saslPassword(c, env) };
  }
  return new KafkaSecurity(protocol, tls, sasl);
}

function saslPassword(c: Settable, env: NodeJS.ProcessEnv): string {
  const fromEnv = env[PASSWORD_ENV];
  if (fromEnv !== undefined && c.kafkaSaslPasswordFile !== undefined) {
    throw configError(
      `both ${PASSWORD_ENV} and kafkaSaslPasswordFile are set`,
      'keep one of them, so it is clear which password is used',
      'kafkaSaslPasswordFile',
    );
  }
  const password =
    fromEnv ??
    (c.kafkaSaslPasswordFile === undefined
      ? undefined
      : (readSetting('kafkaSaslPasswordFile', c.kafkaSaslPasswordFile).split(/\r?\n/)[0] ?? ''));
  if (password === undefined || password === '') {
    throw configError(
      `SASL user ${c.kafkaSaslUsername ?? ''} has no password`,
      `set kafkaSaslPasswordFile to a file holding it, or ${PASSWORD_ENV}`,
      'kafkaSaslPasswordFile',
    );
  }
  return password;
}

function kebab(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** host and port of the first broker, for the local stack's listener. */
export function brokerAddress(config: Config): { host: string; port: number } {
  const [host, port] = (config.brokers[0] ?? 'localhost:9092').split(':');
  return { host: host ?? 'localhost', port: Number(port) };
}

export function namenodeHttpPort(config: Config): number {
  const url = new URL(config.webhdfsUrl);
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** The config flags every command accepts (global options of the CLI). */
export interface ConfigFlags {
  config?: string;
  home?: string;
  brokers?: string;
  topic?: string;
  webhdfsUrl?: string;
  hdfsUser?: string;
  base?: string;
  apiHost?: string;
  apiPort?: string | number;
}

/** resolveConfig for a command's options object. */
export function configFromFlags(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const { config, ...rest } = flags;
  return resolveConfig({ flags: rest as Partial<Record<Key, unknown>>, configFile: config, env });
}

/** What each key is for, one line: the comments of `gamepipe config init`'s file. */
const KEY_HELP: Record<Key, string> = {
  home: 'where the local stack keeps data, logs and pid files (and the lake cache)',
  brokers: 'Kafka bootstrap brokers',
  topic: 'the events topic',
  webhdfsUrl: 'WebHDFS: the NameNode HTTP address',
  hdfsUser: 'the HDFS user (user.name)',
  base: "the lake's base directory on HDFS",
  apiHost: 'where `serve` listens and `generate`/`status` find the API',
  apiPort: 'the API port',
  kafkaControllerPort: 'local stack: the KRaft controller port',
  namenodeRpcPort: 'local stack: the NameNode RPC port',
  datanodeHttpPort: 'local stack: the DataNode HTTP port',
  datanodePort: 'local stack: the DataNode data transfer port',
  datanodeIpcPort: 'local stack: the DataNode IPC port',
  kafkaSecurityProtocol: 'PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL',
  kafkaSslCaFile: "PEM file of the CA that signed the brokers' certificates",
  kafkaSslCertFile: 'PEM client certificate, when the brokers ask for one',
  kafkaSslKeyFile: "the client certificate's PEM key",
  kafkaSslCheckHostname: "whether the broker's certificate must name the host",
  kafkaSaslMechanism: 'PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512',
  kafkaSaslUsername: 'the SASL user',
  kafkaSaslPasswordFile: `a file holding the SASL password (or set ${PASSWORD_ENV}; never here)`,
  sparkMaster: '--engine spark: local[N], yarn, spark://host:port or k8s://...',
  sparkSubmit: '--engine spark: the spark-submit to run',
  sparkConf: '--engine spark: extra Spark settings, key=value',
  sparkKafkaPackage: "--engine spark: Spark's Kafka source, matching the Spark version",
  sparkHdfsUrl: '--engine spark: the lake as Spark names it (e.g. hdfs://namenode:8020)',
};

/** Keys written with their value by `config init`; the others are written commented out. */
const CORE_KEYS: readonly Key[] = ['brokers', 'topic', 'webhdfsUrl', 'hdfsUser', 'base'];

/**
 * A config file with every key and what it is for: the core keys with the values `config` has,
 * the others commented out with theirs, so the file changes nothing until a line is uncommented.
 */
export function configTemplate(config: Config): string {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const lines = [
    '# gamepipe configuration (docs/configuration.md): defaults < this file < GAMEPIPE_* < flags',
    '',
  ];
  for (const key of CONFIG_KEYS) {
    if (key === 'home') continue; // the file lives in home: it cannot move it
    const value = config[key] as unknown;
    const line = yaml
      .stringify({ [key]: value === undefined ? null : value }, { flow: true })
      .trim()
      .replace(/^\{ (.*) \}$/, '$1');
    lines.push(`# ${KEY_HELP[key]}`);
    lines.push(CORE_KEYS.includes(key) ? line : `# ${line}`);
  }
  return lines.join('\n') + '\n';
}
