import { Command, CommanderError, Option } from 'commander';
import { ErrorCodes, GamepipeError } from './lib/core/errors.js';
import { VERSION } from './lib/core/version.js';

/** Runs one command with its options object; resolves to the exit code. */
export type Runner = (command: string, opts: Record<string, unknown>) => Promise<number | void>;

type Loader = () => Promise<(opts: never) => Promise<number | void>>;

// commands are imported when they run, so `gamepipe --help` does not load kafkajs or parquet
const COMMANDS: Record<string, Loader> = {
  up: async () => (await import('./commands/up.js')).up,
  down: async () => (await import('./commands/down.js')).down,
  status: async () => (await import('./commands/status.js')).status,
  'topic create': async () => (await import('./commands/topic-create.js')).topicCreate,
  'topic describe': async () => (await import('./commands/topic-describe.js')).topicDescribe,
  'topic list': async () => (await import('./commands/topic-list.js')).topicList,
  ls: async () => (await import('./commands/ls.js')).ls,
  serve: async () => (await import('./commands/serve.js')).serve,
  consume: async () => (await import('./commands/consume.js')).consume,
  generate: async () => (await import('./commands/generate.js')).generate,
  extract: async () => (await import('./commands/extract.js')).extract,
  verify: async () => (await import('./commands/verify.js')).verify,
  report: async () => (await import('./commands/report.js')).report,
  demo: async () => (await import('./commands/demo.js')).demo,
};

/** The function behind a command name, e.g. 'topic create'. */
export async function loadCommand(
  command: string,
): Promise<(opts: Record<string, unknown>) => Promise<number | void>> {
  const load = COMMANDS[command];
  if (!load) throw new Error(`no implementation for command ${command}`);
  return (await load()) as (opts: Record<string, unknown>) => Promise<number | void>;
}

export const runCommand: Runner = async (command, opts) => (await loadCommand(command))(opts);

function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

const formatOption = (choices: string[], fallback: string): Option =>
  new Option('--format <format>', 'output format').choices(choices).default(fallback);

const topicOption = (): Option =>
  new Option('--topic <name>', 'Kafka topic (default: config, else "events")');

/**
 * The whole command line. `run` receives each command's name and options object, so argv can be
 * tested without running anything.
 */
