"""All confidence scoring lives here: one interpretable logistic model for primary codes and
base rates per evidence kind for subsidiary codes. Coefficients and thresholds are data
(``lexicons/scoring.json``); ``nlp-coder eval`` reports how well they are calibrated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PrimaryFeatures:
    score: float            # retrieval score of the chosen code
    margin: float           # its lead over the next code of another category or fourth character
    index_hit: bool         # a named-procedure index entry led to it
    fuzzy: bool             # its evidence needed near-miss spelling matching
    nec_or_unspecified: bool
    uncertain: bool
    abandoned: bool
    bundled_only: bool      # coded without an imported classification


# The primary model's coefficients, in the order of ``primary_vector``.
PRIMARY_KEYS = ("intercept", "score", "margin", "index_hit", "fuzzy", "nec_or_unspecified",
                "uncertain", "abandoned", "bundled_only")
# What makes a result need review besides a low primary confidence, and what makes it incomplete
# (a detail the codes need is missing from the note): shared by assembly and calibration.
REVIEW_FLAGS = ("abandoned", "uncertain")            # context flags on a primary code
REVIEW_FACETS = frozenset({"stage", "companion"})    # questions: the codes given may be wrong
INCOMPLETE_FACETS = frozenset({"laterality", "levels", "detail"})   # questions: a code is missing


def primary_vector(f: PrimaryFeatures) -> list[float]:
    """The features the primary model weighs, capped as it weighs them (``PRIMARY_KEYS`` order)."""
    return [1.0, min(f.score, 1.5), min(f.margin, 1.0), float(f.index_hit), float(f.fuzzy),
            float(f.nec_or_unspecified), float(f.uncertain), float(f.abandoned), float(f.bundled_only)]


class Scorer:
    def __init__(self, config: dict[str, Any]):
        self.primary = config["primary"]
        self.subsidiary = config["subsidiary"]
        self.review_below = float(config["needs_review_below"])

    def primary_confidence(self, f: PrimaryFeatures) -> float:
        z = sum(self.primary[k] * v for k, v in zip(PRIMARY_KEYS, primary_vector(f)))
        return round(1.0 / (1.0 + math.exp(-z)), 3)

    def subsidiary_confidence(self, kind: str, primary_confidence: float) -> float:
        """``kind`` is the evidence basis, optionally with the code's role ("local:site"): the
        most specific base rate the model has is used."""
        base = float(self.subsidiary.get(kind, self.subsidiary.get(kind.split(":", 1)[0], 0.7)))
        return round(base * (0.5 + 0.5 * primary_confidence), 3)

    def needs_review(self, confidence: float) -> bool:
        return confidence < self.review_below
