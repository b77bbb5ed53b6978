import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { COMPOSE_FILE, DOCKER_VERSIONS } from '../src/lib/stack/docker.js';

interface Service {
  image: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
}

describe('compose/docker-compose.yml', () => {
  const doc = parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
  };

  it('has the official Kafka and Hadoop images at the versions the code reports', () => {
    assert.deepEqual(Object.keys(doc.services).sort(), ['datanode', 'kafka', 'namenode']);
    assert.equal(doc.services.kafka?.image, `apache/kafka:${DOCKER_VERSIONS.kafka}`);
    assert.equal(doc.services.namenode?.image, `apache/hadoop:${DOCKER_VERSIONS.hadoop}`);
    assert.equal(doc.services.datanode?.image, `apache/hadoop:${DOCKER_VERSIONS.hadoop}`);
  });

  it('runs Kafka in KRaft mode with single-node replication factors', () => {
    const env = doc.services.kafka?.environment ?? {};
    assert.equal(env.KAFKA_PROCESS_ROLES, 'broker,controller');
    assert.equal(env.KAFKA_ZOOKEEPER_CONNECT, undefined);
    for (const k of [
      'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR',
      'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR',
      'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR',
      'KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR',
    ]) {
      assert.equal(env[k], '1', k);
    }
  });

  it('configures HDFS like the local stack and publishes ports on 127.0.0.1 only', () => {
    for (const name of ['namenode', 'datanode']) {
      const env = doc.services[name]?.environment ?? {};
      assert.equal(env['HDFS-SITE.XML_dfs.webhdfs.enabled'], 'true', name);
      assert.equal(env['HDFS-SITE.XML_dfs.replication'], '1', name);
      assert.equal(env['HDFS-SITE.XML_dfs.datanode.hostname'], '127.0.0.1', name);
    }
    assert.deepEqual(doc.services.namenode?.command, ['hdfs', 'namenode']);
    assert.deepEqual(doc.services.datanode?.command, ['hdfs', 'datanode']);
    const ports = Object.values(doc.services).flatMap((s) => s.ports ?? []);
    assert.ok(ports.includes('127.0.0.1:9092:9092'));
    assert.ok(ports.includes('127.0.0.1:9870:9870'));
    assert.ok(ports.includes('127.0.0.1:9864:9864'));
    for (const p of ports) assert.match(p, /^127\.0\.0\.1:/);
  });
});
