import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { GamepipeError } from '../lib/core/errors.js';
import { json, parseFormat, table } from '../lib/core/render.js';
import type { Freshness } from '../lib/extract/catch-up.js';
import { example, formatOption, runs, topicOption, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('status')
      .description(
        'show Kafka, the HDFS NameNode and DataNode and the API as up or down, and how fresh the lake is against the topic; exit 0 when Kafka and HDFS are up (and the API, with --require-api), 4 when a date not yet extracted may be deleted by Kafka within a day',
      )
      .addOption(topicOption())
      .addOption(formatOption(['table', 'json'], 'table'))
      .option('--require-api', 'also fail when the API (`gamepipe serve`) is not ready', false)
      .action(runs(run, 'status')),
    'gamepipe status --format json',
  );
};

export interface StatusOptions extends ConfigFlags {
  topic?: string;
  format: string;
  requireApi: boolean;
}

/** Exit code 4: a date not extracted yet may be deleted by Kafka within a day. */
export const AT_RISK_EXIT = 4;

function days(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : `${Math.round(ms / 3_600_000)}h`;
}

/** The lake against the topic, in words; the warning line when a date is at risk. */
function freshnessLines(f: Freshness, nowMs: number): string[] {
  const waiting =
    f.waiting.length === 0
      ? 'nothing waiting'
      : `${f.waiting.length} closed date(s) waiting (${f.waiting.length > 3 ? `${f.waiting[0]} .. ${f.waiting.at(-1)}` : f.waiting.join(', ')})`;
  const lines = [
    `lake ${f.base} from topic ${f.topic}: ${f.newestComplete ? `complete up to ${f.newestComplete}` : 'no complete date'}; ${waiting}; Kafka holds records from ${f.oldestInKafka ?? '(none)'}, retention ${f.retentionMs === null ? 'forever' : days(f.retentionMs)}`,
  ];
  if (f.atRisk && f.oldestWaitingDeletableAt) {
    const inMs = Date.parse(f.oldestWaitingDeletableAt) - nowMs;
    lines.push(
      `warning: ${f.waiting[0]} is not extracted and Kafka may delete its records ${inMs > 0 ? `in ${days(Math.max(3_600_000, inMs))}` : 'already'} (from ${f.oldestWaitingDeletableAt}): run \`gamepipe extract --catch-up\` now`,
    );
  }
  return lines;
}

/**
 * Exit code 0 only when Kafka, NameNode and DataNode are up (and the API, with --require-api);
 * 4 when they are, but a date not extracted yet may be deleted by Kafka within a day.
 */
export async function status(opts: StatusOptions): Promise<number> {
  const config = configFromFlags(opts);
  const format = parseFormat(opts.format, ['table', 'json'] as const);
  const { probeServices } = await import('../lib/stack/stack.js');
  const services = await probeServices(config, { includeApi: true });
  // `serve` is a process of its own that many runs of the pipeline do without
  const required = services.filter((s) => s.service !== 'api' || opts.requireApi);
  const allUp = required.every((s) => s.state === 'up');
  // the lake's freshness needs Kafka and HDFS; a missing topic or lake is said, not fatal
  let lake: Freshness | { error: { code: string; message: string } } | undefined;
  const nowMs = Date.now();
  if (services.filter((s) => s.service !== 'api').every((s) => s.state === 'up')) {
    const { freshness } = await import('../lib/extract/catch-up.js');
    lake = await freshness(config, config.topic, nowMs).catch((err: unknown) => {
      if (!(err instanceof GamepipeError)) throw err;
      return { error: { code: err.code, message: err.message } };
    });
  }
  const atRisk = lake !== undefined && 'atRisk' in lake && lake.atRisk;
  if (format === 'json') {
    process.stdout.write(json({ ok: allUp && !atRisk, services, lake: lake ?? null }) + '\n');
  } else {
    process.stdout.write(
      table(
        ['service', 'state', 'pid', 'ports', 'endpoint', 'version', 'detail'],
        services.map((s) => [
          s.service,
          s.state,
          s.pid ?? '',
          (s.ports ?? []).join(','),
          s.endpoint,
          s.version,
          s.detail,
        ]),
      ) + '\n',
    );
    if (lake && 'error' in lake)
      process.stdout.write(`lake: ${lake.error.code}: ${lake.error.message}\n`);
    else if (lake) {
      const [line, warning] = freshnessLines(lake, nowMs);
      process.stdout.write(`${line}\n`);
      if (warning) process.stderr.write(`${warning}\n`);
    }
  }
  if (!allUp) return 1;
  return atRisk ? AT_RISK_EXIT : 0;
}
