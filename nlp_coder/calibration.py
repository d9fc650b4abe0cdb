"""Fitting the confidence model (``lexicons/scoring.json``) to labelled cases.

Primary codes: a logistic regression on the features ``scoring.PrimaryFeatures`` records, pulled
towards the current coefficients (an L2 prior) so that a few dozen cases cannot swing it far.
Subsidiary codes: one base rate per kind of evidence, smoothed towards the current one. Then the
review threshold: the lowest primary confidence whose notes, left unflagged, meet the target
share of right primary categories. Hand-written Newton steps (a dozen lines) rather than a
scikit-learn dependency for one small regression.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy

from .evaluation import CaseOutcome

PRIMARY_KEYS = ("intercept", "score", "margin", "index_hit", "fuzzy", "nec_or_unspecified",
                "uncertain", "abandoned", "bundled_only")


@dataclass
class Fit:
    primary: dict[str, float]
    subsidiary: dict[str, float]
    needs_review_below: float
    n_primary: int
    n_subsidiary: int
    threshold_table: list[dict[str, float]]


def _row(f: dict[str, Any]) -> list[float]:
    return [1.0, min(float(f["score"]), 1.5), min(float(f["margin"]), 1.0), float(f["index_hit"]),
            float(f["fuzzy"]), float(f["nec_or_unspecified"]), float(f["uncertain"]),
            float(f["abandoned"]), float(f["bundled_only"])]


def fit_logistic(x: numpy.ndarray, y: numpy.ndarray, prior: numpy.ndarray, l2: float,
                 iterations: int = 50) -> numpy.ndarray:
    """Maximum a posteriori logistic weights with a Gaussian prior centred on ``prior``."""
    w = prior.astype(float).copy()
    eye = numpy.eye(len(w)) * l2
    for _ in range(iterations):
        p = 1.0 / (1.0 + numpy.exp(-(x @ w)))
        grad = x.T @ (p - y) + l2 * (w - prior)
        hess = (x.T * (p * (1 - p))) @ x + eye
        step = numpy.linalg.solve(hess, grad)
        w -= step
        if float(numpy.abs(step).max()) < 1e-8:
            break
    return w


def fit(outcomes: list[CaseOutcome], config: dict[str, Any], l2: float = 2.0,
        subsidiary_prior_weight: float = 5.0, target: float = 0.92,
        review_outcomes: list[CaseOutcome] | None = None) -> Fit:
    """A new primary model, subsidiary base rates and review threshold from scored cases
    (the threshold from ``review_outcomes`` when given: the kind of notes it must hold on)."""
    prim_x, prim_y = [], []
    sub: dict[str, list[tuple[float, bool]]] = {}
    for o in outcomes:
        for c, (_, good) in zip(o.result.codes, o.code_correct):
            f = c.features
            if not f:
                continue
            if f.get("kind") == "primary":
                prim_x.append(_row(f))
                prim_y.append(1.0 if good else 0.0)
            else:
                sub.setdefault(str(f["kind"]), []).append((float(f["primary_confidence"]), good))
    prior = numpy.array([float(config["primary"][k]) for k in PRIMARY_KEYS])
    if prim_x:
        w = fit_logistic(numpy.array(prim_x), numpy.array(prim_y), prior, l2)
    else:
        w = prior
    primary = {k: round(float(v), 3) for k, v in zip(PRIMARY_KEYS, w)}
    subsidiary = dict(config["subsidiary"])
    for kind, pairs in sub.items():
        prior_base = float(subsidiary.get(kind, subsidiary.get(kind.split(":", 1)[0], 0.7)))
        scale = sum(0.5 + 0.5 * pc for pc, _ in pairs)
        hits = sum(1 for _, good in pairs if good)
        base = (hits + subsidiary_prior_weight * prior_base) / (scale + subsidiary_prior_weight)
        subsidiary[kind] = round(min(max(base, 0.05), 0.99), 3)
    table = threshold_table(review_outcomes or outcomes, primary)
    ok = [r for r in table if r["unflagged_primary_category"] >= target]
    threshold = min((r["threshold"] for r in ok), default=float(config["needs_review_below"]))
    return Fit(primary, subsidiary, threshold, len(prim_x), sum(len(v) for v in sub.values()), table)


def cross_validated_ece(outcomes: list[CaseOutcome], config: dict[str, Any], **kw: Any) -> float:
    """Expected calibration error of confidences predicted for each case by a model fitted on
    the other cases (leave one case out): what to expect on notes the fit has not seen."""
    from .evaluation import expected_calibration_error
    pairs: list[tuple[float, bool]] = []
    for i, held in enumerate(outcomes):
        model = fit(outcomes[:i] + outcomes[i + 1:], config, **kw)
        for c, (_, good) in zip(held.result.codes, held.code_correct):
            f = c.features
            if not f:
                continue
            if f.get("kind") == "primary":
                p = primary_confidence(f, model.primary)
            else:
                kind = str(f["kind"])
                base = float(model.subsidiary.get(kind, model.subsidiary.get(kind.split(":", 1)[0], 0.7)))
                p = base * (0.5 + 0.5 * float(f["primary_confidence"]))
            pairs.append((p, good))
    return expected_calibration_error(pairs)


def primary_confidence(f: dict[str, Any], weights: dict[str, float]) -> float:
    z = sum(weights[k] * v for k, v in zip(PRIMARY_KEYS, _row(f)))
    return 1.0 / (1.0 + math.exp(-z))


def threshold_table(outcomes: list[CaseOutcome], weights: dict[str, float],
                    steps: tuple[float, ...] = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))
                    ) -> list[dict[str, float]]:
    """For each candidate threshold: the share of notes left unflagged and how right they are.

    Only the confidence part of the review flag moves with the threshold; notes flagged for other
    reasons (an assumed companion code, an abandoned or uncertain procedure) stay flagged."""
    rows = []
    for t in steps:
        unflagged = []
        for o in outcomes:
            prims = [c for c in o.result.codes if c.role == "primary"]
            if not prims:
                continue
            other = any(set(c.flags) - {"laterality_missing"} for c in prims) or any(
                q.facet in ("stage", "companion") for q in o.result.questions)
            low = any(primary_confidence(c.features, weights) < t for c in prims if c.features)
            if not (other or low):
                unflagged.append(o)
        n = len(unflagged)
        rows.append({"threshold": t, "coverage": n / len(outcomes) if outcomes else 0.0,
                     "unflagged_primary_category": (sum(o.primary_category["strict"] for o in unflagged) / n)
                     if n else 1.0,
                     "unflagged_primary_exact": (sum(o.primary_exact["strict"] for o in unflagged) / n)
                     if n else 1.0})
    return rows

