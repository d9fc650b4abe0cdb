"""The codes pane: proposed codes in submission order, with the coder's actions bound on it."""
from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from rich.text import Text

from .session import ACCEPTED, REJECTED, Row

BAR_WIDTH = 5


def confidence_cell(conf: float | None) -> Text:
    if conf is None:
        return Text("  —  manual", style="dim")
    filled = round(conf * BAR_WIDTH)
    bar = "█" * filled + "░" * (BAR_WIDTH - filled)
    style = "green" if conf >= 0.8 else "yellow" if conf >= 0.5 else "red"
    return Text(f"{conf:.2f} ") + Text(bar, style=style)


class CodesTable(DataTable):
    """Bindings act on the selected code and live here, so they never steal keys from the note."""

    BINDINGS = [
        Binding("a", "act('accept')", "Accept"),
        Binding("r,delete", "act('reject')", "Reject"),
        Binding("x", "act('alternative')", "Alt"),
        Binding("u,shift+up", "act('up')", "Up"),
        Binding("d,shift+down", "act('down')", "Down"),
        Binding("plus,equals_sign", "act('add')", "Add", show=False),
    ]

    class Action(Message):
        def __init__(self, action: str, index: int) -> None:
            super().__init__()
            self.action = action
            self.index = index

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for label, key in (("g", "group"), ("role", "role"), ("code", "code"),
                           ("title", "title"), ("conf", "conf"), ("✓⚑", "flag")):
            self.add_column(label, key=key)

    def _title_width(self) -> int:
        # g, role, code, conf and flag columns plus cell padding and the scrollbar
        return max(12, (self.size.width or 80) - 41)

    def show_rows(self, rows: list[Row], keep: int | None = None) -> None:
        cursor = self.cursor_row if keep is None else keep
        self.clear()
        width = self._title_width()
        for r in rows:
            status = {ACCEPTED: ("✓", "bold green"), REJECTED: ("✗", "dim strike")}.get(r.status)
            style = "dim strike" if r.status == REJECTED else ""
            flag = Text(status[0], style=status[1]) if status else Text(" ")
            if r.needs_review or r.flags:
                flag.append("⚑", style="bold yellow")
            role = r.role if r.source == "engine" else ("alt" if r.source == "alternative" else "manual")
            self.add_row(Text(str(r.group) if r.group >= 0 else "+", style=style),
                         Text(role, style=style), Text(r.code, style=style or "bold"),
                         Text(r.title if len(r.title) <= width else r.title[: width - 1] + "…",
                              style=style),
                         confidence_cell(r.confidence), flag)
        if rows:
            self.move_cursor(row=max(0, min(cursor, len(rows) - 1)))
        self._shown = rows

    def on_resize(self) -> None:
        if getattr(self, "_shown", None) is not None:
            self.show_rows(self._shown)

    def action_act(self, action: str) -> None:
        if self.row_count or action == "add":
            self.post_message(self.Action(action, self.cursor_row))
