"""Coding records into plain dicts: in this process, in pool workers, and in Spark workers.

The engine is loaded once per process (``init_worker`` is the pool initializer) and kept in a
module global; results cross process boundaries as plain dicts, never engine objects.
"""
from __future__ import annotations

import os
import signal
from typing import Any, Iterable, Sequence

from .readers import Record

_ENGINE: Any = None
_KEY: tuple[str | None, str | None] | None = None  # (home, lexicons) the engine was loaded from

LONG_COLUMNS = ("id", "position", "code", "title", "role", "group", "confidence",
                "needs_review", "error")


def load_engine(home: str | None = None, lexicons: str | None = None) -> Any:
    """Load (once per process and data folder) and return the engine."""
    global _ENGINE, _KEY
    if _ENGINE is None or _KEY != (home, lexicons):
        from ..engine import Engine
        _ENGINE = Engine.load(lexicons, home=home)
        _KEY = (home, lexicons)
    return _ENGINE


def set_engine(engine: Any) -> None:
    """Use an engine already loaded in this process (tests, notebooks)."""
    global _ENGINE, _KEY
    _ENGINE, _KEY = engine, None


def current_engine() -> Any:
    if _ENGINE is None:
        raise RuntimeError("no engine loaded in this process")
    return _ENGINE


def init_worker(home: str | None, lexicons: str | None) -> None:
    """Pool initializer: Ctrl-C is the parent's to handle; load the engine once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if home:
        os.environ["NLP_CODER_HOME"] = home
    load_engine(home, lexicons)


def error_result(engine: Any, rid: str, error: str) -> dict[str, Any]:
    """An error row in the ``code --json`` shape: no codes, flagged for review."""
    return {"id": rid, "error": error, "classification": engine.classification_info(),
            "codes": [], "alternatives": [], "questions": [], "warnings": [],
            "needs_review": True, "incomplete": False, "nothing_codable": False,
            "lexicon_version": engine.lex.version, "concepts": [], "not_coded": []}


def code_record(engine: Any, rec: Record, min_confidence: float | None = None,
                concepts: bool = False) -> dict[str, Any]:
    """One record -> the ``code --json`` dict plus ``id`` and ``error``; never raises for a note.
    ``concepts`` (the per-word highlighting list) stays empty unless asked for."""
    if rec.error is not None or rec.text is None:
        return error_result(engine, rec.id, rec.error or "missing text")
    try:
        d = engine.code(rec.text, concepts=concepts).to_dict()
    except Exception as exc:  # noqa: BLE001 - a note that breaks the engine is a row error
        # The exception message may quote the note; only its type is recorded.
        return error_result(engine, rec.id, f"coding failed ({type(exc).__name__})")
    if min_confidence is not None:
        d["codes"] = [c for c in d["codes"] if c["confidence"] >= min_confidence]
    out: dict[str, Any] = {"id": rec.id, "error": None}
    out.update(d)
    return out


def code_chunk(records: Sequence[Record], min_confidence: float | None = None,
               concepts: bool = False) -> list[dict[str, Any]]:
    """Pool task: code a chunk with this process's engine."""
    engine = current_engine()
    return [code_record(engine, r, min_confidence, concepts) for r in records]


def long_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A result dict -> long-format rows, one per code (positions 1..n in submission order).

    A note with no codes (or an error) still gets one row with position 0, so every input note
    appears in the output and "uncoded" is visible.
    """
    rid = result["id"]
    err = result.get("error")
    review = bool(result.get("needs_review"))
    codes = result.get("codes") or []
    if err is not None or not codes:
        return [{"id": rid, "position": 0, "code": None, "title": None, "role": None,
                 "group": None, "confidence": None, "needs_review": review, "error": err}]
    return [{"id": rid, "position": i, "code": c["code"], "title": c["title"], "role": c["role"],
             "group": int(c["group"]), "confidence": float(c["confidence"]),
             "needs_review": bool(c.get("needs_review")) or review, "error": None}
            for i, c in enumerate(codes, start=1)]


def code_texts(ids: Iterable[str], texts: Iterable[Any], min_confidence: float | None = None,
               home: str | None = None, errors: Iterable[Any] | None = None) -> list[dict[str, Any]]:
    """Spark/pandas helper: code (id, text) pairs into long rows with this process's engine;
    ``errors`` gives a reason a row cannot be coded (a malformed input row), or None."""
    from itertools import repeat

    from .readers import _bad_text
    engine = load_engine(home)
    rows: list[dict[str, Any]] = []
    for seq, (rid, text, given) in enumerate(zip(ids, texts, errors if errors is not None else repeat(None)),
                                              start=1):
        if isinstance(text, float) and text != text:  # pandas' NaN is a missing value
            text = None
        if isinstance(given, float) and given != given:
            given = None
        err = given or _bad_text(text, "row")
        rec = Record(seq, "" if rid is None else str(rid), None if err else text, err)
        rows.extend(long_rows(code_record(engine, rec, min_confidence)))
    return rows
