import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { createProgram, loadCommand, main } from '../src/cli.js';

async function parse(argv: string[]): Promise<{ command: string; opts: Record<string, unknown> }> {
  let seen: { command: string; opts: Record<string, unknown> } | undefined;
  await createProgram(async (command, opts) => {
    seen = { command, opts };
  }).parseAsync(['node', 'gamepipe', ...argv]);
  assert.ok(seen, `no command ran for ${argv.join(' ')}`);
  return seen;
}

function leafCommands(cmd: Command, prefix: string[] = []): Array<{ name: string; cmd: Command }> {
  const out: Array<{ name: string; cmd: Command }> = [];
  for (const sub of cmd.commands) {
    const path = [...prefix, sub.name()];
    if (sub.commands.length > 0) out.push(...leafCommands(sub, path));
    else out.push({ name: path.join(' '), cmd: sub });
  }
  return out;
}

describe('cli: argv to options', () => {
  it('up defaults to auto mode and 180 s', async () => {
    const { command, opts } = await parse(['up']);
    assert.equal(command, 'up');
    assert.equal(opts.mode, 'auto');
    assert.equal(opts.timeout, '180');
  });

  it('global flags reach the command, before or after it', async () => {
    const { opts } = await parse([
      '--brokers',
      'k:1',
      'status',
      '--webhdfs-url',
      'http://h:2',
      '--format',
      'json',
    ]);
    assert.equal(opts.brokers, 'k:1');
    assert.equal(opts.webhdfsUrl, 'http://h:2');
    assert.equal(opts.format, 'json');
    assert.equal(opts.requireApi, false);
  });

  it('topic create is a nested command with its flags', async () => {
    const { command, opts } = await parse([
      'topic',
      'create',
      '--topic',
      't1',
      '--partitions',
      '6',
      '--replication-factor',
      '1',
      '--if-not-exists',
      '--topic-config',
      'retention.ms=1',
      '--topic-config',
      'a=b',
    ]);
    assert.equal(command, 'topic create');
    assert.deepEqual(
      {
        topic: opts.topic,
        partitions: opts.partitions,
        rf: opts.replicationFactor,
        ine: opts.ifNotExists,
        tc: opts.topicConfig,
      },
      { topic: 't1', partitions: '6', rf: '1', ine: true, tc: ['retention.ms=1', 'a=b'] },
    );
  });

  it('ls takes a path and -R', async () => {
    const { command, opts } = await parse(['ls', '/x/y', '-R']);
    assert.equal(command, 'ls');
    assert.equal(opts.path, '/x/y');
    assert.equal(opts.recursive, true);
  });

  it('down --purge', async () => {
    const { opts } = await parse(['down', '--purge']);
    assert.equal(opts.purge, true);
  });

  it('a bad choice or unknown command is a usage error with exit code 2', async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (
      lines.push(String(s)),
      true
    )) as typeof process.stderr.write;
    try {
      assert.equal(await main(['node', 'gamepipe', 'status', '--format', 'xml'], async () => 0), 2);
      assert.equal(await main(['node', 'gamepipe', 'nope'], async () => 0), 2);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(lines.length, 2);
    for (const l of lines) assert.match(l, /^gamepipe: error GP_USAGE: .+ — see `gamepipe --help`/);
  });

  it('the exit code of a command is the exit code of main', async () => {
    assert.equal(await main(['node', 'gamepipe', 'status'], async () => 1), 1);
    assert.equal(await main(['node', 'gamepipe', 'status'], async () => undefined), 0);
  });
});

describe('cli: every command', () => {
  const program = createProgram();
  const leaves = leafCommands(program);

  it('covers every command', () => {
    const names = leaves.map((l) => l.name);
    for (const n of [
      'up',
      'down',
      'status',
      'topic create',
      'topic describe',
      'topic list',
      'ls',
      'serve',
      'consume',
      'generate',
      'extract',
      'verify',
      'report events',
      'report hosts',
      'report daily',
      'report items',
      'report users',
    ]) {
      assert.ok(names.includes(n), `missing command ${n}`);
    }
  });

  for (const { name, cmd } of leafCommands(createProgram())) {
    it(`${name}: has a description, renders --help with an example, and has an implementation`, async () => {
      assert.ok(cmd.description().length > 10, 'description');
      let help = '';
      cmd.configureOutput({ writeOut: (s) => (help += s) });
      cmd.outputHelp();
      assert.match(help, new RegExp(`Usage: gamepipe ${name}`));
      // addHelpText('after') text is emitted on --help; render it through main to see it
      let out = '';
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
      try {
        assert.equal(await main(['node', 'gamepipe', ...name.split(' '), '--help']), 0);
      } finally {
        process.stdout.write = write;
      }
      assert.match(out, /Example:\n {2}\$ gamepipe /);
      const fn = await loadCommand(name.startsWith('report ') ? 'report' : name);
      assert.equal(typeof fn, 'function');
      assert.equal(fn.constructor.name, 'AsyncFunction');
    });
  }
});
