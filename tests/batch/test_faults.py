"""Bad rows become error rows (exit 1); malformed files fail with a line number (exit 2);
an interrupted run resumed with --resume holds exactly one result per input id."""
from __future__ import annotations

import csv
import json
import signal
from pathlib import Path

import pytest
from batch_helpers import NOTES, cli, env, expected, read_jsonl, runner  # noqa: F401 (fixtures)
from batch_helpers import many_notes as _many_notes, wait_for_lines as _wait_for_lines

from nlp_coder.cli import app


def test_bad_rows_are_error_rows(runner, env, engine, tmp_path: Path):
    src, out = tmp_path / "notes.jsonl", tmp_path / "coded.jsonl"
    lines = [
        json.dumps({"id": "ok1", "text": NOTES["n1"]}).encode(),
        json.dumps({"id": "missing"}).encode(),
        json.dumps({"id": "number", "text": 42}).encode(),
        json.dumps({"id": "null", "text": None}).encode(),
        b'{"id": "latin1", "text": "Op\xe9ration secret words"}',
        json.dumps({"id": "blank", "text": "   "}).encode(),
        json.dumps({"id": "ok2", "text": NOTES["n2"]}).encode(),
    ]
    src.write_bytes(b"\n".join(lines) + b"\n")
    res = runner.invoke(app, ["batch", str(src), "-o", str(out)], env=env)
    assert res.exit_code == 1, res.output
    got = {g["id"]: g for g in read_jsonl(out)}
    assert list(got) == ["ok1", "missing", "number", "null", "latin1", "blank", "ok2"]
    assert got["ok1"] == expected(engine, "ok1", NOTES["n1"])
    assert got["ok2"] == expected(engine, "ok2", NOTES["n2"])
    assert got["missing"]["error"] == "line 2: no 'text' field"
    assert got["number"]["error"] == "line 3: text is int, not a string"
    assert got["null"]["error"] == "line 4: missing text"
    assert got["latin1"]["error"] == "line 5: not valid UTF-8"
    assert got["blank"]["error"] == "line 6: empty text"
    for rid in ("missing", "number", "null", "latin1", "blank"):
        g = got[rid]
        assert g["codes"] == [] and g["needs_review"] is True
        assert set(g) == set(got["ok1"])  # same shape as a coded note
    assert "2 coded" in res.stderr and "5 errors" in res.stderr
    assert "secret" not in res.output


def test_bad_csv_rows_and_a_note_that_raises(runner, env, engine, tmp_path: Path, monkeypatch):
    from nlp_coder.engine import Engine
    real = Engine.code

    def flaky(self, text, answers=(), concepts=True):  # type: ignore[no-untyped-def]
        if "EXPLODE" in text:
            raise RuntimeError(f"cannot parse {text!r}")  # the message quotes the note
        return real(self, text, answers, concepts)

    monkeypatch.setattr(Engine, "code", flaky)
    src, out = tmp_path / "notes.csv", tmp_path / "coded.csv"
    src.write_bytes(b"id,text\n"
                    b"a,Right TKR cemented\n"
                    b"b,\"EXPLODE private history\"\n"
                    b"c,Lap chole,extra field\n"
                    b"d,\"bad \xff byte\"\n"
                    b"e,Lap chole under GA\n")
    res = runner.invoke(app, ["batch", str(src), "-o", str(out)], env=env)
    assert res.exit_code == 1, res.output
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    errors = {r["id"]: r["error"] for r in rows if r["error"]}
    assert errors == {"b": "coding failed (RuntimeError)",
                      "c": "line 4: 3 fields, the header has 2",
                      "d": "line 5: not valid UTF-8"}
    assert [r["code"] for r in rows if r["id"] == "e"][:2] == ["J18.3", "Y75.2"]
    for r in rows:
        if r["error"]:
            assert r["position"] == "0" and r["code"] == "" and r["needs_review"] == "true"
    assert "private" not in res.output and "private" not in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("name,content,needle", [
    ("bad.csv", b'id,text\na,"Lap chole\nb,Right TKR\n', "bad.csv line 2"),
    ("bad.jsonl", b'{"id": "a", "text": "Lap chole"}\n\n{"id": "b", "text": \n', "bad.jsonl line 3: not valid JSON"),
    ("list.jsonl", b'["a", "Lap chole"]\n', "list.jsonl line 1: a JSON list, not an object"),
    ("cols.csv", b"ref,note\na,Lap chole\n", "cols.csv line 1: no column 'text'"),
])
def test_malformed_file_fails_with_line_number(runner, env, tmp_path: Path, name, content, needle):
    src, out = tmp_path / name, tmp_path / "coded.jsonl"
    src.write_bytes(content)
    res = runner.invoke(app, ["batch", str(src), "-o", str(out)], env=env)
    assert res.exit_code == 2
    assert needle in res.output and "Traceback" not in res.output
    if name == "bad.jsonl":  # the notes before the broken line are kept, whole
        assert [g["id"] for g in read_jsonl(out)] == ["a"]


