"""Why a code was proposed: its evidence, the rule or lexicon entry, flags and alternatives."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..results import CodingResult
from .session import Row


def details_text(row: Row | None, result: CodingResult | None, warnings: list[str]) -> Text:
    """Plain Text built by appending (note words are never read as markup)."""
    t = Text()
    for w in warnings:
        t.append("! ", style="bold red").append(w + "\n")
    if row is None:
        if result is not None:
            for w in result.warnings:
                t.append("! ", style="yellow").append(w + "\n")
        if not t:
            t.append("Paste or type an op note; codes appear as you type.", style="dim")
        return t
    t.append(f"{row.code} ", style="bold").append(row.title + "\n")
    conf = "manual" if row.confidence is None else f"{row.confidence:.2f}"
    t.append(f"{row.role}, group {row.group}, confidence {conf}, {row.status}\n", style="dim")
    if row.replaces:
        t.append(f"replaces the proposed {row.replaces}\n", style="italic")
    for flag in row.flags:
        t.append("⚑ ", style="bold yellow").append(flag + "\n")
    if row.evidence:
        t.append("Evidence:\n", style="bold")
        for ev in row.evidence:
            where = " (answer)" if ev.source == "answer" else ""
            t.append("  “").append(ev.text).append("”", style="").append(
                f" {ev.concept}{where}\n", style="dim")
    if row.rule:
        t.append("Rule: ", style="bold").append(row.rule + "\n")
    if result is not None:
        original = row.replaces or row.code
        alts = [a for a in result.alternatives if a.replaces == original]
        if row.replaces:
            alts = [a for a in alts if a.code != row.code]
        if alts:
            t.append("Alternatives (x cycles):\n", style="bold")
            for a in alts:
                t.append(f"  {a.code} ").append(a.title).append(f" {a.confidence:.2f}\n", style="dim")
        extra = [a for a in result.alternatives if a.group == -1 or not a.replaces]
        for a in extra:
            t.append("  possible additional: ", style="dim").append(f"{a.code} {a.title}\n")
    return t


class CodeDetails(Static):
    def show(self, row: Row | None, result: CodingResult | None, warnings: list[str]) -> None:
        self.update(details_text(row, result, warnings))
