"""Plain result records: what the engine returns to the CLI, the TUI, batch mode and Spark."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


def _ev(e: "Evidence") -> dict[str, Any]:
    return {"start": e.start, "end": e.end, "text": e.text, "concept": e.concept,
            "entry": e.entry, "source": e.source}


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
    # What the confidence was computed from (for fitting the scoring; not part of the output).
    features: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


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
    incomplete: bool = False    # a detail the codes need (the side) is not in the note: ask
    lexicon_version: str = ""
    concepts: list[ConceptMention] = field(default_factory=list)
    not_coded: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than dataclasses.asdict, which deep-copies recursively and cost
        # more than coding the note in batch runs.
        return {
            "classification": dict(self.classification),
            "codes": [{"code": c.code, "title": c.title, "role": c.role, "group": c.group,
                       "confidence": c.confidence, "evidence": [_ev(e) for e in c.evidence],
                       "rule": c.rule, "needs_review": c.needs_review, "flags": list(c.flags)}
                      for c in self.codes],
            "alternatives": [{"code": a.code, "title": a.title, "group": a.group,
                              "confidence": a.confidence, "replaces": a.replaces}
                             for a in self.alternatives],
            "questions": [{"id": q.id, "text": q.text, "facet": q.facet, "group": q.group,
                           "choices": [{"answer": ch.answer, "codes": list(ch.codes)} for ch in q.choices]}
                          for q in self.questions],
            "warnings": list(self.warnings),
            "needs_review": self.needs_review,
            "incomplete": self.incomplete,
            "nothing_codable": self.nothing_codable,
            "lexicon_version": self.lexicon_version,
            "concepts": [{"start": m.start, "end": m.end, "text": m.text, "kind": m.kind,
                          "entry": m.entry, "context": list(m.context), "section": m.section}
                         for m in self.concepts],
            "not_coded": [dict(x) for x in self.not_coded],
        }

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)

    def code_list(self, dots: bool = True) -> list[str]:
        return [c.code if dots else c.code.replace(".", "") for c in self.codes]