def test_existing_output_needs_resume_or_overwrite(runner, env, tmp_path: Path):
    src, out = tmp_path / "notes.jsonl", tmp_path / "coded.jsonl"
    src.write_text(json.dumps({"id": "a", "text": NOTES["n2"]}) + "\n", encoding="utf-8")
    out.write_text("precious\n", encoding="utf-8")
    res = runner.invoke(app, ["batch", str(src), "-o", str(out)], env=env)
    assert res.exit_code == 2 and "--resume" in res.output
    assert out.read_text(encoding="utf-8") == "precious\n"
    res = runner.invoke(app, ["batch", str(src), "-o", str(out), "--overwrite"], env=env)
    assert res.exit_code == 0 and read_jsonl(out)[0]["id"] == "a"


@pytest.mark.parametrize("fmt,sig", [("jsonl", signal.SIGKILL), ("csv", signal.SIGTERM),
                                     ("jsonl", signal.SIGINT)])
def test_interrupted_run_resumes_exactly_once(imported_home: Path, tmp_path: Path, fmt, sig):
    src, out, full = tmp_path / "notes.csv", tmp_path / f"coded.{fmt}", tmp_path / f"full.{fmt}"
    ids = _many_notes(src, 200)
    proc = cli(["batch", str(src), "-o", str(out), "--chunk-size", "4", "--progress", "log"], imported_home)
    _wait_for_lines(out, 9, proc)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    if sig != signal.SIGKILL:
        assert proc.returncode == 130
        assert "--resume" in proc.stderr.read()
    data = out.read_bytes()
    assert data.endswith(b"\n")  # whole chunks only
    if fmt == "jsonl":
        done = read_jsonl(out)
        assert 0 < len(done) < len(ids) and [d["id"] for d in done] == ids[:len(done)]
        with open(out, "ab") as fh:  # what a kill in the middle of a write would leave
            fh.write(b'{"id": "p9')
    proc = cli(["batch", str(src), "-o", str(out), "--resume", "--chunk-size", "4", "--progress", "none"],
               imported_home)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    proc = cli(["batch", str(src), "-o", str(full), "--progress", "none"], imported_home)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    if fmt == "jsonl":
        assert [d["id"] for d in read_jsonl(out)] == ids  # every id once, in input order
    else:
        with open(out, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        firsts = [r["id"] for r in rows if r["position"] in ("0", "1")]
        assert firsts == ids
    assert out.read_bytes() == full.read_bytes()  # and exactly what an uninterrupted run writes


def test_resume_refuses_another_input(runner, env, tmp_path: Path):
    src, out = tmp_path / "notes.jsonl", tmp_path / "coded.jsonl"
    src.write_text(json.dumps({"id": "a", "text": NOTES["n2"]}) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["batch", str(src), "-o", str(out)], env=env).exit_code == 0
    src.write_text(json.dumps({"id": "z", "text": NOTES["n2"]}) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["batch", str(src), "-o", str(out), "--resume"], env=env)
    assert res.exit_code == 2 and "cannot resume" in res.output
