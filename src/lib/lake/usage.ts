import { ErrorCodes, GamepipeError } from '../core/errors.js';
import type { WebHdfs } from '../hdfs/webhdfs.js';
import { OUTPUTS } from './layout.js';

export interface UsageRow {
  output: string;
  /** undefined: the output's total. */
  date?: string;
  files: number;
  bytes: number;
}

/** Each output's size per date and in all, as `gamepipe du` shows the lake. */
export async function lakeUsage(hdfs: WebHdfs, base: string): Promise<UsageRow[]> {
  const rows: UsageRow[] = [];
  for (const output of OUTPUTS) {
    const dir = `${base}/${output}`;
    let dates: string[];
    try {
      dates = (await hdfs.listStatus(dir))
        .filter((s) => s.type === 'DIRECTORY' && s.pathSuffix.startsWith('date='))
        .map((s) => s.pathSuffix.slice('date='.length))
        .sort();
    } catch (err) {
      if (err instanceof GamepipeError && err.code === ErrorCodes.hdfsNotFound) continue;
      throw err;
    }
    const sizes = await Promise.all(dates.map((d) => hdfs.contentSummary(`${dir}/date=${d}`)));
    dates.forEach((date, i) => {
      const s = sizes[i] as { length: number; fileCount: number };
      rows.push({ output, date, files: s.fileCount, bytes: s.length });
    });
    rows.push({
      output,
      files: sizes.reduce((n, s) => n + s.fileCount, 0),
      bytes: sizes.reduce((n, s) => n + s.length, 0),
    });
  }
  return rows;
}
