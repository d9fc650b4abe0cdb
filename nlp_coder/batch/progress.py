"""Progress on stderr: a rich bar (notes/s, ETA) on a terminal, periodic plain lines otherwise.

Lines carry counts and rates only, never note text or ids.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO


@dataclass
class Counts:
    read: int = 0           # notes read this run (not counting those a resume skipped)
    coded: int = 0          # coded without error
    needs_review: int = 0   # coded notes flagged for review
    incomplete: int = 0     # coded notes missing a detail the codes need (the side)
    nothing_codable: int = 0
    errors: int = 0         # error rows written
    skipped: int = 0        # already in the output (resume)
    started: float = field(default_factory=time.perf_counter)
    first_at: float | None = None  # when the first chunk was written (engines loaded by then)
    first_n: int = 0               # notes in that first chunk
    ended: float | None = None     # set when the run ends; rates are frozen from then on

    def _now(self) -> float:
        return self.ended if self.ended is not None else time.perf_counter()

    @property
    def written(self) -> int:
        return self.coded + self.errors

    @property
    def elapsed(self) -> float:
        return self._now() - self.started

    @property
    def steady_rate(self) -> float:
        """Notes/s after the first chunk: throughput without engine loading and warm-up."""
        if self.first_at is None:
            return 0.0
        span = self._now() - self.first_at
        return (self.written - self.first_n) / span if span > 0 else 0.0

    @property
    def rate(self) -> float:
        return self.written / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"read": self.read, "coded": self.coded, "needs_review": self.needs_review,
                "incomplete": self.incomplete,
                "nothing_codable": self.nothing_codable, "errors": self.errors,
                "skipped": self.skipped, "elapsed_s": round(self.elapsed, 2),
                "notes_per_s": round(self.rate, 1)}


class Progress:
    """``mode``: auto (bar on a TTY, lines otherwise), bar, log or none."""

    def __init__(self, counts: Counts, where: Callable[[], tuple[int, int | None]], mode: str = "auto",
                 every: float = 10.0, stream: TextIO | None = None) -> None:
        self.counts = counts
        self.where = where  # (progress so far, total or None) in the input's units
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "log"
        self.mode = mode
        self.every = every
        self._last = time.perf_counter()
        self._bar = None
        self._task = None

    def __enter__(self) -> "Progress":
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import (BarColumn, Progress as Bar, TaskProgressColumn, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self._bar = Bar(TextColumn("coding"), BarColumn(), TaskProgressColumn(),
                            TextColumn("{task.fields[notes]} notes, {task.fields[rate]} notes/s,"
                                       " {task.fields[errors]} errors"),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                            console=Console(file=self.stream), transient=False)
            self._bar.start()
            _, total = self.where()
            self._task = self._bar.add_task("coding", total=total, notes=0, rate="0.0", errors=0)
        return self

    def update(self) -> None:
        c = self.counts
        if self.mode == "bar" and self._bar is not None:
            done, total = self.where()
            self._bar.update(self._task, completed=done, total=total, notes=c.written,  # type: ignore[arg-type]
                             rate=f"{c.rate:.1f}", errors=c.errors)
        elif self.mode == "log":
            now = time.perf_counter()
            if now - self._last >= self.every:
                self._last = now
                done, total = self.where()
                pct = f", {100 * done / total:.0f}% of input" if total else ""
                self.stream.write(f"nlp-coder batch: {c.written} notes written ({c.errors} errors) "
                                  f"in {c.elapsed:.0f} s, {c.rate:.1f} notes/s{pct}\n")
                self.stream.flush()

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self.update()
            self._bar.stop()

    def summary(self, output: str, status: str = "done") -> None:
        """The end-of-run line; ``status`` is done, interrupted or stopped (a failure)."""
        if self.mode == "none":
            return
        c = self.counts
        resumed = f"; {c.skipped} already in the output (resumed)" if c.skipped else ""
        self.stream.write(
            f"nlp-coder batch {status}: {c.read} notes read, {c.coded} coded, {c.needs_review} needing "
            f"review, {c.incomplete} missing a side, {c.nothing_codable} with nothing codable, {c.errors} errors; "
            f"{c.elapsed:.1f} s, {c.rate:.1f} notes/s{resumed} -> {output}\n")
        if status != "done":
            self.stream.write("nlp-coder batch: the output holds whole notes only; fix the cause if "
                              "any and run the same command with --resume to continue\n")
        self.stream.flush()
