/**
 * bench/extract: one day of N events of the generator's mix in Kafka → Parquet on HDFS, end to
 * end (`gamepipe extract` as a user runs it), with its peak RSS; beside the baseline of only
 * reading the same range from Kafka with the same client (kafkajs), in the same run; and the same
 * day on Spark (`--engine spark`, local[2] here: its peak counts the JVM and Python workers).
 *   node --import tsx bench/extract.ts [--events 1000000,5000000] [--no-spark]
 * Needs the stack (`gamepipe up`). Prints a Markdown table for docs/benchmarks.md.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/lib/core/config.js';
import { withHdfs } from '../src/lib/hdfs/webhdfs.js';
import { uniqueName } from '../test/helpers.js';
import { cleanUp, fillTopic, measured, measuredExtract, repeated } from './common.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000,5000000' },
    // this VM's speed drifts by ±15 % between runs: each figure is the median of `runs`
    runs: { type: 'string', default: '3' },
    // an existing topic to read instead of filling a new one (BENCH_KEEP_TOPIC prints them)
    topics: { type: 'string' },
    'no-spark': { type: 'boolean', default: false },
  },
});
const sizes = (values.events ?? '').split(',').map(Number);
const runs = Number(values.runs);
const given = values.topics?.split(',');
const config = resolveConfig();
const DATE = '2026-11-01';

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
  each: string;
}

const rows: Row[] = [];
for (const [i, n] of sizes.entries()) {
  let topic = given?.[i];
  if (!topic) {
    process.stderr.write(`producing ${n} events...\n`);
    topic = await fillTopic(config, n, DATE);
  }
  const base = `/tmp/gamepipe-bench/${uniqueName('lake')}`;
  const read = await repeated(runs, () =>
    measured(['--input-type=module', '-e', READ_ONLY, config.brokers.join(','), topic, String(n)]),
  );
  rows.push({
    events: n,
    run: 'baseline: read + JSON.parse only (kafkajs)',
    seconds: read.ms / 1000,
    perSecond: n / (read.ms / 1000),
    peakRssMb: read.peakRssMb,
    each: read.each,
  });
  // each run replaces the date's output with the same bytes
  const ex = await repeated(runs, async () => {
    const r = await measuredExtract(topic, base, DATE);
    if (r.records !== n) throw new Error(`extract read ${r.records} of ${n}`);
    return r;
  });
  rows.push({
    events: n,
    run: 'gamepipe extract (Kafka → Parquet on HDFS)',
    seconds: ex.ms / 1000,
    perSecond: n / (ex.ms / 1000),
    peakRssMb: ex.peakRssMb,
    each: ex.each,
  });
  if (!values['no-spark']) {
    const spark = await repeated(runs, async () => {
      const r = await measuredExtract(topic, `${base}-spark`, DATE, '--engine', 'spark');
      if (r.records !== n) throw new Error(`extract --engine spark read ${r.records} of ${n}`);
      return r;
    });
    rows.push({
      events: n,
      run: 'gamepipe extract --engine spark (local[2])',
      seconds: spark.ms / 1000,
      perSecond: n / (spark.ms / 1000),
      peakRssMb: spark.peakRssMb,
      each: spark.each,
    });
    await withHdfs(config, (hdfs) => hdfs.delete(`${base}-spark`, { recursive: true }));
  }
  if (process.env.BENCH_KEEP_TOPIC || given) process.stderr.write(`kept topic ${topic}\n`);
  else await cleanUp(config, topic, base);
}

console.log(
  `\nbench/extract — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), node ${process.version}, topic of 3 partitions\n`,
);
console.log(`each figure: the median of ${runs} runs (every run in the last column)\n`);
console.log('| events | run | wall s | events/s | peak RSS MB | runs |');
console.log('| ---: | --- | ---: | ---: | ---: | --- |');
for (const r of rows)
  console.log(
    `| ${r.events} | ${r.run} | ${r.seconds.toFixed(1)} | ${Math.round(r.perSecond)} | ${r.peakRssMb} | ${r.each} |`,
  );
const ex = rows.filter((r) => r.run === 'gamepipe extract (Kafka → Parquet on HDFS)');
if (ex.length >= 2) {
  const [a, b] = [ex[0] as Row, ex[ex.length - 1] as Row];
  console.log(
    `\npeak RSS at ${b.events} events is ${((b.peakRssMb / a.peakRssMb - 1) * 100).toFixed(1)}% above ${a.events} (target: within 10%)`,
  );
}
