/**
 * bench/side-by-side: the code of this checkout beside another build (an earlier commit checked
 * out with `git worktree add DIR COMMIT && (cd DIR && npm ci && npm run build)`), in one run on
 * the same stack, the builds interleaved, each figure the median of `runs`:
 *   - extract: `gamepipe extract` of one day of `events` events, on the same topic;
 *   - report: `gamepipe report events` and `report hosts` on the same lake;
 *   - serve: `gamepipe serve` under autocannon, single events and batches of 100.
 *   node --import tsx bench/side-by-side.ts --other DIR [--what extract,report,serve]
 *     [--events 1000000] [--runs 3] [--duration 10] [--connections 50]
 * Needs the stack (`gamepipe up`). Prints Markdown tables for docs/benchmarks.md.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/lib/core/config.js';
import { createTopic, withAdmin } from '../src/lib/kafka/admin.js';
import { BIN, daysAgo, extractArgs, freePort, uniqueName } from '../test/helpers.js';
import {
  BATCH_BODY,
  cleanUp,
  fillTopic,
  ingest,
  measured,
  median,
  startChild,
  stop,
  type IngestRow,
} from './common.js';

const { values } = parseArgs({
  options: {
    other: { type: 'string' },
    what: { type: 'string', default: 'extract,report,serve' },
    events: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
  },
});
if (!values.other) throw new Error('give --other DIR, a checkout of the build to compare with');
const builds = [
  { name: 'this checkout', bin: BIN },
  { name: `other (${values.other})`, bin: join(values.other, 'bin', 'gamepipe.js') },
];
const what = new Set(values.what.split(','));
const n = Number(values.events);
const runs = Number(values.runs);
const config = resolveConfig();
const DATE = daysAgo(30);
const cpu = cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'cpu';
const header = (part: string, detail: string): string =>
  `\nbench/side-by-side ${part} — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpu}), node ${process.version}, ${detail}, builds interleaved\n\n`;

/** Runs `args` of each build `runs` times, interleaved; the median seconds and MB of each. */
async function interleaved(
  name: string,
  args: (bin: string, run: number) => string[],
): Promise<string[]> {
  const results = builds.map(() => [] as Array<{ s: number; mb: number }>);
  for (let r = 0; r < runs; r++) {
    for (const [i, b] of builds.entries()) {
      const m = await measured(args(b.bin, r));
      if (m.code !== 0) throw new Error(`${b.name}: ${name} failed (${m.code})`);
      results[i]?.push({ s: m.ms / 1000, mb: m.peakRssMb });
    }
  }
  return builds.map((b, i) => {
    const rs = results[i] ?? [];
    const s = median(rs.map((x) => x.s));
    return `| ${name} | ${b.name} | ${s.toFixed(2)} | ${median(rs.map((x) => x.mb))} | ${rs.map((x) => `${x.s.toFixed(2)} s ${x.mb} MB`).join(', ')} |`;
  });
}

const TABLE = '| run | build | wall s | peak RSS MB | runs |\n| --- | --- | ---: | ---: | --- |\n';

if (what.has('extract') || what.has('report')) {
  process.stderr.write(`producing ${n} events...\n`);
  const topic = await fillTopic(config, n, DATE);
  const bases: string[] = [];
  const lake = (): string => {
    const base = `/tmp/gamepipe-bench/${uniqueName('lake')}`;
    bases.push(base);
    return base;
  };
  try {
    const extractCmd = (bin: string, base: string): string[] => [
      bin,
      ...extractArgs(DATE, topic, base),
    ];
    if (what.has('extract')) {
      const rows = await interleaved('extract', (bin) => extractCmd(bin, lake()));
      process.stdout.write(header('extract', `${n} events`) + TABLE + rows.join('\n') + '\n');
    }
    if (what.has('report')) {
      const base = lake();
      const m = await measured(extractCmd(BIN, base));
      if (m.code !== 0) throw new Error('extract for the reports failed');
      const rows: string[] = [];
      for (const report of ['events', 'hosts']) {
        rows.push(
          ...(await interleaved(`report ${report}`, (bin) => [
            bin,
            'report',
            report,
            '--base',
            base,
            '--date',
            DATE,
          ])),
        );
      }
      process.stdout.write(
        header('report', `${n} events on one date`) + TABLE + rows.join('\n') + '\n',
      );
    }
  } finally {
    for (const base of bases) await cleanUp(config, topic, base).catch(() => undefined);
  }
}

if (what.has('serve')) {
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const rows: Array<IngestRow & { build: string }> = [];
  for (let r = 0; r < runs; r++) {
    for (const b of builds) {
      // each build its own topic and port, started fresh each round
      const topic = uniqueName('gp-bench-serve');
      await createTopic(config, { topic, partitions: 3 });
      const port = await freePort();
      const api = await startChild(
        [b.bin, 'serve', '--port', String(port), '--topic', topic, '--no-access-log'],
        'listening',
      );
      try {
        const url = `http://127.0.0.1:${port}`;
        const load = { duration, connections };
        rows.push({
          build: b.name,
          ...(await ingest(
            'single event (GET /purchase/sword)',
            { url: `${url}/purchase/sword`, headers: { host: 'user12.comcast.com' } },
            1,
            load,
          )),
        });
        rows.push({
          build: b.name,
          ...(await ingest(
            'batch of 100 (POST /events)',
            {
              url: `${url}/events`,
              method: 'POST',
              headers: { host: 'user12.comcast.com', 'content-type': 'application/json' },
              body: BATCH_BODY,
            },
            100,
            load,
          )),
        });
      } finally {
        await stop(api);
        await withAdmin(config, (admin) => admin.deleteTopics({ topics: [topic] })).catch(
          () => undefined,
        );
      }
    }
  }
  const lines: string[] = [];
  for (const run of ['single event (GET /purchase/sword)', 'batch of 100 (POST /events)']) {
    for (const b of builds) {
      const rs = rows.filter((x) => x.name === run && x.build === b.name);
      lines.push(
        `| ${run} | ${b.name} | ${median(rs.map((x) => x.eventsPerSec))} | ${median(rs.map((x) => x.p50))} | ${median(rs.map((x) => x.p99))} | ${rs.reduce((s, x) => s + x.errors + x.non2xx, 0)} | ${rs.map((x) => x.eventsPerSec).join(', ')} |`,
      );
    }
  }
  process.stdout.write(
    header('serve', `${connections} connections, ${duration} s a run`) +
      '| run | build | events/s | p50 ms | p99 ms | errors + non-2xx | events/s of each run |\n| --- | --- | ---: | ---: | ---: | ---: | --- |\n' +
      lines.join('\n') +
      '\n',
  );
}
