"""Streaming readers: CSV/TSV, JSONL, a folder of .txt files, or stdin, one ``Record`` at a time.

Every reader yields records in a fixed order (file order; sorted names for a folder), so a resumed
run can skip exactly the records an earlier run wrote. A bad row (missing text, wrong type,
undecodable bytes) becomes a record carrying an ``error``; a structurally broken file raises
``MalformedInput`` with the line number. Messages never contain note text.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Iterator

from ..textio import MAX_NOTE_BYTES

FORMATS = ("csv", "tsv", "jsonl", "txt")


class MalformedInput(Exception):
    """The input file cannot be read as the format it claims (message gives the line number)."""


@dataclass(frozen=True)
class Record:
    """One note to code: ``seq`` is its 1-based position in the input."""
    seq: int
    id: str
    text: str | None
    error: str | None = None


class ByteCounter(io.RawIOBase):
    """Wraps a binary stream and counts the bytes read (for progress on files of known size)."""

    def __init__(self, raw: BinaryIO, prefix: bytes = b"") -> None:
        self.raw = raw
        self.prefix = prefix  # bytes already read to sniff the format, served first
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def,override]
        if self.prefix:
            data, self.prefix = self.prefix[:len(b)], self.prefix[len(b):]
        else:
            data = self.raw.read(len(b))
        n = len(data)
        b[:n] = data
        self.count += n
        return n


def detect_format(path: str, fmt: str | None, stdin_peek: bytes = b"") -> str:
    """The input format: explicit, from the extension, or (stdin) from the first byte."""
    if fmt:
        if fmt not in FORMATS:
            raise MalformedInput(f"unknown input format {fmt!r} (choose from {', '.join(FORMATS)})")
        return fmt
    if path == "-":
        return "jsonl" if stdin_peek.lstrip()[:1] == b"{" else "csv"
    p = Path(path)
    if p.is_dir():
        return "txt"
    ext = p.suffix.lower()
    if ext in (".csv",):
        return "csv"
    if ext in (".tsv", ".tab"):
        return "tsv"
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise MalformedInput(f"{p.name}: cannot tell the format from the extension; pass --input-format")


# Undecodable bytes survive reading as lone surrogates (errors="surrogateescape").
_SURROGATE = re.compile("[\udc80-\udcff]")


def _bad_text(value: object, where: str) -> str | None:
    """Why a value cannot be coded as a note, or None if it can."""
    if value is None:
        return f"{where}: missing text"
    if not isinstance(value, str):
        return f"{where}: text is {type(value).__name__}, not a string"
    if _SURROGATE.search(value):
        return f"{where}: not valid UTF-8"
    if "\0" in value:
        return f"{where}: contains NUL bytes (binary data, not a note)"
    if len(value) > MAX_NOTE_BYTES:
        return f"{where}: over the {MAX_NOTE_BYTES // (1024 * 1024)} MB limit for one note"
    if not value.strip():
        return f"{where}: empty text"
    return None


def _clean_id(value: object, seq: int) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return str(seq)
    s = str(value)
    return s.encode("utf-8", "replace").decode("utf-8") if any(
        "\udc80" <= ch <= "\udcff" for ch in s) else s


def read_delimited(stream: BinaryIO, delimiter: str, text_column: str, id_column: str | None,
                   name: str) -> Iterator[Record]:
    csv.field_size_limit(MAX_NOTE_BYTES + 1)
    fh = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(fh, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise MalformedInput(f"{name} line 1: {exc}") from None
    if header is None:
        return
    if text_column not in header:
        raise MalformedInput(f"{name} line 1: no column {text_column!r} in the header "
                             f"(columns: {', '.join(h for h in header[:20])}); use --text-column")
    if id_column is not None and id_column not in header:
        raise MalformedInput(f"{name} line 1: no column {id_column!r} in the header; use --id-column")
    ti = header.index(text_column)
    id_name = id_column or "id"  # by default an "id" column if there is one, else the position
    ii = header.index(id_name) if id_name in header else None
    seq = 0
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MalformedInput(f"{name} line {start}: {exc}") from None
        line = reader.line_num
        if not row:  # a blank line is not a note
            continue
        seq += 1
        rid = _clean_id(row[ii] if ii is not None and ii < len(row) else None, seq)
        where = f"line {start}"
        if len(row) != len(header):
            yield Record(seq, rid, None, f"{where}: {len(row)} fields, the header has {len(header)}")
            continue
        text = row[ti]
        err = _bad_text(text, where)
        yield Record(seq, rid, None if err else text, err)


def read_jsonl(stream: BinaryIO, text_column: str, id_column: str | None, name: str) -> Iterator[Record]:
    seq = 0
    for lineno, raw in enumerate(stream, start=1):
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8", "surrogateescape"))
        except (json.JSONDecodeError, RecursionError) as exc:
            msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise MalformedInput(f"{name} line {lineno}: not valid JSON ({msg})") from None
        if not isinstance(obj, dict):
            raise MalformedInput(f"{name} line {lineno}: a JSON {type(obj).__name__}, not an object")
        seq += 1
        rid = _clean_id(obj.get(id_column or "id"), seq)
        where = f"line {lineno}"
        if text_column not in obj:
            yield Record(seq, rid, None, f"{where}: no {text_column!r} field")
            continue
        text = obj[text_column]
        err = _bad_text(text, where)
        yield Record(seq, rid, None if err else text, err)


def folder_files(folder: Path) -> list[str]:
    """Relative names of the .txt files under a folder, sorted (names only, not contents)."""
    names = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for f in files:
            if f.lower().endswith(".txt"):
                names.append(os.path.relpath(os.path.join(root, f), folder).replace(os.sep, "/"))
    names.sort()
    return names


def read_folder(folder: Path, names: list[str]) -> Iterator[Record]:
    for seq, rel in enumerate(names, start=1):
        try:
            data = (folder / rel).read_bytes()
        except OSError as exc:
            yield Record(seq, rel, None, f"cannot read ({exc.strerror})")
            continue
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        text = data.decode("utf-8", "surrogateescape")
        err = _bad_text(text, "file")
        yield Record(seq, rel, None if err else text, err)


class Source:
    """An opened input: ``records()`` streams notes; ``done``/``total`` measure progress."""

    def __init__(self, path: str, fmt: str | None, text_column: str, id_column: str | None) -> None:
        self.path = path
        self.name = "stdin" if path == "-" else Path(path).name
        self._stream: IO[bytes] | None = None
        self._counter: ByteCounter | None = None
        self._names: list[str] | None = None
        self._yielded = 0
        self.text_column = text_column
        self.id_column = id_column
        if path == "-":
            buf = sys.stdin.buffer
            peek = buf.read(1)
            while peek.isspace():  # skip leading blank lines to see the first real byte
                peek += buf.read(1)
            self.format = detect_format(path, fmt, peek)
            self._stream = io.BufferedReader(ByteCounter(buf, peek))  # type: ignore[arg-type]
            self.total: int | None = None
        else:
            p = Path(path)
            if not p.exists():
                raise MalformedInput(f"{path}: no such file or folder")
            self.format = detect_format(path, fmt)
            if self.format == "txt":
                if not p.is_dir():
                    raise MalformedInput(f"{path}: --input-format txt needs a folder of .txt files")
                self._names = folder_files(p)
                self.total = len(self._names)
            else:
                try:
                    self._counter = ByteCounter(open(p, "rb"))
                except OSError as exc:
                    raise MalformedInput(f"{path}: cannot read ({exc.strerror})") from None
                self._stream = io.BufferedReader(self._counter)  # type: ignore[arg-type]
                self.total = p.stat().st_size
        if self.format == "txt" and self._names is None:
            raise MalformedInput("stdin cannot be a folder of .txt files; use csv, tsv or jsonl")

    def progress(self) -> int:
        """Bytes read so far (files) or notes read (folders, stdin), comparable with ``total``."""
        if self._counter is not None and self.total is not None:
            return self._counter.count
        return self._yielded

    def records(self) -> Iterator[Record]:
        if self.format == "txt":
            assert self._names is not None
            it = read_folder(Path(self.path), self._names)
        elif self.format == "jsonl":
            assert self._stream is not None
            it = read_jsonl(self._stream, self.text_column, self.id_column, self.name)  # type: ignore[arg-type]
        else:
            assert self._stream is not None
            it = read_delimited(self._stream, "," if self.format == "csv" else "\t",  # type: ignore[arg-type]
                                self.text_column, self.id_column, self.name)
        for rec in it:
            self._yielded += 1
            yield rec

    def close(self) -> None:
        if self._counter is not None and self._stream is not None:
            self._stream.close()
