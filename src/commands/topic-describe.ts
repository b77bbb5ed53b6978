import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { json, parseFormat, table } from '../lib/core/render.js';
import { example, formatOption, runs, topicOption, type Declare } from './command.js';

/** Under `gamepipe topic`. */
export const declare: Declare = (topic, run) => {
  example(
    topic
      .command('describe')
      .description('partitions, offsets and configs of a topic')
      .addOption(topicOption())
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'topic describe')),
    'gamepipe topic describe --topic events',
  );
};

export interface TopicDescribeOptions extends ConfigFlags {
  format: string;
}

const SHOWN_CONFIGS = [
  'message.timestamp.type',
  'retention.ms',
  'retention.bytes',
  'cleanup.policy',
];

export async function topicDescribe(opts: TopicDescribeOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const { describeTopic } = await import('../lib/kafka/admin.js');
  const d = await describeTopic(config, config.topic);
  if (format === 'json') {
    process.stdout.write(json(d) + '\n');
    return 0;
  }
  process.stdout.write(
    `topic ${d.topic}: ${d.partitions.length} partition(s); ` +
      SHOWN_CONFIGS.filter((k) => d.configs[k] !== undefined)
        .map((k) => `${k}=${d.configs[k]}`)
        .join(', ') +
      '\n',
  );
  process.stdout.write(
    table(
      ['partition', 'leader', 'replicas', 'isr', 'earliest offset', 'latest offset'],
      d.partitions.map((p) => [
        p.partition,
        p.leader,
        p.replicas.join(','),
        p.isr.join(','),
        p.earliestOffset,
        p.latestOffset,
      ]),
    ) + '\n',
  );
  return 0;
}
