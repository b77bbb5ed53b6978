/**
 * The machine-readable contract (issue 15, item 5), over every command of the program: each
 * takes `--format json` (but the few whose output is not data, named here with the reason), and
 * under it an error is one JSON object on stderr, `{ "error": { "code", "message", "hint" } }`,
 * with the documented exit code.
 */
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { createProgram } from '../src/cli.js';
import { runCli } from './helpers.js';

/** Commands without --format json, and why. */
const NOT_DATA: Record<string, string> = {
  serve: 'a server: its output is the access log',
  demo: 'a walk-through for people: each step timed, then the reports',
  completion: 'prints a shell script',
  logs: "prints a service's log as the service wrote it",
  'config init': 'writes a YAML file',
};

/** Positional arguments a command needs to get as far as reading its config. */
const ARGS: Record<string, string[]> = {
  'topic delete': ['gp-nosuch'],
  cat: ['x.parquet'],
  rm: ['x'],
  sql: ['SELECT 1'],
  generate: ['1'],
  verify: ['--ledger', 'x.jsonl'],
  'topic alter': ['--partitions', '3'],
};

function leaves(cmd: Command, prefix = ''): Array<{ name: string; cmd: Command }> {
  return cmd.commands.flatMap((c) => {
    const name = prefix ? `${prefix} ${c.name()}` : c.name();
    return c.commands.length > 0 ? leaves(c, name) : [{ name, cmd: c }];
  });
}

function errorOf(stderr: string): { code: string; message: string; hint: string | null } {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got: ${stderr}`);
  const parsed = JSON.parse(lines[0] as string) as {
    error: { code: string; message: string; hint: string | null };
  };
  assert.deepEqual(Object.keys(parsed.error).sort(), ['code', 'hint', 'message']);
  return parsed.error;
}

describe('the JSON contract over every command', function () {
  this.timeout(120_000);
  const commands = leaves(createProgram(async () => undefined));

  it('every command takes --format json, but those whose output is not data', () => {
    const without = commands
      .filter(({ cmd }) => {
        const format = cmd.options.find((o) => o.long === '--format');
        return !format?.argChoices?.includes('json');
      })
      .map((c) => c.name)
      .sort();
    assert.deepEqual(without, Object.keys(NOT_DATA).sort());
  });

  it('under --format json every command reports a bad setting as one JSON object on stderr, exit 2', async () => {
    const withJson = commands.filter((c) => !(c.name in NOT_DATA));
    const results = await Promise.all(
      withJson.map(async ({ name }) => {
        const args = [...name.split(' '), ...(ARGS[name] ?? []), '--format', 'json'];
        const res = await runCli(args, { env: { GAMEPIPE_TOPIC: ' ' } });
        return { name, res };
      }),
    );
    for (const { name, res } of results) {
      assert.equal(res.code, 2, `${name}: exit ${res.code}\n${res.stderr}`);
      assert.equal(res.stdout, '', `${name}: nothing on stdout`);
      const e = errorOf(res.stderr);
      assert.equal(e.code, 'GP_CONFIG', `${name}: ${e.message}`);
      assert.match(e.message, /GAMEPIPE_TOPIC is set but empty/);
      assert.ok(e.hint, `${name}: a hint`);
    }
  });

  it('a usage error and a failure of the work are JSON too, with exit 2 and 1; without --format json they are one line of text', async () => {
    const unknown = await runCli(['extract', '--no-such-flag', '--format', 'json']);
    assert.equal(unknown.code, 2);
    assert.equal(errorOf(unknown.stderr).code, 'GP_USAGE');
    const down = await runCli(['status', '--format=json', '--brokers', '127.0.0.1:1'], {
      env: { GAMEPIPE_WEBHDFS_URL: 'http://127.0.0.1:1' },
    });
    assert.notEqual(down.code, 0);
    const missing = await runCli([
      'topic',
      'describe',
      '--topic',
      'gp-nosuch-contract',
      '--format',
      'json',
    ]);
    assert.equal(missing.code, 1);
    const e = errorOf(missing.stderr);
    assert.equal(e.code, 'GP_TOPIC_NOT_FOUND');
    const text = await runCli(['topic', 'describe', '--topic', 'gp-nosuch-contract']);
    assert.match(text.stderr, /^gamepipe: error GP_TOPIC_NOT_FOUND: /);
  });
});
