"""Fitting the confidence model (``lexicons/scoring.json``) to labelled cases.

Primary codes: a logistic regression on the features ``scoring.PrimaryFeatures`` records, pulled
towards the prior coefficients (``calibration_prior`` in scoring.json, an L2 prior) so that a few
dozen cases cannot swing it far. Subsidiary codes: one base rate per kind of evidence, smoothed
towards the prior one. The prior never changes by fitting, so a fit is reproducible. Then the
review threshold: the lowest primary confidence whose notes, left unflagged, meet the target
share of right primary categories. Hand-written Newton steps (a dozen lines) rather than a
scikit-learn dependency for one small regression.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy

from .evaluation import CaseOutcome
from .scoring import PRIMARY_KEYS, REVIEW_FACETS, REVIEW_FLAGS, PrimaryFeatures, Scorer, primary_vector


@dataclass
class Fit:
    primary: dict[str, float]
    subsidiary: dict[str, float]
    needs_review_below: float
    n_primary: int
    n_subsidiary: int
    threshold_table: list[dict[str, float]]


def _features(f: dict[str, Any]) -> PrimaryFeatures:
    """The PrimaryFeatures a code's recorded ``features`` came from."""
    return PrimaryFeatures(**{k: v for k, v in f.items() if k != "kind"})


def _scorer(primary: dict[str, float], subsidiary: dict[str, float]) -> Scorer:
    """The engine's own scorer with these coefficients: predictions computed exactly as coding does."""
    return Scorer({"primary": primary, "subsidiary": subsidiary, "needs_review_below": 0.0})


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


def fit(outcomes: list[CaseOutcome], config: dict[str, Any], l2: float = 1.0,
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
                prim_x.append(primary_vector(_features(f)))
                prim_y.append(1.0 if good else 0.0)
            else:
                sub.setdefault(str(f["kind"]), []).append((float(f["primary_confidence"]), good))
    # The prior is the model's fixed starting beliefs (``calibration_prior``), so that fitting the
    # same cases twice gives the same model; without one, the current coefficients.
    start = config.get("calibration_prior") or {}
    prior_primary = {**config["primary"], **start.get("primary", {})}
    prior_subsidiary = start.get("subsidiary") or config["subsidiary"]
    prior = numpy.array([float(prior_primary[k]) for k in PRIMARY_KEYS])
    if prim_x:
        w = fit_logistic(numpy.array(prim_x), numpy.array(prim_y), prior, l2)
    else:
        w = prior
    primary = {k: round(float(v), 3) for k, v in zip(PRIMARY_KEYS, w)}
    subsidiary = dict(prior_subsidiary)
    current = _scorer(primary, prior_subsidiary)
    for kind, pairs in sub.items():
        prior_base = current.subsidiary_confidence(kind, 1.0)  # the prior base rate for this kind
        scale = sum(0.5 + 0.5 * pc for pc, _ in pairs)
        hits = sum(1 for _, good in pairs if good)
        base = (hits + subsidiary_prior_weight * prior_base) / (scale + subsidiary_prior_weight)
        subsidiary[kind] = round(min(max(base, 0.05), 0.99), 3)
    table = threshold_table(review_outcomes or outcomes, primary)
    ok = [r for r in table if r["unflagged_primary_category"] >= target]
    threshold = min((r["threshold"] for r in ok), default=float(config["needs_review_below"]))
    return Fit(primary, subsidiary, threshold, len(prim_x), sum(len(v) for v in sub.values()), table)


def cross_validated_ece(outcomes: list[CaseOutcome], config: dict[str, Any],
                        on: set[str] | None = None, **kw: Any) -> float:
    """Expected calibration error of confidences predicted for each case by a model fitted on
    the other cases (leave one case out): what to expect on notes the fit has not seen.

    A case given more than once (to weight it) is left out with all its copies and counted
    once; ``on`` limits the figure to those case ids (the kind of notes it must hold on)."""
    from .evaluation import expected_calibration_error
    pairs: list[tuple[float, bool]] = []
    seen: set[str] = set()
    for held in outcomes:
        cid = held.case.id
        if cid in seen or (on is not None and cid not in on):
            continue
        seen.add(cid)
        model = fit([o for o in outcomes if o.case.id != cid], config, **kw)
        scorer = _scorer(model.primary, model.subsidiary)
        for c, (_, good) in zip(held.result.codes, held.code_correct):
            f = c.features
            if not f:
                continue
            if f.get("kind") == "primary":
                p = scorer.primary_confidence(_features(f))
            else:
                p = scorer.subsidiary_confidence(str(f["kind"]), float(f["primary_confidence"]))
            pairs.append((p, good))
    return expected_calibration_error(pairs)


def threshold_table(outcomes: list[CaseOutcome], weights: dict[str, float],
                    steps: tuple[float, ...] = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))
                    ) -> list[dict[str, float]]:
    """For each candidate threshold: the share of notes left unflagged and how right they are.

    Only the confidence part of the review flag moves with the threshold; notes flagged for other
    reasons (an assumed companion code, an abandoned or uncertain procedure) stay flagged."""
    scorer = _scorer(weights, {})
    rows = []
    for t in steps:
        unflagged = []
        for o in outcomes:
            prims = [c for c in o.result.codes if c.role == "primary"]
            if not prims:
                continue
            other = any(f in REVIEW_FLAGS for c in prims for f in c.flags) or any(
                q.facet in REVIEW_FACETS for q in o.result.questions)
            low = any(scorer.primary_confidence(_features(c.features)) < t for c in prims if c.features)
            if not (other or low):
                unflagged.append(o)
        n = len(unflagged)
        rows.append({"threshold": t, "coverage": n / len(outcomes) if outcomes else 0.0,
                     "unflagged_primary_category": (sum(o.primary_category["strict"] for o in unflagged) / n)
                     if n else 1.0,
                     "unflagged_primary_exact": (sum(o.primary_exact["strict"] for o in unflagged) / n)
                     if n else 1.0})
    return rows

