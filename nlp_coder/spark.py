"""Coding on Apache Spark: ``code_dataframe(df)`` returns one row per code via ``mapInPandas``.

pyspark is optional (``pip install 'nlp-coder[spark]'``) and imported only when used. Each Python
worker builds the engine once (a module global in ``nlp_coder.batch.worker``; Spark reuses its
Python workers) and codes whole Arrow batches. Rows are the long format of ``nlp-coder batch``:
id, position, code, title, role, group, confidence, needs_review, error.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from .batch.worker import LONG_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

SCHEMA = ("id string, position int, code string, title string, role string, `group` int, "
          "confidence double, needs_review boolean, error string")


_SPARE_FIELDS = 16  # extra fields a malformed CSV row may have and still be reported exactly


class SparkBatchError(Exception):
    """Spark is missing or the input cannot be read (message never contains note text)."""


def code_dataframe(df: "DataFrame", id_col: str = "id", text_col: str = "text",
                   min_confidence: float | None = None, home: str | None = None,
                   error_col: str | None = None) -> "DataFrame":
    """Code every note of ``df`` (columns ``id_col`` and ``text_col``) into a DataFrame of codes.

    Args:
        df: any Spark DataFrame with an id column and a string text column.
        id_col: the id column (cast to string).
        text_col: the note text column; null or empty text gives an error row.
        min_confidence: leave out codes below this confidence.
        home: the nlp-coder data folder holding the imported classification; defaults to the
            driver's ``$NLP_CODER_HOME`` / user data folder (workers must be able to read it).
        error_col: optional column with a reason a row cannot be coded (it then gives an error
            row with that reason, as a malformed input row does in local batch mode).

    Returns:
        A DataFrame with the ``SCHEMA`` columns: one row per code, in submission order
        (``position`` 1..n), and one row with position 0 for a note with no codes or an error.
    """
    from pyspark.sql import functions as F
    from .paths import data_home

    home_s = str(home or data_home())
    lexicons = os.environ.get("NLP_CODER_LEXICONS")
    notes = df.select(F.col(id_col).cast("string").alias("id"), F.col(text_col).alias("text"),
                      (F.col(error_col) if error_col else F.lit(None).cast("string")).alias("error"))

    def code_batches(batches: Iterator["pd.DataFrame"]) -> Iterator["pd.DataFrame"]:
        import pandas as pd
        from nlp_coder.batch.worker import code_texts, load_engine
        load_engine(home_s, lexicons)  # once per Python worker; later calls return the cached one
        for pdf in batches:
            rows = code_texts(pdf["id"].tolist(), pdf["text"].tolist(), min_confidence, home_s,
                              errors=pdf["error"].tolist())
            out = pd.DataFrame(rows, columns=list(LONG_COLUMNS))
            out["position"] = out["position"].astype("int32")
            out["group"] = out["group"].astype("Int32")
            out["confidence"] = out["confidence"].astype("float64")
            out["needs_review"] = out["needs_review"].astype(bool)
            yield out

    return notes.mapInPandas(code_batches, schema=SCHEMA)


def _session() -> "SparkSession":
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkBatchError("pyspark is not installed: pip install 'nlp-coder[spark]'") from None
    return SparkSession.builder.appName("nlp-coder batch").getOrCreate()


def run_spark_batch(input: str, output: Path, input_format: str | None = None,
                    text_column: str = "text", id_column: str | None = None,
                    min_confidence: float | None = None, limit: int | None = None,
                    overwrite: bool = False, lexicons: str | None = None) -> int:
    """``nlp-coder batch --engine spark``: Parquet/CSV in, Parquet folder or long CSV out.

    Returns the number of notes with an error row.
    """
    if lexicons:
        os.environ["NLP_CODER_LEXICONS"] = lexicons
    fmt = input_format or Path(input).suffix.lower().lstrip(".")
    if fmt not in ("parquet", "csv"):
        raise SparkBatchError("--engine spark reads Parquet or CSV inputs (--input-format parquet|csv)")
    out_kind = output.suffix.lower()
    if out_kind not in (".parquet", ".csv"):
        raise SparkBatchError("--engine spark writes a .parquet folder or a long-format .csv file")
    if output.exists() and not overwrite:
        raise SparkBatchError(f"{output} already exists: pass --overwrite to replace it")
    spark = _session()
    try:
        if fmt == "parquet":
            df = spark.read.parquet(input)
        else:
            reader = spark.read.option("header", True).option("multiLine", True).option("escape", '"')
            header = reader.csv(input).columns
            # Spark's CSV reader drops the fields of a row beyond the header's and codes the rest:
            # read spare columns so such a row becomes an error row, as in local batch mode.
            spare = [f"_nlp_coder_extra_{i}" for i in range(1, _SPARE_FIELDS + 1)]
            from pyspark.sql.types import StringType, StructField, StructType
            schema = StructType([StructField(c, StringType()) for c in [*header, *spare]])
            df = reader.option("enforceSchema", True).schema(schema).csv(input)
    except Exception as exc:  # noqa: BLE001 - Spark's analysis errors
        raise SparkBatchError(f"{input}: cannot read as {fmt} ({type(exc).__name__})") from None
    id_col = id_column or "id"
    for col in (id_col, text_column):
        if col not in df.columns:
            raise SparkBatchError(f"{input}: no column {col!r} (use --id-column/--text-column)")
    error_col = None
    if fmt == "csv":
        # Spark reads an empty CSV field as null, which would give "missing text" where the
        # local batch reader (CSV has no nulls) says "empty text" for the same row.
        from pyspark.sql import functions as F
        df = df.withColumn(text_column, F.coalesce(F.col(text_column), F.lit("")))
        n_fields = F.lit(len(header))
        for c in spare:
            n_fields = n_fields + F.col(c).isNotNull().cast("int")
        error_col = "_nlp_coder_error"
        df = df.withColumn(error_col, F.when(n_fields > len(header), F.concat(
            F.lit("row: "), n_fields.cast("string"), F.lit(f" fields, the header has {len(header)}"))))
    if limit is not None:
        df = df.limit(limit)
    codes = code_dataframe(df, id_col, text_column, min_confidence, error_col=error_col)
    if out_kind == ".parquet":
        codes.write.mode("overwrite").parquet(str(output))
        written = spark.read.parquet(str(output))
        return int(written.where("error IS NOT NULL").select("id").distinct().count())
    tmp = output.with_name(output.name + ".tmp")
    errors = 0
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(LONG_COLUMNS)
        for row in codes.toLocalIterator():
            d: dict[str, Any] = row.asDict()
            errors += d["error"] is not None
            if d["confidence"] is not None:
                d["confidence"] = f"{d['confidence']:.4f}"
            d["needs_review"] = "true" if d["needs_review"] else "false"
            w.writerow(["" if d[c] is None else d[c] for c in LONG_COLUMNS])
    os.replace(tmp, output)
    return errors
