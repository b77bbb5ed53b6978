import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { ErrorCodes, GamepipeError } from '../lib/core/errors.js';
import { parseCount } from '../lib/core/options.js';
import { json, parseFormat } from '../lib/core/render.js';
import { example, formatOption, runs, topicOption, type Declare } from './command.js';

/** Under `gamepipe topic`. */
export const declare: Declare = (topic, run) => {
  example(
    topic
      .command('create')
      .description('create the events topic (message.timestamp.type=LogAppendTime)')
      .addOption(topicOption())
      .option('--partitions <n>', 'number of partitions', '3')
      .option(
        '--replication-factor <n>',
        "replication factor (default: the cluster's default.replication.factor)",
      )
      .option('--if-not-exists', 'succeed when the topic already exists', false)
      .option(
        '--topic-config <key=value>',
        'extra topic config, repeatable',
        (v: string, prev: string[]) => [...prev, v],
        [] as string[],
      )
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'topic create')),
    'gamepipe topic create --topic events --partitions 3 --if-not-exists',
  );
};

export interface TopicCreateOptions extends ConfigFlags {
  partitions: string;
  replicationFactor?: string;
  ifNotExists: boolean;
  /** Extra topic configs as key=value. */
  topicConfig: string[];
  format: string;
}

export function parseTopicConfig(entries: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const i = entry.indexOf('=');
    if (i <= 0) {
      throw new GamepipeError(ErrorCodes.usage, `--topic-config ${entry} is not key=value`, {
        hint: 'for example --topic-config retention.ms=2592000000',
      });
    }
    out[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return out;
}

export async function topicCreate(opts: TopicCreateOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const { createTopic } = await import('../lib/kafka/admin.js');
  const res = await createTopic(config, {
    topic: config.topic,
    partitions: parseCount('--partitions', opts.partitions, { max: 10_000 }),
    replicationFactor:
      opts.replicationFactor === undefined
        ? undefined
        : parseCount('--replication-factor', opts.replicationFactor, { max: 32 }),
    ifNotExists: opts.ifNotExists,
    configEntries: parseTopicConfig(opts.topicConfig),
  });
  if (format === 'json') {
    process.stdout.write(json({ topic: res.topic, created: res.created }) + '\n');
    return 0;
  }
  process.stdout.write(
    res.created
      ? `created topic ${res.topic} (${opts.partitions} partitions, replication ${opts.replicationFactor ?? "the cluster's default"}, LogAppendTime)\n`
      : `topic ${res.topic} already exists; left as it is\n`,
  );
  return 0;
}
