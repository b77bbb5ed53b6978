import { parseCount } from './options.js';

/**
 * The hooks the test suites arm through GAMEPIPE_TEST_* variables, all here, so production code
 * names a point and this module alone knows the switches. Unset, each does nothing.
 */

/** Kills this process at a named point (kill -9), so a test can crash a run exactly there. */
export function crashPoint(name: string): void {
  if (process.env.GAMEPIPE_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}

/** Holds a run at this point for GAMEPIPE_TEST_PAUSE_MS, so a test can overlap another with it. */
export async function pausePoint(): Promise<void> {
  const ms = Number(process.env.GAMEPIPE_TEST_PAUSE_MS ?? 0);
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

/** True when a test asks extract to read its ranges from the last (GAMEPIPE_TEST_PARTITION_ORDER). */
export function reversedPartitionOrder(): boolean {
  return process.env.GAMEPIPE_TEST_PARTITION_ORDER === 'reverse';
}

/** Ranges a thread works on at once when a test forces it (GAMEPIPE_TEST_JOBS_PER_THREAD). */
export function jobsPerThreadOverride(): number | undefined {
  const v = process.env.GAMEPIPE_TEST_JOBS_PER_THREAD;
  return v ? parseCount('GAMEPIPE_TEST_JOBS_PER_THREAD', v, { max: 8 }) : undefined;
}
