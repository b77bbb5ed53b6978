"""gamepipe's SQL on Spark: the lake's tables (purchases and join_guild, each with a date column)
over the Parquet files gamepipe selected, then the named queries, their rows written as JSON with
the cells as the embedded engine gives them (decimals as numbers, dates as YYYY-MM-DD, instants as
ISO 8601 UTC, bytes as base64).

Usage: spark-submit sql_job.py SPEC.json RESULT.json
"""

import base64
import datetime
import decimal
import json
import sys

SAFE = 2**53


def cell(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if -SAFE <= v <= SAFE else str(v)
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else str(v)
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, datetime.datetime):
        return (
            f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
            f".{v.microsecond // 1000:03d}Z"
        )
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode("ascii")
    return str(v)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
    from pyspark.errors import PySparkException

    spark = SparkSession.builder.appName("gamepipe sql").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    spark.conf.set("spark.sql.parquet.datetimeRebaseModeInRead", "CORRECTED")
    kinds = {
        "string": T.StringType(),
        "int32": T.IntegerType(),
        "int64": T.LongType(),
        "double": T.DoubleType(),
        "timestamp": T.TimestampType(),
        "binary": T.BinaryType(),
    }
    for name, table in spec["tables"].items():
        schema = T.StructType([T.StructField(c["name"], kinds[c["kind"]], True) for c in table["columns"]])
        by_date = {}
        for f in table["files"]:
            by_date.setdefault(f["date"], []).append(f["url"])
        df = None
        for date, urls in sorted(by_date.items()):
            part = spark.read.schema(schema).parquet(*urls).withColumn("date", F.lit(date).cast("date"))
            df = part if df is None else df.unionByName(part)
        if df is None:
            df = spark.createDataFrame([], schema.add("date", T.DateType(), True))
        df.createOrReplaceTempView(name)

    results = {}
    for name, query in spec["queries"].items():
        try:
            frame = spark.sql(query)
            rows = frame.collect()
        except PySparkException as err:  # the query is the user's: say why, as DuckDB's does
            result = {"ok": False, "query": name, "error": str(err).strip().split("\n")[0]}
            break
        results[name] = {"columns": frame.columns, "rows": [[cell(v) for v in r] for r in rows]}
    else:
        result = {"ok": True, "results": results}
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(result, f)
    spark.stop()


if __name__ == "__main__":
    main()
