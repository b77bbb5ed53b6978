import { Option } from 'commander';
import { configFromFlags, type Config, type ConfigFlags } from '../lib/core/config.js';
import { parseDuration } from '../lib/core/options.js';
import { duration, json, parseFormat, table } from '../lib/core/render.js';
import { info, progress } from '../lib/core/progress.js';
import type { Mode, UpResult } from '../lib/stack/stack.js';
import { example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('up')
      .description(
        'start Kafka (KRaft) and HDFS (NameNode, DataNode, WebHDFS) and wait until ready',
      )
      .addOption(
        new Option(
          '--mode <mode>',
          'local runs java from Maven jars; docker uses compose/; auto picks docker if an engine answers',
        )
          .choices(['auto', 'local', 'docker'])
          .default('auto'),
      )
      .option('--timeout <seconds>', 'how long to wait for the stack to be ready', '180')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(runs(run, 'up')),
    'gamepipe up --mode local',
  );
};

export interface UpOptions extends ConfigFlags {
  mode: string;
  timeout: string;
  format: string;
}

export async function up(opts: UpOptions): Promise<number> {
  const config = configFromFlags(opts);
  const mode = parseFormat<Mode>(opts.mode, ['auto', 'local', 'docker']);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const timeoutMs = parseDuration('--timeout', opts.timeout, { minMs: 1_000 });
  const { up: startStack } = await import('../lib/stack/stack.js');
  const spin = await progress('checking the stack');
  try {
    const res = await startStack(config, {
      mode,
      timeoutMs,
      onProgress: (m) => spin.text(m),
    });
    spin.succeed(
      res.alreadyUp
        ? `the stack is already up (${res.mode}); nothing to start`
        : `the stack is up (${res.mode}; started ${res.started.join(', ') || 'nothing'}) in ${duration(res.elapsedMs)}`,
    );
    if (format === 'json') {
      process.stdout.write(json(upSummary(config, res)) + '\n');
      return 0;
    }
    process.stdout.write(upTable(res) + '\n');
    info(
      `topic ${config.topic} ${res.topicCreated ? 'created' : 'ready'}; lake base ${config.base} ready; data in ${config.home}`,
    );
    return 0;
  } catch (err) {
    spin.fail('the stack did not come up');
    throw err;
  }
}

/** What `up` (and `restart`) report under --format json. */
export function upSummary(config: Config, res: UpResult): Record<string, unknown> {
  return {
    mode: res.mode,
    alreadyUp: res.alreadyUp,
    started: res.started,
    elapsedMs: res.elapsedMs,
    services: res.services.map((s) => ({
      service: s.service,
      endpoint: s.endpoint,
      version: s.version,
      pid: s.pid ?? null,
      ports: s.ports ?? [],
    })),
    topic: config.topic,
    topicCreated: res.topicCreated,
    base: config.base,
    home: config.home,
  };
}

/** The services `up` (and `restart`) brought up, as a table. */
export function upTable(res: UpResult): string {
  return table(
    ['service', 'pid', 'ports', 'endpoint', 'version'],
    res.services.map((s) => [
      s.service,
      s.pid ?? '',
      (s.ports ?? []).join(','),
      s.endpoint,
      s.version,
    ]),
  );
}
