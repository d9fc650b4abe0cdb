"""The coder's workstation: note, codes, evidence and conversation, for one note or a worklist."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, TextArea
from textual.worker import get_current_worker

from ..results import CodingResult
from .big_notes import BIG_NOTE
from .code_details import CodeDetails
from .codes_table import CodesTable
from .conversation import Conversation
from .export import clipboard_text, write_csv
from .help_screen import HelpScreen
from .note_editor import LEGEND, NoteEditor
from .search_screen import CodeSearchScreen
from .session import ACCEPTED, PROPOSED, NoteSession
from .status_bar import StatusBar
from .worklist import OutputLog, WorkItem

if TYPE_CHECKING:
    from ..engine import Engine

WIDE = 120


class CodingScreen(Screen[None]):
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("f2", "add_code", "Add"),
        Binding("f3", "export", "Export"),
        # priority: the note editor binds F6/F7 (select line/all); the worklist keys win.
        Binding("f5", "accept_note", "Accept", priority=True),
        Binding("f6", "prev_note", "Prev", priority=True),
        Binding("f7", "next_note", "Next", priority=True),
        Binding("ctrl+pageup", "prev_note", "Prev", show=False, priority=True),
        Binding("ctrl+pagedown", "next_note", "Next", show=False, priority=True),
        Binding("f8", "next_review", "Review", show=False, priority=True),
        Binding("f9", "toggle_dark", "Theme", show=False),
    ]

    def __init__(self, items: list[WorkItem], log: OutputLog | None, export_dir: Path,
                 debounce: float = 0.3, start_text: str = "") -> None:
        super().__init__(id="coding")
        self.items = items
        self.output_log = log
        self.export_dir = export_dir
        self.debounce = debounce
        self.index = log.resume_index(items) if (log and items) else 0
        self.session = NoteSession(items[self.index].id if items else "note",
                                   items[self.index].text if items else start_text)
        if log and items and log.latest.get(self.session.note_id):
            self.session.restore(log.latest[self.session.note_id])
        self._timer: Timer | None = None
        self._coding = False
        self.last_export: tuple[Path, str] | None = None
        self.coded_runs = 0

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Grid(id="main"):
            editor = NoteEditor(self.session.text, id="note")
            editor.border_title = "Note"
            editor.border_subtitle = LEGEND
            yield editor
            table = CodesTable(id="codes")
            table.border_title = "Codes (submission order)"
            yield table
            chat = Conversation(id="chat")
            chat.border_title = "Conversation"
            yield chat
            with VerticalScroll(id="details-scroll") as scroll:
                scroll.border_title = "Evidence"
                yield CodeDetails(id="details")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("prev_note", "next_note", "next_review") and not self.items:
            return False    # single-note mode: hidden from the footer
        return True

    @property
    def engine(self) -> "Engine | None":
        return getattr(self.app, "engine", None)

    def on_mount(self) -> None:
        self._layout(self.app.size.width)
        self.query_one(NoteEditor).focus()
        self.query_one(Conversation).reset(self.session.answers)
        self.update_status()
        if self.engine is not None:
            self.engine_ready()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        self.set_class(width >= WIDE, "wide")

    def engine_ready(self) -> None:
        self.update_status()
        self.code_now()

    # ------------------------------------------------------------------ coding
    @on(TextArea.Changed, "#note")
    def _note_changed(self, event: TextArea.Changed) -> None:
        text = event.text_area.text
        if text == self.session.text:
            return
        # Soft-wrapping a multi-megabyte paste on every keystroke freezes the editor.
        event.text_area.soft_wrap = len(text) < BIG_NOTE
        self.session.text = text
        self.session._touch()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.debounce, self.code_now)

    def code_now(self) -> None:
        if self.engine is None:
            return
        self._coding = True
        self.update_status()
        self._code(self.session.text, list(self.session.answers), self.session.note_id)

    @work(thread=True, exclusive=True, group="coding")
    def _code(self, text: str, answers: list[str], note_id: str) -> None:
        engine = self.engine
        assert engine is not None
        big = getattr(self.app, "big_coder", None)
        if big is not None and len(text) > BIG_NOTE:
            result = big.code(text, answers)     # a helper process: the UI keeps the GIL
        else:
            result = engine.code(text, answers=answers)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._coded, text, answers, note_id, result)

    def _coded(self, text: str, answers: list[str], note_id: str, result: CodingResult) -> None:
        s = self.session
        if (text, answers, note_id) != (s.text, s.answers, s.note_id) or self.engine is None:
            return      # a stale run: the note or the answers changed meanwhile
        before = s.final_codes()
        s.apply(result, self.engine)
        self._coding = False
        self.coded_runs += 1
        self.refresh_views()
        after = s.final_codes()
        if answers and before and before != after:
            self.query_one(Conversation).say(
                Text("codes: ", style="bold").append(" ".join(before), style="dim strike")
                .append(" → ").append(" ".join(after), style="bold"))

    def refresh_views(self, keep: int | None = None) -> None:
        s = self.session
        table = self.query_one(CodesTable)
        table.show_rows(s.rows, keep)
        self.query_one(Conversation).show_questions(s.result.questions if s.result else [])
        self._show_selected()
        self.update_status()

    def _selected_row(self) -> Any:
        table = self.query_one(CodesTable)
        rows = self.session.rows
        if rows and 0 <= table.cursor_row < len(rows):
            return rows[table.cursor_row]
        return None

    def _show_selected(self) -> None:
        s = self.session
        row = self._selected_row()
        warnings = s.sequence_warnings(self.engine) if self.engine else []
        self.query_one(CodeDetails).show(row, s.result, warnings)
        if s.result is not None:
            ev = [(e.start, e.end) for e in (row.evidence if row else []) if e.source == "note"]
            self.query_one(NoteEditor).set_concepts(s.text, s.result.concepts, ev)

    @on(DataTable.RowHighlighted, "#codes")
    def _row_highlighted(self) -> None:
        self._show_selected()

    def update_status(self) -> None:
        e = self.engine
        state = "coding…" if self._coding else ""
        if self.session.result and self.session.result.needs_review:
            state = (state + " needs review").strip()
        if self.session.result and self.session.result.incomplete:
            state = (state + " side missing").strip()
        if self.session.status == "accepted":
            state = (state + " accepted").strip()
        progress = ""
        if self.output_log and self.items:
            done = sum(self.output_log.is_accepted(i.id) for i in self.items)
            progress = f"note {self.index + 1}/{len(self.items)} ({self.session.note_id}) · {done}/{len(self.items)} coded"
        bar = self.query_one(StatusBar)
        if e is None:
            bar.show(None, "", progress, state)
        else:
            bar.show(f"{e.release.name} {e.release.version}", e.lex.version, progress, state,
                     imported=not e.bundled)

    # ------------------------------------------------------------------ coder actions
    @on(CodesTable.Action)
    def _table_action(self, event: CodesTable.Action) -> None:
        if self.engine is None:
            return
        s, i = self.session, event.index
        if event.action == "add":
            self.action_add_code()
            return
        if not (0 <= i < len(s.rows)):
            return
        keep = i
        if event.action == "accept":
            s.toggle(i, ACCEPTED, self.engine)
        elif event.action == "reject":
            s.toggle(i, "rejected", self.engine)
        elif event.action == "alternative":
            self._next_alternative(i)
        elif event.action in ("up", "down"):
            keep = s.move(i, -1 if event.action == "up" else 1, self.engine)
        self.refresh_views(keep)

    def _next_alternative(self, i: int) -> None:
        s, row = self.session, self.session.rows[i]
        if s.result is None or self.engine is None:
            return
        original = row.replaces or row.code
        cycle = [original] + [a.code for a in s.result.alternatives if a.replaces == original]
        if len(cycle) < 2:
            self.notify(f"No alternatives for {row.code}.", severity="warning")
            return
        nxt = cycle[(cycle.index(row.code) + 1) % len(cycle)] if row.code in cycle else original
        s.replace(i, nxt, self.engine)

    def action_add_code(self, query: str = "") -> None:
        if self.engine is None:
            self.notify("The classification is still loading.", severity="warning")
            return
        self.app.push_screen(CodeSearchScreen(self.engine, query), self.add_code)

    def add_code(self, code: str | None) -> None:
        if not code or self.engine is None:
            return
        warnings = self.session.add(code, self.engine)
        if self.engine.lookup(code) is None:
            self.notify(warnings[0], title="Not added", severity="error")
            return
        self.refresh_views(len(self.session.rows) - 1)
        for w in warnings + self.session.sequence_warnings(self.engine):
            self.notify(w, severity="warning")

    @on(Conversation.Answered)
    def _answered(self, event: Conversation.Answered) -> None:
        self.session.add_answer(event.answer)
        self.code_now()

    def action_export(self) -> None:
        if self.engine is None or self.session.result is None:
            self.notify("Nothing coded yet.", severity="warning")
            return
        current = self.session.to_record(self.session.status, self.engine)
        if self.output_log and self.items:
            records = []
            for item in self.items:
                rec = current if item.id == current["id"] else self.output_log.latest.get(item.id)
                if rec and (rec is current or rec.get("status") == "accepted"):
                    records.append(rec)
            path = self.output_log.path.with_suffix(".csv")
        else:
            records = [current]
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            path = self.export_dir / f"nlp-coder-codes-{stamp}.csv"
        clip = clipboard_text(self.session.final_codes())
        self.app.copy_to_clipboard(clip)
        try:
            write_csv(path, records)
        except OSError as exc:
            self.notify(f"Could not save {path}: {exc.strerror}", severity="error")
            return
        self.last_export = (path, clip)
        self.query_one(Conversation).say(Text(f"exported: copied {' '.join(self.session.final_codes())}; saved {path}", style="italic"))
        self.notify(f"Copied {' '.join(self.session.final_codes()) or '(no codes)'}; saved to {path}",
                    title="Exported", timeout=8)

    def action_accept_note(self) -> None:
        s = self.session
        if self.engine is None or s.result is None:
            self.notify("Nothing coded yet.", severity="warning")
            return
        for r in s.rows:
            if r.status == PROPOSED:
                s.decisions[r.code] = ACCEPTED
        s.refresh(self.engine)
        s.status = "accepted"
        s.changed = False
        if self.output_log:
            self.output_log.append(s.to_record("accepted", self.engine))
            self.notify(f"Saved {s.note_id}: {' '.join(s.final_codes())} to {self.output_log.path}", timeout=4)
        self.refresh_views()
        if self.items and self.index + 1 < len(self.items):
            self.goto(self._next_open(self.index))

    def _next_open(self, start: int) -> int:
        for j in range(start + 1, len(self.items)):
            if not (self.output_log and self.output_log.is_accepted(self.items[j].id)):
                return j
        return min(start + 1, len(self.items) - 1)

    def action_prev_note(self) -> None:
        if self.items and self.index > 0:
            self.goto(self.index - 1)

    def action_next_note(self) -> None:
        if self.items and self.index + 1 < len(self.items):
            self.goto(self.index + 1)

    def action_next_review(self) -> None:
        """Next note whose saved result needs review, else the next note not accepted."""
        if not self.items or self.engine is None:
            return
        n = len(self.items)
        for k in range(1, n + 1):
            j = (self.index + k) % n
            rec = self.output_log.latest.get(self.items[j].id) if self.output_log else None
            if rec is None or rec.get("status") != "accepted" or rec.get("warnings"):
                self.goto(j)
                return
        self.notify("Every note is accepted with no warnings.")

    def goto(self, index: int) -> None:
        self.save_draft()
        self.index = index
        item = self.items[index]
        self.session = NoteSession(item.id, item.text)
        rec = self.output_log.latest.get(item.id) if self.output_log else None
        if rec:
            self.session.restore(rec)
        editor = self.query_one(NoteEditor)
        editor.load_text(self.session.text)
        editor.move_cursor((0, 0))
        self.query_one(Conversation).reset(self.session.answers)
        self.query_one(CodesTable).clear()
        self.refresh_views(0)
        self.code_now()

    def save_draft(self) -> None:
        """Keep unaccepted work (answers, decisions, edits) so quitting loses nothing."""
        s = self.session
        if self.output_log and self.engine and s.changed and s.result is not None and s.status != "accepted":
            self.output_log.append(s.to_record("draft", self.engine))
            s.changed = False

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_toggle_dark(self) -> None:
        self.app.theme = "textual-light" if self.app.current_theme.dark else "textual-dark"
