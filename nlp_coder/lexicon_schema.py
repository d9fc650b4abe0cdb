"""Schemas for the lexicon and rules data files (JSON Lines), validated at load time.

Unknown keys are rejected so that a typo in a data file is an error, not a silently ignored field.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CODE_RE = re.compile(r"^[A-Z][0-9]{2}\.[0-9]$")
CODE_OR_PREFIX_RE = re.compile(r"^[A-Z]([0-9]{2}(\.[0-9])?)?$")
ID_RE = re.compile(r"^[a-z]+\.[a-z0-9_]+$")

ConceptKind = Literal[
    "action", "site", "approach", "modality", "access", "laterality", "device", "qualifier"
, "anaesthesia"]
ContextCategory = Literal[
    "negated", "planned", "historical", "abandoned", "converted", "alternative",
    "uncertain", "family", "pseudo", "indication", "route",
]
SectionCategory = Literal[
    "procedure_list", "description", "indication", "diagnosis", "history", "plan",
    "findings", "anaesthesia", "other",
]


def _check_code(value: str | None) -> str | None:
    if value is not None and not CODE_RE.match(value):
        raise ValueError(f"'{value}' is not a four-character OPCS-4 code like K35.2")
    return value


def _check_prefix(value: str) -> str:
    if not CODE_OR_PREFIX_RE.match(value):
        raise ValueError(f"'{value}' is not a chapter letter, category (K35) or code (K35.2)")
    return value


def _check_phrases(values: list[str]) -> list[str]:
    for v in values:
        if not v.strip():
            raise ValueError("empty phrase")
    return values


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Concept(_Strict):
    """A facet concept: found in notes and in classification titles alike."""

    id: str
    kind: ConceptKind
    terms: list[str] = Field(min_length=1)
    abbreviations: list[str] = []
    parent: str | None = None
    related: list[str] = []
    implies: list[str] = []
    code: str | None = None
    converted_code: str | None = None
    lesion_code: str | None = None   # device/method: the "... of lesion of organ NOC" form (Y13.4)
    label: str | None = None
    z_code: str | None = None
    z_label: str | None = None
    chapters: list[str] = []
    paired: bool = False
    weight: float = Field(default=1.0, gt=0, le=5)
    note: str | None = None

    _v_terms = field_validator("terms", "abbreviations")(_check_phrases)
    _v_codes = field_validator("code", "converted_code", "lesion_code", "z_code")(_check_code)

    @model_validator(mode="after")
    def _id_matches_kind(self) -> "Concept":
        if not ID_RE.match(self.id) or self.id.split(".", 1)[0] != self.kind:
            raise ValueError(f"id '{self.id}' must look like '{self.kind}.snake_case_name'")
        return self


class Procedure(_Strict):
    """An index entry: a named procedure (or abbreviation, eponym) leading to codes."""

    id: str
    terms: list[str] = Field(min_length=1)
    abbreviations: list[str] = []
    codes: list[str] = Field(min_length=1)
    labels: list[str] = Field(min_length=1)
    implies: list[str] = []
    chapter: str
    note: str | None = None

    _v_terms = field_validator("terms", "abbreviations")(_check_phrases)

    @field_validator("codes")
    @classmethod
    def _v_codes(cls, values: list[str]) -> list[str]:
        for v in values:
            _check_code(v)
        return values

    @model_validator(mode="after")
    def _shape(self) -> "Procedure":
        if not self.id.startswith("proc.") or not ID_RE.match(self.id):
            raise ValueError(f"id '{self.id}' must look like 'proc.snake_case_name'")
        if len(self.labels) != len(self.codes):
            raise ValueError("labels must have one entry per code")
        if self.codes[0][0] != self.chapter:
            raise ValueError(f"chapter '{self.chapter}' does not match primary code {self.codes[0]}")
        return self


class Trigger(_Strict):
    id: str
    phrases: list[str] = Field(min_length=1)
    category: ContextCategory
    direction: Literal["forward", "backward", "both"]
    max_scope: int = Field(default=8, ge=1, le=60)
    sections: list[SectionCategory | Literal["title", "body", "answer"]] = []  # only there (default: anywhere)
    note: str | None = None

    _v = field_validator("phrases")(_check_phrases)


class Terminator(_Strict):
    id: str
    phrases: list[str] = Field(min_length=1)
    categories: list[ContextCategory] = Field(min_length=1)
    note: str | None = None


class KnownWords(_Strict):
    """Ordinary words the near-miss matcher must never read as a misspelt lexicon term
    ("infection" is not "injection", "ambulation" is not "ablation")."""
    id: str
    words: list[str] = Field(min_length=1)
    note: str | None = None

    @field_validator("words")
    @classmethod
    def _v_words(cls, vs: list[str]) -> list[str]:
        for v in vs:
            if not v or v != v.strip().lower() or " " in v:
                raise ValueError(f"'{v}': known words are single lowercase words")
        return vs


class Section(_Strict):
    id: str
    headers: list[str] = Field(min_length=1)
    category: SectionCategory
    note: str | None = None


class _Rule(_Strict):
    id: str
    rule: str | None = None
    source: str
    note: str | None = None


class LateralityRule(_Rule):
    scope: list[str] = Field(min_length=1)
    laterality: Literal["required", "forbidden"]
    except_: list[str] = Field(default=[], alias="except")

    _v_scope = field_validator("scope")(lambda vs: [_check_prefix(v) for v in vs])
    _v_except = field_validator("except_")(lambda vs: [_check_prefix(v) for v in vs])


class ImplicitApproachRule(_Rule):
    """An approach that codes in ``scope`` already imply (a laparotomy for an open bowel
    resection): its approach code is not added to them."""
    approach: str
    scope: list[str] = Field(min_length=1)
    except_: list[str] = Field(default=[], alias="except")

    _v_scope = field_validator("scope")(lambda vs: [_check_prefix(v) for v in vs])
    _v_except = field_validator("except_")(lambda vs: [_check_prefix(v) for v in vs])


class SkinSiteRule(_Rule):
    """For codes in ``scope`` (skin operations) a body region named in the note means the skin
    of that region: its site code is the skin one (Z47-Z50), not the region's (Z89-Z92)."""
    region: str
    skin: str
    scope: list[str] = Field(min_length=1)

    _v_scope = field_validator("scope")(lambda vs: [_check_prefix(v) for v in vs])


