import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { info } from '../lib/core/progress.js';
import { ErrorCodes, GamepipeError } from '../lib/core/errors.js';
import { json, parseFormat } from '../lib/core/render.js';
import { example, formatOption, runs, type Declare } from './command.js';

/** Under `gamepipe topic`. */
export const declare: Declare = (topic, run) => {
  example(
    topic
      .command('delete')
      .description(
        'delete a topic and its records (the configured events topic only when named twice)',
      )
      .argument('<name>', 'the topic to delete')
      .option('--confirm <name>', 'the name again: needed to delete the configured events topic')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'topic delete', ['name'])),
    'gamepipe topic delete gp-scratch',
    'gamepipe topic delete events --confirm events   # the configured events topic',
  );
};

export interface TopicDeleteOptions extends ConfigFlags {
  name: string;
  confirm?: string;
  format: string;
}

/** Deletes a topic; the one the config names as the events topic needs `--confirm <name>`. */
export async function topicDelete(opts: TopicDeleteOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  if (opts.name === config.topic && opts.confirm !== opts.name) {
    throw new GamepipeError(
      ErrorCodes.usage,
      `${opts.name} is the configured events topic: deleting it deletes every event not yet extracted`,
      {
        hint: `if you mean it, name it twice: gamepipe topic delete ${opts.name} --confirm ${opts.name}`,
      },
    );
  }
  const { deleteTopic } = await import('../lib/kafka/admin.js');
  await deleteTopic(config, opts.name);
  if (format === 'json') process.stdout.write(json({ topic: opts.name, deleted: true }) + '\n');
  else info(`deleted topic ${opts.name}`);
  return 0;
}
