import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandAction, createProgram, main } from '../src/cli.js';
import { parseCount, parseDuration, parseHttpUrl, parseNumber } from '../src/lib/core/options.js';
import { daysAgo, runCli, uniqueName } from './helpers.js';

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
    assert.match(lines[0] ?? '', /^gamepipe: error GP_USAGE: .+ — see `gamepipe status --help`\n$/);
    assert.match(
      lines[1] ?? '',
      /^gamepipe: error GP_USAGE: unknown command 'nope' — see `gamepipe --help` for the commands\n$/,
    );
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
      const fn = commandAction(name.startsWith('report ') ? 'report' : name);
      assert.equal(typeof fn, 'function');
      assert.equal(fn.constructor.name, 'AsyncFunction');
    });
  }
});

describe('cli: one option parser; a bad value is a usage error (exit 2) naming the option', function () {
  this.timeout(60_000);

  it('durations take 500ms, 20s, 3m, 1h or plain seconds; counts, numbers and URLs are checked', () => {
    assert.equal(parseDuration('--timeout', '20s'), 20_000);
    assert.equal(parseDuration('--timeout', '3m'), 180_000);
    assert.equal(parseDuration('--timeout', '500ms'), 500);
    assert.equal(parseDuration('--timeout', '1.5'), 1_500);
    assert.equal(parseDuration('--timeout', 20), 20_000);
    assert.equal(parseDuration('--timeout', '0', { minMs: 0 }), 0);
    for (const bad of ['20x', 'abc', '', '-1', '0', 's', '1e3']) {
      assert.throws(
        () => parseDuration('--timeout', bad),
        (e: { code?: string; message?: string }) =>
          e.code === 'GP_USAGE' && (e.message ?? '').startsWith('--timeout must be a duration'),
        bad,
      );
    }
    assert.equal(parseCount('--threads', '4', { max: 32 }), 4);
    for (const bad of ['0', '33', '1.5', 'x', ''])
      assert.throws(
        () => parseCount('--threads', bad, { max: 32 }),
        /--threads must be a whole number/,
      );
    assert.equal(parseNumber('--rate', '0.5', { above: 0 }), 0.5);
    assert.throws(
      () => parseNumber('--rate', '0', { above: 0 }),
      /--rate must be a number above 0/,
    );
    assert.equal(parseHttpUrl('--url', 'http://127.0.0.1:5000/'), 'http://127.0.0.1:5000');
    for (const bad of ['not-a-url', 'ftp://x/', 'http://'])
      assert.throws(() => parseHttpUrl('--url', bad), /--url must be an http/);
  });

  it('every command refuses bad values at once, with exit 2 and one line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['down', '--timeout', 'abc'], /--timeout must be a duration/],
      [['up', '--timeout', '3x'], /--timeout must be a duration/],
      [['serve', '--request-timeout', 'abc'], /--request-timeout must be a duration/],
      [['serve', '--request-timeout', '0'], /--request-timeout must be a duration from 100ms/],
      [['serve', '--ack-timeout', '0'], /--ack-timeout must be a duration from 100ms/],
      [['generate', '10', '--url', 'not-a-url'], /--url must be an http/],
      [['generate', '10', '--url', 'ftp://example.com/'], /--url must be an http/],
      [['extract', '--date', '2026-02-30', '--threads', '64'], /GP_BAD_DATE/],
      [
        ['extract', '--date', daysAgo(12), '--threads', '64'],
        /--threads must be a whole number from 1 to 32/,
      ],
      [['extract', '--date', '1969-12-31'], /GP_BAD_DATE: 1969-12-31 is before 1970-01-01/],
      [['consume', '--max', '-1'], /--max must be a whole number/],
      [['topic', 'create', '--partitions', 'many'], /--partitions must be a whole number/],
      [['report', 'daily', '--threshold', '2'], /--threshold must be a number/],
    ];
    for (const [args, want] of cases) {
      const t0 = Date.now();
      const res = await runCli(args, { timeoutMs: 20_000 });
      assert.equal(res.code, 2, `${args.join(' ')}: exit ${res.code} ${res.stderr}`);
      assert.match(res.stderr, want, args.join(' '));
      assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
      // the threads of a bad extract never start: it answers at once
      assert.ok(Date.now() - t0 < 5_000, `${args.join(' ')} took ${Date.now() - t0} ms`);
    }
  });

  it('serve on a port in use, or on a host that is not this machine, exits with its coded error', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      const inUse = await runCli(['serve', '--port', String(port)], { timeoutMs: 20_000 });
      assert.equal(inUse.code, 2, inUse.stderr);
      assert.match(inUse.stderr, /GP_USAGE: port \d+ on 127\.0\.0\.1 is already in use/);
    } finally {
      busy.close();
    }
    const badHost = await runCli(['serve', '--host', '999.1.1.1', '--port', '0'], {
      timeoutMs: 20_000,
    });
    assert.equal(badHost.code, 2, badHost.stderr);
    assert.match(badHost.stderr, /GP_USAGE: cannot listen on 999\.1\.1\.1/);
    assert.doesNotMatch(badHost.stderr, /unexpected error/);
  });

  it('smaller ones: empty GAMEPIPE_* values, a YAML error, an empty ledger, a missing topic for consume', async () => {
    const purge = await runCli(['down', '--purge'], { env: { GAMEPIPE_HOME: '' } });
    assert.equal(purge.code, 2);
    assert.match(purge.stderr, /GP_CONFIG: environment GAMEPIPE_HOME is set but empty/);
    const yaml = join(tmpdir(), `${uniqueName('gp-yaml')}.yaml`);
    writeFileSync(yaml, 'topic: [unclosed\nbase: /x\n');
    const bad = await runCli(['--config', yaml, 'status']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, /GP_CONFIG: cannot read config file/);
    const ledger = join(tmpdir(), `${uniqueName('gp-ledger')}.jsonl`);
    writeFileSync(ledger, '');
    const verify = await runCli(['verify', '--ledger', ledger]);
    assert.equal(verify.code, 1);
    assert.match(verify.stderr, /GP_NO_DATA: the ledger .* holds no events/);
    assert.doesNotMatch(verify.stdout, /OK/);
    const consume = await runCli(['consume', '--topic', uniqueName('nosuch'), '--exit']);
    assert.equal(consume.code, 1);
    assert.match(consume.stderr, /GP_TOPIC_NOT_FOUND/);
    // a config for a studio's SASL_SSL cluster cannot start the local plaintext stack
    const home = mkdtempSync(join(tmpdir(), 'gp-up-secure-'));
    const secure = await runCli(['--home', home, 'up', '--mode', 'local'], {
      env: { GAMEPIPE_KAFKA_SECURITY_PROTOCOL: 'SSL' },
    });
    assert.equal(secure.code, 2, secure.stderr);
    assert.match(
      secure.stderr,
      /GP_CONFIG: gamepipe up starts a local plaintext Kafka, but the config asks for kafkaSecurityProtocol SSL/,
    );
    assert.deepEqual(readdirSync(home), [], 'nothing started, nothing written');
  });

  it("status's help says what its exit code means", async () => {
    const status = createProgram().commands.find((c) => c.name() === 'status');
    assert.match(
      status?.description() ?? '',
      /exit 0 when Kafka and HDFS are up \(and the API, with --require-api\)/,
    );
  });
});
