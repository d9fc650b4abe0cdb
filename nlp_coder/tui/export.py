"""Export formats: clipboard text and the long-format CSV (plain Python, no Textual)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable

CSV_FIELDS = ["id", "position", "code", "code_nodots", "title"]


def clipboard_text(codes: list[str]) -> str:
    """The codes in submission order, with dots on the first line and without on the second."""
    return " ".join(codes) + "\n" + " ".join(c.replace(".", "") for c in codes) + "\n"


def csv_text(records: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for rec in records:
        titles = {r["code"]: r.get("title", "") for r in rec.get("rows", [])}
        for i, code in enumerate(rec.get("codes", []), start=1):
            w.writerow([rec["id"], i, code, code.replace(".", ""), titles.get(code, "")])
    return buf.getvalue()


def write_csv(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(csv_text(records), encoding="utf-8")
    tmp.replace(path)
    return path
