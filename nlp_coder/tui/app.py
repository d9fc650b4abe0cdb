"""The nlp-coder Textual app: loads the engine, shows the coding screen (see coding_screen.py)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from .big_notes import BigNoteCoder
from .coding_screen import CodingScreen
from .commands import CoderCommands
from .worklist import OutputLog, WorkItem, default_output, load_worklist

if TYPE_CHECKING:
    from ..engine import Engine


class NlpCoderApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "nlp-coder"
    COMMANDS = App.COMMANDS | {CoderCommands}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, file: Path | None = None, output: Path | None = None,
                 engine: "Engine | None" = None, export_dir: Path | None = None,
                 debounce: float = 0.3, text: str = "") -> None:
        super().__init__()
        self.engine = engine
        # Only an engine this app loads itself can be re-created in a helper process.
        self.big_coder = BigNoteCoder() if engine is None else None
        self.items: list[WorkItem] = load_worklist(file) if file else []
        out = output or (default_output(file) if file else None)
        self.output_log = OutputLog(out) if out else None
        self.export_dir = export_dir or (out.parent if out else Path.cwd())
        self.debounce = debounce
        self.start_text = text

    def get_default_screen(self) -> Screen[None]:
        return CodingScreen(self.items, self.output_log, self.export_dir, self.debounce, self.start_text)

    @property
    def coding(self) -> CodingScreen:
        return self.get_screen_stack_coding()

    def get_screen_stack_coding(self) -> CodingScreen:
        for screen in self.screen_stack:
            if isinstance(screen, CodingScreen):
                return screen
        raise LookupError("no coding screen")

    def on_mount(self) -> None:
        if self.engine is None:
            self._load_engine()

    @work(thread=True, exclusive=True, group="engine")
    def _load_engine(self) -> None:
        from ..engine import Engine
        try:
            engine = Engine.load()
        except Exception as exc:  # noqa: BLE001 - shown to the coder; no note text involved
            self.call_from_thread(self.notify, f"Could not load the coding engine: {exc}",
                                  severity="error", timeout=30)
            return
        self.call_from_thread(self._engine_loaded, engine)

    def _engine_loaded(self, engine: "Engine") -> None:
        self.engine = engine
        self.coding.engine_ready()

    def add_code(self, code: str) -> None:
        self.coding.add_code(code)

    async def action_quit(self) -> None:
        try:
            self.coding.save_draft()
        finally:
            self.exit()

    def on_unmount(self) -> None:
        if self.big_coder is not None:
            self.big_coder.close()