export function createProgram(run: Runner = runCommand): Command {
  const program = new Command('gamepipe');
  const action =
    (name: string, positional: string[] = []) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const opts: Record<string, unknown> = { ...cmd.optsWithGlobals() };
      positional.forEach((p, i) => {
        if (args[i] !== undefined) opts[p] = args[i];
      });
      await run(name, opts);
    };

  program
    .description(
      "A game studio's event pipeline from one terminal: the game API logs purchases and guild " +
        'joins to Kafka, a daily extract lands them as Parquet on HDFS, and reports answer the questions.',
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError(true)
    .option('--config <file>', 'config file (YAML or JSON); default $GAMEPIPE_HOME/config.yaml')
    .option('--home <dir>', 'where the local stack keeps data, logs and pids (default ~/.gamepipe)')
    .option('--brokers <list>', 'Kafka bootstrap brokers, host:port[,host:port]')
    .option('--webhdfs-url <url>', 'WebHDFS (NameNode HTTP) URL')
    .option('--hdfs-user <user>', 'HDFS user name (user.name)')
    .option('--base <path>', "lake's base directory on HDFS");
  example(program, 'gamepipe up', 'gamepipe status', 'gamepipe topic describe', 'gamepipe down');

  example(
    program
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
      .action(action('up')),
    'gamepipe up --mode local',
  );

  example(
    program
      .command('down')
      .description('stop what `gamepipe up` started (SIGTERM, then SIGKILL after the timeout)')
      .option('--purge', "also delete the stack's data (topics, HDFS files, logs)", false)
      .option('--timeout <seconds>', 'grace period before a process is killed', '20')
      .action(action('down')),
    'gamepipe down --purge',
  );

  example(
    program
      .command('status')
      .description(
        'show Kafka, the HDFS NameNode and DataNode and the API as up or down; exit 0 when Kafka and HDFS are up (and the API, with --require-api)',
      )
      .addOption(formatOption(['table', 'json'], 'table'))
      .option('--require-api', 'also fail when the API (`gamepipe serve`) is not ready', false)
      .action(action('status')),
    'gamepipe status --format json',
  );

  const topic = program.command('topic').description('create, describe and list Kafka topics');
  example(topic, 'gamepipe topic create --partitions 3 --if-not-exists');
  example(
    topic
      .command('create')
      .description('create the events topic (message.timestamp.type=LogAppendTime)')
      .addOption(topicOption())
      .option('--partitions <n>', 'number of partitions', '3')
      .option('--replication-factor <n>', 'replication factor', '1')
      .option('--if-not-exists', 'succeed when the topic already exists', false)
      .option(
        '--topic-config <key=value>',
        'extra topic config, repeatable',
        (v: string, prev: string[]) => [...prev, v],
        [] as string[],
      )
      .action(action('topic create')),
    'gamepipe topic create --topic events --partitions 3 --if-not-exists',
  );
  example(
    topic
      .command('describe')
      .description('partitions, offsets and configs of a topic')
      .addOption(topicOption())
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(action('topic describe')),
    'gamepipe topic describe --topic events',
  );
  example(
    topic
      .command('list')
      .description('list topics (without internal ones)')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(action('topic list')),
    'gamepipe topic list',
  );

  example(
    program
      .command('ls')
      .description('list the lake on HDFS like `hadoop fs -ls`')
      .argument('[path]', "HDFS path (default: the lake's base)")
      .option('-R, --recursive', 'list subdirectories too', false)
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(action('ls', ['path'])),
    'gamepipe ls /gamepipe --recursive',
  );

  example(
    program
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
      .action(action('serve')),
    'gamepipe serve --port 5000',
    'curl -H "Host: user12.comcast.com" http://127.0.0.1:5000/purchase/sword',
  );

  example(
    program
      .command('consume')
      .description('print the events topic, one event a line (like kafkacat -C)')
      .addOption(topicOption())
      .option('--from-beginning', 'start at the earliest offset instead of the end', false)
      .option('--exit', 'stop at the end of the topic instead of waiting for more', false)
      .option('--max <n>', 'stop after n events')
      .addOption(formatOption(['json', 'pretty'], 'json'))
      .action(action('consume')),
    'gamepipe consume --from-beginning --exit',
  );

  example(
    program
      .command('generate')
      .description(
        "send synthetic players' purchases and guild joins to the API, like the seed's generator",
      )
      .argument('<n>', 'number of events to send')
      .option('--url <url>', 'API base URL (default: http://<apiHost>:<apiPort>)')
      .option('--concurrency <c>', 'most requests in flight at once (bursts vary up to it)', '16')
      .option('--rate <r>', 'at most r events per second (default: as fast as the API answers)')
      .option('--seed <s>', 'random seed: the same seed sends the same events', '1')
      .option('--batch <k>', 'send k events per request through POST /events')
      .option(
        '--retries <n>',
        'send an event again, with the same event id, after no answer or a 5xx, up to n times',
        '5',
      )
      .option(
        '--ledger <file>',
        'write every acknowledged event_id, with its event_type and Host, as JSON lines',
      )
      .option('--token <token>', 'bearer token for the API (or GAMEPIPE_API_TOKEN)')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(action('generate', ['n'])),
    'gamepipe generate 5000 --seed 7 --ledger ledger.jsonl',
  );

  example(
    program
      .command('extract')
      .description('land one UTC day of events in the lake as Parquet, exactly once; rerun safely')
      .option('--date <YYYY-MM-DD>', 'the UTC date to extract (default: yesterday)')
      .addOption(topicOption())
      .option('--dry-run', 'print the offset ranges and counts, write nothing', false)
      .option(
        '--force',
        'replace an existing output even when the topic now holds fewer records',
        false,
      )
      .option(
        '--row-group-rows <n>',
        'rows per Parquet row group (memory holds about one per output)',
        '100000',
      )
      .option(
        '--threads <n>',
        'partitions read at the same time, one worker thread each (default: cores, at most 4)',
      )
      .option(
        '--lease-ttl <duration>',
        "how long this run's claim on the date outlives it if it dies (renewed every third)",
        '2m',
      )
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(action('extract')),
    'gamepipe extract --date 2026-11-27',
    'for d in 2026-11-20 2026-11-21 2026-11-22; do gamepipe extract --date $d; done   # backfill',
  );

  example(
    program
      .command('verify')
      .description(
        'reconcile a generate ledger with the lake: every acknowledged event exactly once',
      )
      .requiredOption('--ledger <file>', 'the ledger `gamepipe generate --ledger` wrote')
      .option('--date <YYYY-MM-DD>', 'one date')
      .option('--from <YYYY-MM-DD>', 'first date of a range')
      .option('--to <YYYY-MM-DD>', 'last date of a range')
      .addOption(formatOption(['table', 'json'], 'table'))
      .action(action('verify')),
    'gamepipe verify --ledger ledger.jsonl --date 2026-11-27',
  );

  example(
    program
      .command('demo')
      .description(
        'the whole pipeline once: up, serve, generate with a ledger, extract today, verify, reports',
      )
      .option('--events <n>', 'how many events to generate', '3000')
      .option('--out <file>', 'where to write the HTML report', 'gamepipe-report.html')
      .action(action('demo')),
    'gamepipe demo --events 5000 --out report.html',
  );

  const reportCmd = program
    .command('report')
    .description('answer the business questions from the lake: events, hosts, daily, items, users');
  example(reportCmd, 'gamepipe report events --from 2026-11-20 --to 2026-11-27');
  const reports: Array<[string, string, string]> = [
    [
      'events',
      'Q1: the most popular events (count and share per event_type)',
      'gamepipe report events --format markdown',
    ],
    [
      'hosts',
      'Q2: internet providers of the players and the most popular events on each',
      'gamepipe report hosts --providers comcast,att,cox',
    ],
    [
      'daily',
      'per day: events by type, provider shares, change, and a drift flag where the mix moved',
      'gamepipe report daily --threshold 0.05 --fail-on-drift',
    ],
    [
      'items',
      'units and revenue per item (where purchases carry a price)',
      'gamepipe report items --format csv --out items.csv',
    ],
    [
      'users',
      'daily active players (distinct Host)',
      'gamepipe report users --from 2026-11-01 --to 2026-11-30',
    ],
    ['all', 'every report', 'gamepipe report all --format html --out report.html'],
  ];
  for (const [name, description, ex] of reports) {
    example(
      reportCmd
        .command(name)
        .description(description)
        .option('--date <YYYY-MM-DD>', 'one date')
        .option('--from <YYYY-MM-DD>', 'first date of a range')
        .option('--to <YYYY-MM-DD>', 'last date of a range')
        .addOption(formatOption(['table', 'json', 'csv', 'markdown', 'html'], 'table'))
        .option('--out <file>', 'write to a file (html: default gamepipe-report.html)')
        .option(
          '--providers <list>',
          'providers to match Host against (default: comcast,att,google,frontier,cox,earthlink)',
        )
        .option('--include-incomplete', 'also read dates without a _SUCCESS manifest', false)
        .option(
          '--threshold <x>',
          'daily: smallest move of a mix (0..1, total variation distance) to flag',
          '0.05',
        )
        .option('--fail-on-drift', 'daily: exit 3 when a day is flagged', false)
        .action(async (...args: unknown[]) => {
          const cmd = args[args.length - 1] as Command;
          await run('report', { ...cmd.optsWithGlobals(), report: name });
        }),
      ex,
    );
  }

  return program;
}

