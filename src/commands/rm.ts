import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { info } from '../lib/core/progress.js';
import { ErrorCodes, GamepipeError } from '../lib/core/errors.js';
import { json, parseFormat } from '../lib/core/render.js';
import { example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('rm')
      .description('delete paths of the lake (inside its base, never the base itself)')
      .argument('<path>', "a path relative to the lake's base unless it starts with / (globs)")
      .option('-r, --recursive', 'delete directories and what they hold', false)
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'rm', ['path'])),
    "gamepipe rm -r '_rejected/date=2026-10-*'",
  );
};

export interface RmOptions extends ConfigFlags {
  path: string;
  recursive: boolean;
  format: string;
}

/**
 * Deletes lake paths like `hdfs dfs -rm [-r]`. Every path is checked before any is deleted: one
 * outside the base, or a directory without -r, deletes nothing.
 */
export async function rm(opts: RmOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const { withHdfs } = await import('../lib/hdfs/webhdfs.js');
  const { assertRemovable, expandGlob, lakePath } = await import('../lib/lake/paths.js');
  return withHdfs(config, async (hdfs) => {
    const paths = await expandGlob(hdfs, lakePath(config.base, opts.path));
    for (const p of paths) {
      assertRemovable(config.base, p);
      const status = await hdfs.getFileStatus(p);
      if (status.type === 'DIRECTORY' && !opts.recursive) {
        throw new GamepipeError(ErrorCodes.usage, `${p} is a directory`, {
          hint: `delete it and what it holds with -r: gamepipe rm -r ${opts.path}`,
          context: { path: p },
        });
      }
    }
    for (const p of paths) await hdfs.delete(p, { recursive: opts.recursive });
    if (format === 'json') process.stdout.write(json({ deleted: paths }) + '\n');
    else info(paths.map((p) => `deleted ${p}`).join('\n'));
    return 0;
  });
}
