/**
 * The one way gamepipe waits before trying again: exponential backoff from `initialMs`, doubling,
 * at most `maxMs` a wait, for at most `retries` attempts after the first and, when given, not past
 * a deadline. A server's own Retry-After takes the place of the computed wait.
 */
export interface BackoffPolicy {
  /** Attempts after the first (Infinity: until the deadline). */
  retries: number;
  /** The first wait, in ms; each next one doubles. */
  initialMs: number;
  /** The longest single wait, in ms. */
  maxMs: number;
  /** No wait that would end past this time (ms since the epoch). */
  deadline?: number;
  /** Stops a wait early; the attempt is then not made. */
  signal?: AbortSignal;
}

export class Backoff {
  /** Retries made so far (since the last reset). */
  attempts = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** The wait before the next retry: initialMs · 2^attempts, or `retryAfterMs`, at most maxMs. */
  nextWaitMs(retryAfterMs?: number): number {
    const { initialMs, maxMs } = this.policy;
    return Math.min(maxMs, retryAfterMs ?? initialMs * 2 ** this.attempts);
  }

  /** True when no retry is left: the retries are spent, the deadline would pass, or the signal aborted. */
  get exhausted(): boolean {
    const { retries, deadline, signal } = this.policy;
    return (
      this.attempts >= retries ||
      signal?.aborted === true ||
      (deadline !== undefined && Date.now() + this.nextWaitMs() > deadline)
    );
  }

  /**
   * Waits before the next retry and counts it; resolves false, without waiting, when no retry is
   * left (or the signal aborts the wait).
   */
  async next(retryAfterMs?: number): Promise<boolean> {
    if (this.exhausted) return false;
    const wait = this.nextWaitMs(retryAfterMs);
    this.attempts++;
    await sleep(wait, this.policy.signal);
    return this.policy.signal?.aborted !== true;
  }

  /** After a success: the next failure starts from the first wait again. */
  reset(): void {
    this.attempts = 0;
  }
}

/**
 * Runs `fn` until it resolves; after a failure that `retriable` accepts, waits (see Backoff) and
 * runs it again. The last failure is thrown when no retry is left.
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: BackoffPolicy & { retriable: (err: unknown) => boolean },
): Promise<T> {
  const backoff = new Backoff(policy);
  for (;;) {
    try {
      return await fn(backoff.attempts);
    } catch (err) {
      if (!policy.retriable(err) || !(await backoff.next())) throw err;
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
