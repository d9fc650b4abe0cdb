"""Helpers for the TUI tests (imported by the test modules)."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

pytest.importorskip("textual")

from nlp_coder.tui.app import NlpCoderApp  # noqa: E402

SEED = "balloon dilatation of aortic valve under fluoroscopy"


async def settle(pilot: Any) -> None:
    """Let the debounce timer fire and the coding worker finish."""
    for _ in range(3):
        await pilot.pause(0.06)
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def type_text(pilot: Any, text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])


def drive(app: NlpCoderApp, script: Callable[[Any], Awaitable[None]],
          size: tuple[int, int] = (80, 24)) -> NlpCoderApp:
    """Run ``script(pilot)`` against ``app`` (plain asyncio: no pytest plugin needed)."""
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await script(pilot)
    asyncio.run(main())
    return app




# No conftest.py here: the unit tests import the top-level tests/conftest.py as "conftest",
# and a second conftest module of that name would shadow it.
@pytest.fixture
def make_app(engine: Any, tmp_path: Path) -> Callable[..., NlpCoderApp]:
    """A factory for the real app with the session's imported OPCS-4.11 engine."""
    def make(**kw: Any) -> NlpCoderApp:
        kw.setdefault("engine", engine)
        kw.setdefault("export_dir", tmp_path)
        kw.setdefault("debounce", 0.02)
        return NlpCoderApp(**kw)
    return make
