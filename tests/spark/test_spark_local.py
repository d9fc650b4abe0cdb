"""Spark local mode: ``nlp_coder.spark.code_dataframe`` gives exactly the single-process rows."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nlp_coder.batch import Record, code_record, long_rows

pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
pytest.importorskip("pandas", reason="pandas is not installed (pip install -e '.[spark]')")
pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install -e '.[spark]')")


def _java_ok() -> bool:
    java = shutil.which("java") or (os.environ.get("JAVA_HOME") and
                                    str(Path(os.environ["JAVA_HOME"]) / "bin" / "java"))
    if not java:
        return False
    try:
        return subprocess.run([java, "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

if not _java_ok():
    pytest.skip("Java is not available (Spark needs Java 17; .ci/run installs it)", allow_module_level=True)

# Invented notes, including bad rows.
NOTES = [
    ("s1", "Right TKR, cemented."),
    ("s2", "Lap chole under GA"),
    ("s3", "balloon dilatation of aortic valve under fluoroscopy"),
    ("s4", "Percutaneous drainage of liver abscess under image guidance"),
    ("s5", "Left inguinal hernia repair with mesh"),
    ("s6", None),
    ("s7", "   "),
    ("s8", "Diagnostic flexible cystoscopy, no abnormality seen"),
]


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from pyspark.sql import SparkSession
    os.environ["PYSPARK_PYTHON"] = sys.executable  # otherwise workers may start another Python
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = (SparkSession.builder.master("local[2]").appName("nlp-coder-test")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.local.dir", str(tmp_path_factory.mktemp("spark-local")))
               .config("spark.executorEnv.OPENBLAS_NUM_THREADS", "1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _key(row: dict) -> tuple:  # type: ignore[type-arg]
    return (row["id"], row["position"])


def test_spark_equals_single_process(spark, engine, imported_home: Path):  # type: ignore[no-untyped-def]
    from nlp_coder.spark import code_dataframe
    df = spark.createDataFrame(NOTES, "id string, text string").repartition(2)
    got = [r.asDict() for r in code_dataframe(df, home=str(imported_home)).collect()]
    want = []
    for i, (rid, text) in enumerate(NOTES, start=1):
        err = None if text and text.strip() else ("row: missing text" if text is None else "row: empty text")
        want.extend(long_rows(code_record(engine, Record(i, rid, None if err else text, err))))
    assert sorted(got, key=_key) == sorted(want, key=_key)
    assert {r["id"] for r in got} == {rid for rid, _ in NOTES}
    knee = sorted((r for r in got if r["id"] == "s1"), key=_key)
    assert [(r["position"], r["code"], r["role"]) for r in knee][:1] == [(1, "W40.1", "primary")]
    assert [r["error"] for r in got if r["id"] == "s6"] == ["row: missing text"]


def test_spark_min_confidence(spark, engine, imported_home: Path):  # type: ignore[no-untyped-def]
    from nlp_coder.spark import code_dataframe
    df = spark.createDataFrame(NOTES[:3], "id string, text string")
    got = [r.asDict() for r in code_dataframe(df, min_confidence=0.95, home=str(imported_home)).collect()]
    want = []
    for i, (rid, text) in enumerate(NOTES[:3], start=1):
        want.extend(long_rows(code_record(engine, Record(i, rid, text), min_confidence=0.95)))
    assert sorted(got, key=_key) == sorted(want, key=_key)


def test_cli_engine_spark_matches_local_batch(spark, imported_home: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    import csv

    from typer.testing import CliRunner

    from nlp_coder.cli import app
    env = {"NLP_CODER_HOME": str(imported_home)}
    notes = [(rid, text) for rid, text in NOTES if text and text.strip()]
    spark.createDataFrame(notes, "id string, text string").coalesce(1).write.parquet(str(tmp_path / "in.parquet"))
    with open(tmp_path / "in.csv", "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([("id", "text"), *notes])
    runner = CliRunner()
    res = runner.invoke(app, ["batch", str(tmp_path / "in.parquet"), "--engine", "spark",
                              "-o", str(tmp_path / "spark.csv")], env=env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["batch", str(tmp_path / "in.csv"), "-o", str(tmp_path / "local.csv")], env=env)
    assert res.exit_code == 0, res.output
    with open(tmp_path / "spark.csv", encoding="utf-8", newline="") as a, \
            open(tmp_path / "local.csv", encoding="utf-8", newline="") as b:
        got, want = list(csv.reader(a)), list(csv.reader(b))
    assert got[0] == want[0]
    assert sorted(got[1:]) == sorted(want[1:])


def test_cli_spark_csv_input_with_bad_rows_equals_local_batch(spark, imported_home: Path,  # type: ignore[no-untyped-def]
                                                              tmp_path: Path):
    """``batch notes.csv --engine spark`` writes, row by row and field by field, what the
    single-process ``batch notes.csv`` writes for the same CSV, bad rows included.

    The one field allowed to differ is where an error message says the bad row is: the local
    reader knows the line ("line 3: empty text"), Spark's distributed reader does not ("row: ...").
    The reason after that prefix must be the same.
    """
    import csv

    from typer.testing import CliRunner

    from nlp_coder.cli import app
    env = {"NLP_CODER_HOME": str(imported_home)}
    src = tmp_path / "notes.csv"
    # Invented notes: an empty field, a quoted empty field, a blank text, a quoted comma and a
    # line break inside a note.
    src.write_text('id,text\n'
                   'c1,"Right TKR, cemented."\n'
                   'c2,\n'
                   'c3,Lap chole under GA\n'
                   'c4,"   "\n'
                   'c5,"Left inguinal hernia repair\nwith mesh"\n'
                   'c6,""\n'
                   'c7,Diagnostic flexible cystoscopy\n', encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["batch", str(src), "--engine", "spark", "-o", str(tmp_path / "spark.csv")], env=env)
    assert res.exit_code == 1, res.output  # row errors
    res = runner.invoke(app, ["batch", str(src), "-o", str(tmp_path / "local.csv")], env=env)
    assert res.exit_code == 1, res.output
    with open(tmp_path / "spark.csv", encoding="utf-8", newline="") as a, \
            open(tmp_path / "local.csv", encoding="utf-8", newline="") as b:
        got, want = list(csv.reader(a)), list(csv.reader(b))
    assert got[0] == want[0]
    ids = ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    assert [r[0] for r in want[1:] if r[1] in ("0", "1")] == ids
    assert {r[0]: r[8] for r in want[1:] if r[8]} == {
        "c2": "line 3: empty text", "c4": "line 5: empty text", "c6": "line 8: empty text"}
    assert {r[0]: r[8] for r in got[1:] if r[8]} == {
        "c2": "row: empty text", "c4": "row: empty text", "c6": "row: empty text"}

    def reason(row: list[str]) -> list[str]:  # the error without where the row is
        return row[:8] + [row[8].split(": ", 1)[-1]]

    assert [reason(r) for r in got[1:]] == [reason(r) for r in want[1:]]  # every row and field, in order
    assert [r[:8] for r in got[1:]] == [r[:8] for r in want[1:]]
    assert any(r[0] == "c5" and r[1] == "1" and r[2] for r in got)  # the multi-line note was coded


def test_cli_spark_csv_row_with_extra_fields_is_an_error_row(spark, imported_home: Path,  # type: ignore[no-untyped-def]
                                                             tmp_path: Path):
    import csv

    from typer.testing import CliRunner

    from nlp_coder.cli import app
    env = {"NLP_CODER_HOME": str(imported_home)}
    src = tmp_path / "notes.csv"
    src.write_text("id,text\nx1,Lap chole under GA\nx2,Right TKR, cemented\n", encoding="utf-8")  # unquoted comma
    runner = CliRunner()
    res = runner.invoke(app, ["batch", str(src), "--engine", "spark", "-o", str(tmp_path / "spark.csv")], env=env)
    with open(tmp_path / "spark.csv", encoding="utf-8", newline="") as fh:
        errors = {r["id"]: r["error"] for r in csv.DictReader(fh) if r["error"]}
    assert res.exit_code == 1 and errors == {"x2": "row: 3 fields, the header has 2"}
