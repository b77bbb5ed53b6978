import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
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
  /** Where the config file came from, if one was read. */
  readonly configFile: string | undefined;
}

type Settable = Omit<Config, 'configFile'>;
type Key = keyof Settable;
type Kind = 'string' | 'list' | 'port' | 'url' | 'absPath';

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
};

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
    case 'string': {
      const s = String(raw).trim();
      if (s.length === 0) throw invalid(key, source, raw, 'a non-empty string');
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
      out[k] = coerce(k as Key, v, `config file ${file}`);
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
  return Object.freeze(out) as unknown as Config;
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
