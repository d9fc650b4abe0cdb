"""Textual terminal UI for coders. Only this package imports Textual; the core never does."""
from __future__ import annotations

from pathlib import Path


def run(file: Path | None = None, output: Path | None = None) -> None:
    """Open the coder's workstation (a worklist when ``file`` is given)."""
    from .app import NlpCoderApp
    NlpCoderApp(file=file, output=output).run()
