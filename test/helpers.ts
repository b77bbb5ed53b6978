import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type Config, type KafkaAccess } from '../src/lib/core/config.js';
import type { AllowedHeaders, EventKind, GameEvent } from '../src/lib/events/event.js';
import type { Browser, Page } from 'playwright-core';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'gamepipe.js');
/** The project-local Python with pyarrow that `npm test`'s set-up (test/setup-env.sh) makes. */
export const PYTHON = process.env.GAMEPIPE_TEST_PYTHON ?? join(ROOT, '.venv', 'bin', 'python');

/** A name no other test uses, e.g. for a topic or an HDFS directory. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** The config of the shared test stack (defaults, or what GAMEPIPE_* says). */
export function stackConfig(flags: Parameters<typeof resolveConfig>[0] = {}): Config {
  return resolveConfig(flags);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** without the tests' GAMEPIPE_* settings, so a config file alone decides */
  bare?: boolean;
}

/** Starts the built CLI as a user would, in a child process; `done` when it exits. */
export function startCli(
  args: string[],
  { env = {}, bare = false }: CliOptions = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  const inherited = bare
    ? Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GAMEPIPE_')))
    : process.env;
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  return { child, done };
}

/** Runs the built CLI to its end, killing it after `timeoutMs`. */
export async function runCli(
  args: string[],
  { timeoutMs = 240_000, ...options }: CliOptions & { timeoutMs?: number } = {},
): Promise<CliResult> {
  const { child, done } = startCli(args, options);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      void done.then((r) =>
        reject(new Error(`gamepipe ${args.join(' ')} timed out after ${timeoutMs}ms\n${r.stderr}`)),
      );
    }, timeoutMs);
  });
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every record of a topic, read from the beginning to its current end. */
export async function readTopic(
  topic: string,
  config: KafkaAccess = stackConfig(),
): Promise<
  Array<{ key: string | null; value: string; partition: number; offset: string; timestamp: number }>
> {
  const { consumeTopic } = await import('../src/lib/kafka/consume.js');
  const out: Array<{
    key: string | null;
    value: string;
    partition: number;
    offset: string;
    timestamp: number;
  }> = [];
  await consumeTopic(config, {
    topic,
    fromBeginning: true,
    exitAtEnd: true,
    onRecord: (r) => void out.push(r),
  });
  return out;
}

/** A fresh topic for one test (LogAppendTime, like the events topic). */
export async function freshTopic(prefix = 'gp-test', partitions = 3): Promise<string> {
  const { createTopic } = await import('../src/lib/kafka/admin.js');
  const topic = uniqueName(prefix);
  await createTopic(stackConfig(), { topic, partitions });
  return topic;
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface LoadRecord {
  status: number;
  eventId?: string;
  /** When the request was sent. */
  sent: number;
  /** When its answer had arrived. */
  at: number;
}

/**
 * Sends seed-style purchases with `workers` keep-alive loops until stopped; records each answer.
 * Network errors are recorded with status 0.
 */
export function backgroundLoad(url: string, workers = 8): { stop: () => Promise<LoadRecord[]> } {
  const records: LoadRecord[] = [];
  let running = true;
  const loops = (async () => {
    const { Pool } = await import('undici');
    const pool = new Pool(url, { connections: workers });
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        while (running) {
          const sent = Date.now();
          try {
            const res = await pool.request({
              path: '/purchase/sword',
              method: 'GET',
              headers: { host: `user${w + 1}.comcast.com`, accept: '*/*' },
              headersTimeout: 15_000,
            });
            await res.body.dump();
            const id = res.headers['x-event-id'];
            records.push({
              status: res.statusCode,
              eventId: typeof id === 'string' ? id : undefined,
              sent,
              at: Date.now(),
            });
          } catch {
            records.push({ status: 0, sent, at: Date.now() });
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }),
    );
    await pool.destroy();
  })();
  return {
    stop: async () => {
      running = false;
      await loops;
      return records;
    },
  };
}

/** A topic with CreateTime, for tests that place records on chosen days (the events topic uses LogAppendTime). */
export async function createTimeTopic(prefix: string, partitions = 3): Promise<string> {
  const { withAdmin } = await import('../src/lib/kafka/admin.js');
  const topic = uniqueName(prefix);
  await withAdmin(stackConfig(), (admin) =>
    admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: partitions,
          replicationFactor: 1,
          configEntries: [
            { name: 'message.timestamp.type', value: 'CreateTime' },
            // records are stamped days or weeks back: time-based retention must not delete them
            { name: 'retention.ms', value: '-1' },
          ],
        },
      ],
      waitForLeaders: true,
    }),
  );
  return topic;
}

