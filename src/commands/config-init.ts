import { dirname, join } from 'node:path';
import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { info } from '../lib/core/progress.js';
import { writeOutput } from '../lib/core/output.js';
import { example, runs, type Declare } from './command.js';

/** Under `gamepipe config`. */
export const declare: Declare = (config, run) => {
  example(
    config
      .command('init')
      .description('write a commented config file: every key, what it is for, and its value')
      .option(
        '--out <file>',
        'where to write it (default: $GAMEPIPE_HOME/config.yaml; - for stdout)',
      )
      .option('--force', 'replace a file that exists', false)
      .action(runs(run, 'config init')),
    'gamepipe config init --brokers kafka-1:9092,kafka-2:9092 --webhdfs-url http://namenode:9870',
  );
};

export interface ConfigInitOptions extends ConfigFlags {
  out?: string;
  force: boolean;
}

/** Writes the config file; an existing one is kept unless --force. */
export async function configInit(opts: ConfigInitOptions): Promise<number> {
  const config = configFromFlags(opts);
  const { configTemplate } = await import('../lib/core/config.js');
  const { existsSync } = await import('node:fs');
  const { ErrorCodes, GamepipeError } = await import('../lib/core/errors.js');
  const out = opts.out ?? join(config.home, 'config.yaml');
  if (out !== '-' && existsSync(out) && !opts.force) {
    throw new GamepipeError(ErrorCodes.usage, `${out} exists`, {
      hint: 'keep it, or replace it with --force',
      context: { path: out },
    });
  }
  if (out !== '-') {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dirname(out), { recursive: true });
  }
  await writeOutput(out, configTemplate(config));
  if (out !== '-') info(`wrote ${out}: edit it, then \`gamepipe status\``);
  return 0;
}
