/**
 * bench/extract: one day of N events of the generator's mix in Kafka → Parquet on HDFS, end to
 * end (`gamepipe extract` as a user runs it), with its peak RSS; beside the baseline of only
 * reading the same range from Kafka with the same client (kafkajs), in the same run.
 *   node --import tsx bench/extract.ts [--events 1000000,5000000]
 * Needs the stack (`gamepipe up`). Prints a Markdown table for docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/lib/config.js';
import { buildEvent } from '../src/lib/events.js';
import { planRun } from '../src/lib/generator.js';
import { createKafka, withAdmin } from '../src/lib/kafka.js';
import { HostPartitioner } from '../src/lib/partitioner.js';
import { WebHdfs } from '../src/lib/webhdfs.js';
import { BIN, ROOT, uniqueName } from '../test/helpers.js';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '1000000,5000000' } },
});
const sizes = (values.events ?? '').split(',').map(Number);
const config = resolveConfig();
const DATE = '2026-11-01';
const dayStart = Date.parse(`${DATE}T00:00:00Z`);

async function fillTopic(n: number): Promise<string> {
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
        const ts = dayStart + Math.floor((i++ / n) * 86_400_000);
        const event = buildEvent({
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

/** Runs a node child process; resolves with its wall time, peak RSS (VmHWM) and stdout. */
function measured(
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
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]));
      } catch {
        // exited
      }
    }, 50);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({
        ms: performance.now() - t0,
        peakRssMb: Math.round(hwm / 1024),
        stdout,
        code: code ?? -1,
      });
    });
  });
}

const READ_ONLY = `
import { Kafka, logLevel } from 'kafkajs';
const [brokers, topic, total] = process.argv.slice(1);
const kafka = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING });
const c = kafka.consumer({ groupId: 'bench-' + Date.now(), maxBytesPerPartition: 16777216, maxBytes: 67108864, maxWaitTimeInMs: 100 });
await c.connect(); await c.subscribe({ topic, fromBeginning: true });
let n = 0;
await new Promise((resolve) => c.run({ autoCommit: false, eachBatch: async ({ batch }) => {
  for (const m of batch.messages) { n++; JSON.parse(m.value.toString('utf8')); }
  if (n >= Number(total)) resolve();
} }));
await c.disconnect();
console.log(n);
`;

interface Row {
  events: number;
  run: string;
  seconds: number;
  perSecond: number;
  peakRssMb: number;
}

const rows: Row[] = [];
for (const n of sizes) {
  process.stderr.write(`producing ${n} events...\n`);
  const topic = await fillTopic(n);
  const base = `/tmp/gamepipe-bench/${uniqueName('lake')}`;
  const read = await measured([
    '--input-type=module',
    '-e',
    READ_ONLY,
    config.brokers.join(','),
    topic,
    String(n),
  ]);
  rows.push({
    events: n,
    run: 'baseline: read + JSON.parse only (kafkajs)',
    seconds: read.ms / 1000,
    perSecond: n / (read.ms / 1000),
    peakRssMb: read.peakRssMb,
  });
  const ex = await measured([
    BIN,
    'extract',
    '--date',
    DATE,
    '--topic',
    topic,
    '--base',
    base,
    '--format',
    'json',
  ]);
  if (ex.code !== 0) throw new Error(`extract failed (${ex.code})`);
  const r = JSON.parse(ex.stdout) as { records: number };
  if (r.records !== n) throw new Error(`extract read ${r.records} of ${n}`);
  rows.push({
    events: n,
    run: 'gamepipe extract (Kafka → Parquet on HDFS)',
    seconds: ex.ms / 1000,
    perSecond: n / (ex.ms / 1000),
    peakRssMb: ex.peakRssMb,
  });
  if (process.env.BENCH_KEEP_TOPIC) process.stderr.write(`kept topic ${topic}\n`);
  else await withAdmin(config, (admin) => admin.deleteTopics({ topics: [topic] }));
  const hdfs = new WebHdfs({ url: config.webhdfsUrl, user: config.hdfsUser });
  await hdfs.delete(base, { recursive: true });
  await hdfs.close();
}

console.log(
  `\nbench/extract — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), node ${process.version}, topic of 3 partitions\n`,
);
console.log('| events | run | wall s | events/s | peak RSS MB |');
console.log('| ---: | --- | ---: | ---: | ---: |');
for (const r of rows)
  console.log(
    `| ${r.events} | ${r.run} | ${r.seconds.toFixed(1)} | ${Math.round(r.perSecond)} | ${r.peakRssMb} |`,
  );
const ex = rows.filter((r) => r.run.startsWith('gamepipe'));
if (ex.length >= 2) {
  const [a, b] = [ex[0] as Row, ex[ex.length - 1] as Row];
  console.log(
    `\npeak RSS at ${b.events} events is ${((b.peakRssMb / a.peakRssMb - 1) * 100).toFixed(1)}% above ${a.events} (target: within 10%)`,
  );
}
