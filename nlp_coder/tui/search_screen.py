"""Add a code by fuzzy search over the classification in use."""
from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from ..classification import normalise_code

if TYPE_CHECKING:
    from ..engine import Engine


class CodeSearchScreen(ModalScreen[str | None]):
    """Type words of a title or a code; Enter or a click picks the highlighted code."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"),
                Binding("down", "focus_list", "Results", show=False)]

    def __init__(self, engine: "Engine", query: str = "") -> None:
        super().__init__()
        self.engine = engine
        self.initial = query

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            yield Label("Add a code: type title words or a code (Enter picks, Esc cancels)")
            yield Label("", id="search-message")
            yield Input(value=self.initial, placeholder="e.g. aortic valvuloplasty, K35.2",
                        id="search-input")
            yield OptionList(id="search-results")

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        if self.initial:
            self._search(self.initial)

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    def _search(self, query: str) -> None:
        results = self.query_one(OptionList)
        results.clear_options()
        message = self.query_one("#search-message", Label)
        message.update("")
        norm = normalise_code(query.strip())
        if norm and self.engine.lookup(norm) is None:
            # A well-formed code that is not in the release: say so, never offer a look-alike.
            name = f"{self.engine.release.name} {self.engine.release.version}"
            message.update(Text(f"{norm} is not a code in {name}.", style="bold red"))
            return
        for entry, _score in self.engine.search(query, limit=20):
            label = Text(f"{entry.code}  ", style="bold").append(entry.title)
            if not entry.active:
                label.append("  (retired)", style="red")
            results.add_option(Option(label, id=entry.code))
        if results.option_count:
            results.highlighted = 0

    def action_focus_list(self) -> None:
        self.query_one(OptionList).focus()

    @on(Input.Submitted, "#search-input")
    def _submitted(self) -> None:
        results = self.query_one(OptionList)
        if results.highlighted is not None:
            self.dismiss(results.get_option_at_index(results.highlighted).id)
        elif self.query_one(Input).value.strip():
            self.dismiss(self.query_one(Input).value.strip())   # validated by the caller

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
