"""Command palette provider: add a code by search, export, accept, help."""
from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

ACTIONS = [
    ("Add a code by search", "add_code", "Fuzzy search over the classification in use"),
    ("Export codes (copy and save)", "export", "Copy the codes to the clipboard and save a CSV"),
    ("Accept this note", "accept_note", "Save the codes to the output file"),
    ("Next note needing review", "next_review", "Jump to the next note flagged for review"),
    ("Help", "help", "Keys and conventions"),
]


class CoderCommands(Provider):
    """Coder actions, plus 'add K35.2 …' hits from a search of the classification."""

    def _run(self, action: str) -> Any:
        # Actions live on the coding screen, the screen the palette was opened from.
        return partial(self.app.run_action, action, self.screen)

    async def discover(self) -> Hits:
        for name, action, help_text in ACTIONS:
            yield DiscoveryHit(name, self._run(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in ACTIONS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._run(action),
                          help=help_text)
        engine = getattr(self.app, "engine", None)
        if engine is None or len(query.strip()) < 3:
            return
        for entry, score in engine.search(query, limit=8):
            label = f"Add {entry.code} {entry.title}"
            yield Hit(score / 100 * 0.9, label,
                      partial(self.app.add_code, entry.code), help="add this code to the note")
