import { hostname, userInfo } from 'node:os';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import type { WebHdfs } from '../hdfs/webhdfs.js';

/**
 * A run's claim on one date of the lake: a small file on HDFS, created with overwrite=false (which
 * the NameNode makes atomic: of two runs, one creates it and the other is refused), renewed while
 * the run works, deleted when it ends. A lease whose expiry has passed, or whose run is a dead
 * process on this host, is taken over: renamed away (atomic: only one run's rename succeeds) and
 * created again. Expiry compares the writer's clock with the reader's: hosts are assumed to agree
 * within a small part of the time to live.
 */
export interface LeaseHolder {
  runId: string;
  owner: string;
  host: string;
  pid: number;
  acquiredAt: string;
  /** Milliseconds since the epoch, on the holder's clock. */
  expiresAtMs: number;
}

export function leasePath(base: string, date: string): string {
  return `${base}/_leases/date=${date}`;
}

function whoami(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** True when the holder is certainly gone: a process of this host that no longer exists. */
function deadOnThisHost(h: LeaseHolder): boolean {
  if (h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function readHolder(hdfs: WebHdfs, path: string): Promise<LeaseHolder | undefined> {
  try {
    return JSON.parse((await hdfs.read(path)).toString('utf8')) as LeaseHolder;
  } catch (err) {
    if (err instanceof GamepipeError && err.code === ErrorCodes.hdfsNotFound) return undefined;
    if (err instanceof SyntaxError) {
      // written half (the writer died mid-create): nobody can own it; treat as expired
      return { runId: '?', owner: '?', host: '?', pid: 0, acquiredAt: '?', expiresAtMs: 0 };
    }
    throw err;
  }
}

export interface LeaseOptions {
  base: string;
  date: string;
  runId: string;
  /** How long the lease lasts without renewal; it is renewed every third of that. */
  ttlMs?: number;
  now?: () => number;
}

export class DateLease {
  private timer: NodeJS.Timeout | undefined;
  private lost: GamepipeError | undefined;
  private expiresAtMs = 0;
  private renewing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly hdfs: WebHdfs,
    readonly path: string,
    private readonly holder: LeaseHolder,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {
    this.expiresAtMs = holder.expiresAtMs;
  }

  /**
   * Takes the date for this run, or throws GP_DATE_LOCKED naming the run that holds it. Starts
   * renewing at once; `release` stops.
   */
  static async acquire(
    hdfs: WebHdfs,
    { base, date, runId, ttlMs = 120_000, now = Date.now }: LeaseOptions,
  ): Promise<DateLease> {
    const path = leasePath(base, date);
    const holder: LeaseHolder = {
      runId,
      owner: whoami(),
      host: hostname(),
      pid: process.pid,
      acquiredAt: new Date(now()).toISOString(),
      expiresAtMs: now() + ttlMs,
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await tryCreate(hdfs, path, holder)) {
        const lease = new DateLease(hdfs, path, holder, ttlMs, now);
        lease.start();
        return lease;
      }
      const current = await readHolder(hdfs, path);
      if (current === undefined) continue; // released meanwhile: try again
      if (current.expiresAtMs > now() && !deadOnThisHost(current)) {
        throw new GamepipeError(
          ErrorCodes.dateLocked,
          `${date} is being extracted by another run: ${current.owner}@${current.host} pid ${current.pid} (run ${current.runId}, since ${current.acquiredAt}); its lease runs until ${new Date(current.expiresAtMs).toISOString()}`,
          {
            hint: 'wait for that run to finish; if it died, its lease expires at that time and the next run takes over',
            context: { date, path, holder: current },
          },
        );
      }
      // expired or dead: move it aside (only one run's rename succeeds), then create ours
      const aside = `${path}.expired-${runId}`;
      try {
        await hdfs.rename(path, aside);
      } catch (err) {
        if (err instanceof GamepipeError && err.code !== ErrorCodes.hdfsUnavailable) continue;
        throw err;
      }
      await hdfs.delete(aside);
    }
    throw new GamepipeError(
      ErrorCodes.dateLocked,
      `${date}: other runs keep taking the lease ${path}`,
      { hint: 'rerun in a moment', context: { date, path } },
    );
  }

  /** Throws GP_LEASE_LOST when the date may no longer be ours: call before publishing. */
  async assertHeld(): Promise<void> {
    await this.renewing;
    if (this.lost) throw this.lost;
    const current = await readHolder(this.hdfs, this.path);
    if (current?.runId !== this.holder.runId) this.lose('another run took it over');
    else if (this.expiresAtMs <= this.now()) this.lose('it expired before it was renewed');
    if (this.lost) throw this.lost;
  }

  /** Stops renewing and deletes the lease if it is still ours. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing.catch(() => undefined);
    if (this.lost) return;
    const current = await readHolder(this.hdfs, this.path).catch(() => undefined);
    if (current?.runId === this.holder.runId) await this.hdfs.delete(this.path);
    await this.hdfs.deleteIfEmpty(this.path.slice(0, this.path.lastIndexOf('/')));
  }

  private start(): void {
    this.timer = setInterval(
      () => {
        this.renewing = this.renew();
      },
      Math.max(50, Math.floor(this.ttlMs / 3)),
    );
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    try {
      const current = await readHolder(this.hdfs, this.path);
      if (current?.runId !== this.holder.runId) {
        this.lose('another run took it over');
        return;
      }
      const expiresAtMs = this.now() + this.ttlMs;
      await this.hdfs.create(this.path, JSON.stringify({ ...this.holder, expiresAtMs }), {
        overwrite: true,
      });
      this.expiresAtMs = expiresAtMs;
    } catch {
      // HDFS away for a moment: the next tick tries again; assertHeld sees an expiry
    }
  }

  private lose(why: string): void {
    this.lost ??= new GamepipeError(
      ErrorCodes.leaseLost,
      `this run lost its lease on ${this.path} (${why}), so it publishes nothing`,
      {
        hint: 'rerun; keep runs of one date from overlapping for longer than the lease (--lease-ttl)',
        context: { path: this.path },
      },
    );
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Creates the lease file unless one exists; false when one does. */
async function tryCreate(hdfs: WebHdfs, path: string, holder: LeaseHolder): Promise<boolean> {
  try {
    await hdfs.create(path, JSON.stringify(holder), { overwrite: false });
    return true;
  } catch (err) {
    // FileAlreadyExists, or AlreadyBeingCreated while another run's create is under way
    if (
      err instanceof GamepipeError &&
      (err.code === ErrorCodes.hdfsExists || /AlreadyBeingCreated/.test(err.message))
    ) {
      return false;
    }
    throw err;
  }
}
