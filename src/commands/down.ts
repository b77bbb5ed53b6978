import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { parseDuration } from '../lib/core/options.js';
import { json, parseFormat } from '../lib/core/render.js';
import { example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('down')
      .description('stop what `gamepipe up` started (SIGTERM, then SIGKILL after the timeout)')
      .option('--purge', "also delete the stack's data (topics, HDFS files, logs)", false)
      .option('--timeout <seconds>', 'grace period before a process is killed', '20')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'down')),
    'gamepipe down --purge',
  );
};

export interface DownOptions extends ConfigFlags {
  purge: boolean;
  timeout: string;
  format: string;
}

export async function down(opts: DownOptions): Promise<number> {
  const config = configFromFlags(opts);
  const graceMs = parseDuration('--timeout', opts.timeout, { minMs: 0 });
  const { down: stopStack } = await import('../lib/stack/stack.js');
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const res = await stopStack(config, { purge: opts.purge, graceMs });
  if (format === 'json') {
    process.stdout.write(
      json({
        mode: res.mode,
        stopped: res.stopped,
        killed: res.killed,
        purged: res.purged,
        home: config.home,
      }) + '\n',
    );
    return 0;
  }
  const lines: string[] = [];
  if (res.stopped.length === 0) lines.push('nothing was running');
  else lines.push(`stopped ${res.stopped.join(', ')} (${res.mode})`);
  if (res.killed.length > 0)
    lines.push(`forced to kill ${res.killed.join(', ')} after the timeout`);
  if (res.purged) lines.push(`deleted the stack's data in ${config.home}`);
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}
