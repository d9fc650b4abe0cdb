"""Plain result records: what the engine returns to the CLI, the TUI, batch mode and Spark."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Evidence:
    start: int
    end: int
    text: str
    concept: str            # the facet kind: action, site, device, approach, modality, ...
    entry: str = ""         # lexicon entry id
    source: str = "note"    # "note" or "answer"


@dataclass
class CodeAssignment:
    code: str
    title: str
    role: str               # primary | method | site | laterality | other
    group: int
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)
    rule: str = ""          # the rule or lexicon entry that produced it
    needs_review: bool = False
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Alternative:
    code: str
    title: str
    group: int
    confidence: float
    replaces: str


@dataclass(frozen=True)
class Choice:
    answer: str
    codes: list[str]


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    facet: str
    group: int
    choices: list[Choice] = field(default_factory=list)


@dataclass(frozen=True)
class ConceptMention:
    """A facet found in the note, with its context (for highlighting)."""
    start: int
    end: int
    text: str
    kind: str
    entry: str
    context: list[str]
    section: str


@dataclass
class CodingResult:
    classification: dict[str, str]
    codes: list[CodeAssignment]
    alternatives: list[Alternative]
    questions: list[Question]
    warnings: list[str]
    needs_review: bool
    nothing_codable: bool = False
    lexicon_version: str = ""
    concepts: list[ConceptMention] = field(default_factory=list)
    not_coded: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)

    def code_list(self, dots: bool = True) -> list[str]:
        return [c.code if dots else c.code.replace(".", "") for c in self.codes]
