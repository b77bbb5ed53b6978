import assert from 'node:assert/strict';
import { KafkaSecurity } from '../../../src/lib/core/config.js';
import { GamepipeError } from '../../../src/lib/core/errors.js';
import {
  findSpark,
  lastError,
  sparkKafkaOptions,
  sparkLakeUrl,
  type SparkConfig,
} from '../../../src/lib/spark/submit.js';
import { runCli } from '../../helpers.js';

const config: SparkConfig = {
  sparkMaster: 'local[2]',
  sparkSubmit: undefined,
  sparkConf: [],
  sparkKafkaPackage: 'org.apache.spark:spark-sql-kafka-0-10_2.12:3.5.7',
  sparkHdfsUrl: undefined,
  webhdfsUrl: 'http://nn.example:9870',
  hdfsUser: 'analyst',
  home: '/tmp',
};

describe('spark/submit: finding Spark and handing a job its settings', () => {
  it("Kafka's settings as Spark's Kafka source takes them, quotes in a password escaped", () => {
    const plain = sparkKafkaOptions({ brokers: ['a:9092', 'b:9092'] });
    assert.deepEqual(plain, { 'kafka.bootstrap.servers': 'a:9092,b:9092' });
    const secure = sparkKafkaOptions({
      brokers: ['a:9093'],
      kafkaSecurity: new KafkaSecurity(
        'SASL_SSL',
        { ca: '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n', checkHostname: false },
        { mechanism: 'SCRAM-SHA-512', username: 'etl', password: 'p"a\\ss' },
      ),
    });
    assert.equal(secure['kafka.security.protocol'], 'SASL_SSL');
    assert.equal(secure['kafka.sasl.mechanism'], 'SCRAM-SHA-512');
    assert.equal(
      secure['kafka.sasl.jaas.config'],
      'org.apache.kafka.common.security.scram.ScramLoginModule required username="etl" password="p\\"a\\\\ss";',
    );
    assert.equal(secure['kafka.ssl.truststore.type'], 'PEM');
    assert.match(secure['kafka.ssl.truststore.certificates'] ?? '', /BEGIN CERTIFICATE/);
    assert.equal(secure['kafka.ssl.endpoint.identification.algorithm'], '');
  });

  it('the lake as Spark names it: webhdfs:// of webhdfsUrl, or sparkHdfsUrl', () => {
    assert.equal(sparkLakeUrl(config, '/gamepipe/x'), 'webhdfs://nn.example:9870/gamepipe/x');
    assert.equal(
      sparkLakeUrl({ ...config, webhdfsUrl: 'https://nn.example:9871' }, '/g'),
      'swebhdfs://nn.example:9871/g',
    );
    assert.equal(
      sparkLakeUrl({ ...config, sparkHdfsUrl: 'hdfs://nn:8020/' }, '/g'),
      'hdfs://nn:8020/g',
    );
  });

  it('a sparkSubmit that does not exist is GP_SPARK_MISSING, from the library and the CLI', async () => {
    assert.throws(
      () => findSpark({ ...config, sparkSubmit: '/nonexistent/spark-submit' }),
      (err: GamepipeError) => err.code === 'GP_SPARK_MISSING',
    );
    const res = await runCli([
      'extract',
      '--date',
      '2026-11-01',
      '--engine',
      'spark',
      '--spark-submit',
      '/nonexistent/spark-submit',
      '--topic',
      'gp-no-such-topic-for-spark',
    ]);
    assert.equal(res.code, 1);
    assert.match(
      res.stderr,
      /^gamepipe: error GP_SPARK_MISSING: sparkSubmit \/nonexistent\/spark-submit does not exist/,
    );
  });

  it("a failed job's log gives its root cause, else its Python error", () => {
    const java =
      'INFO x\norg.apache.spark.SparkException: Job aborted\n\tat a.b\nCaused by: java.io.IOException: disk full\n\tat c.d\n';
    assert.equal(lastError(java), 'java.io.IOException: disk full');
    const python =
      'Traceback (most recent call last):\n  File "x"\nValueError: bad spec\nINFO stop\n';
    assert.equal(lastError(python), 'ValueError: bad spec');
    assert.equal(lastError('INFO all fine\n'), undefined);
  });
});
