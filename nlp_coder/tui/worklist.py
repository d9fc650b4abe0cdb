"""Worklists of notes (CSV, JSONL or a folder of .txt) and the append-only output log.

Plain Python (no Textual). Every accepted result is appended and flushed to disk at once, so a
crash or a closed terminal loses nothing; re-opening the worklist reads the log back to resume.
"""
from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..textio import InputError, decode_note


class WorklistError(ValueError):
    pass


@dataclass(frozen=True)
class WorkItem:
    id: str
    text: str


def load_worklist(path: Path) -> list[WorkItem]:
    """Read notes from a CSV (id,text), a JSONL ({"id","text"}) or a folder of .txt files."""
    if path.is_dir():
        items = []
        for p in sorted(path.glob("*.txt")):
            try:
                items.append(WorkItem(p.stem, decode_note(p.read_bytes(), p.name)))
            except InputError as exc:
                raise WorklistError(str(exc)) from None
        if not items:
            raise WorklistError(f"{path}: no .txt notes in this folder")
        return items
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WorklistError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = raw.decode("utf-8-sig")   # the whole file may be larger than one note's limit
    except UnicodeDecodeError as exc:
        raise WorklistError(f"{path.name}: not valid UTF-8 (offset {exc.start}); re-save it as UTF-8") from None
    items = []
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for n, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise WorklistError(f"{path.name} line {n}: not valid JSON") from None
            if not isinstance(obj, dict) or "text" not in obj:
                raise WorklistError(f"{path.name} line {n}: expected an object with \"id\" and \"text\"")
            items.append(WorkItem(str(obj.get("id", n)), str(obj["text"])))
    else:
        reader = csv.DictReader(io.StringIO(data, newline=""))
        fields = [f.strip().lower() for f in (reader.fieldnames or [])]
        if "text" not in fields:
            raise WorklistError(f"{path.name}: a CSV worklist needs a 'text' column (and 'id')")
        reader.fieldnames = fields
        for n, rec in enumerate(reader, start=1):
            items.append(WorkItem(str(rec.get("id") or n), rec.get("text") or ""))
    if not items:
        raise WorklistError(f"{path.name}: no notes found")
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise WorklistError(f"{path.name}: note ids must be unique")
    return items


def default_output(worklist: Path) -> Path:
    """notes.csv -> notes.coded.jsonl beside it (a folder notes/ -> notes.coded.jsonl)."""
    base = worklist.resolve()
    stem = base.name if base.is_dir() else base.stem
    return base.parent / f"{stem}.coded.jsonl"


class OutputLog:
    """Append-only JSONL of saved notes; the last record for an id wins."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.latest: dict[str, dict[str, Any]] = {}
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError:
                        continue    # a line cut short by a crash: the records before it stand
                    if isinstance(rec, dict) and "id" in rec:
                        self.latest[str(rec["id"])] = rec

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.latest[str(record["id"])] = record

    def is_accepted(self, note_id: str) -> bool:
        return self.latest.get(note_id, {}).get("status") == "accepted"

    def resume_index(self, items: list[WorkItem]) -> int:
        """The first note not yet accepted (the last note when all are)."""
        for i, item in enumerate(items):
            if not self.is_accepted(item.id):
                return i
        return max(len(items) - 1, 0)