class DefaultMethodRule(_Rule):
    """Codes whose title says one of ``when_title`` (percutaneous transluminal) are done under
    what ``adds`` names (image control); when the note states no modality it is assumed, as the
    unspecified code, and the coder is asked which."""
    when_title: list[str] = Field(min_length=1)
    adds: str
    scope: list[str] = []

    _v_scope = field_validator("scope")(lambda vs: [_check_prefix(v) for v in vs])


class CompanionRule(_Rule):
    code: str | None = None            # the code that needs a companion ...
    scope: list[str] = []              # ... or the codes/categories that do
    requires_one_of: list[str] = Field(min_length=1)
    default: str
    unless: list[str] = []  # concept ids that waive the rule ("secondary" lens implant)

    _v_code = field_validator("code", "default")(_check_code)
    _v_scope = field_validator("scope")(lambda vs: [_check_prefix(v) for v in vs])

    @model_validator(mode="after")
    def _code_or_scope(self) -> "CompanionRule":
        if not self.code and not self.scope:
            raise ValueError("a companion rule needs 'code' or 'scope'")
        return self
    _v_req = field_validator("requires_one_of")(lambda vs: [_check_prefix(v) for v in vs])


class IncompatibleRule(_Rule):
    a: str
    b: str | list[str]

    _v_a = field_validator("a")(_check_prefix)

    @field_validator("b")
    @classmethod
    def _v_b(cls, v: str | list[str]) -> str | list[str]:
        for x in [v] if isinstance(v, str) else v:
            _check_prefix(x)
        return v


class SuccessorRule(_Rule):
    code: str
    successors: list[str] = Field(min_length=1)
    relation: Literal["retired", "renamed", "more_specific"]

    _v_code = field_validator("code")(_check_code)
    _v_succ = field_validator("successors")(lambda vs: [_check_code(v) for v in vs])


class AbsorptionRule(_Rule):
    absorbed: list[str] = Field(min_length=1)
    by: list[str] = Field(min_length=1)
    same_site: bool = True
    or_same_approach: bool = False  # e.g. a diagnostic laparoscopy before a laparoscopic operation


class SiteCodeRule(_Rule):
    scope: list[str] = Field(min_length=1)
    policy: Literal["unnamed_only", "more_specific"]

    _v_scope = field_validator("scope")(lambda vs: [_check_prefix(v) for v in vs])


class LevelsRule(_Rule):
    """Codes in ``scope`` (spinal operations) are followed by a code for the number of levels
    operated on (``codes``: "1", "2", "3" for three or more), counted from the note."""
    scope: list[str] = Field(min_length=1)
    codes: dict[str, str]
    answers: dict[str, str] = {}   # the wording offered to the coder for each count ("two levels")
    unspecified: str = ""          # the code when the note names no level (V55.9); the coder is still asked
    counted_words: list[str] = []  # what a number in words counts ("two levels", "one vertebra")

    _v_unspecified = field_validator("unspecified")(lambda v: _check_code(v) if v else v)

    _v_scope = field_validator("scope")(lambda vs: [_check_prefix(v) for v in vs])


class SecondaryOnlyRule(_Rule):
    scope: list[str] = Field(min_length=1)

    _v_scope = field_validator("scope")(lambda vs: [_check_prefix(v) for v in vs])


class CombinationRule(_Strict):
    id: str
    requires: list[str] = Field(min_length=1)
    implies: list[str] = Field(min_length=1)
    rule: str | None = None
    source: str | None = None
    note: str | None = None
