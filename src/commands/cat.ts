import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { info } from '../lib/core/progress.js';
import { ErrorCodes, GamepipeError } from '../lib/core/errors.js';
import { parseCount } from '../lib/core/options.js';
import { parseFormat, table } from '../lib/core/render.js';
import { example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('cat')
      .description('print the rows of a Parquet file of the lake, as JSON lines or a table')
      .argument('<file>', "a Parquet file, relative to the lake's base unless it starts with /")
      .option('--limit <n>', 'print the first n rows', '20')
      .addOption(formatOption(['json', 'table'], 'json'))
      .action(runs(run, 'cat', ['file'])),
    "gamepipe cat '_rejected/date=2026-11-27/events+0+0+99999.parquet' --limit 5",
  );
};

export interface CatOptions extends ConfigFlags {
  file: string;
  limit: string;
  format: string;
}

/** Prints the first rows of one Parquet file; a directory or a glob of several is GP_USAGE. */
export async function cat(opts: CatOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['json', 'table'] as const);
  const limit = parseCount('--limit', opts.limit, { min: 0 });
  const { withHdfs } = await import('../lib/hdfs/webhdfs.js');
  const { expandGlob, lakePath } = await import('../lib/lake/paths.js');
  const { readRows } = await import('../lib/lake/reader.js');
  return withHdfs(config, async (hdfs) => {
    const paths = await expandGlob(hdfs, lakePath(config.base, opts.file));
    const path = paths[0] as string;
    const status = await hdfs.getFileStatus(path);
    if (paths.length > 1 || status.type !== 'FILE') {
      throw new GamepipeError(
        ErrorCodes.usage,
        paths.length > 1
          ? `${opts.file} names ${paths.length} files: cat reads one`
          : `${path} is a directory: cat reads one Parquet file`,
        { hint: 'list the files with `gamepipe ls`, then cat one of them' },
      );
    }
    const { columns, rows, total } = await readRows(hdfs, path, { limit });
    if (format === 'json') {
      process.stdout.write(rows.map((r) => JSON.stringify(r) + '\n').join(''));
    } else {
      const cell = (v: unknown): string | number | null =>
        v === null ? null : typeof v === 'number' ? v : String(v).slice(0, 60);
      process.stdout.write(
        table(
          columns,
          rows.map((r) => columns.map((c) => cell(r[c]))),
        ) + '\n',
      );
    }
    info(`${rows.length} of ${total} row(s) of ${path}`);
    return 0;
  });
}
