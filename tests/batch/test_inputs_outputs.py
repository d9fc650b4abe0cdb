"""nlp-coder batch end to end: CSV, TSV, JSONL, folder and stdin in; JSONL and long CSV out."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from batch_helpers import NOTES, csv_expected, env, expected, read_jsonl, runner  # noqa: F401 (fixtures)


def _write_csv(path: Path, delimiter: str = ",", id_name: str = "id", text_name: str = "text") -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(["ward", id_name, text_name])
        for rid, text in NOTES.items():
            w.writerow(["theatre 3", rid, text])


def test_csv_to_jsonl_every_field(runner, env, engine, tmp_path: Path):
    src, out = tmp_path / "notes.csv", tmp_path / "coded.jsonl"
    _write_csv(src, id_name="ref", text_name="note")
    res = runner.invoke(app_(), ["batch", str(src), "-o", str(out), "--text-column", "note",
                                 "--id-column", "ref"], env=env)
    assert res.exit_code == 0, res.output
    got = read_jsonl(out)
    assert [g["id"] for g in got] == list(NOTES)
    for g in got:
        assert g == expected(engine, g["id"], NOTES[g["id"]])  # every key, every value
    by_id = {g["id"]: g for g in got}
    assert [c["code"] for c in by_id["n2"]["codes"]][:2] == ["J18.3", "Y75.2"]
    assert by_id["n1"]["codes"][0]["role"] == "primary" and by_id["n1"]["error"] is None
    assert "5 notes read, 5 coded" in res.stderr and "0 errors" in res.stderr
    for text in NOTES.values():  # log lines never contain note text
        assert text not in res.stderr


def test_concepts_only_on_request(runner, env, engine, tmp_path: Path):
    src, out = tmp_path / "notes.csv", tmp_path / "coded.jsonl"
    _write_csv(src)
    res = runner.invoke(app_(), ["batch", str(src), "-o", str(out), "--concepts"], env=env)
    assert res.exit_code == 0, res.output
    got = read_jsonl(out)
    for g in got:
        assert g == expected(engine, g["id"], NOTES[g["id"]], concepts=True)
    assert all(g["concepts"] for g in got)  # every invented note names something
    plain = tmp_path / "plain.jsonl"
    assert runner.invoke(app_(), ["batch", str(src), "-o", str(plain)], env=env).exit_code == 0
    assert all(g["concepts"] == [] for g in read_jsonl(plain))


def test_tsv_to_long_csv_every_field(runner, env, engine, tmp_path: Path):
    src, out = tmp_path / "notes.tsv", tmp_path / "coded.csv"
    _write_csv(src, delimiter="\t")
    res = runner.invoke(app_(), ["batch", str(src), "--output", str(out)], env=env)
    assert res.exit_code == 0, res.output
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["id", "position", "code", "title", "role", "group", "confidence",
                       "needs_review", "error"]
    want = [r for rid, text in NOTES.items() for r in csv_expected(engine, rid, text)]
    assert rows[1:] == want
    knee = [r for r in rows if r[0] == "n1"]
    assert [(r[1], r[2], r[4]) for r in knee] == [("1", "W40.1", "primary"), ("2", "Z94.2", "laterality")]
    assert knee[0][3] == engine.title("W40.1") and knee[0][8] == ""


def test_jsonl_input_limit_and_min_confidence(runner, env, engine, tmp_path: Path):
    src, out = tmp_path / "notes.jsonl", tmp_path / "coded.jsonl"
    src.write_text("".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in NOTES.items()), encoding="utf-8")
    res = runner.invoke(app_(), ["batch", str(src), "-o", str(out), "--limit", "3",
                                 "--min-confidence", "0.95"], env=env)
    assert res.exit_code == 0, res.output
    got = read_jsonl(out)
    assert [g["id"] for g in got] == ["n1", "n2", "n3"]
    for g in got:
        want = expected(engine, g["id"], NOTES[g["id"]])
        want["codes"] = [c for c in want["codes"] if c["confidence"] >= 0.95]
        assert g == want
        assert all(c["confidence"] >= 0.95 for c in g["codes"])


def test_folder_of_txt(runner, env, engine, tmp_path: Path):
    folder, out = tmp_path / "notes", tmp_path / "coded.jsonl"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text(NOTES["n2"], encoding="utf-8")
    (folder / "sub" / "a.txt").write_text(NOTES["n1"], encoding="utf-8")
    (folder / "README.md").write_text("not a note", encoding="utf-8")
    res = runner.invoke(app_(), ["batch", str(folder), "-o", str(out)], env=env)
    assert res.exit_code == 0, res.output
    got = read_jsonl(out)
    assert [g["id"] for g in got] == ["b.txt", "sub/a.txt"]
    assert got[0] == expected(engine, "b.txt", NOTES["n2"])
    assert got[1] == expected(engine, "sub/a.txt", NOTES["n1"])


def test_stdin_jsonl_and_csv(runner, env, engine, tmp_path: Path):
    out = tmp_path / "coded.jsonl"
    lines = "".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in list(NOTES.items())[:2])
    res = runner.invoke(app_(), ["batch", "-", "-o", str(out)], input=lines, env=env)
    assert res.exit_code == 0, res.output
    assert read_jsonl(out) == [expected(engine, k, v) for k, v in list(NOTES.items())[:2]]
    out2 = tmp_path / "coded.csv"
    res = runner.invoke(app_(), ["batch", "-", "-o", str(out2)],
                        input=f'id,text\nx9,"{NOTES["n3"]}"\n', env=env)
    assert res.exit_code == 0, res.output
    with open(out2, encoding="utf-8", newline="") as fh:
        assert list(csv.reader(fh))[1:] == csv_expected(engine, "x9", NOTES["n3"])


def test_pool_equals_single_process(runner, env, tmp_path: Path):
    src = tmp_path / "notes.csv"
    _write_csv(src)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert runner.invoke(app_(), ["batch", str(src), "-o", str(one)], env=env).exit_code == 0
    res = runner.invoke(app_(), ["batch", str(src), "-o", str(two), "--workers", "2", "--chunk-size", "2"], env=env)
    assert res.exit_code == 0, res.output
    assert two.read_bytes() == one.read_bytes()


def app_():  # type: ignore[no-untyped-def]
    from nlp_coder.cli import app
    return app
