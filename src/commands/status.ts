import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { json, parseFormat, table } from '../lib/core/render.js';
import { probeServices } from '../lib/stack/stack.js';

export interface StatusOptions extends ConfigFlags {
  format: string;
  requireApi: boolean;
}

/** Exit code 0 only when Kafka, NameNode and DataNode are up (and the API, with --require-api). */
export async function status(opts: StatusOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
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
