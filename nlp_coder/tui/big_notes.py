"""Coding very long notes in a helper process, so the UI thread keeps the GIL.

spaCy holds the GIL for long stretches on a multi-megabyte note; in a thread that starves the
event loop for seconds. A one-process pool with its own engine (loaded the way the app loads
its own) keeps typing and navigation responsive. Plain Python: no Textual here.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any, Sequence

BIG_NOTE = 200_000      # characters: above this, code in the helper process
_engine: Any = None


def _init() -> None:
    global _engine
    from ..engine import Engine
    _engine = Engine.load()


def _code(text: str, answers: Sequence[str]) -> Any:
    return _engine.code(text, answers=answers)


class BigNoteCoder:
    """Lazily started; shut down with the app."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def code(self, text: str, answers: Sequence[str]) -> Any:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, initializer=_init)
        return self._pool.submit(_code, text, list(answers)).result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
