import { ErrorCodes, GamepipeError } from '../core/errors.js';
import type { WebHdfs } from '../hdfs/webhdfs.js';
import { listDates, outputDir, readManifest } from './layout.js';

/** The tables analysts query: one per event type. */
export const EVENT_OUTPUTS = ['purchases', 'join_guild'] as const;
export type EventOutput = (typeof EVENT_OUTPUTS)[number];

/** One Parquet file of the lake, with what says whether a copy of it is still the same file. */
export interface LakeFile {
  date: string;
  output: EventOutput;
  path: string;
  length: number;
  modificationTime: number;
}

export interface LakeSelection {
  /** The dates chosen: those asked for that the lake has (complete, unless includeIncomplete). */
  dates: string[];
  /** Dates asked for that the lake does not have. */
  missing: string[];
  /** Their event files, by date, output and name. */
  files: LakeFile[];
  /**
   * Chosen dates whose day was still open when they were extracted (their manifest's dayClosed
   * is false): partial days, which reports mark as such.
   */
  partial: string[];
}

/**
 * The event files of the requested dates (every date when none are given): only dates with a
 * manifest, unless includeIncomplete. No date at all is GP_NO_DATA, naming what the lake has.
 */
export async function lakeFiles(
  hdfs: WebHdfs,
  base: string,
  {
    dates,
    includeIncomplete = false,
    until,
  }: {
    dates?: string[] | undefined;
    includeIncomplete?: boolean;
    /** Without `dates`: every date of the lake up to this one (inclusive). */
    until?: string | undefined;
  },
): Promise<LakeSelection> {
  const listed = await listDates(hdfs, base);
  const available = includeIncomplete
    ? [...new Set([...listed.complete, ...listed.incomplete])].sort()
    : listed.complete;
  const wanted = dates ?? available.filter((d) => until === undefined || d <= until);
  const chosen = wanted.filter((d) => available.includes(d));
  if (chosen.length === 0) {
    const which = available.length
      ? `dates in the lake: ${available.length > 8 ? `${available[0]} .. ${available[available.length - 1]} (${available.length})` : available.join(', ')}`
      : `the lake at ${base} has no ${includeIncomplete ? '' : 'complete '}dates`;
    throw new GamepipeError(
      ErrorCodes.noData,
      dates
        ? `no data for ${dates.length > 3 ? `${dates[0]} .. ${dates[dates.length - 1]}` : dates.join(', ')}; ${which}`
        : which,
      {
        hint: available.length
          ? 'pick dates that exist, or extract the ones you need with `gamepipe extract --date D`'
          : 'run `gamepipe extract --date D` first',
      },
    );
  }
  // each manifest read while the folders are listed
  const closing = Promise.all(
    chosen.map(async (d) =>
      listed.complete.includes(d) ? ((await readManifest(hdfs, base, d))?.dayClosed ?? true) : true,
    ),
  );
  closing.catch(() => undefined);
  // every directory listed at once: a range of dates is one round trip, not two a date
  const dirs = await Promise.all(
    chosen.flatMap((date) =>
      EVENT_OUTPUTS.map(async (output) => {
        const dir = outputDir(base, output, date);
        let inDir: Awaited<ReturnType<WebHdfs['listStatus']>>;
        try {
          inDir = await hdfs.listStatus(dir);
        } catch (err) {
          if (err instanceof GamepipeError && err.code === ErrorCodes.hdfsNotFound) return [];
          throw err;
        }
        return inDir
          .filter((s) => s.type === 'FILE' && s.pathSuffix.endsWith('.parquet'))
          .sort((a, b) => a.pathSuffix.localeCompare(b.pathSuffix))
          .map((f): LakeFile => ({
            date,
            output,
            path: `${dir}/${f.pathSuffix}`,
            length: f.length,
            modificationTime: f.modificationTime,
          }));
      }),
    ),
  );
  const files = dirs.flat();
  const closed = await closing;
  return {
    dates: chosen,
    missing: wanted.filter((d) => !chosen.includes(d)),
    files,
    partial: chosen.filter((_, i) => !(closed[i] ?? true)),
  };
}
