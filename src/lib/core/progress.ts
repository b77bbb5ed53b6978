/**
 * What a command tells people while it works, on stderr (stdout is for data): on a terminal, a
 * spinner with the count, the percent and an ETA; elsewhere (a cron log, CI) one line every few
 * seconds, so that a long run shows it is alive; nothing but warnings under --quiet; every phase
 * as a line of its own, with the time since the start, under --verbose.
 */
import type { Ora } from 'ora';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

let verbosity: Verbosity = 'normal';

/** Set once by the CLI from --quiet and --verbose. */
export function setVerbosity(v: Verbosity): void {
  verbosity = v;
}

export function getVerbosity(): Verbosity {
  return verbosity;
}

/** A status line for people: stderr, not under --quiet. */
export function info(message: string): void {
  if (verbosity !== 'quiet') process.stderr.write(`${message}\n`);
}

/** A detail only --verbose shows. */
export function detail(message: string): void {
  if (verbosity === 'verbose') process.stderr.write(`${message}\n`);
}

/** How often a progress line is written when stderr is not a terminal (default 5 s). */
export function lineEveryMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.GAMEPIPE_PROGRESS_SECONDS);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 5_000;
}

export interface Progress {
  /** The phase, in words ("waiting for Kafka and HDFS"). */
  text(message: string): void;
  /** `done` of `total` units (`unit`: "records", "events"...), with a note after them. */
  count(done: number, total: number | undefined, unit: string, note?: string): void;
  /** The closing line of a run that worked. */
  succeed(message: string): void;
  /** The closing line of a run that failed (its error follows). */
  fail(message: string): void;
  /** Ends the progress without a closing line. */
  stop(): void;
}

const thousands = (n: number): string => n.toLocaleString('en-US');

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "1,200/10,000 records (12%), 2,400/s, ETA 4s": the rate and ETA from the run so far. */
export function countText(
  done: number,
  total: number | undefined,
  unit: string,
  elapsedMs: number,
): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  if (total === undefined || total <= 0) {
    return `${thousands(done)} ${unit}${rate > 0 ? `, ${thousands(Math.round(rate))}/s` : ''}`;
  }
  const pct = Math.min(100, Math.floor((done * 100) / total));
  const eta = rate > 0 && done < total ? `, ETA ${clock(((total - done) / rate) * 1000)}` : '';
  return `${thousands(done)}/${thousands(total)} ${unit} (${pct}%)${rate > 0 ? `, ${thousands(Math.round(rate))}/s` : ''}${eta}`;
}

/** Progress on `stream` (stderr), as the verbosity and the stream allow. */
export async function progress(
  label: string,
  {
    stream = process.stderr,
    everyMs = lineEveryMs(),
    now = Date.now,
  }: { stream?: NodeJS.WriteStream; everyMs?: number; now?: () => number } = {},
): Promise<Progress> {
  const t0 = now();
  const closing = (m: string): void => {
    if (verbosity !== 'quiet') stream.write(`${m}\n`);
  };
  if (verbosity === 'quiet') {
    const none = (): void => undefined;
    return { text: none, count: none, succeed: none, fail: none, stop: none };
  }
  let phase = label;
  const counted = (done: number, total: number | undefined, unit: string, note?: string): string =>
    `${phase}: ${countText(done, total, unit, now() - t0)}${note ? `; ${note}` : ''}`;
  // a terminal that reports no width (under `script`, some CI runners) gets lines: ora divides by
  // the width and redraws without end
  if (verbosity === 'verbose' || !stream.isTTY || !(stream.columns > 0)) {
    // lines: each phase at once under --verbose, counts at most every `everyMs`
    let last = t0;
    const line = (m: string): void => {
      last = now();
      stream.write(`[${clock(last - t0).padStart(6)}] ${m}\n`);
    };
    if (verbosity === 'verbose') line(label);
    return {
      text: (m) => {
        phase = m;
        if (verbosity === 'verbose') line(m);
        else if (now() - last >= everyMs) line(m);
      },
      count: (done, total, unit, note) => {
        if (now() - last >= everyMs) line(counted(done, total, unit, note));
      },
      succeed: closing,
      fail: closing,
      stop: () => undefined,
    };
  }
  const { default: ora } = await import('ora');
  const s: Ora = ora({ text: label, stream }).start();
  return {
    text: (m) => {
      phase = m;
      s.text = m;
    },
    count: (done, total, unit, note) => {
      s.text = counted(done, total, unit, note);
    },
    succeed: (m) => {
      s.succeed(m);
    },
    fail: (m) => {
      s.fail(m);
    },
    stop: () => {
      s.stop();
    },
  };
}
