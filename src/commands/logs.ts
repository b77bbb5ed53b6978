import { Argument } from 'commander';
import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { parseCount } from '../lib/core/options.js';
import type { LogService } from '../lib/stack/logs.js';
import { example, runs, type Declare } from './command.js';

const SERVICES: readonly LogService[] = ['kafka', 'namenode', 'datanode', 'spark'];

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('logs')
      .description(
        "print a service's log, as `docker compose logs` does: the local stack's kafka, namenode or datanode, or the newest Spark job's",
      )
      .addArgument(new Argument('<service>', 'whose log').choices([...SERVICES]))
      .option('-f, --follow', 'keep printing lines as they are written, until Ctrl-C', false)
      .option('-n, --tail <lines>', 'only the last N lines (default: all)')
      .action(runs(run, 'logs', ['service'])),
    'gamepipe logs kafka --tail 50',
    'gamepipe logs namenode -f',
  );
};

export interface LogsOptions extends ConfigFlags {
  service: LogService;
  follow: boolean;
  tail?: string;
}

export async function logs(opts: LogsOptions): Promise<number> {
  const config = configFromFlags(opts);
  const tail = opts.tail === undefined ? undefined : parseCount('--tail', opts.tail, { min: 0 });
  const { readStackState } = await import('../lib/stack/stack.js');
  if (opts.service !== 'spark' && readStackState(config)?.mode === 'docker') {
    const { composeLogs } = await import('../lib/stack/docker.js');
    return composeLogs(opts.service, { follow: opts.follow, tail });
  }
  const { copyLog, logPath, tailOffset } = await import('../lib/stack/logs.js');
  const { path, output } = logPath(config, opts.service);
  const { statSync } = await import('node:fs');
  const outputBytes = output ? (statSync(output, { throwIfNoEntry: false })?.size ?? 0) : 0;
  if (output && outputBytes > 0)
    process.stderr.write(`(the process's own output, ${outputBytes} bytes, is in ${output})\n`);
  const from = tail === undefined ? 0 : await tailOffset(path, tail);
  // -f ends with Ctrl-C (or a SIGTERM) as a normal exit, after what was read is written
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await copyLog(path, from, (chunk) => process.stdout.write(chunk), {
      follow: opts.follow,
      signal: stop.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}
