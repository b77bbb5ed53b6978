/**
 * bench/side-by-side: `gamepipe extract` of one day from two builds, interleaved on the same
 * topic, each figure the median of `runs`: the code of this checkout beside another build (an
 * earlier commit checked out with `git worktree add DIR COMMIT && (cd DIR && npm ci)`).
 *   node --import tsx bench/side-by-side.ts --other DIR [--events 1000000] [--runs 3]
 * Needs the stack (`gamepipe up`). Prints a Markdown table for docs/benchmarks.md.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/lib/core/config.js';
import { BIN, uniqueName } from '../test/helpers.js';
import { cleanUp, fillTopic, measured } from './common.js';

const { values } = parseArgs({
  options: {
    other: { type: 'string' },
    events: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
  },
});
if (!values.other) throw new Error('give --other DIR, a checkout of the build to compare with');
const builds = [
  { name: 'this checkout', bin: BIN },
  { name: `other (${values.other})`, bin: join(values.other, 'bin', 'gamepipe.js') },
];
const n = Number(values.events);
const runs = Number(values.runs);
const config = resolveConfig();
const DATE = '2026-11-01';
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;

process.stderr.write(`producing ${n} events...\n`);
const topic = await fillTopic(config, n, DATE);
const results = builds.map(() => [] as Array<{ s: number; mb: number }>);
const bases: string[] = [];
for (let r = 0; r < runs; r++) {
  for (const [i, b] of builds.entries()) {
    const base = `/tmp/gamepipe-bench/${uniqueName('lake')}`;
    bases.push(base);
    const ex = await measured([b.bin, 'extract', '--date', DATE, '--topic', topic, '--base', base]);
    if (ex.code !== 0) throw new Error(`${b.name}: extract failed (${ex.code})`);
    results[i]?.push({ s: ex.ms / 1000, mb: ex.peakRssMb });
  }
}
for (const base of bases) await cleanUp(config, topic, base).catch(() => undefined);
const cpu = cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'cpu';
process.stdout.write(
  `\nbench/side-by-side — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpu}), node ${process.version}, ${n} events, runs interleaved\n\n` +
    '| build | wall s | events/s | peak RSS MB | runs |\n| --- | ---: | ---: | ---: | --- |\n' +
    builds
      .map((b, i) => {
        const rs = results[i] ?? [];
        const s = median(rs.map((x) => x.s));
        return `| ${b.name} | ${s.toFixed(1)} | ${Math.round(n / s)} | ${median(rs.map((x) => x.mb))} | ${rs.map((x) => `${x.s.toFixed(1)} s ${x.mb} MB`).join(', ')} |`;
      })
      .join('\n') +
    '\n',
);
