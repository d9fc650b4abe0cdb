"""Load and validate the lexicon and rules data files.

Lookup order for the lexicon folder: an explicit path, ``$NLP_CODER_LEXICONS``, the copy packaged in
the wheel (``nlp_coder/_lexicons``), then the checkout's top-level ``lexicons/``.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .lexicon_schema import (
    AbsorptionRule, CombinationRule, CompanionRule, Concept, ImplicitApproachRule, IncompatibleRule,
    DefaultMethodRule, LateralityRule, LevelsRule, SkinSiteRule,
    KnownWords, Procedure, SecondaryOnlyRule, Section, SiteCodeRule, SuccessorRule, Terminator, Trigger,
)

M = TypeVar("M", bound=BaseModel)

_RULE_FILES: dict[str, type[BaseModel]] = {
    "laterality.jsonl": LateralityRule,
    "companions.jsonl": CompanionRule,
    "incompatible.jsonl": IncompatibleRule,
    "successors.jsonl": SuccessorRule,
    "absorption.jsonl": AbsorptionRule,
    "combinations.jsonl": CombinationRule,
    "site_codes.jsonl": SiteCodeRule,
    "secondary_only.jsonl": SecondaryOnlyRule,
    "implicit_approaches.jsonl": ImplicitApproachRule,
    "skin_sites.jsonl": SkinSiteRule,
    "default_methods.jsonl": DefaultMethodRule,
    "spine_levels.jsonl": LevelsRule,
}
_CONTEXT_FILES: dict[str, type[BaseModel]] = {
    "triggers.jsonl": Trigger,
    "terminators.jsonl": Terminator,
    "sections.jsonl": Section,
    "known_words.jsonl": KnownWords,
}


class LexiconError(Exception):
    """One or more lexicon files are invalid; ``problems`` lists 'file:line: message' strings."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = "\n".join(problems[:30])
        more = f"\n... and {len(problems) - 30} more" if len(problems) > 30 else ""
        super().__init__(f"invalid lexicon data ({len(problems)} problem(s)):\n{shown}{more}")


@dataclass
class Lexicons:
    """All lexicon and rules data, validated."""

    root: Path
    version: str
    digest: str
    concepts: dict[str, Concept] = field(default_factory=dict)
    procedures: dict[str, Procedure] = field(default_factory=dict)
    triggers: list[Trigger] = field(default_factory=list)
    terminators: list[Terminator] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    known_words: list[KnownWords] = field(default_factory=list)
    laterality_rules: list[LateralityRule] = field(default_factory=list)
    companions: list[CompanionRule] = field(default_factory=list)
    incompatible: list[IncompatibleRule] = field(default_factory=list)
    successors: list[SuccessorRule] = field(default_factory=list)
    absorption: list[AbsorptionRule] = field(default_factory=list)
    combinations: list[CombinationRule] = field(default_factory=list)
    site_code_rules: list[SiteCodeRule] = field(default_factory=list)
    implicit_approaches: list[ImplicitApproachRule] = field(default_factory=list)
    skin_sites: list[SkinSiteRule] = field(default_factory=list)
    default_methods: list[DefaultMethodRule] = field(default_factory=list)
    levels: list[LevelsRule] = field(default_factory=list)
    secondary_only: list[SecondaryOnlyRule] = field(default_factory=list)
    scoring: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # entry id -> "file:line"

    def ancestors(self, concept_id: str) -> list[str]:
        """The chain of ``parent`` ids above a concept (nearest first)."""
        out: list[str] = []
        seen = {concept_id}
        cur = self.concepts.get(concept_id)
        while cur is not None and cur.parent and cur.parent not in seen:
            out.append(cur.parent)
            seen.add(cur.parent)
            cur = self.concepts.get(cur.parent)
        return out


def find_lexicon_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Return the lexicon folder to use (see module docstring for the order)."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    if os.environ.get("NLP_CODER_LEXICONS"):
        candidates.append(Path(os.environ["NLP_CODER_LEXICONS"]))
    here = Path(__file__).resolve().parent
    candidates += [here / "_lexicons", here.parent / "lexicons"]
    for c in candidates:
        if (c / "manifest.json").is_file():
            return c
    raise LexiconError([f"no lexicon folder found (looked in: {', '.join(map(str, candidates))})"])


