import { Argument } from 'commander';
import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { parseDuration } from '../lib/core/options.js';
import { duration, json, parseFormat } from '../lib/core/render.js';
import { progress } from '../lib/core/progress.js';
import type { Component } from '../lib/stack/local.js';
import { example, formatOption, runs, type Declare } from './command.js';
import { upSummary, upTable } from './up.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('restart')
      .description(
        'stop services of the stack (all when none is named) and bring the stack up again, waiting until it is ready',
      )
      .addArgument(
        new Argument('[service...]', 'kafka, namenode, datanode').choices([
          'kafka',
          'namenode',
          'datanode',
        ]),
      )
      .option('--grace <seconds>', 'grace period before a stopping process is killed', '20')
      .option('--timeout <seconds>', 'how long to wait for the stack to be ready', '180')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'restart', ['service'])),
    'gamepipe restart kafka',
  );
};

export interface RestartOptions extends ConfigFlags {
  service?: Component[];
  grace: string;
  timeout: string;
  format: string;
}

export async function restart(opts: RestartOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const graceMs = parseDuration('--grace', opts.grace, { minMs: 0 });
  const timeoutMs = parseDuration('--timeout', opts.timeout, { minMs: 1_000 });
  const services = opts.service && opts.service.length > 0 ? opts.service : undefined;
  const { restart: restartStack } = await import('../lib/stack/stack.js');
  const spin = await progress(`restarting ${services?.join(', ') ?? 'the stack'}`);
  let res;
  try {
    res = await restartStack(config, services, {
      graceMs,
      timeoutMs,
      onProgress: (m) => spin.text(m),
    });
  } catch (err) {
    spin.fail('the stack did not come up again');
    throw err;
  }
  spin.succeed(
    `restarted (${res.mode}; stopped ${res.stopped.join(', ') || 'nothing'}, started ${res.started.join(', ') || 'nothing'}) in ${duration(res.elapsedMs)}`,
  );
  if (format === 'json') {
    process.stdout.write(
      json({ ...upSummary(config, res), stopped: res.stopped, killed: res.killed }) + '\n',
    );
  } else {
    process.stdout.write(upTable(res) + '\n');
  }
  return 0;
}
