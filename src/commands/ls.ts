import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { json, parseFormat, permissionString, shortTime } from '../lib/core/render.js';
import { example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('ls')
      .description('list the lake on HDFS like `hadoop fs -ls`')
      .argument('[path]', "HDFS path (default: the lake's base)")
      .option('-R, --recursive', 'list subdirectories too', false)
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'ls', ['path'])),
    'gamepipe ls /gamepipe --recursive',
  );
};

export interface LsOptions extends ConfigFlags {
  path?: string;
  recursive: boolean;
  format: string;
}

/** Lists the lake like `hadoop fs -ls`; the default path is the lake's base. */
export async function ls(opts: LsOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const path = opts.path ?? config.base;
  const { withHdfs } = await import('../lib/hdfs/webhdfs.js');
  return withHdfs(config, async (hdfs) => {
    const entries = await hdfs.list(path, { recursive: opts.recursive });
    if (format === 'json') {
      process.stdout.write(json(entries) + '\n');
      return 0;
    }
    const ownerWidth = Math.max(0, ...entries.map((e) => e.owner.length));
    const groupWidth = Math.max(0, ...entries.map((e) => e.group.length));
    const sizeWidth = Math.max(0, ...entries.map((e) => String(e.length).length));
    const lines = entries.map((e) => {
      const dir = e.type === 'DIRECTORY';
      return [
        permissionString(e.permission, dir),
        `${dir ? '-' : e.replication}`.padStart(4),
        e.owner.padEnd(ownerWidth),
        e.group.padEnd(groupWidth),
        String(e.length).padStart(sizeWidth),
        shortTime(e.modificationTime),
        e.path,
      ].join(' ');
    });
    if (!opts.recursive) lines.unshift(`Found ${entries.length} items`);
    process.stdout.write(lines.map((l) => `${l}\n`).join(''));
    return 0;
  });
}
