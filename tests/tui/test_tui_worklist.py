"""Worklists: step through notes, save each accepted result at once, quit and resume."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nlp_coder.tui.worklist import OutputLog, WorklistError, default_output, load_worklist
from tui_helpers import make_app  # noqa: F401  (fixture)
from tui_helpers import drive, settle, type_text

NOTES = [
    ("n1", "balloon dilatation of aortic valve under fluoroscopy"),
    ("n2", "Knee replacement, cemented."),
    ("n3", "Lap chole under GA."),
]


def write_csv(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        w.writerows(NOTES)
    return path


def test_worklist_formats(tmp_path: Path) -> None:
    csv_path = write_csv(tmp_path / "notes.csv")
    jsonl = tmp_path / "notes.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in NOTES))
    folder = tmp_path / "notes"
    folder.mkdir()
    for i, t in NOTES:
        (folder / f"{i}.txt").write_text(t)
    for src in (csv_path, jsonl, folder):
        assert [(w.id, w.text) for w in load_worklist(src)] == NOTES
    assert default_output(csv_path) == tmp_path / "notes.coded.jsonl"
    assert default_output(folder) == tmp_path / "notes.coded.jsonl"
    bad = tmp_path / "bad.csv"
    bad.write_text("id,note\n1,x\n")
    with pytest.raises(WorklistError, match="'text' column"):
        load_worklist(bad)


def test_worklist_quit_and_resume_loses_nothing(make_app: Any, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "notes.csv")
    out = tmp_path / "notes.coded.jsonl"
    seen: dict[str, Any] = {}

    async def first(pilot: Any) -> None:
        s = pilot.app.screen
        await settle(pilot)
        seen["start"] = (s.index, s.session.note_id, s.session.final_codes())
        await pilot.press("f5")                       # accept n1: saved, on to n2
        await settle(pilot)
        seen["after_accept"] = (s.index, s.session.note_id)
        seen["lines_after_accept"] = out.read_text().splitlines()
        s.query_one("#chat-input").focus()
        await type_text(pilot, "left")                # answer n2's laterality question
        await pilot.press("enter")
        await settle(pilot)
        seen["n2_codes"] = s.session.final_codes()
        seen["status"] = str(s.query_one("#status").render())
        await pilot.press("ctrl+q")                   # quit mid-note

    drive(make_app(file=src), first)
    assert seen["start"][:2] == (0, "n1") and seen["start"][2][:2] == ["K35.2", "Y53.4"]
    assert seen["after_accept"] == (1, "n2")
    rec1 = json.loads(seen["lines_after_accept"][0])
    assert (rec1["id"], rec1["status"], rec1["codes"], rec1["codes_nodots"]) == \
        ("n1", "accepted", ["K35.2", "Y53.4"], ["K352", "Y534"])
    assert seen["n2_codes"] == ["W40.1", "Z94.3"]
    assert "note 2/3 (n2)" in seen["status"] and "1/3 coded" in seen["status"]
    log = OutputLog(out)
    assert log.latest["n2"]["status"] == "draft" and log.latest["n2"]["answers"] == ["left"]

    async def second(pilot: Any) -> None:
        s = pilot.app.screen
        await settle(pilot)
        seen["resumed"] = (s.index, s.session.note_id, s.session.answers, s.session.final_codes())
        await pilot.press("f5")                       # accept n2 -> n3
        await settle(pilot)
        await pilot.press("f5")                       # accept n3 (the last note)
        await settle(pilot)
        seen["end"] = (s.index, str(s.query_one("#status").render()))
        await pilot.press("f6")                       # back to n2: its decisions are there
        await settle(pilot)
        seen["back"] = (s.session.note_id, s.session.final_codes(), s.session.status)

    drive(make_app(file=src), second)
    assert seen["resumed"] == (1, "n2", ["left"], ["W40.1", "Z94.3"])
    assert seen["end"][0] == 2 and "3/3 coded" in seen["end"][1]
    assert seen["back"] == ("n2", ["W40.1", "Z94.3"], "accepted")
    final = OutputLog(out).latest
    assert [final[i]["status"] for i in ("n1", "n2", "n3")] == ["accepted"] * 3
    assert final["n3"]["codes"][0] == "J18.3"


def test_next_needing_review_and_worklist_export(make_app: Any, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "notes.csv")
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        s = pilot.app.screen
        await settle(pilot)
        await pilot.press("f5")                       # n1 accepted
        await settle(pilot)
        await pilot.press("f7")                       # n3
        await settle(pilot)
        await pilot.press("f8")                       # next not accepted: wraps to n2
        await settle(pilot)
        seen["review"] = s.session.note_id
        await pilot.press("f3")
        await pilot.pause()
        seen["export"] = s.last_export

    drive(make_app(file=src), script)
    assert seen["review"] == "n2"
    path, clip = seen["export"]
    assert path == tmp_path / "notes.coded.csv"
    assert path.read_text(encoding="utf-8") == (
        "id,position,code,code_nodots,title\n"
        "n1,1,K35.2,K352,Percutaneous transluminal aortic valvuloplasty\n"
        "n1,2,Y53.4,Y534,Approach to organ under fluoroscopic control\n"
        "n2,1,W40.1,W401,Primary total prosthetic replacement of knee joint using cement\n")
    assert clip == "W40.1\nW401\n"


def test_core_does_not_import_textual() -> None:
    code = ("import nlp_coder, nlp_coder.engine, nlp_coder.cli, nlp_coder.tui.session, "
            "nlp_coder.tui.worklist, nlp_coder.tui.export; import sys; "
            "assert 'textual' not in sys.modules, 'textual imported by the core'")
    subprocess.run([sys.executable, "-c", code], check=True)