def _read_jsonl(path: Path, model: type[M], problems: list[str], sources: dict[str, str],
                rel: str) -> list[M]:
    out: list[M] = []
    try:
        raw = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{rel}: cannot read as UTF-8 text ({exc.__class__.__name__})")
        return out
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{rel}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{rel}:{lineno}: expected a JSON object")
            continue
        try:
            entry = model.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"]) or "entry"
                problems.append(f"{rel}:{lineno}: {loc}: {err['msg']}")
            continue
        ident = getattr(entry, "id", None)
        if ident is not None:
            if ident in sources:
                problems.append(f"{rel}:{lineno}: duplicate id '{ident}' (first at {sources[ident]})")
                continue
            sources[ident] = f"{rel}:{lineno}"
        out.append(entry)
    return out


def load_lexicons(path: str | os.PathLike[str] | None = None) -> Lexicons:
    """Load every lexicon file, validate it and cross-check references; raise LexiconError."""
    root = find_lexicon_dir(path)
    problems: list[str] = []
    sources: dict[str, str] = {}
    digest = hashlib.sha256()
    try:
        manifest = json.loads((root / "manifest.json").read_text("utf-8"))
        version = str(manifest["version"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LexiconError([f"manifest.json: unreadable or missing 'version' ({exc})"]) from exc
    lex = Lexicons(root=root, version=version, digest="")
    files = sorted(p for p in root.rglob("*.jsonl"))
    for p in files:
        rel = str(p.relative_to(root))
        digest.update(rel.encode() + b"\0" + p.read_bytes())
        folder, name = p.parent.name, p.name
        if folder == "concepts":
            for c in _read_jsonl(p, Concept, problems, sources, rel):
                lex.concepts[c.id] = c
        elif folder == "procedures":
            for pr in _read_jsonl(p, Procedure, problems, sources, rel):
                lex.procedures[pr.id] = pr
        elif folder == "context" and name in _CONTEXT_FILES:
            items = _read_jsonl(p, _CONTEXT_FILES[name], problems, sources, rel)
            {"triggers.jsonl": lex.triggers, "terminators.jsonl": lex.terminators,
             "sections.jsonl": lex.sections, "known_words.jsonl": lex.known_words}[name].extend(items)  # type: ignore[arg-type]
        elif folder == "rules" and name in _RULE_FILES:
            items = _read_jsonl(p, _RULE_FILES[name], problems, sources, rel)
            {"laterality.jsonl": lex.laterality_rules, "companions.jsonl": lex.companions,
             "incompatible.jsonl": lex.incompatible, "successors.jsonl": lex.successors,
             "absorption.jsonl": lex.absorption,
             "combinations.jsonl": lex.combinations,
             "site_codes.jsonl": lex.site_code_rules,
             "secondary_only.jsonl": lex.secondary_only,
             "implicit_approaches.jsonl": lex.implicit_approaches,
             "skin_sites.jsonl": lex.skin_sites,
             "default_methods.jsonl": lex.default_methods,
             "spine_levels.jsonl": lex.levels}[name].extend(items)  # type: ignore[arg-type]
        else:
            problems.append(f"{rel}: unexpected lexicon file (not a known folder/file name)")
    scoring_path = root / "scoring.json"
    try:
        lex.scoring = json.loads(scoring_path.read_text("utf-8"))
        digest.update(scoring_path.read_bytes())
    except (OSError, ValueError) as exc:
        problems.append(f"scoring.json: unreadable ({exc})")
    _cross_check(lex, sources, problems)
    if problems:
        raise LexiconError(problems)
    lex.sources = sources
    lex.digest = digest.hexdigest()[:16]
    return lex


def _cross_check(lex: Lexicons, sources: dict[str, str], problems: list[str]) -> None:
    """References between entries must name ids that exist."""
    known = set(lex.concepts)

    def need(ref: str, owner: str, what: str) -> None:
        if ref not in known:
            problems.append(f"{sources.get(owner, owner)}: {what} '{ref}' is not a known concept id")

    for c in lex.concepts.values():
        if c.parent:
            need(c.parent, c.id, "parent")
        for r in c.related:
            need(r, c.id, "related")
        for r in c.implies:
            need(r, c.id, "implies")
    for pr in lex.procedures.values():
        for r in pr.implies:
            need(r, pr.id, "implies")
    for cb in lex.combinations:
        for r in [*cb.requires, *cb.implies]:
            need(r, cb.id, "concept")
    for cp in lex.companions:
        for r in cp.unless:
            need(r, cp.id, "concept")
    for dm in lex.default_methods:
        for r in [*dm.when_title, dm.adds]:
            need(r, dm.id, "concept")
    for ss in lex.skin_sites:
        need(ss.region, ss.id, "region")
        need(ss.skin, ss.id, "skin site")
    for ia in lex.implicit_approaches:
        need(ia.approach, ia.id, "approach")
    for ab in lex.absorption:
        for r in [*ab.absorbed, *ab.by]:
            need(r, ab.id, "action")
