import type { Config } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import { readLedger } from '../events/ledger.js';
import { listDates, outputDir } from '../lake/layout.js';
import { readColumns } from '../lake/reader.js';
import { withHdfs } from '../hdfs/webhdfs.js';

export interface VerifyResult {
  dates: string[];
  ledgerEvents: number;
  /** Ledger ids found exactly once in the lake. */
  exactlyOnce: number;
  missing: string[];
  duplicated: Array<{ event_id: string; count: number }>;
  /** Events in the lake on these dates that the ledger does not list (other writers). */
  notInLedger: number;
  ok: boolean;
}

/**
 * Reconciles a `generate` ledger with the lake: every acknowledged event_id must be in the
 * purchases or join_guild output of the given dates exactly once.
 */
export async function verifyLedger(
  config: Pick<Config, 'webhdfsUrl' | 'hdfsUser' | 'base'>,
  { ledger, dates }: { ledger: string; dates?: string[] },
): Promise<VerifyResult> {
  const entries = await readLedger(ledger);
  if (entries.length === 0) {
    // nothing to check is not a pass
    throw new GamepipeError(ErrorCodes.noData, `the ledger ${ledger} holds no events`, {
      hint: 'point --ledger at the file `gamepipe generate --ledger FILE` wrote',
      context: { path: ledger },
    });
  }
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(e.event_id, 0);
  let notInLedger = 0;
  let chosen: string[] = [];
  await withHdfs(config, async (hdfs) => {
    const available = await listDates(hdfs, config.base);
    chosen = dates ?? available.complete;
    if (chosen.length === 0) {
      throw new GamepipeError(ErrorCodes.noData, `no extracted dates in ${config.base}`, {
        hint: 'run `gamepipe extract --date D` first',
      });
    }
    for (const date of chosen) {
      for (const output of ['purchases', 'join_guild'] as const) {
        const dir = outputDir(config.base, output, date);
        const files = (await hdfs.stat(dir)) ? await hdfs.listStatus(dir) : [];
        for (const f of files.filter((s) => s.pathSuffix.endsWith('.parquet'))) {
          const { data } = await readColumns(hdfs, `${dir}/${f.pathSuffix}`, ['event_id']);
          const ids = data.event_id as ArrayLike<string>;
          for (let i = 0; i < ids.length; i++) {
            const c = counts.get(ids[i] as string);
            if (c === undefined) notInLedger++;
            else counts.set(ids[i] as string, c + 1);
          }
        }
      }
    }
  });
  const missing: string[] = [];
  const duplicated: Array<{ event_id: string; count: number }> = [];
  let exactlyOnce = 0;
  for (const [id, c] of counts) {
    if (c === 0) missing.push(id);
    else if (c > 1) duplicated.push({ event_id: id, count: c });
    else exactlyOnce++;
  }
  return {
    dates: chosen,
    ledgerEvents: counts.size,
    exactlyOnce,
    missing,
    duplicated,
    notInLedger,
    ok: missing.length === 0 && duplicated.length === 0 && counts.size === entries.length,
  };
}
