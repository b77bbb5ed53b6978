import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
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

  describe('Kafka security', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gp-sec-'));
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nCA\n');
    writeFileSync(join(dir, 'password'), 'hunter2-file\nsecond line ignored\n');
    const file = join(dir, 'gp.yaml');

    it('is off by default: PLAINTEXT, nothing read', () => {
      const c = resolveConfig({ env });
      assert.equal(c.kafkaSecurityProtocol, 'PLAINTEXT');
      assert.equal(c.kafkaSecurity, undefined);
    });

    it('reads TLS and SCRAM from the config file alone, files found next to it', () => {
      writeFileSync(
        file,
        [
          'kafkaSecurityProtocol: sasl_ssl',
          'kafkaSslCaFile: ca.pem',
          'kafkaSaslMechanism: SCRAM-SHA-512',
          'kafkaSaslUsername: analyst',
          'kafkaSaslPasswordFile: password',
        ].join('\n'),
      );
      const c = resolveConfig({ env, configFile: file });
      assert.equal(c.kafkaSecurityProtocol, 'SASL_SSL');
      assert.equal(c.kafkaSslCaFile, join(dir, 'ca.pem'));
      assert.equal(c.kafkaSecurity?.tls?.ca, '-----BEGIN CERTIFICATE-----\nCA\n');
      assert.equal(c.kafkaSecurity?.tls?.checkHostname, true);
      assert.deepEqual(c.kafkaSecurity?.sasl, {
        mechanism: 'SCRAM-SHA-512',
        username: 'analyst',
        password: 'hunter2-file',
      });
    });

    it('never shows the password: not in JSON, not in util.inspect', () => {
      const c = resolveConfig({
        env: {
          ...env,
          GAMEPIPE_KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
          GAMEPIPE_KAFKA_SASL_MECHANISM: 'PLAIN',
          GAMEPIPE_KAFKA_SASL_USERNAME: 'svc',
          GAMEPIPE_KAFKA_SASL_PASSWORD: 'hunter2-env',
        },
      });
      assert.equal(c.kafkaSecurity?.sasl?.password, 'hunter2-env');
      const shown = JSON.stringify(c) + inspect(c, { depth: 10 });
      assert.ok(!shown.includes('hunter2'), shown);
      assert.ok(shown.includes('[secret]'));
    });

    it('says what is missing or contradictory, with GP_CONFIG', () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{ GAMEPIPE_KAFKA_SECURITY_PROTOCOL: 'TLS' }, 'kafkaSecurityProtocol'],
        [{ GAMEPIPE_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' }, 'kafkaSaslMechanism'],
        [
          { GAMEPIPE_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', GAMEPIPE_KAFKA_SASL_MECHANISM: 'PLAIN' },
          'kafkaSaslUsername',
        ],
        [
          {
            GAMEPIPE_KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
            GAMEPIPE_KAFKA_SASL_MECHANISM: 'PLAIN',
            GAMEPIPE_KAFKA_SASL_USERNAME: 'u',
          },
          'kafkaSaslPasswordFile',
        ],
        [{ GAMEPIPE_KAFKA_SASL_MECHANISM: 'GSSAPI' }, 'kafkaSaslMechanism'],
        [{ GAMEPIPE_KAFKA_SSL_CA_FILE: join(dir, 'ca.pem') }, 'kafkaSslCaFile'],
        [
          { GAMEPIPE_KAFKA_SECURITY_PROTOCOL: 'SSL', GAMEPIPE_KAFKA_SSL_CA_FILE: join(dir, 'no') },
          'kafkaSslCaFile',
        ],
        [
          {
            GAMEPIPE_KAFKA_SECURITY_PROTOCOL: 'SSL',
            GAMEPIPE_KAFKA_SSL_CERT_FILE: join(dir, 'ca.pem'),
          },
          'kafkaSslCertFile',
        ],
      ];
      for (const [vars, key] of cases) {
        try {
          resolveConfig({ env: { ...env, ...vars } });
          assert.fail(`no error for ${JSON.stringify(vars)}`);
        } catch (err) {
          assert.ok(err instanceof GamepipeError, String(err));
          assert.equal(err.code, ErrorCodes.config, JSON.stringify(vars));
          assert.equal(err.context.key, key, `${JSON.stringify(vars)}: ${err.message}`);
        }
      }
    });

    it('refuses a password written in the config file', () => {
      writeFileSync(file, 'kafkaSaslPassword: hunter2\n');
      try {
        resolveConfig({ env, configFile: file });
        assert.fail('no error');
      } catch (err) {
        assert.ok(err instanceof GamepipeError);
        assert.equal(err.code, ErrorCodes.config);
        assert.ok(!err.message.includes('hunter2'), err.message);
        assert.match(err.hint ?? '', /kafkaSaslPasswordFile/);
      }
    });
  });
});
