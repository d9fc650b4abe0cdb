"""Invented op notes (never corpus or evaluation texts), helpers and fixtures for the batch tests.

The fixtures live here, imported by the test modules, rather than in a tests/batch/conftest.py:
a second module named ``conftest`` would shadow tests/conftest.py for ``from conftest import ...``.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nlp_coder.batch import long_rows

NOTES = {
    "n1": "Right TKR, cemented.",
    "n2": "Lap chole under GA",
    "n3": "balloon dilatation of aortic valve under fluoroscopy",
    "n4": "Percutaneous drainage of liver abscess under image guidance",
    "n5": "Left inguinal hernia repair with mesh",
}


@pytest.fixture()
def env(imported_home: Path) -> dict[str, str]:
    return {"NLP_CODER_HOME": str(imported_home)}


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner()


def expected(engine: Any, rid: str, text: str, concepts: bool = False) -> dict[str, Any]:
    """What batch must write for one note: the ``code --json`` dict plus id and error (its
    concept list only with --concepts)."""
    return {"id": rid, "error": None, **engine.code(text, concepts=concepts).to_dict()}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def csv_expected(engine: Any, rid: str, text: str) -> list[list[str]]:
    """Long CSV rows as strings, built from the engine's own result."""
    rows = []
    for r in long_rows(expected(engine, rid, text)):
        rows.append([r["id"], str(r["position"]), r["code"] or "", r["title"] or "", r["role"] or "",
                     "" if r["group"] is None else str(r["group"]),
                     "" if r["confidence"] is None else f"{r['confidence']:.4f}",
                     "true" if r["needs_review"] else "false", r["error"] or ""])
    return rows


def cli(args: list[str], home: Path, **kw: Any) -> subprocess.Popen[str]:
    """Start ``nlp-coder`` in a subprocess (for interruption and stdin tests)."""
    e = dict(os.environ, NLP_CODER_HOME=str(home))
    return subprocess.Popen([sys.executable, "-m", "nlp_coder.cli", *args], env=e, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def many_notes(path: Path, n: int) -> list[str]:
    texts = list(NOTES.values())
    ids = [f"p{i:03d}" for i in range(n)]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        for i, rid in enumerate(ids):
            w.writerow([rid, f"{texts[i % len(texts)]} Case {i}."])
    return ids


def wait_for_lines(path: Path, n: int, proc, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_bytes().count(b"\n") >= n:
            return
        if proc.poll() is not None:
            pytest.fail(f"batch ended before it could be interrupted: {proc.stderr.read()}")
        time.sleep(0.02)
    pytest.fail("no output in time")
