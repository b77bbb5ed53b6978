import { configFromFlags, type ConfigFlags } from '../lib/core/config.js';
import { info } from '../lib/core/progress.js';
import { parseDuration } from '../lib/core/options.js';
import { example, runs, topicOption, type Declare } from './command.js';

export const declare: Declare = (parent, run) => {
  example(
    parent
      .command('serve')
      .description(
        'run the game API: purchases and guild joins become events on Kafka, acknowledged with acks=all',
      )
      .option('--port <port>', 'port to listen on (default: config apiPort, 5000)')
      .option('--host <host>', 'address to bind (default: config apiHost, 127.0.0.1)')
      .option('--token <token>', 'require Authorization: Bearer <token> (or GAMEPIPE_API_TOKEN)')
      .addOption(topicOption())
      .option('--access-log <file>', 'JSON-lines access log file, - for stderr', '-')
      .option('--no-access-log', 'no access log')
      .option(
        '--request-timeout <seconds>',
        'cut off a request whose headers and body take longer',
        '10',
      )
      .option(
        '--ack-timeout <seconds>',
        'answer 503 when Kafka has not acknowledged within this time',
        '5',
      )
      .action(runs(run, 'serve')),
    'gamepipe serve --port 5000',
    'curl -H "Host: user12.comcast.com" http://127.0.0.1:5000/purchase/sword',
  );
};

export interface ServeOptions extends ConfigFlags {
  port?: string;
  host?: string;
  token?: string;
  accessLog: string | false;
  requestTimeout: string;
  ackTimeout: string;
}

/** Runs the game API until SIGTERM or SIGINT, then drains and exits 0. */
export async function serve(opts: ServeOptions): Promise<number> {
  const config = configFromFlags({
    ...opts,
    apiPort: opts.port ?? opts.apiPort,
    apiHost: opts.host ?? opts.apiHost,
  });
  // zero would switch the slowloris guard off, or answer every event 503
  const requestTimeoutMs = parseDuration('--request-timeout', opts.requestTimeout, { minMs: 100 });
  const ackTimeoutMs = parseDuration('--ack-timeout', opts.ackTimeout, { minMs: 100 });
  const token = opts.token ?? process.env.GAMEPIPE_API_TOKEN;
  const [{ lineWriter }, { startApi }, { listTopics }] = await Promise.all([
    import('../lib/api/access-log.js'),
    import('../lib/api/server.js'),
    import('../lib/kafka/admin.js'),
  ]);
  const log = opts.accessLog === false ? undefined : lineWriter(opts.accessLog);
  const api = await startApi({
    brokers: config.brokers,
    kafkaSecurity: config.kafkaSecurity,
    topic: config.topic,
    host: config.apiHost,
    port: config.apiPort,
    token: token || undefined,
    requestTimeoutMs,
    ackTimeoutMs,
    accessLog: log?.write,
  });
  const missing = await listTopics(config)
    .then((topics) => !topics.includes(config.topic))
    .catch(() => false); // Kafka down: the API answers 503 until it is back
  if (missing) {
    process.stderr.write(
      `gamepipe serve: warning: topic ${config.topic} does not exist, so events get 503; create it with \`gamepipe topic create --topic ${config.topic}\`\n`,
    );
  }
  info(
    `gamepipe serve: listening on ${api.url} → Kafka ${config.brokers.join(',')} topic ${config.topic}` +
      `${token ? ' (bearer token required)' : ''}; stop with Ctrl-C or SIGTERM`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  info(`gamepipe serve: ${signal}: finishing requests in flight and flushing to Kafka`);
  await api.close();
  await log?.close();
  info(
    `gamepipe serve: stopped; ${api.metrics.events.get({ kind: 'purchase' }) + api.metrics.events.get({ kind: 'join_guild' })} events produced`,
  );
  return 0;
}
