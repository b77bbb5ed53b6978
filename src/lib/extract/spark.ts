/**
 * A day's ranges staged by Spark instead of the worker threads: gamepipe keeps the offsets, the
 * lease and the publishing; the job (src/lib/spark/extract_job.py) reads exactly the ranges,
 * checks each record with the rules of schema.json, keeps each event id once and writes one
 * Parquet file per output and range part. The files are then given the embedded engine's names.
 */
import type { KafkaAccess } from '../core/config.js';
import { ErrorCodes, GamepipeError } from '../core/errors.js';
import type { WebHdfs } from '../hdfs/webhdfs.js';
import { OUTPUTS, rangeFileName, type Output, type PartitionRange } from '../lake/layout.js';
import { OUTPUT_COLUMNS } from '../lake/rows.js';
import {
  runSparkJob,
  SCHEMA_FILE,
  sparkKafkaOptions,
  sparkLakeUrl,
  type SparkConfig,
} from '../spark/submit.js';
import { splitRanges, type ExtractResult } from './run.js';

/** What the job reports: counts, and the rows of each output per range part. */
interface SparkExtractResult {
  records: number;
  rejected: number;
  duplicates: number;
  rows: Partial<Record<Output, Record<string, number>>>;
}

export interface SparkStageOptions {
  topic: string;
  date: string;
  ranges: PartitionRange[];
  staging: string;
  runId: string;
  result: ExtractResult;
  /** Tests: called with spark-submit's pid. */
  onSparkStart?: (pid: number) => void;
}

/** Runs the Spark job over the day's ranges and leaves its files in staging as ours would be. */
export async function stageWithSpark(
  config: KafkaAccess & SparkConfig,
  hdfs: WebHdfs,
  { topic, date, ranges, staging, runId, result, onSparkStart }: SparkStageOptions,
): Promise<void> {
  const parts = splitRanges(ranges);
  if (parts.length === 0) return;
  const job = await runSparkJob<SparkExtractResult>(config, {
    script: 'extract_job.py',
    name: `extract-${date}-${runId}`,
    kafka: true,
    onStart: onSparkStart,
    spec: {
      topic,
      date,
      ranges,
      parts,
      schemaFile: SCHEMA_FILE,
      kafkaOptions: sparkKafkaOptions(config),
      stagingUrl: sparkLakeUrl(config, staging),
      outputs: OUTPUT_COLUMNS,
    },
  });
  result.records = job.records;
  result.rejected = job.rejected;
  result.duplicates = job.duplicates;
  for (const o of OUTPUTS) {
    const byPart = job.rows[o] ?? {};
    const indexes = Object.keys(byPart)
      .map(Number)
      .sort((a, b) => a - b);
    for (const k of indexes) {
      const dir = `${staging}/_spark/${o}/part=${k}`;
      const files = (await hdfs.listStatus(dir)).filter(
        (f) => f.type === 'FILE' && f.pathSuffix.endsWith('.parquet'),
      );
      if (files.length !== 1) {
        throw new GamepipeError(
          ErrorCodes.sparkFailed,
          `the Spark job left ${files.length} files in ${dir}, expected one`,
          { hint: 'rerun; nothing was published', context: { path: dir } },
        );
      }
      const file = files[0] as (typeof files)[number];
      const name = rangeFileName(parts[k] as PartitionRange);
      await hdfs.rename(`${dir}/${file.pathSuffix}`, `${staging}/${o}/${name}`);
      const rows = byPart[String(k)] as number;
      result.outputs[o].files.push({ name, rows, bytes: file.length });
      result.outputs[o].rows += rows;
      result.outputs[o].bytes += file.length;
    }
  }
  await hdfs.delete(`${staging}/_spark`, { recursive: true });
}
