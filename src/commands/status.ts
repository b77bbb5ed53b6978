import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { json, parseFormat, table } from '../lib/core/render.js';
import { example, formatOption, runs, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('status')
      .description(
        'show Kafka, the HDFS NameNode and DataNode and the API as up or down; exit 0 when Kafka and HDFS are up (and the API, with --require-api)',
      )
      .addOption(formatOption(['table', 'json'], 'table'))
      .option('--require-api', 'also fail when the API (`gamepipe serve`) is not ready', false)
      .action(runs(run, 'status')),
    'gamepipe status --format json',
  );
};

export interface StatusOptions extends ConfigFlags {
  format: string;
  requireApi: boolean;
}

/** Exit code 0 only when Kafka, NameNode and DataNode are up (and the API, with --require-api). */
export async function status(opts: StatusOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const { probeServices } = await import('../lib/stack/stack.js');
  const services = await probeServices(config, { includeApi: true });
  // `serve` is a process of its own that many runs of the pipeline do without
  const required = services.filter((s) => s.service !== 'api' || opts.requireApi);
  const allUp = required.every((s) => s.state === 'up');
  if (format === 'json') {
    process.stdout.write(json({ ok: allUp, services }) + '\n');
  } else {
    process.stdout.write(
      table(
        ['service', 'state', 'endpoint', 'version', 'detail'],
        services.map((s) => [s.service, s.state, s.endpoint, s.version, s.detail]),
      ) + '\n',
    );
  }
  return allUp ? 0 : 1;
}
