import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { bytes, json, parseFormat, table } from '../lib/core/render.js';
import { example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('du')
      // -h is human sizes, as in hdfs dfs and du; help stays --help
      .helpOption('--help', 'display help for command')
      .description('space used in the lake: per output and date (default), or under a path')
      .argument('[path]', "HDFS path, relative to the lake's base unless it starts with / (globs)")
      .option('-h, --human', 'sizes as KiB, MiB, GiB', false)
      .option('-s, --summary', 'one total per path, not one line per entry under it', false)
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'du', ['path'])),
    'gamepipe du -h',
    "gamepipe du -s -h 'purchases/date=2026-11-*'",
  );
};

export interface DuOptions extends ConfigFlags {
  path?: string;
  human: boolean;
  summary: boolean;
  format: string;
}

/** `hdfs dfs -du` of the lake; without a path, a table of each output's dates. */
export async function du(opts: DuOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const { withHdfs } = await import('../lib/hdfs/webhdfs.js');
  const { expandGlob, lakePath } = await import('../lib/lake/paths.js');
  const size = (n: number): string | number => (opts.human ? bytes(n) : n);
  return withHdfs(config, async (hdfs) => {
    if (opts.path === undefined && !opts.summary) {
      const { lakeUsage } = await import('../lib/lake/usage.js');
      const rows = await lakeUsage(hdfs, config.base);
      if (format === 'json') {
        process.stdout.write(json({ base: config.base, outputs: rows }) + '\n');
      } else {
        process.stdout.write(
          table(
            ['output', 'date', 'files', 'size'],
            rows.map((r) => [r.output, r.date ?? '', r.files, size(r.bytes)]),
          ) + '\n',
        );
      }
      return 0;
    }
    const out: Array<{ path: string; bytes: number; files: number }> = [];
    for (const path of await expandGlob(hdfs, lakePath(config.base, opts.path))) {
      const status = await hdfs.getFileStatus(path);
      const under =
        opts.summary || status.type !== 'DIRECTORY'
          ? [path]
          : (await hdfs.listStatus(path)).map((c) => `${path === '/' ? '' : path}/${c.pathSuffix}`);
      for (const p of under) {
        const s = await hdfs.contentSummary(p);
        out.push({ path: p, bytes: s.length, files: s.fileCount });
      }
    }
    if (format === 'json') process.stdout.write(json(out) + '\n');
    else process.stdout.write(out.map((e) => `${size(e.bytes)}  ${e.path}\n`).join(''));
    return 0;
  });
}
