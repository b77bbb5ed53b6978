import { Command, CommanderError } from 'commander';
import { ErrorCodes, GamepipeError } from './lib/core/errors.js';
import { setVerbosity } from './lib/core/progress.js';
import { VERSION } from './lib/core/version.js';

import * as consume from './commands/consume.js';
import * as demo from './commands/demo.js';
import * as down from './commands/down.js';
import * as extract from './commands/extract.js';
import * as generate from './commands/generate.js';
import * as cat from './commands/cat.js';
import * as completion from './commands/completion.js';
import * as configInit from './commands/config-init.js';
import * as du from './commands/du.js';
import * as ls from './commands/ls.js';
import * as logs from './commands/logs.js';
import * as restart from './commands/restart.js';
import * as rm from './commands/rm.js';
import * as report from './commands/report.js';
import * as serve from './commands/serve.js';
import * as sql from './commands/sql.js';
import * as status from './commands/status.js';
import * as topicAlter from './commands/topic-alter.js';
import * as topicCreate from './commands/topic-create.js';
import * as topicDelete from './commands/topic-delete.js';
import * as topicDescribe from './commands/topic-describe.js';
import * as topicList from './commands/topic-list.js';
import * as up from './commands/up.js';
import * as verify from './commands/verify.js';
import { example, type Runner } from './commands/command.js';

export type { Runner } from './commands/command.js';

type Action = (opts: Record<string, unknown>) => Promise<number | void>;

/** Each command's name and the function that runs it, declared in its own file. */
const ACTIONS: Record<string, (opts: never) => Promise<number | void>> = {
  up: up.up,
  down: down.down,
  status: status.status,
  restart: restart.restart,
  logs: logs.logs,
  'topic create': topicCreate.topicCreate,
  'topic delete': topicDelete.topicDelete,
  'topic alter': topicAlter.topicAlter,
  'topic describe': topicDescribe.topicDescribe,
  'topic list': topicList.topicList,
  ls: ls.ls,
  completion: completion.completion,
  'config init': configInit.configInit,
  du: du.du,
  cat: cat.cat,
  rm: rm.rm,
  serve: serve.serve,
  consume: consume.consume,
  generate: generate.generate,
  extract: extract.extract,
  verify: verify.verify,
  report: report.report,
  sql: sql.sql,
  demo: demo.demo,
};

/** The function behind a command name, e.g. 'topic create'. */
export function commandAction(command: string): Action {
  const fn = ACTIONS[command];
  if (!fn) throw new Error(`no implementation for command ${command}`);
  return fn as Action;
}

export const runCommand: Runner = async (command, opts) => commandAction(command)(opts);

/**
 * The whole command line: the global options here, each command's own in its file. `run`
 * receives each command's name and options object, so argv can be tested without running anything.
 */
export function createProgram(run: Runner = runCommand): Command {
  const program = new Command('gamepipe');
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
    .option('--base <path>', "lake's base directory on HDFS")
    .option('-q, --quiet', 'print only data, warnings and errors: no progress or status lines')
    .option('-v, --verbose', 'print each step as a line of its own, with the time since the start')
    .hook('preAction', (_program, action) => {
      const { quiet, verbose } = action.optsWithGlobals<{ quiet?: boolean; verbose?: boolean }>();
      if (quiet && verbose) {
        throw new GamepipeError(ErrorCodes.usage, '--quiet and --verbose contradict each other', {
          hint: 'give one of them',
        });
      }
      setVerbosity(quiet ? 'quiet' : verbose ? 'verbose' : 'normal');
    });
  example(program, 'gamepipe up', 'gamepipe status', 'gamepipe topic describe', 'gamepipe down');

  for (const c of [up, down, restart, status, logs]) c.declare(program, run);
  const topic = program
    .command('topic')
    .description('create, describe, list, alter and delete Kafka topics');
  example(topic, 'gamepipe topic create --partitions 3 --if-not-exists');
  for (const c of [topicCreate, topicDescribe, topicList, topicAlter, topicDelete])
    c.declare(topic, run);
  for (const c of [ls, du, cat, rm, serve, consume, generate, extract, verify, demo, report, sql])
    c.declare(program, run);
  const config = program.command('config').description('write and check the config file');
  example(config, 'gamepipe config init');
  configInit.declare(config, run);
  // last: its script lists every command declared above
  completion.declare(program, run);
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

/** Whether the command line asks for JSON (`--format json` or `--format=json`). */
export function wantsJson(args: readonly string[]): boolean {
  return args.some((a, i) => a === '--format=json' || (a === '--format' && args[i + 1] === 'json'));
}

/** The error as it goes to stderr: a line for people, or one JSON object under --format json. */
function errorText(err: GamepipeError, asJson: boolean): string {
  if (!asJson) return formatError(err) + '\n';
  return (
    JSON.stringify({ error: { code: err.code, message: err.message, hint: err.hint ?? null } }) +
    '\n'
  );
}

/** Parses argv, runs the command, prints errors; resolves to the process exit code. */
export async function main(
  argv: string[] = process.argv,
  run: Runner = runCommand,
): Promise<number> {
  let exitCode = 0;
  const asJson = wantsJson(argv.slice(2));
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
      process.stderr.write(errorText(usage, asJson));
      return 2;
    }
    if (err instanceof GamepipeError) {
      process.stderr.write(errorText(err, asJson));
      return USAGE_CODES.has(err.code) ? 2 : 1;
    }
    if (asJson) {
      const internal = new GamepipeError(
        ErrorCodes.internal,
        String((err as Error)?.message ?? err),
        {
          hint: 'a bug: report it with the command line and this message',
        },
      );
      process.stderr.write(errorText(internal, true));
    } else {
      process.stderr.write(`gamepipe: unexpected error\n${(err as Error)?.stack ?? String(err)}\n`);
    }
    return 1;
  }
}
