/**
 * Running gamepipe's PySpark jobs with spark-submit: where Spark is found, how a job is given its
 * settings (a spec file only this user can read: it may hold Kafka credentials), and how a failed
 * job becomes one coded error naming its log.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config, KafkaAccess } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';

/** The folder of the Python jobs, from src/lib/spark or dist/lib/spark alike. */
export const JOBS_DIR = fileURLToPath(new URL('../../../src/lib/spark/', import.meta.url));
/** The event schema both engines read. */
export const SCHEMA_FILE = fileURLToPath(
  new URL('../../../src/lib/events/schema.json', import.meta.url),
);
const PROJECT_VENV = fileURLToPath(new URL('../../../.venv/', import.meta.url));

export type SparkConfig = Pick<
  Config,
  | 'sparkMaster'
  | 'sparkSubmit'
  | 'sparkConf'
  | 'sparkKafkaPackage'
  | 'sparkHdfsUrl'
  | 'webhdfsUrl'
  | 'hdfsUser'
  | 'home'
>;

export interface SparkInstall {
  submit: string;
  env: NodeJS.ProcessEnv;
  /** Where it was found, for messages. */
  from: string;
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/**
 * The spark-submit to run: sparkSubmit from the config, then $SPARK_HOME/bin/spark-submit, then
 * spark-submit on PATH, then the pyspark package of the project's .venv (what `npm test` sets up).
 * None of them is GP_SPARK_MISSING, saying how to get one.
 */
export function findSpark(config: SparkConfig, env: NodeJS.ProcessEnv = process.env): SparkInstall {
  const python = env.PYSPARK_PYTHON;
  if (config.sparkSubmit !== undefined) {
    if (!existsSync(config.sparkSubmit) && !onPath(config.sparkSubmit, env)) {
      throw new GamepipeError(
        ErrorCodes.sparkMissing,
        `sparkSubmit ${config.sparkSubmit} does not exist`,
        { hint: 'point sparkSubmit (--spark-submit) at a spark-submit, or drop it to search' },
      );
    }
    return { submit: config.sparkSubmit, env: { ...env }, from: 'sparkSubmit' };
  }
  if (env.SPARK_HOME) {
    const submit = join(env.SPARK_HOME, 'bin', 'spark-submit');
    if (existsSync(submit)) return { submit, env: { ...env }, from: 'SPARK_HOME' };
  }
  const onPathSubmit = onPath('spark-submit', env);
  if (onPathSubmit) return { submit: onPathSubmit, env: { ...env }, from: 'PATH' };
  const venvPython = join(PROJECT_VENV, 'bin', 'python');
  if (existsSync(venvPython)) {
    for (const lib of ['lib/python3.11', 'lib/python3.12', 'lib/python3.10', 'lib/python3.13']) {
      const home = join(PROJECT_VENV, lib, 'site-packages', 'pyspark');
      const submit = join(home, 'bin', 'spark-submit');
      if (existsSync(submit)) {
        return {
          submit,
          // pyspark's spark-submit wants SPARK_HOME, and its workers the venv's python (pyarrow)
          env: { ...env, SPARK_HOME: home, PYSPARK_PYTHON: python ?? venvPython },
          from: '.venv',
        };
      }
    }
  }
  throw new GamepipeError(ErrorCodes.sparkMissing, 'no Spark found for --engine spark', {
    hint: 'set SPARK_HOME (or sparkSubmit) to a Spark 3.5 install, or `python3 -m venv .venv && .venv/bin/pip install pyspark==3.5.9 pyarrow pandas`',
  });
}

/** Kafka's consumer settings for Spark's Kafka source (kafka.*), from gamepipe's. */
export function sparkKafkaOptions(access: KafkaAccess): Record<string, string> {
  const out: Record<string, string> = { 'kafka.bootstrap.servers': access.brokers.join(',') };
  const sec = access.kafkaSecurity;
  if (!sec) return out;
  out['kafka.security.protocol'] = sec.protocol;
  if (sec.tls) {
    if (sec.tls.ca) {
      out['kafka.ssl.truststore.type'] = 'PEM';
      out['kafka.ssl.truststore.certificates'] = sec.tls.ca;
    }
    if (sec.tls.cert && sec.tls.key) {
      out['kafka.ssl.keystore.type'] = 'PEM';
      out['kafka.ssl.keystore.certificate.chain'] = sec.tls.cert;
      out['kafka.ssl.keystore.key'] = sec.tls.key;
    }
    if (!sec.tls.checkHostname) out['kafka.ssl.endpoint.identification.algorithm'] = '';
  }
  if (sec.sasl) {
    const { mechanism, username, password } = sec.sasl;
    const module =
      mechanism === 'PLAIN'
        ? 'org.apache.kafka.common.security.plain.PlainLoginModule'
        : 'org.apache.kafka.common.security.scram.ScramLoginModule';
    const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    out['kafka.sasl.mechanism'] = mechanism;
    out['kafka.sasl.jaas.config'] =
      `${module} required username=${quote(username)} password=${quote(password)};`;
  }
  return out;
}

/** The lake's base as Spark names it: sparkHdfsUrl, or webhdfs:// (swebhdfs://) of webhdfsUrl. */
export function sparkLakeUrl(config: SparkConfig, path: string): string {
  if (config.sparkHdfsUrl !== undefined) return `${config.sparkHdfsUrl.replace(/\/+$/, '')}${path}`;
  const url = new URL(config.webhdfsUrl);
  return `${url.protocol === 'https:' ? 'swebhdfs' : 'webhdfs'}://${url.host}${path}`;
}

export interface SparkJob {
  /** The job's file in JOBS_DIR. */
  script: string;
  /** Written to a file only this user can read, given to the job as its first argument. */
  spec: Record<string, unknown>;
  /** Whether the job reads Kafka (its source package is added). */
  kafka: boolean;
  /** A name for the log file: $GAMEPIPE_HOME/logs/spark-<name>.log. */
  name: string;
  /** Called with the child's pid once it runs (tests kill it). */
  onStart?: (pid: number) => void;
}

/**
 * Runs a job with spark-submit in client mode and resolves with what it wrote to its result file.
 * Spark's own output goes to a log file; a failed job is GP_SPARK_FAILED with the job's last
 * error line and the log's path.
 */
export async function runSparkJob<T>(config: SparkConfig, job: SparkJob): Promise<T> {
  const spark = findSpark(config);
  const dir = await mkdtemp(join(tmpdir(), 'gamepipe-spark-'));
  await chmod(dir, 0o700);
  const specFile = join(dir, 'spec.json');
  const resultFile = join(dir, 'result.json');
  const logDir = join(config.home, 'logs');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `spark-${job.name}.log`);
  try {
    await writeFile(specFile, JSON.stringify(job.spec), { mode: 0o600 });
    const args = [
      '--master',
      config.sparkMaster,
      '--deploy-mode',
      'client',
      '--name',
      `gamepipe ${job.name}`,
      '--py-files',
      join(JOBS_DIR, 'event_rules.py'),
      ...(job.kafka ? ['--packages', config.sparkKafkaPackage] : []),
      ...['spark.ui.showConsoleProgress=false', ...config.sparkConf].flatMap((kv) => [
        '--conf',
        kv,
      ]),
      join(JOBS_DIR, job.script),
      specFile,
      resultFile,
    ];
    const env: NodeJS.ProcessEnv = {
      ...spark.env,
      HADOOP_USER_NAME: spark.env.HADOOP_USER_NAME ?? config.hdfsUser,
      // PySpark turns instants into Python datetimes in the process's zone: make it UTC
      TZ: 'UTC',
    };
    if (config.sparkMaster.startsWith('local') && env.SPARK_LOCAL_IP === undefined) {
      env.SPARK_LOCAL_IP = '127.0.0.1';
    }
    const log = await open(logFile, 'w');
    let code: number | null;
    let signal: NodeJS.Signals | null;
    try {
      [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
        (resolve, reject) => {
          const child = spawn(spark.submit, args, { env, stdio: ['ignore', log.fd, log.fd] });
          child.once('error', (err) =>
            reject(
              new GamepipeError(
                ErrorCodes.sparkMissing,
                `cannot run ${spark.submit}: ${err.message}`,
                {
                  hint: 'check sparkSubmit / SPARK_HOME, and that Java 17 is installed',
                },
              ),
            ),
          );
          child.once('spawn', () => job.onStart?.(child.pid as number));
          child.once('exit', (c, s) => resolve([c, s]));
        },
      );
    } finally {
      await log.close();
    }
    if (code !== 0 || !existsSync(resultFile)) {
      const why = lastError(await readFile(logFile, 'utf8').catch(() => ''));
      throw new GamepipeError(
        ErrorCodes.sparkFailed,
        `the Spark job ${job.name} failed (${signal ? `killed by ${signal}` : `exit ${code}`})${why ? `: ${why}` : ''}`,
        { hint: `see ${logFile}; then rerun: nothing was published`, context: { log: logFile } },
      );
    }
    return JSON.parse(await readFile(resultFile, 'utf8')) as T;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The line of a Spark log that says what went wrong: the root cause of the last Java exception,
 * else a Python error, else the first exception line.
 */
export function lastError(log: string): string | undefined {
  const lines = log.split('\n');
  const cause = lines.findLast((l) => l.startsWith('Caused by: '));
  if (cause) return cause.slice('Caused by: '.length).trim().slice(0, 300);
  const python = lines.findLast((l) => /^[A-Za-z_.]*(Error|Exception): /.test(l));
  if (python) return python.trim().slice(0, 300);
  const java = lines.find((l) => /(Exception|Error)\b.*: /.test(l) && !l.startsWith('\t'));
  return java?.trim().slice(0, 300);
}
