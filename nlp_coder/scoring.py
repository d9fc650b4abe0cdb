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


class Scorer:
    def __init__(self, config: dict[str, Any]):
        self.primary = config["primary"]
        self.subsidiary = config["subsidiary"]
        self.review_below = float(config["needs_review_below"])

    def primary_confidence(self, f: PrimaryFeatures) -> float:
        p = self.primary
        z = (p["intercept"] + p["score"] * min(f.score, 1.5) + p["margin"] * min(f.margin, 1.0)
             + p["index_hit"] * f.index_hit + p["fuzzy"] * f.fuzzy
             + p["nec_or_unspecified"] * f.nec_or_unspecified + p["uncertain"] * f.uncertain
             + p["abandoned"] * f.abandoned + p["bundled_only"] * f.bundled_only)
        return round(1.0 / (1.0 + math.exp(-z)), 3)

    def subsidiary_confidence(self, kind: str, primary_confidence: float) -> float:
        """``kind`` is the evidence basis, optionally with the code's role ("local:site"): the
        most specific base rate the model has is used."""
        base = float(self.subsidiary.get(kind, self.subsidiary.get(kind.split(":", 1)[0], 0.7)))
        return round(base * (0.5 + 0.5 * primary_confidence), 3)

    def needs_review(self, confidence: float) -> bool:
        return confidence < self.review_below
