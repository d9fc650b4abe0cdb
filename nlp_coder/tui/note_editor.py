"""The note pane: a plain-text editor whose detected concepts are highlighted by kind.

The note is never parsed as markup (TextArea shows text as typed). Highlights come from the last
coding run's concept offsets and are only drawn while the text is still the text that was coded.
"""
from __future__ import annotations

import bisect
from typing import Sequence

from rich.style import Style
from textual import events
from textual.widgets import TextArea

from ..results import ConceptMention
from .big_notes import BIG_NOTE

KIND_GROUP = {
    "procedure": "proc", "action": "proc", "device": "device", "site": "site",
    "approach": "approach", "modality": "imaging", "laterality": "side",
}
STRUCK = frozenset({"negated", "abandoned", "declined"})
DIMMED = frozenset({"planned", "historical", "hypothetical", "alternative", "indication", "family"})
LEGEND = "proc device site approach imaging side; dim = planned/historical, struck = negated"


class NoteEditor(TextArea):
    """TextArea with concept highlighting; bindings are TextArea's own."""

    def __init__(self, text: str = "", **kw: object) -> None:
        self._spans: list[tuple[int, int, str]] = []
        self._coded_text: str | None = None
        super().__init__(text, soft_wrap=True, tab_behavior="focus", show_line_numbers=False,
                         **kw)  # type: ignore[arg-type]

    async def _on_paste(self, event: events.Paste) -> None:
        # Textual calls each class's handler along the MRO: TextArea's inserts the text after this.
        if len(event.text) + len(self.document.text) > BIG_NOTE:
            self.soft_wrap = False      # wrapping megabytes on every edit would freeze the editor

    def on_mount(self) -> None:
        self._install_styles()
        self.watch(self.app, "theme", lambda _: self._install_styles(), init=False)

    def _install_styles(self) -> None:
        """Map highlight names to styles taken from the app theme's colours."""
        theme = self.app.current_theme
        colours = {"proc": theme.primary, "device": theme.secondary or theme.primary,
                   "site": theme.success or theme.primary, "approach": theme.warning or theme.primary,
                   "imaging": theme.accent or theme.primary, "side": theme.error or theme.primary}
        styles: dict[str, Style] = {}
        for name, colour in colours.items():
            styles[f"nc.{name}"] = Style(color=colour, bold=True)
            styles[f"nc.{name}.dim"] = Style(color=colour, dim=True, italic=True)
            styles[f"nc.{name}.struck"] = Style(color=colour, dim=True, strike=True)
        styles["nc.evidence"] = Style(reverse=True, underline=True)
        if self._theme is not None:
            self._theme.syntax_styles.update(styles)
        self._build_highlight_map()
        self.refresh()

    def set_concepts(self, coded_text: str, concepts: Sequence[ConceptMention],
                     evidence: Sequence[tuple[int, int]] = ()) -> None:
        """Highlight concepts (and the selected code's evidence) of ``coded_text``."""
        spans = []
        for c in concepts:
            group = KIND_GROUP.get(c.kind)
            if group is None:
                continue
            ctx = set(c.context)
            suffix = ".struck" if ctx & STRUCK else ".dim" if ctx & DIMMED else ""
            spans.append((c.start, c.end, f"nc.{group}{suffix}"))
        spans.extend((s, e, "nc.evidence") for s, e in evidence)
        self._spans = spans
        self._coded_text = coded_text
        self._build_highlight_map()
        self.refresh()

    def _build_highlight_map(self) -> None:
        self._line_cache.clear()
        highlights = self._highlights
        highlights.clear()
        if not self._spans or self._coded_text is None or self.text != self._coded_text:
            return
        # Offsets are characters in the whole note; the editor wants (row, utf-8 byte column).
        starts = [0]
        for line in self.document.lines:
            starts.append(starts[-1] + len(line) + 1)
        lines = self.document.lines
        for start, end, name in self._spans:
            row = bisect.bisect_right(starts, start) - 1
            while row < len(lines) and start < end:
                line_start = starts[row]
                line = lines[row]
                a = start - line_start
                b = min(end - line_start, len(line))
                if b > a:
                    ba = len(line[:a].encode("utf-8"))
                    bb = len(line[:b].encode("utf-8"))
                    highlights[row].append((ba, bb, name))
                start = starts[row + 1] if row + 1 < len(starts) else end
                row += 1
