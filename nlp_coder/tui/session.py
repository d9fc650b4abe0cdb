"""The coder's work on one note: engine proposals plus accept/reject/replace/move/add decisions.

Plain Python (no Textual), so it can be tested and reused without a terminal. Decisions are kept
by code, so re-coding after an answer or an edit keeps what the coder already decided.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..results import CodingResult, Evidence

if TYPE_CHECKING:
    from ..engine import Engine

PROPOSED, ACCEPTED, REJECTED = "proposed", "accepted", "rejected"


@dataclass
class Row:
    """One line of the codes table."""
    code: str
    title: str
    role: str
    group: int
    confidence: float | None
    status: str = PROPOSED
    source: str = "engine"          # engine | alternative | manual
    evidence: list[Evidence] = field(default_factory=list)
    rule: str = ""
    needs_review: bool = False
    flags: list[str] = field(default_factory=list)
    replaces: str = ""              # the engine's code this one replaced

    @property
    def nodots(self) -> str:
        return self.code.replace(".", "")


def code_warnings(engine: "Engine", code: str) -> list[str]:
    """Why a manually entered code cannot be submitted as it is (empty when it can)."""
    entry = engine.lookup(code)
    name = f"{engine.release.name} {engine.release.version}"
    if entry is None:
        return [f"{code} is not a code in {name}."]
    if len(entry.code) != 5:
        return [f"{entry.code} is a category, not a four-character code."]
    if not entry.active:
        return [f"{entry.code} is retired in {name}: it cannot be submitted."]
    return []


class NoteSession:
    """Everything the coder did on one note; rebuilt rows after each coding run."""

    def __init__(self, note_id: str, text: str, answers: list[str] | None = None) -> None:
        self.note_id = note_id
        self.text = text
        self.original_text = text
        self.answers: list[str] = list(answers or [])
        self.decisions: dict[str, str] = {}
        self.replacements: dict[str, str] = {}
        self.manual: list[str] = []
        self.order: list[str] = []
        self.result: CodingResult | None = None
        self.rows: list[Row] = []
        self.changed = False
        self.status = "open"            # open | draft | accepted

    # ------------------------------------------------------------------ rebuilding
    def apply(self, result: CodingResult, engine: "Engine") -> None:
        """Take a fresh coding result and re-apply the coder's decisions to it."""
        self.result = result
        rows: list[Row] = []
        alts = {(a.replaces, a.code): a for a in result.alternatives}
        for c in result.codes:
            new = self.replacements.get(c.code)
            if new and new != c.code:
                alt = alts.get((c.code, new))
                rows.append(Row(new, engine.title(new), c.role, c.group,
                                alt.confidence if alt else None, source="alternative",
                                evidence=list(c.evidence), rule=c.rule, replaces=c.code))
            else:
                rows.append(Row(c.code, c.title, c.role, c.group, c.confidence,
                                evidence=list(c.evidence), rule=c.rule,
                                needs_review=c.needs_review, flags=list(c.flags)))
        have = {r.code for r in rows}
        for code in self.manual:
            if code not in have:
                rows.append(Row(code, engine.title(code), "other", -1, None, source="manual",
                                flags=code_warnings(engine, code)))
                have.add(code)
        for r in rows:
            r.status = self.decisions.get(r.code, PROPOSED)
        if self.order:
            pos = {c: i for i, c in enumerate(self.order)}
            rows.sort(key=lambda r: pos.get(r.code, len(pos)))
        self.rows = rows

    def refresh(self, engine: "Engine") -> None:
        if self.result is not None:
            self.apply(self.result, engine)

    # ------------------------------------------------------------------ coder actions
    def _touch(self) -> None:
        self.changed = True
        if self.status == "accepted":
            self.status = "draft"

    def toggle(self, index: int, status: str, engine: "Engine") -> None:
        """Accept or reject a row; doing it again returns it to proposed."""
        row = self.rows[index]
        self.decisions[row.code] = PROPOSED if row.status == status else status
        self._touch()
        self.refresh(engine)

    def replace(self, index: int, code: str, engine: "Engine") -> None:
        row = self.rows[index]
        original = row.replaces or row.code
        if code == original:
            self.replacements.pop(original, None)
        else:
            self.replacements[original] = code
        if self.order:
            self.order = [code if c == row.code else c for c in self.order]
        self._touch()
        self.refresh(engine)

    def move(self, index: int, delta: int, engine: "Engine") -> int:
        """Move a row up (-1) or down (+1); returns its new index."""
        j = index + delta
        if not (0 <= index < len(self.rows) and 0 <= j < len(self.rows)):
            return index
        codes = [r.code for r in self.rows]
        codes[index], codes[j] = codes[j], codes[index]
        self.order = codes
        self._touch()
        self.refresh(engine)
        return j

    def add(self, code: str, engine: "Engine") -> list[str]:
        """Add a code by hand; returns the validation warnings (the code is added anyway
        unless it does not exist at all)."""
        entry = engine.lookup(code)
        warnings = code_warnings(engine, code)
        if entry is None:
            return warnings
        code = entry.code
        if code not in self.manual:
            self.manual.append(code)
        self.decisions[code] = ACCEPTED
        if self.order and code not in self.order:
            self.order.append(code)
        self._touch()
        self.refresh(engine)
        return warnings

    def add_answer(self, answer: str) -> None:
        self.answers.append(answer)
        self._touch()

    # ------------------------------------------------------------------ results
    def final_rows(self) -> list[Row]:
        return [r for r in self.rows if r.status != REJECTED]

    def final_codes(self, dots: bool = True) -> list[str]:
        return [r.code if dots else r.nodots for r in self.final_rows()]

    def sequence_warnings(self, engine: "Engine") -> list[str]:
        """Checks on the codes as they will be submitted."""
        rows = self.final_rows()
        out: list[str] = []
        if rows and rows[0].code[:1] in ("Y", "Z"):
            out.append(f"{rows[0].code} is a Y/Z code placed first: the primary procedure must come first.")
        has_side = any(r.code.startswith("Z94") for r in rows)
        for r in rows:
            if r.source != "engine":
                out.extend(code_warnings(engine, r.code))
            if not has_side and engine.assembler.laterality_rule(r.code) == "required":
                out.append(f"{r.code} needs a laterality code (Z94.-) and none is given.")
        return out

    def needs_review(self) -> bool:
        return bool(self.result and (self.result.needs_review or self.result.incomplete)
                    and self.status != "accepted")

    def to_record(self, status: str, engine: "Engine") -> dict[str, Any]:
        rows = self.final_rows()
        rec: dict[str, Any] = {
            "id": self.note_id, "status": status,
            "codes": [r.code for r in rows], "codes_nodots": [r.nodots for r in rows],
            "rows": [{"code": r.code, "title": r.title, "role": r.role, "group": r.group,
                      "confidence": r.confidence, "status": r.status, "source": r.source}
                     for r in self.rows],
            "answers": self.answers, "decisions": self.decisions,
            "replacements": self.replacements, "manual": self.manual, "order": self.order,
            "warnings": self.sequence_warnings(engine),
            "classification": engine.classification_info(),
            "lexicon_version": engine.lex.version,
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        if self.text != self.original_text:
            rec["text"] = self.text   # the coder edited the note: keep their version
        return rec

    def restore(self, rec: dict[str, Any]) -> None:
        """Take back the decisions of a saved record (resume)."""
        self.answers = list(rec.get("answers", []))
        self.decisions = dict(rec.get("decisions", {}))
        self.replacements = dict(rec.get("replacements", {}))
        self.manual = list(rec.get("manual", []))
        self.order = list(rec.get("order", []))
        if "text" in rec:
            self.text = rec["text"]
        self.status = "accepted" if rec.get("status") == "accepted" else "draft"