/** Produces records as they are, with their own key and timestamp, in order. */
export async function produceRaw(
  topic: string,
  records: Array<{ key: string | null; value: string | Buffer | null; timestampMs?: number }>,
): Promise<void> {
  const { createKafka } = await import('../src/lib/kafka/admin.js');
  const { HostPartitioner } = await import('../src/lib/kafka/partitioner.js');
  const producer = createKafka({ brokers: stackConfig().brokers }).producer({
    idempotent: true,
    createPartitioner: HostPartitioner,
  });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 500) {
      await producer.send({
        topic,
        acks: -1,
        messages: records.slice(i, i + 500).map((r) => ({
          key: r.key,
          value: r.value,
          timestamp: r.timestampMs === undefined ? undefined : String(r.timestampMs),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** sha256 of every file under an HDFS directory, by name. */
export async function checksums(dir: string): Promise<Record<string, string>> {
  const { createHash } = await import('node:crypto');
  const { withHdfs } = await import('../src/lib/hdfs/webhdfs.js');
  const c = stackConfig();
  return withHdfs(c, async (hdfs) => {
    const out: Record<string, string> = {};
    if (!(await hdfs.stat(dir))) return out;
    for (const f of await hdfs.listStatus(dir)) {
      out[f.pathSuffix] = createHash('sha256')
        .update(await hdfs.read(`${dir}/${f.pathSuffix}`))
        .digest('hex');
    }
    return out;
  });
}

/** The event_ids in the purchases and join_guild outputs of a date, by output. */
export async function lakeEventIds(
  base: string,
  date: string,
): Promise<{ purchases: string[]; join_guild: string[] }> {
  const { withHdfs } = await import('../src/lib/hdfs/webhdfs.js');
  const { outputDir } = await import('../src/lib/lake/layout.js');
  const { readColumns } = await import('../src/lib/lake/reader.js');
  const config = stackConfig();
  return withHdfs(config, async (hdfs) => {
    const out = { purchases: [] as string[], join_guild: [] as string[] };
    for (const o of ['purchases', 'join_guild'] as const) {
      const dir = outputDir(base, o, date);
      if (!(await hdfs.stat(dir))) continue;
      for (const f of await hdfs.listStatus(dir)) {
        if (!f.pathSuffix.endsWith('.parquet')) continue;
        const { data } = await readColumns(hdfs, `${dir}/${f.pathSuffix}`, ['event_id']);
        out[o].push(...Array.from(data.event_id as ArrayLike<string>));
      }
    }
    return out;
  });
}

/**
 * An event as docs/events.md lists its fields, for tests and benches to put in a topic: a fixture
 * spelled out here, not the API's serializer (the API's output is tested against this list).
 */
export function makeEvent({
  kind,
  item,
  headers,
  metadata = {},
  now = new Date(),
  eventId = randomUUID(),
}: {
  kind: EventKind;
  item?: string;
  headers: AllowedHeaders;
  metadata?: Record<string, unknown>;
  now?: Date;
  eventId?: string;
}): GameEvent {
  const event: Record<string, unknown> = {
    event_type: kind === 'purchase' ? `${item ?? ''} purchased` : 'join_guild',
    Host: headers.Host ?? '',
    event_id: eventId,
    timestamp: now.toISOString(),
    schema_version: 1,
  };
  if (headers['User-Agent'] !== undefined) event['User-Agent'] = headers['User-Agent'];
  if (headers.Accept !== undefined) event.Accept = headers.Accept;
  if (kind === 'purchase') event.item = item;
  for (const key in metadata) event[key] = metadata[key];
  return event as unknown as GameEvent;
}

/** The UTC date `n` days before today, YYYY-MM-DD: test days that are past on any clock. */
export function daysAgo(n: number): string {
  return new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
}

/** The arguments of `gamepipe extract` of one date from a topic into a lake; extra flags after. */
export function extractArgs(
  date: string,
  topic: string,
  base: string,
  ...extra: string[]
): string[] {
  return ['extract', '--date', date, '--topic', topic, '--base', base, ...extra];
}

/** The Java client's classpath, as the tests' own stack resolved it for its broker. */
function kafkaClasspath(): string {
  const dir = join(stackConfig().home, 'classpath');
  const file = readdirSync(dir).find((f) => f.startsWith('kafka-'));
  if (!file) throw new Error(`no Kafka classpath in ${dir}`);
  return readFileSync(join(dir, file), 'utf8').trim();
}

/**
 * Sends `lines` ("codec<TAB>key<TAB>value") with the Java producer (test/fixtures/
 * JavaProducer.java), one producer per codec, acks=all; `properties`: a client properties file
 * (security settings) for every producer.
 */
export async function javaProduce(
  topic: string,
  lines: string[],
  { brokers, properties }: { brokers: readonly string[]; properties?: string },
): Promise<void> {
  const child = spawn(
    'java',
    [
      '-cp',
      kafkaClasspath(),
      join(ROOT, 'test', 'fixtures', 'JavaProducer.java'),
      brokers.join(','),
      topic,
      ...(properties ? [properties] : []),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0 || !out.includes(`sent ${lines.length}`))
    throw new Error(`the Java producer failed (exit ${code}): ${out}`);
}

/**
 * Flips one byte inside the last record of the batch at `offset` in a partition's log segment on
 * a broker's disk, as a failing disk would: its CRC-32C no longer matches.
 */
export function corruptBatch(segment: string, offset: number): void {
  const fd = openSync(segment, 'r+');
  try {
    const head = Buffer.alloc(12);
    for (let pos = 0; readSync(fd, head, 0, 12, pos) === 12; pos += 12 + head.readInt32BE(8)) {
      if (Number(head.readBigInt64BE(0)) !== offset) continue;
      const at = pos + 12 + head.readInt32BE(8) - 20; // inside its last record's value
      const byte = Buffer.alloc(1);
      readSync(fd, byte, 0, 1, at);
      writeSync(fd, Buffer.from([(byte[0] as number) ^ 0x20]), 0, 1, at);
      return;
    }
    throw new Error(`no batch at offset ${offset} in ${segment}`);
  } finally {
    closeSync(fd);
  }
}

/** n valid events (a third guild joins, the rest purchases) of 50 players, keyed by Host. */
export function sampleEvents(
  n: number,
  seed: number,
): Array<{ id: string; key: string; value: string }> {
  return Array.from({ length: n }, (_, i) => {
    const host = `user${(i * 7 + seed) % 50}.comcast.com`;
    const e = makeEvent({
      kind: i % 3 === 0 ? 'join_guild' : 'purchase',
      item: i % 3 === 0 ? undefined : 'sword',
      headers: { Host: host, Accept: '*/*' },
      metadata: i % 3 === 0 ? { guild_id: 'g01' } : { price: 4.99, currency: 'USD', quantity: 1 },
    });
    return { id: e.event_id, key: host, value: JSON.stringify(e) };
  });
}

/** A lease on `day` of `base`, as a run on another host (cron@batch-7.example pid 4242) holds it. */
export async function foreignLease(base: string, day: string, expiresAtMs: number): Promise<void> {
  const { withHdfs } = await import('../src/lib/hdfs/webhdfs.js');
  const { leasePath } = await import('../src/lib/lake/lease.js');
  await withHdfs(stackConfig(), (hdfs) =>
    hdfs.create(
      leasePath(base, day),
      JSON.stringify({
        runId: 'elsewhere-1',
        owner: 'cron',
        host: 'batch-7.example',
        pid: 4242,
        acquiredAt: new Date().toISOString(),
        expiresAtMs,
      }),
      { overwrite: true },
    ),
  );
}

/**
 * An error as the text line gamepipe prints without `--format json`, whichever form stderr has:
 * under `--format json` the error is one JSON object (docs/errors.md).
 */
export function textError(stderr: string): string {
  const last = stderr.trim().split('\n').at(-1) ?? '';
  if (!last.startsWith('{"error":')) return stderr;
  const { error } = JSON.parse(last) as {
    error: { code: string; message: string; hint: string | null };
  };
  return `gamepipe: error ${error.code}: ${error.message}${error.hint ? ` — ${error.hint}` : ''}`;
}

/**
 * A local HTML file opened in headless Chromium (Debian's, or CHROMIUM_PATH) as the report tests
 * open it: every request but the file itself aborted, console errors and page errors collected in
 * `errors`. Close `browser` when done.
 */
export async function openInChromium(
  file: string,
): Promise<{ browser: Browser; page: Page; errors: string[] }> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    // nothing may leave the page
    await page.route('**/*', (route) =>
      route.request().url().startsWith('file:') ? route.continue() : route.abort(),
    );
    await page.goto(`file://${file}`);
    return { browser, page, errors };
  } catch (err) {
    await browser.close();
    throw err;
  }
}
