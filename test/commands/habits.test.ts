/** The habits of other CLIs (issue 15, item 8): shell completion and a commented config file. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/lib/core/config.js';
import { runCli } from '../helpers.js';

describe('completion and config init', () => {
  it("completion bash completes commands, subcommands and each command's options in a real bash", async () => {
    const res = await runCli(['completion', 'bash']);
    assert.equal(res.code, 0, res.stderr);
    const dir = mkdtempSync(join(tmpdir(), 'gp-completion-'));
    const script = join(dir, 'gamepipe.bash');
    writeFileSync(script, res.stdout);
    const complete = (...words: string[]): string[] => {
      const cword = words.length;
      const r = spawnSync(
        'bash',
        [
          '-c',
          `source ${script}; COMP_WORDS=(gamepipe ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${cword}; _gamepipe; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.trim().split('\n').filter(Boolean);
    };
    assert.deepEqual(complete('topic', ''), ['create', 'describe', 'list', 'alter', 'delete']);
    assert.deepEqual(complete('extract', '--eng'), ['--engine']);
    assert.ok(complete('').includes('report'));
    assert.deepEqual(complete('report', 'events', '--fa'), ['--fail-on-drift']);
    // a positional argument or an option's value does not change the command
    assert.deepEqual(complete('ls', 'purchases', '--rec'), ['--recursive']);
    for (const shell of ['zsh', 'fish']) {
      const s = await runCli(['completion', shell]);
      assert.equal(s.code, 0, s.stderr);
      assert.match(s.stdout, /extract/);
    }
    assert.match(
      (await runCli(['completion', 'fish'])).stdout,
      /__fish_seen_subcommand_from topic; .* -a alter/,
    );
    const bad = await runCli(['completion', 'powershell']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /GP_USAGE: no completion for shell "powershell"/);
  });

  it('config init writes a commented file that loads back to the same settings; it keeps an existing one unless --force', async () => {
    const home = mkdtempSync(join(tmpdir(), 'gp-config-init-'));
    const args = ['--home', join(home, 'h'), 'config', 'init', '--brokers', 'k1:9092,k2:9092'];
    const first = await runCli(args);
    assert.equal(first.code, 0, first.stderr);
    const file = join(home, 'h', 'config.yaml');
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^# Kafka bootstrap brokers\nbrokers: \[ k1:9092, k2:9092 \]$/m);
    assert.match(text, /^# sparkMaster: "local\[2\]"$/m);
    assert.doesNotMatch(text, /password:/i);
    const loaded = resolveConfig({ configFile: file, env: {} });
    assert.deepEqual(loaded.brokers, ['k1:9092', 'k2:9092']);
    assert.equal(loaded.sparkMaster, 'local[2]');
    assert.equal(loaded.configFile, file);
    const again = await runCli(args);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /GP_USAGE: .*config\.yaml exists/);
    assert.equal((await runCli([...args, '--force'])).code, 0);
    const out = await runCli(['config', 'init', '--out', '-']);
    assert.match(out.stdout, /^# gamepipe configuration/);
  });
});
