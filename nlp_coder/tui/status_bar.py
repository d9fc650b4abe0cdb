"""The status bar: classification release, lexicon version, progress and what is running."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

IMPORT_HINT = "no OPCS-4 imported, using bundled lexicons: run 'nlp-coder opcs import FILE.xml'"


class StatusBar(Static):
    def show(self, release: str | None, lexicon: str, progress: str, state: str,
             imported: bool = True) -> None:
        t = Text()
        if release is None:
            t.append("loading classification…", style="italic")
        elif imported:
            t.append(release, style="bold").append(f" · lexicons {lexicon}")
        else:
            t.append(IMPORT_HINT, style="bold")
            if lexicon:
                t.append(f" · lexicons {lexicon}")
        if progress:
            t.append(" · ").append(progress)
        if state:
            t.append(" · ").append(state, style="italic")
        self.update(t)
