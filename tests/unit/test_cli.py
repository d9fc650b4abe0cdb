"""The command line: code (text, stdin, file, JSON), opcs import/show/search, eval, errors."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp_coder.cli import app

runner = CliRunner()


@pytest.fixture()
def env(imported_home: Path) -> dict[str, str]:
    return {"NLP_CODER_HOME": str(imported_home)}


def test_code_json_shape(env):
    res = runner.invoke(app, ["code", "--json", "balloon dilatation of aortic valve under fluoroscopy"], env=env)
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["classification"] == {"name": "OPCS-4", "version": "4.11"}
    assert [c["code"] for c in d["codes"]][:2] == ["K35.2", "Y53.4"]
    assert d["codes"][0]["role"] == "primary" and d["codes"][1]["role"] == "method"
    assert {"alternatives", "questions", "warnings", "needs_review"} <= set(d)


def test_code_table_stdin_and_file(env, tmp_path: Path):
    res = runner.invoke(app, ["code", "-"], input="Lap chole under GA\n", env=env)
    assert res.exit_code == 0 and "J18.3" in res.stdout and "Y75.2" in res.stdout
    f = tmp_path / "note.txt"
    f.write_text("Right TKR, cemented", encoding="utf-8")
    res = runner.invoke(app, ["code", "--json", "--file", str(f)], env=env)
    codes = [c["code"] for c in json.loads(res.stdout)["codes"]]
    assert codes == ["W40.1", "Z94.2"]


def test_code_answer_refines(env):
    note = "Percutaneous drainage of liver abscess under image guidance"
    first = json.loads(runner.invoke(app, ["code", "--json", note], env=env).stdout)
    assert "Y53.9" in [c["code"] for c in first["codes"]]
    assert any(q["facet"] == "modality" for q in first["questions"])
    second = json.loads(runner.invoke(app, ["code", "--json", note, "--answer", "ultrasound"], env=env).stdout)
    codes = [c["code"] for c in second["codes"]]
    assert "Y53.2" in codes and "Y53.9" not in codes


@pytest.mark.parametrize("content,needle", [
    (b"\x00\x01\x02\x03", "binary"),
    ("Op\u00e9ration".encode("latin-1"), "not valid UTF-8"),
])
def test_code_bad_files(env, tmp_path: Path, content: bytes, needle: str):
    f = tmp_path / "note.txt"
    f.write_bytes(content)
    res = runner.invoke(app, ["code", "--file", str(f)], env=env)
    assert res.exit_code == 2
    assert needle in res.output and "Traceback" not in res.output


def test_code_needs_exactly_one_source(env):
    res = runner.invoke(app, ["code"], env=env)
    assert res.exit_code == 2 and "exactly one" in res.output
    res = runner.invoke(app, ["code", "--file", "/nonexistent/note.txt"], env=env)
    assert res.exit_code == 2 and "cannot read" in res.output


def test_opcs_import_show_search(tmp_path: Path, release_xml: Path):
    env = {"NLP_CODER_HOME": str(tmp_path / "home")}
    res = runner.invoke(app, ["opcs", "show", "K35.5"], env=env)
    assert res.exit_code == 2 and "no classification imported" in res.output
    res = runner.invoke(app, ["opcs", "import", str(release_xml)], env=env)
    assert res.exit_code == 0, res.output
    assert "OPCS-4.11" in res.stdout and "10411 active" in res.stdout
    res = runner.invoke(app, ["opcs", "show", "K355"], env=env)
    assert "Percutaneous transluminal valvuloplasty NEC" in res.stdout
    res = runner.invoke(app, ["opcs", "show", "Y76.3"], env=env)
    assert "RETIRED" in res.stdout
    res = runner.invoke(app, ["opcs", "search", "--json", "aortic valvuloplasty"], env=env)
    assert json.loads(res.stdout)[0]["code"] == "K35.2"


def test_opcs_import_hostile_file_leaves_no_index(tmp_path: Path):
    home = tmp_path / "home"
    bad = tmp_path / "OPCS411.xml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY b "c">]><dsv><code CODE="A01.1" TITLE="&b;"/></dsv>')
    res = runner.invoke(app, ["opcs", "import", str(bad)], env={"NLP_CODER_HOME": str(home)})
    assert res.exit_code == 2 and "DTD or entities" in res.output and "Traceback" not in res.output
    assert not home.exists() or not any(home.iterdir())


def test_bundled_default_without_import(tmp_path: Path):
    res = runner.invoke(app, ["code", "--json", "total knee replacement"], env={"NLP_CODER_HOME": str(tmp_path)})
    d = json.loads(res.stdout)
    assert d["codes"][0]["code"].startswith("W4")
    assert any("import" in w for w in d["warnings"])


def test_eval_runs(env, tmp_path: Path):
    from testsupport import DEV_CASES
    if not DEV_CASES.is_file():
        pytest.skip(f"dev cases not found at {DEV_CASES}")
    misses = tmp_path / "misses.tsv"
    res = runner.invoke(app, ["eval", str(DEV_CASES), "--json", "--misses", str(misses)], env=env)
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["cases"] == 33
    for mode in ("strict", "drift"):
        for k in ("primary_exact", "primary_category", "precision", "recall", "f1"):
            assert 0.0 <= d[mode][k] <= 1.0
    assert d["drift"]["primary_category"] >= d["strict"]["primary_category"]
    assert 0.0 <= d["ece"] <= 1.0 and 0.0 <= d["coverage"] <= 1.0
    text = misses.read_text(encoding="utf-8")
    assert text.startswith("id\t") and "IPG" in text
