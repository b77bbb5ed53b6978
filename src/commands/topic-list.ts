import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { json, parseFormat } from '../lib/core/render.js';
import { example, formatOption, runs, type Declare } from './command.js';

/** Under `gamepipe topic`. */
export const declare: Declare = (topic, run) => {
  example(
    topic
      .command('list')
      .description('list topics (without internal ones)')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'topic list')),
    'gamepipe topic list',
  );
};

export interface TopicListOptions extends ConfigFlags {
  format: string;
}

export async function topicList(opts: TopicListOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const { listTopics } = await import('../lib/kafka/admin.js');
  const topics = await listTopics(config);
  process.stdout.write(
    format === 'json' ? json(topics) + '\n' : topics.map((t) => `${t}\n`).join(''),
  );
  return 0;
}
