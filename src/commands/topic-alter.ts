import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { info } from '../lib/core/progress.js';
import { parseCount } from '../lib/core/options.js';
import { json, parseFormat } from '../lib/core/render.js';
import { example, formatOption, runs, topicOption, type Declare } from './command.js';

/** Under `gamepipe topic`. */
export const declare: Declare = (topic, run) => {
  example(
    topic
      .command('alter')
      .description('add partitions to a topic (Kafka cannot take them away)')
      .addOption(topicOption())
      .requiredOption('--partitions <n>', 'the new partition count')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'topic alter')),
    'gamepipe topic alter --topic events --partitions 12',
  );
};

export interface TopicAlterOptions extends ConfigFlags {
  partitions: string;
  format: string;
}

/** Raises the topic's partition count; the same count changes nothing. */
export async function topicAlter(opts: TopicAlterOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const count = parseCount('--partitions', opts.partitions, { min: 1, max: 10_000 });
  const { addPartitions } = await import('../lib/kafka/admin.js');
  const { before, after } = await addPartitions(config, config.topic, count);
  if (format === 'json') {
    process.stdout.write(
      json({ topic: config.topic, partitionsBefore: before, partitions: after }) + '\n',
    );
  } else if (before === after) {
    info(`topic ${config.topic} already has ${after} partitions: nothing changed`);
  } else {
    info(
      `topic ${config.topic}: ${before} → ${after} partitions. Restart the serve instances (one at a time) to use the new ones: each places keys by the count it read when it started. A Host's later events may then go to another partition than its earlier ones; extract reads every partition's range, so days land whole.`,
    );
  }
  return 0;
}
