import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ErrorCodes, GamepipeError } from '../core/errors.js';

/** One acknowledged event, as `generate --ledger` records it: the ground truth for `verify`. */
export interface LedgerEntry {
  event_id: string;
  event_type: string;
  Host: string;
}

/** Appends ledger entries as JSON lines; `close` flushes them to disk. */
export function openLedger(path: string): {
  write: (e: LedgerEntry) => void;
  close: () => Promise<void>;
} {
  const out = createWriteStream(path, { flags: 'a' });
  let failure: Error | undefined;
  out.on('error', (err) => (failure = err));
  return {
    write: (e) => {
      out.write(JSON.stringify(e) + '\n');
    },
    close: () =>
      new Promise<void>((resolve, reject) =>
        out.end(() => {
          if (failure) {
            reject(
              new GamepipeError(
                ErrorCodes.usage,
                `cannot write the ledger ${path}: ${failure.message}`,
                {
                  hint: 'pick a writable --ledger path',
                  context: { path },
                },
              ),
            );
          } else resolve();
        }),
      ),
  };
}

/** Reads a ledger file; a malformed line is an error naming its number. */
export async function readLedger(path: string): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  const stream = createReadStream(path, 'utf8');
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      let e: Partial<LedgerEntry>;
      try {
        e = JSON.parse(line) as Partial<LedgerEntry>;
      } catch {
        e = {};
      }
      if (typeof e.event_id !== 'string') {
        throw new GamepipeError(
          ErrorCodes.usage,
          `line ${n} of the ledger ${path} is not a ledger entry`,
          {
            hint: 'a ledger is what `gamepipe generate --ledger FILE` writes: one {"event_id", "event_type", "Host"} a line',
            context: { path, line: n },
          },
        );
      }
      entries.push(e as LedgerEntry);
    }
  } catch (err) {
    if (err instanceof GamepipeError) throw err;
    throw new GamepipeError(
      ErrorCodes.usage,
      `cannot read the ledger ${path}: ${(err as Error).message}`,
      {
        hint: 'check the --ledger path',
        context: { path },
        cause: err,
      },
    );
  }
  return entries;
}
