/**
 * An extract worker thread: takes partition ranges from the main thread one at a time and lands
 * each with extractRange. Errors go back as plain data and become GamepipeErrors again there.
 */
import { parentPort } from 'node:worker_threads';
import type { Config, KafkaAccess } from '../core/config.js';
import { SharedIdTable } from '../lake/dedup.js';
import { GamepipeError } from '../core/errors.js';
import { extractRange, type RangeJob } from './range.js';
import { withHdfs } from '../hdfs/webhdfs.js';

export interface WorkerSetup {
  config: KafkaAccess & Pick<Config, 'webhdfsUrl' | 'hdfsUser'>;
  ids: SharedIdTable['buffers'];
}

export type ToWorker =
  { type: 'setup'; setup: WorkerSetup } | { type: 'job'; job: RangeJob } | { type: 'exit' };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  hint?: string;
  context?: Record<string, unknown>;
  retriable?: boolean;
}

export type FromWorker =
  | { type: 'progress'; seq: number; read: number }
  /** The job's records are all read: its uploads finish while the thread takes the next job. */
  | { type: 'read'; seq: number }
  | { type: 'done'; result: import('./range.js').RangeResult }
  | { type: 'error'; error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof GamepipeError) {
    return {
      name: err.name,
      message: err.message,
      stack: err.stack,
      code: err.code,
      hint: err.hint,
      context: JSON.parse(JSON.stringify(err.context)) as Record<string, unknown>,
      retriable: err.retriable,
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message, stack: e.stack };
}

if (parentPort) {
  const port = parentPort;
  let setup: { config: WorkerSetup['config']; ids: SharedIdTable } | undefined;
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'exit') {
      port.close();
      return;
    }
    if (msg.type === 'setup') {
      setup = { config: msg.setup.config, ids: new SharedIdTable(msg.setup.ids) };
      return;
    }
    const { job } = msg;
    const { config, ids } = setup as NonNullable<typeof setup>;
    withHdfs(config, (hdfs) =>
      extractRange(config, hdfs, ids, job, {
        progress: (read) =>
          port.postMessage({ type: 'progress', seq: job.seq, read } as FromWorker),
        read: () => port.postMessage({ type: 'read', seq: job.seq } as FromWorker),
      }),
    ).then(
      (result) => port.postMessage({ type: 'done', result } as FromWorker),
      (err: unknown) =>
        port.postMessage({ type: 'error', error: serializeError(err) } as FromWorker),
    );
  });
}
