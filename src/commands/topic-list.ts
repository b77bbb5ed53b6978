import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { listTopics } from '../lib/kafka/admin.js';
import { json, parseFormat } from '../lib/core/render.js';

export interface TopicListOptions extends ConfigFlags {
  format: string;
}

export async function topicList(opts: TopicListOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const topics = await listTopics(config);
  process.stdout.write(
    format === 'json' ? json(topics) + '\n' : topics.map((t) => `${t}\n`).join(''),
  );
  return 0;
}
