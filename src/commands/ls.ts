import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { bytes, json, parseFormat, permissionString, shortTime } from '../lib/core/render.js';
import { example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('ls')
      // -h is human sizes, as in hdfs dfs and du; help stays --help
      .helpOption('--help', 'display help for command')
      .description('list the lake on HDFS like `hdfs dfs -ls` (paths relative to the base, globs)')
      .argument(
        '[path]',
        "HDFS path, relative to the lake's base unless it starts with / (default: the base)",
      )
      .option('-R, --recursive', 'list subdirectories too', false)
      .option('-h, --human', 'sizes as KiB, MiB, GiB', false)
      .option('-d, --directory', 'list a directory itself, not what it holds', false)
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'ls', ['path'])),
    'gamepipe ls purchases -h',
    "gamepipe ls '_rejected/date=2026-11-*' -R",
  );
};

export interface LsOptions extends ConfigFlags {
  path?: string;
  recursive: boolean;
  human: boolean;
  directory: boolean;
  format: string;
}

/** Lists the lake like `hdfs dfs -ls`; the default path is the lake's base. */
export async function ls(opts: LsOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const { withHdfs } = await import('../lib/hdfs/webhdfs.js');
  const { expandGlob, lakePath } = await import('../lib/lake/paths.js');
  return withHdfs(config, async (hdfs) => {
    const entries = [];
    for (const path of await expandGlob(hdfs, lakePath(config.base, opts.path))) {
      if (opts.directory) entries.push({ ...(await hdfs.getFileStatus(path)), path });
      else entries.push(...(await hdfs.list(path, { recursive: opts.recursive })));
    }
    if (format === 'json') {
      process.stdout.write(json(entries) + '\n');
      return 0;
    }
    const size = (n: number): string => (opts.human ? bytes(n) : String(n));
    const ownerWidth = Math.max(0, ...entries.map((e) => e.owner.length));
    const groupWidth = Math.max(0, ...entries.map((e) => e.group.length));
    const sizeWidth = Math.max(0, ...entries.map((e) => size(e.length).length));
    const lines = entries.map((e) => {
      const dir = e.type === 'DIRECTORY';
      return [
        permissionString(e.permission, dir),
        `${dir ? '-' : e.replication}`.padStart(4),
        e.owner.padEnd(ownerWidth),
        e.group.padEnd(groupWidth),
        size(e.length).padStart(sizeWidth),
        shortTime(e.modificationTime),
        e.path,
      ].join(' ');
    });
    if (!opts.recursive && !opts.directory) lines.unshift(`Found ${entries.length} items`);
    process.stdout.write(lines.map((l) => `${l}\n`).join(''));
    return 0;
  });
}
