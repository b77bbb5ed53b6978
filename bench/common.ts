/** What the benchmarks share: a topic full of the generator's mix, and measured child processes. */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Config } from '../src/lib/core/config.js';

import { planRun } from '../src/lib/traffic/generator.js';
import { createKafka, withAdmin } from '../src/lib/kafka/admin.js';
import { HostPartitioner } from '../src/lib/kafka/partitioner.js';
import { withHdfs } from '../src/lib/hdfs/webhdfs.js';
import { BIN, extractArgs, makeEvent, ROOT, uniqueName } from '../test/helpers.js';

/** A CreateTime topic with n events of the generator's mix spread over one UTC day. */
export async function fillTopic(
  config: Config,
  n: number,
  date: string | string[],
): Promise<string> {
  // the events spread evenly over the dates, in time order
  const dates = typeof date === 'string' ? [date] : date;
  const perDate = Math.ceil(n / dates.length);
  const stampOf = (k: number): number =>
    Date.parse(`${dates[Math.floor(k / perDate)] as string}T00:00:00Z`) +
    Math.floor(((k % perDate) / perDate) * 86_400_000);
  const topic = uniqueName('gp-bench-extract');
  await withAdmin(config, (admin) =>
    admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 3,
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
  const producer = createKafka({ brokers: config.brokers }).producer({
    createPartitioner: HostPartitioner,
  });
  await producer.connect();
  let i = 0;
  let batch: Array<{ key: string; value: string; timestamp: string }> = [];
  // planned in chunks, so a big run does not hold every planned request at once
  const chunks = function* () {
    for (let done = 0; done < n; done += 100_000) {
      yield* planRun({
        n: Math.min(100_000, n - done),
        seed: `bench-${done}`,
        maxConcurrency: 8,
        batch: 500,
      });
    }
  };
  for (const burst of chunks()) {
    for (const req of burst.requests) {
      for (const e of req.events) {
        const ts = stampOf(i++);
        const event = makeEvent({
          kind: e.kind,
          item: e.item,
          headers: { Host: e.host, 'User-Agent': 'gamepipe-generate/0.1.0', Accept: '*/*' },
          metadata: e.metadata,
          now: new Date(ts),
        });
        batch.push({ key: e.host, value: JSON.stringify(event), timestamp: String(ts) });
      }
    }
    if (batch.length >= 2000) {
      await producer.send({ topic, acks: -1, messages: batch });
      batch = [];
    }
  }
  if (batch.length) await producer.send({ topic, acks: -1, messages: batch });
  await producer.disconnect();
  return topic;
}

/** Resident KB of a process and every process under it (a Spark JVM and its Python workers). */
function treeRssKb(pid: number): number {
  let kb = 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    kb += Number(m?.[1] ?? 0);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const c of children ? children.split(/\s+/) : []) kb += treeRssKb(Number(c));
    }
  } catch {
    // exited meanwhile
  }
  return kb;
}

/**
 * Runs a node child process; resolves with its wall time, peak RSS and stdout. The peak is the
 * child's own high-water mark (VmHWM) or, when it starts processes of its own (spark-submit), the
 * highest sum of the whole tree's resident sets seen while polling.
 */
export function measured(
  args: string[],
): Promise<{ ms: number; peakRssMb: number; stdout: string; code: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: ROOT,
    });
    let stdout = '';
    let hwm = 0;
    let tree = 0;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]));
        tree = Math.max(tree, treeRssKb(child.pid as number));
      } catch {
        // exited
      }
    }, 50);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({
        ms: performance.now() - t0,
        peakRssMb: Math.round(Math.max(hwm, tree) / 1024),
        stdout,
        code: code ?? -1,
      });
    });
  });
}

/** Deletes what a benchmark made: its topic and its lake. */
export async function cleanUp(config: Config, topic: string, base: string): Promise<void> {
  await withAdmin(config, (admin) => admin.deleteTopics({ topics: [topic] }));
  await withHdfs(config, async (hdfs) => {
    await hdfs.delete(base, { recursive: true });
  });
}

/** `gamepipe extract` of one date as a user runs it, measured. */
export async function measuredExtract(
  topic: string,
  base: string,
  date: string,
  ...extra: string[]
): Promise<{ ms: number; peakRssMb: number; records: number }> {
  const ex = await measured([BIN, ...extractArgs(date, topic, base, '--format', 'json', ...extra)]);
  if (ex.code !== 0) throw new Error(`extract failed (${ex.code})`);
  return { ...ex, records: (JSON.parse(ex.stdout) as { records: number }).records };
}

export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;

/**
 * The median wall time and peak RSS of `runs` runs of `once`, and every run's seconds and MB: this
 * VM's speed drifts by ±15 % (at times more) from one run to the next.
 */
export async function repeated(
  runs: number,
  once: () => Promise<{ ms: number; peakRssMb: number }>,
): Promise<{ ms: number; peakRssMb: number; each: string }> {
  const all: Array<{ ms: number; peakRssMb: number }> = [];
  for (let i = 0; i < runs; i++) all.push(await once());
  return {
    ms: median(all.map((r) => r.ms)),
    peakRssMb: median(all.map((r) => r.peakRssMb)),
    each: all.map((r) => `${(r.ms / 1000).toFixed(1)} s ${r.peakRssMb} MB`).join(', '),
  };
}

/** Starts a node child process and resolves once its output contains `ready`. */
export async function startChild(args: string[], ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const on = (d: Buffer) => {
      out += d.toString();
      if (out.includes(ready)) resolve();
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  return child;
}

export async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** A POST /events body of 100 events, the generator's mix of types. */
export const BATCH_BODY = JSON.stringify(
  Array.from({ length: 100 }, (_, i) =>
    i % 3 === 0
      ? { type: 'join_guild', guild_id: 'g01', guild_name: 'Iron Wolves' }
      : {
          type: 'purchase',
          item: ['sword', 'knife', 'helmet'][i % 3],
          price: 4.99,
          currency: 'USD',
          quantity: 1,
        },
  ),
);

export interface IngestRow {
  name: string;
  requestsPerSec: number;
  eventsPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** An autocannon run (after a 2 s warm-up) at `connections` keep-alive connections. */
export async function ingest(
  name: string,
  opts: autocannon.Options,
  eventsPerRequest: number,
  { duration, connections }: { duration: number; connections: number },
): Promise<IngestRow> {
  await autocannon({ ...opts, duration: 2, connections });
  const r = await autocannon({ ...opts, duration, connections });
  return {
    name,
    requestsPerSec: Math.round(r.requests.average),
    eventsPerSec: Math.round(r.requests.average * eventsPerRequest),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
  };
}
