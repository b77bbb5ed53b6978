/**
 * bench/serve: ingest throughput and latency of `gamepipe serve` at 50 keep-alive connections,
 * beside a no-op node:http server measured in the same run on the same machine (the ceiling).
 *   node --import tsx bench/serve.ts [--duration 10] [--connections 50]
 * Needs the stack (`gamepipe up`). Prints a Markdown table for docs/benchmarks.md.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/lib/core/config.js';
import { createTopic, withAdmin } from '../src/lib/kafka/admin.js';
import { BIN, freePort, uniqueName } from '../test/helpers.js';
import { BATCH_BODY, ingest, median, startChild, stop, type IngestRow } from './common.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    // this VM's speed drifts between runs: the three runs are repeated, side by side, this often
    rounds: { type: 'string', default: '3' },
  },
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const connections = Number(values.connections);
const config = resolveConfig();

const noopPort = await freePort();
const noop = await startChild(
  [
    '-e',
    `require('node:http').createServer((q, s) => s.end('ok')).listen(${noopPort}, '127.0.0.1', () => console.log('noop ready'))`,
  ],
  'noop ready',
);
const topic = uniqueName('gp-bench-serve');
await createTopic(config, { topic, partitions: 3 });
const apiPort = await freePort();
const api = await startChild(
  [BIN, 'serve', '--port', String(apiPort), '--topic', topic, '--no-access-log'],
  'listening',
);

const measure = (name: string, opts: Parameters<typeof ingest>[1], eventsPerRequest: number) =>
  ingest(name, opts, eventsPerRequest, { duration, connections });
const rows: Array<IngestRow & { round: number }> = [];
try {
  for (let round = 1; round <= rounds; round++) {
    rows.push({
      round,
      ...(await measure('no-op node:http (ceiling)', { url: `http://127.0.0.1:${noopPort}/` }, 1)),
    });
    rows.push({
      round,
      ...(await measure(
        'serve: single event (GET /purchase/sword)',
        {
          url: `http://127.0.0.1:${apiPort}/purchase/sword`,
          headers: { host: 'user12.comcast.com', accept: '*/*' },
        },
        1,
      )),
    });
    rows.push({
      round,
      ...(await measure(
        'serve: batch of 100 (POST /events)',
        {
          url: `http://127.0.0.1:${apiPort}/events`,
          method: 'POST',
          headers: { host: 'user12.comcast.com', 'content-type': 'application/json' },
          body: BATCH_BODY,
        },
        100,
      )),
    });
  }
} finally {
  await stop(api);
  await stop(noop);
  await withAdmin(config, (admin) => admin.deleteTopics({ topics: [topic] })).catch(
    () => undefined,
  );
}

const of = (name: string) => rows.filter((r) => r.name.startsWith(name));
const ratios = of('serve: single').map(
  (r) => r.requestsPerSec / (of('no-op')[r.round - 1] as IngestRow).requestsPerSec,
);
const date = new Date().toISOString().slice(0, 10);
console.log(
  `\nbench/serve — ${date}, ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), node ${process.version}, ${connections} connections, ${duration}s per run, ${rounds} rounds\n`,
);
console.log('| round | run | requests/s | events/s | p50 ms | p99 ms | errors | non-2xx |');
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) {
  console.log(
    `| ${r.round} | ${r.name} | ${r.requestsPerSec} | ${r.eventsPerSec} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`,
  );
}
console.log(
  `\nmedians over ${rounds} rounds: single-event ingest = ${(median(ratios) * 100).toFixed(0)}% of the no-op server (each round: ${ratios.map((x) => `${(x * 100).toFixed(0)}%`).join(', ')}; target ≥ 50%), ` +
    `p99 ${median(of('serve: single').map((r) => r.p99))} ms (target < 50 ms); ` +
    `batch ingest ${median(of('serve: batch').map((r) => r.eventsPerSec))} events/s (target ≥ 100,000)`,
);