/** Errors in what the user typed (exit 2), as opposed to failures of the work (exit 1). */
const USAGE_CODES: ReadonlySet<string> = new Set([
  ErrorCodes.usage,
  ErrorCodes.config,
  ErrorCodes.badDate,
]);

/** The command an argv names (`topic create`), from its leading words; '' for none. */
function commandOf(program: Command, args: string[]): string {
  const path: string[] = [];
  let cmd: Command = program;
  for (const a of args) {
    if (a.startsWith('-')) continue;
    const sub = cmd.commands.find((c) => c.name() === a || c.aliases().includes(a));
    if (!sub) break;
    path.push(sub.name());
    cmd = sub;
  }
  return path.join(' ');
}

/** One line for the user: what went wrong and what to do. */
export function formatError(err: GamepipeError): string {
  return `gamepipe: error ${err.code}: ${err.message}${err.hint ? ` — ${err.hint}` : ''}`;
}

/** Parses argv, runs the command, prints errors; resolves to the process exit code. */
export async function main(
  argv: string[] = process.argv,
  run: Runner = runCommand,
): Promise<number> {
  let exitCode = 0;
  const program = createProgram(async (command, opts) => {
    exitCode = (await run(command, opts)) ?? 0;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code)) {
        return 0;
      }
      const command = commandOf(program, argv.slice(2));
      const usage = new GamepipeError(ErrorCodes.usage, err.message.replace(/^error: /, ''), {
        hint:
          err.code === 'commander.unknownCommand' || command === ''
            ? 'see `gamepipe --help` for the commands'
            : `see \`gamepipe ${command} --help\``,
      });
      process.stderr.write(formatError(usage) + '\n');
      return 2;
    }
    if (err instanceof GamepipeError) {
      process.stderr.write(formatError(err) + '\n');
      return USAGE_CODES.has(err.code) ? 2 : 1;
    }
    process.stderr.write(`gamepipe: unexpected error\n${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
