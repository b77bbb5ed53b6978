/**
 * The extract worker threads. They are started first thing, so their modules load while the main
 * thread loads its own and looks up the day's ranges; `run` gives them the shared setup and the
 * jobs.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ErrorCodes, GamepipeError, type ErrorCode } from '../core/errors.js';
import type { RangeJob, RangeResult } from './range.js';
import type { FromWorker, SerializedError, ToWorker, WorkerSetup } from './worker.js';

/** The young generation of each thread's heap (V8 sizes it by the allocation rate otherwise). */
const YOUNG_GENERATION_MB = 4;

/** The default thread count: one a core, at most 4. */
export const defaultThreads = (): number => Math.min(4, availableParallelism());

const WORKER = import.meta.url.endsWith('.ts')
  ? { url: new URL('./worker.ts', import.meta.url), execArgv: ['--import', 'tsx'] }
  : { url: new URL('./worker.js', import.meta.url), execArgv: undefined };

/** `threads` extract worker threads (see the top of this file). */
export class WorkerPool {
  private readonly workers: Worker[] = [];
  private failure: ((err: unknown) => void) | undefined;
  private setupSent = false;

  constructor(threads = defaultThreads()) {
    if (!Number.isInteger(threads) || threads < 1) {
      throw new GamepipeError(
        ErrorCodes.usage,
        `--threads must be a positive whole number, got ${threads}`,
      );
    }
    for (let i = 0; i < threads; i++) {
      const w = new Worker(WORKER.url, {
        execArgv: WORKER.execArgv,
        // a thread's garbage is small and short-lived (columns live in typed arrays): a small
        // young generation keeps its memory flat however long the day is, at no measurable cost
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      });
      w.on('error', (err) => this.failure?.(err));
      w.on('exit', (code) => {
        if (code !== 0)
          this.failure?.(
            new GamepipeError(
              ErrorCodes.extractThread,
              `an extract worker thread exited with code ${code}`,
              { hint: 'rerun (the lake is as it was); if it repeats, try fewer --threads' },
            ),
          );
      });
      this.workers.push(w);
    }
  }

  /**
   * Runs the jobs, each thread reading `perWorker` at a time (one job's computing overlaps
   * another's waiting on Kafka and HDFS; a job whose records are all read no longer counts while
   * HDFS finishes its files); rejects with the first failure.
   */
  run(
    setup: WorkerSetup,
    jobs: RangeJob[],
    perWorker: number,
    onProgress: (seq: number, read: number) => void,
  ): Promise<RangeResult[]> {
    if (jobs.length === 0) return Promise.resolve([]);
    if (!this.setupSent) {
      for (const w of this.workers) w.postMessage({ type: 'setup', setup } satisfies ToWorker);
      this.setupSent = true;
    }
    const n = Math.min(this.workers.length, jobs.length);
    // each thread gets its own list, balanced by records (largest first to the least loaded): a
    // started range cannot move, so handing out on demand can leave one thread with the last two
    const queues: RangeJob[][] = Array.from({ length: n }, () => []);
    const load = new Array<number>(n).fill(0);
    const size = (j: RangeJob): number => j.range.endOffset - j.range.startOffset;
    const place = new Map(jobs.map((j, i) => [j, i]));
    for (const job of [...jobs].sort((a, b) => size(b) - size(a))) {
      const k = load.indexOf(Math.min(...load));
      (queues[k] as RangeJob[]).push(job);
      load[k] = (load[k] as number) + size(job);
    }
    // each thread reads its ranges in the order given
    for (const q of queues) q.sort((a, b) => (place.get(a) as number) - (place.get(b) as number));
    const results: RangeResult[] = [];
    return new Promise<RangeResult[]>((resolve, reject) => {
      let settled = false;
      const listeners: Array<[Worker, (m: FromWorker) => void]> = [];
      const finish = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        this.failure = undefined;
        for (const [w, l] of listeners) w.off('message', l);
        if (err) reject(err);
        else resolve(results);
      };
      this.failure = finish;
      for (let i = 0; i < n; i++) {
        const w = this.workers[i] as Worker;
        const queue = queues[i] as RangeJob[];
        let busy = 0;
        const feed = (): void => {
          while (busy < perWorker && queue.length) {
            w.postMessage({ type: 'job', job: queue.shift() as RangeJob } satisfies ToWorker);
            busy++;
          }
        };
        const onMessage = (m: FromWorker): void => {
          if (m.type === 'progress') onProgress(m.seq, m.read);
          else if (m.type === 'read') {
            busy--;
            feed();
          } else if (m.type === 'done') {
            results.push(m.result);
            if (results.length === jobs.length) finish();
          } else finish(deserializeError(m.error));
        };
        w.on('message', onMessage);
        listeners.push([w, onMessage]);
        feed();
      }
    });
  }

  /** Ends the threads: gently after a success, at once after a failure. */
  async close({ now = false } = {}): Promise<void> {
    this.failure = undefined;
    await Promise.all(
      this.workers.map(async (w) => {
        if (now) {
          await w.terminate();
          return;
        }
        const exited = new Promise((r) => w.once('exit', r));
        w.postMessage({ type: 'exit' } satisfies ToWorker);
        await exited;
      }),
    );
  }
}

function deserializeError(e: SerializedError): Error {
  const err = e.code
    ? new GamepipeError(e.code as ErrorCode, e.message, {
        hint: e.hint,
        context: e.context,
        retriable: e.retriable,
      })
    : Object.assign(new Error(e.message), { name: e.name });
  if (e.stack) err.stack = e.stack;
  return err;
}
