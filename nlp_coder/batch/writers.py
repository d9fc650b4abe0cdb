"""Chunked, append-only writers for JSONL and long CSV, and the scan that lets a run resume.

Each chunk is encoded in full and appended with one ``os.write`` loop then ``fsync``, so an
interrupted run leaves whole chunks. ``--resume`` scans the existing output, trims anything a
hard kill cut short (a partial last line; for CSV also the last note, whose rows may be split),
and reports how many input notes it already holds; the runner skips exactly those.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from .readers import MalformedInput
from .worker import LONG_COLUMNS, long_rows

OUTPUT_FORMATS = ("jsonl", "csv")


def output_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in OUTPUT_FORMATS:
            raise MalformedInput(f"unknown output format {fmt!r} (choose jsonl or csv)")
        return fmt
    ext = path.suffix.lower()
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if ext == ".csv":
        return "csv"
    raise MalformedInput(f"{path.name}: cannot tell the output format from the extension; "
                         "use .jsonl or .csv, or pass --output-format")


def csv_id(rid: str) -> str:
    """Ids as written to CSV: one physical line per row, so line breaks become spaces."""
    return rid.replace("\r", " ").replace("\n", " ")


class Writer:
    """Appends chunks of result dicts to ``path``; ``done`` notes were there before (resume)."""

    fmt = ""

    def __init__(self, path: Path, resume: bool, overwrite: bool) -> None:
        self.path = path
        self.done = 0
        self.last_id: str | None = None
        exists = path.exists() and path.stat().st_size > 0
        if exists and not (resume or overwrite):
            raise MalformedInput(f"{path} already exists: pass --resume to continue it or "
                                 "--overwrite to replace it")
        if exists and resume:
            keep = self._scan()
            with open(path, "r+b") as fh:
                fh.truncate(keep)
            flags = os.O_WRONLY | os.O_APPEND
        else:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            self._fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise MalformedInput(f"{path}: cannot write ({exc.strerror})") from None
        if os.fstat(self._fd).st_size == 0:
            self._append(self._header())

    def _header(self) -> bytes:
        return b""

    def _scan(self) -> int:
        """Count whole notes in the existing output; return the byte length to keep."""
        raise NotImplementedError

    def _encode(self, results: list[dict[str, Any]]) -> bytes:
        raise NotImplementedError

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)

    def write(self, results: list[dict[str, Any]]) -> None:
        if results:
            self._append(self._encode(results))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class JsonlWriter(Writer):
    """One result object per line: the ``code --json`` shape plus ``id`` and ``error``."""

    fmt = "jsonl"

    def _encode(self, results: list[dict[str, Any]]) -> bytes:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results).encode("utf-8")

    def _scan(self) -> int:
        keep = 0
        with open(self.path, "rb") as fh:
            for lineno, line in enumerate(fh, start=1):
                if not line.endswith(b"\n"):
                    break  # cut short by a hard kill: trimmed and re-coded
                try:
                    obj = json.loads(line)
                    rid = obj["id"]
                except (ValueError, KeyError, TypeError):
                    if fh.read(1):
                        raise MalformedInput(f"{self.path} line {lineno}: not a result written by "
                                             "nlp-coder batch; cannot resume") from None
                    break
                keep += len(line)
                self.done += 1
                self.last_id = rid
        return keep


class CsvWriter(Writer):
    """Long format: one row per code; a note without codes (or an error) has one row, position 0."""

    fmt = "csv"

    def _header(self) -> bytes:
        return (",".join(LONG_COLUMNS) + "\n").encode("utf-8")

    def _encode(self, results: list[dict[str, Any]]) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for r in results:
            for row in long_rows(r):
                row["id"] = csv_id(row["id"])
                if row["confidence"] is not None:
                    row["confidence"] = f"{row['confidence']:.4f}"
                row["needs_review"] = "true" if row["needs_review"] else "false"
                w.writerow(["" if row[c] is None else row[c] for c in LONG_COLUMNS])
        return buf.getvalue().encode("utf-8")

    def _scan(self) -> int:
        offset = 0
        record_start = None  # byte offset where the last note's rows begin
        header = (",".join(LONG_COLUMNS) + "\n").encode("utf-8")
        with open(self.path, "rb") as fh:
            first = fh.readline()
            if first != header:
                raise MalformedInput(f"{self.path} line 1: not a long-format CSV written by "
                                     "nlp-coder batch; cannot resume")
            offset = len(first)
            ids: list[str] = []
            for lineno, line in enumerate(fh, start=2):
                if not line.endswith(b"\n"):
                    break
                try:
                    row = next(csv.reader([line.decode("utf-8")]))
                    pos = int(row[1])
                except (ValueError, StopIteration, IndexError, UnicodeDecodeError):
                    raise MalformedInput(f"{self.path} line {lineno}: not a row written by "
                                         "nlp-coder batch; cannot resume") from None
                if pos <= 1:
                    record_start = offset
                    self.done += 1
                    ids = ids[-1:] + [row[0]]
                offset += len(line)
        if record_start is None:
            return len(header)
        # The last note's rows may have been cut by a hard kill on a line boundary: re-code it.
        self.done -= 1
        self.last_id = ids[0] if len(ids) == 2 else None
        return record_start


def open_writer(path: Path, fmt: str | None, resume: bool, overwrite: bool) -> Writer:
    kind = output_format(path, fmt)
    return (JsonlWriter if kind == "jsonl" else CsvWriter)(path, resume, overwrite)
