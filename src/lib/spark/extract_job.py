"""gamepipe's extract on Spark: one UTC date of the events topic, read from the exact offset ranges
gamepipe found, checked with the rules of schema.json (the same file the TypeScript validator
reads), each event_id kept once (the first in partition, offset order), written as Parquet with
the lake's columns and types into the run's staging directory, one directory per range part.
gamepipe publishes what this job stages, as it does for its own engine.

Usage: spark-submit extract_job.py SPEC.json RESULT.json
"""

import bisect
import json
import sys

from event_rules import Rules


def job_spec(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# the row every record becomes before it is split by output: the union of the outputs' columns
UNIFIED = [
    ("out", "string"),
    ("part", "int32"),
    ("event_id", "string"),
    ("event_type", "string"),
    ("ts_ms", "int64"),
    ("Host", "string"),
    ("User-Agent", "string"),
    ("Accept", "string"),
    ("item", "string"),
    ("price", "double"),
    ("currency", "string"),
    ("quantity", "int32"),
    ("user_id", "string"),
    ("guild_id", "string"),
    ("guild_name", "string"),
    ("kafka_partition", "int32"),
    ("kafka_offset", "int64"),
    ("kafka_ts_ms", "int64"),
    ("key", "string"),
    ("reason", "string"),
    ("raw", "string"),
    ("raw_bytes", "binary"),
]


def part_finder(parts):
    """(partition, offset) -> the index of the range part that holds it."""
    starts = {}
    for i, p in enumerate(parts):
        starts.setdefault(p["partition"], []).append((p["startOffset"], i))
    for v in starts.values():
        v.sort()
    keys = {k: [s for s, _ in v] for k, v in starts.items()}

    def find(partition, offset):
        k = bisect.bisect_right(keys[partition], offset) - 1
        return starts[partition][k][1]

    return find


def validate_batches(schema, parts):
    """The mapInArrow function: Kafka rows in, unified rows out."""

    def run(batches):
        import pyarrow as pa

        rules = Rules(schema)
        find = part_finder(parts)
        arrow_types = {
            "string": pa.string(),
            "int32": pa.int32(),
            "int64": pa.int64(),
            "double": pa.float64(),
            "binary": pa.binary(),
        }
        for batch in batches:
            cols = {name: [] for name, _ in UNIFIED}
            keys = batch.column("key").to_pylist()
            values = batch.column("value").to_pylist()
            partitions = batch.column("partition").to_pylist()
            offsets = batch.column("offset").to_pylist()
            stamps = batch.column("ts").to_pylist()
            for i in range(batch.num_rows):
                row = rules.row(keys[i], values[i])
                row["part"] = find(partitions[i], offsets[i])
                row["kafka_partition"] = partitions[i]
                row["kafka_offset"] = offsets[i]
                row["kafka_ts_ms"] = stamps[i]
                for name, _ in UNIFIED:
                    cols[name].append(row.get(name))
            yield pa.RecordBatch.from_arrays(
                [pa.array(cols[n], type=arrow_types[t]) for n, t in UNIFIED],
                names=[n for n, _ in UNIFIED],
            )

    return run


def log(started, what):
    # in the job's log ($GAMEPIPE_HOME/logs/spark-*.log): where a slow run spent its time
    import time

    print(f"gamepipe: {what} after {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)


def main():
    import time

    started = time.monotonic()
    spec = job_spec(sys.argv[1])
    result_path = sys.argv[2]
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
    from pyspark import StorageLevel

    spark = SparkSession.builder.appName(f"gamepipe extract {spec['topic']} {spec['date']}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # the lake's timestamps are INT64 milliseconds, UTC (Spark's default is INT96)
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MILLIS")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # dates before 1582 as they are (proleptic Gregorian), as every other reader of the lake reads them
    spark.conf.set("spark.sql.parquet.datetimeRebaseModeInWrite", "CORRECTED")
    with open(spec["schemaFile"], encoding="utf-8") as f:
        schema = json.load(f)

    topic = spec["topic"]
    ranges = spec["ranges"]
    starting = json.dumps({topic: {str(r["partition"]): r["startOffset"] for r in ranges}})
    ending = json.dumps({topic: {str(r["partition"]): r["endOffset"] for r in ranges}})
    reader = (
        spark.read.format("kafka")
        .option("subscribe", topic)
        .option("startingOffsets", starting)
        .option("endingOffsets", ending)
        # a range that retention deleted must fail the job, not land a short day
        .option("failOnDataLoss", "true")
    )
    for k, v in spec["kafkaOptions"].items():
        reader = reader.option(k, v)
    kafka = reader.load().select(
        "key", "value", "partition", "offset", F.expr("unix_millis(timestamp)").alias("ts")
    )

    spark_types = {
        "string": T.StringType(),
        "int32": T.IntegerType(),
        "int64": T.LongType(),
        "double": T.DoubleType(),
        "binary": T.BinaryType(),
    }
    unified = T.StructType([T.StructField(n, spark_types[t], True) for n, t in UNIFIED])
    # Spread the records over the executors before the Python check: it evens out the work, and
    # the Kafka consumer then runs in Spark's own task thread, not in the thread that feeds
    # Python (where it warns once a record that it may hang if interrupted, KAFKA-1894).
    spread = max(spark.sparkContext.defaultParallelism, len(ranges))
    rows = kafka.repartition(spread).mapInArrow(validate_batches(schema, spec["parts"]), unified)
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)

    # the first copy of each event_id in (partition, offset) order, as the embedded engine keeps
    events = rows.filter(F.col("out") != "_rejected")
    first = Window.partitionBy("event_id").orderBy("kafka_partition", "kafka_offset")
    kept = (
        events.withColumn("_n", F.row_number().over(first)).filter(F.col("_n") == 1).drop("_n")
    )
    # kept once: the three writes and the counts read it, not the window's shuffle again
    kept = kept.unionByName(rows.filter(F.col("out") == "_rejected")).persist(
        StorageLevel.MEMORY_AND_DISK
    )

    defaults = {"string": "''", "int32": "0", "int64": "0L", "double": "0D", "timestamp": "0L", "binary": "X''"}
    log(started, "Spark started")
    for output, columns in spec["outputs"].items():
        cols = []
        for c in columns:
            name, kind, required = c["name"], c["kind"], c.get("required", False)
            src = {"timestamp": "ts_ms", "kafka_timestamp": "kafka_ts_ms"}.get(name, name)
            if name == "schema_version":
                cols.append(F.lit(schema["schema_version"]).cast("int").alias(name))
                continue
            col = f"`{src}`"
            if required:
                # never null here (checked above); coalesce marks the column REQUIRED, as ours are
                col = f"coalesce({col}, {defaults[kind]})"
            if kind == "timestamp":
                col = f"timestamp_millis({col})"
            cols.append(F.expr(col).alias(name))
        (
            kept.filter(F.col("out") == output)
            .select(*cols, "part")
            .repartition("part")
            .sortWithinPartitions("part", "kafka_partition", "kafka_offset")
            .write.mode("errorifexists")
            .partitionBy("part")
            .parquet(f"{spec['stagingUrl']}/_spark/{output}")
        )
        log(started, f"{output} written")

    counts = {}
    for r in kept.groupBy("out", "part").count().collect():
        counts.setdefault(r["out"], {})[str(r["part"])] = r["count"]
    records = rows.count()
    valid = records - sum(counts.get("_rejected", {}).values())
    rejected = records - valid
    duplicates = valid - sum(n for o, byPart in counts.items() if o != "_rejected" for n in byPart.values())
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(
            {"records": records, "rejected": rejected, "duplicates": duplicates, "rows": counts},
            f,
        )
    spark.stop()


if __name__ == "__main__":
    main()
