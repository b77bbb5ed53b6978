import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envName, resolveConfig } from '../../../src/lib/core/config.js';
import { ErrorCodes, GamepipeError } from '../../../src/lib/core/errors.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GamepipeError, String(err));
    return err.code;
  }
  assert.fail('expected an error');
}

describe('lib/config', () => {
  const home = mkdtempSync(join(tmpdir(), 'gp-config-'));
  const env = { HOME: home };

  it('has the documented defaults', () => {
    const c = resolveConfig({ env });
    assert.deepEqual(c.brokers, ['localhost:9092']);
    assert.equal(c.topic, 'events');
    assert.equal(c.webhdfsUrl, 'http://localhost:9870');
    assert.equal(c.base, '/gamepipe');
    assert.equal(c.apiPort, 5000);
    assert.equal(c.home, join(home, '.gamepipe'));
    assert.equal(c.configFile, undefined);
    assert.ok(Object.isFrozen(c));
  });

  it('defaults < config file < environment < flags', () => {
    const file = join(home, 'gp.yaml');
    writeFileSync(file, 'topic: from-file\nbase: /file\napiPort: 6000\nbrokers: [a:1, b:2]\n');
    const fromFile = resolveConfig({ env, configFile: file });
    assert.equal(fromFile.topic, 'from-file');
    assert.deepEqual(fromFile.brokers, ['a:1', 'b:2']);
    assert.equal(fromFile.apiPort, 6000);
    const fromEnv = resolveConfig({
      env: { ...env, GAMEPIPE_TOPIC: 'from-env', GAMEPIPE_API_PORT: '7000' },
      configFile: file,
    });
    assert.equal(fromEnv.topic, 'from-env');
    assert.equal(fromEnv.apiPort, 7000);
    assert.equal(fromEnv.base, '/file');
    const fromFlags = resolveConfig({
      env: { ...env, GAMEPIPE_TOPIC: 'from-env' },
      configFile: file,
      flags: { topic: 'from-flag', brokers: 'x:9,y:8' },
    });
    assert.equal(fromFlags.topic, 'from-flag');
    assert.deepEqual(fromFlags.brokers, ['x:9', 'y:8']);
  });

  it('reads <home>/config.yaml, also as JSON, and GAMEPIPE_CONFIG', () => {
    const h = mkdtempSync(join(tmpdir(), 'gp-home-'));
    writeFileSync(join(h, 'config.yaml'), '{"hdfsUser": "analyst"}');
    assert.equal(resolveConfig({ env: { GAMEPIPE_HOME: h } }).hdfsUser, 'analyst');
    const other = join(h, 'other.yml');
    writeFileSync(other, 'hdfsUser: ops\n');
    assert.equal(
      resolveConfig({ env: { GAMEPIPE_HOME: h, GAMEPIPE_CONFIG: other } }).hdfsUser,
      'ops',
    );
  });

  it('names environment variables after the keys', () => {
    assert.equal(envName('webhdfsUrl'), 'GAMEPIPE_WEBHDFS_URL');
    assert.equal(envName('brokers'), 'GAMEPIPE_BROKERS');
  });

  it('rejects bad values with GP_CONFIG, naming the source', () => {
    assert.equal(
      code(() => resolveConfig({ env, flags: { apiPort: 'abc' } })),
      ErrorCodes.config,
    );
    assert.equal(
      code(() => resolveConfig({ env: { ...env, GAMEPIPE_BASE: 'relative' } })),
      ErrorCodes.config,
    );
    assert.equal(
      code(() => resolveConfig({ env, flags: { webhdfsUrl: 'ftp://x' } })),
      ErrorCodes.config,
    );
    assert.equal(
      code(() => resolveConfig({ env, flags: { brokers: 'nohostport' } })),
      ErrorCodes.config,
    );
    // a try/catch here passed when nothing was thrown
    assert.throws(
      () => resolveConfig({ env: { ...env, GAMEPIPE_API_PORT: '99999' } }),
      (err: Error) => err instanceof GamepipeError && /GAMEPIPE_API_PORT/.test(err.message),
    );
  });

  it('rejects an unknown key, a non-mapping or a missing explicit file', () => {
    const bad = join(home, 'bad.yaml');
    writeFileSync(bad, 'brokerz: a:1\n');
    assert.equal(
      code(() => resolveConfig({ env, configFile: bad })),
      ErrorCodes.config,
    );
    writeFileSync(bad, '- a\n- b\n');
    assert.equal(
      code(() => resolveConfig({ env, configFile: bad })),
      ErrorCodes.config,
    );
    assert.equal(
      code(() => resolveConfig({ env, configFile: join(home, 'missing.yaml') })),
      ErrorCodes.config,
    );
  });
});
