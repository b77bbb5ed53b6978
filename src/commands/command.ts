import { Option, type Command } from 'commander';

/** Runs one command with its options object; resolves to the exit code. */
export type Runner = (command: string, opts: Record<string, unknown>) => Promise<number | void>;

/**
 * A command file's declaration: adds its command (name, options, help, example) under `parent`
 * and hands the parsed options to `run` under the command's name, so argv can be tested without
 * running anything. A command file imports its heavy modules (Kafka, HDFS, Parquet clients) inside
 * its action, so declaring every command for `--help` stays cheap.
 */
export type Declare = (parent: Command, run: Runner) => void;

/** The action commander calls: the options (and named positional arguments) go to `run`. */
export function runs(run: Runner, name: string, positional: string[] = []) {
  return async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const opts: Record<string, unknown> = { ...cmd.optsWithGlobals() };
    positional.forEach((p, i) => {
      if (args[i] !== undefined) opts[p] = args[i];
    });
    await run(name, opts);
  };
}

/** Help text after the options: one example command a line. */
export function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export const formatOption = (choices: string[], fallback: string): Option =>
  new Option('--format <format>', 'output format').choices(choices).default(fallback);

export const topicOption = (): Option =>
  new Option('--topic <name>', 'Kafka topic (default: config, else "events")');

/** --date, or --from and --to: the dates a command reads from the lake. */
export function dateOptions(cmd: Command): Command {
  return cmd
    .option('--date <YYYY-MM-DD>', 'one date')
    .option('--from <YYYY-MM-DD>', 'first date of a range')
    .option('--to <YYYY-MM-DD>', 'last date of a range');
}

export const ENGINES = ['embedded', 'spark'] as const;
export type Engine = (typeof ENGINES)[number];

/** --engine and the Spark settings of a run (their defaults come from the config file). */
export function engineOptions(cmd: Command, what: string): Command {
  return cmd
    .addOption(
      new Option('--engine <engine>', `what ${what}: embedded (in this process) or spark`)
        .choices([...ENGINES])
        .default('embedded'),
    )
    .option(
      '--spark-master <url>',
      'spark: local[N], yarn, spark://host:port, k8s://... (default: config, else local[2])',
    )
    .option(
      '--spark-submit <path>',
      'spark: the spark-submit to run (default: SPARK_HOME, PATH, .venv)',
    )
    .option(
      '--spark-conf <key=value>',
      'spark: a Spark setting, repeatable (replaces sparkConf of the config)',
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    );
}

/** An option that takes one of `choices`. */
export const choiceOption = (
  flags: string,
  description: string,
  choices: string[],
  fallback: string,
): Option => new Option(flags, description).choices(choices).default(fallback);
