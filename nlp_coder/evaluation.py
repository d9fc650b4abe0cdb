"""Evaluation against reference cases (the ``dev_cases.tsv`` format).

Strict scores compare codes as written in the reference. Drift-aware scores also accept a code that
our rules data records as the successor or a more specific sibling of a reference code (guidance
agreed under older OPCS-4 releases; see rules/successors.jsonl), and then count the reference's
Z site code as satisfied when that more specific code names the site.
"""
from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .engine import Engine
from .results import CodingResult

_CODE_IN_NOTES = re.compile(r"\b([A-Z]\d{2}(?:\.[0-9-])?)")
_CODE_RANGE = re.compile(r"\b([A-Z]\d{2})-([A-Z]\d{2})\b")


@dataclass
class Case:
    id: str
    text: str
    codes_all: list[str]
    codes_one_of: list[list[str]]
    conditional: set[str] = field(default_factory=set)
    chapter: str = ""


@dataclass
class CaseOutcome:
    case: Case
    result: CodingResult
    primary_exact: dict[str, bool]
    primary_category: dict[str, bool]
    tp_units: dict[str, int]
    n_units: int
    correct_pred: dict[str, int]
    n_pred: int
    code_correct: list[tuple[float, bool]]


def read_cases(path: str | Path) -> list[Case]:
    """Read cases from a TSV (the dev_cases format), a JSONL file, or a folder of JSONL files.

    In the TSV the input text is the title, a blank line, then the text. A JSONL line holds
    ``id``, ``text`` (an op note, newlines allowed), ``codes_all``, optional ``codes_one_of``
    (a list of alternative groups), ``title`` and ``chapter``.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise ValueError(f"{path}: no .jsonl case files in this folder")
        return [c for f in files for c in _read_jsonl_cases(f)]
    if path.suffix == ".jsonl":
        return _read_jsonl_cases(path)
    return _read_tsv_cases(path)


def _read_tsv_cases(path: Path) -> list[Case]:
    csv.field_size_limit(sys.maxsize)
    cases = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        need = {"id", "title", "text", "codes_all", "codes_one_of"}
        if not reader.fieldnames or not need <= set(reader.fieldnames):
            raise ValueError(f"{path}: header must include {', '.join(sorted(need))}")
        for lineno, row in enumerate(reader, start=2):
            if row.get("text") is None:
                raise ValueError(f"{path}:{lineno}: too few columns")
            one_of = [g.split() for g in (row["codes_one_of"] or "").split("|") if g.strip()]
            notes = row.get("notes") or ""
            codes = (row["codes_all"] or "").split()
            cases.append(Case(row["id"], f"{row['title']}\n\n{row['text']}", codes, one_of,
                              _conditional(notes, codes + [c for g in one_of for c in g])))
    return cases


def _conditional(notes: str, required: list[str]) -> set[str]:
    """Codes the notes name as "(not counted)": a prediction of one is neither right nor wrong.

    Only the clauses that say so count, and never a code the case requires; "T85-T87" names
    every category in the range."""
    out: set[str] = set()
    for clause in notes.split(";"):
        if "not counted" not in clause:
            continue
        for a, b in _CODE_RANGE.findall(clause):
            if a[0] == b[0]:
                out.update(f"{a[0]}{n:02d}" for n in range(int(a[1:3]), int(b[1:3]) + 1))
        out.update(_CODE_IN_NOTES.findall(clause))
    return {c for c in out if not any(code_matches(c, g) or code_matches(g, c) for g in required)}


def _read_jsonl_cases(path: Path) -> list[Case]:
    cases = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text = row["text"]
                codes = list(row["codes_all"])
                groups = row.get("codes_one_of", [])
                if not isinstance(groups, list) or not all(
                        isinstance(g, list) and all(isinstance(c, str) for c in g) for g in groups):
                    raise TypeError("codes_one_of must be a list of groups, each a list of codes")
                one_of = [list(g) for g in groups]
                if not isinstance(text, str) or not all(isinstance(c, str) for c in codes):
                    raise TypeError("text must be a string and codes_all a list of codes")
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{lineno}: bad case ({exc})") from None
            title = row.get("title") or ""
            cases.append(Case(str(row["id"]), f"{title}\n\n{text}" if title else text, codes,
                              one_of, set(row.get("conditional", [])), str(row.get("chapter", ""))))
    return cases


def code_matches(pred: str, gold: str) -> bool:
    """'Y53.-' and 'L76' match any fourth character."""
    g = gold.rstrip("-").rstrip(".")
    return pred == gold if len(g) == 5 else pred[:3] == g[:3]


class Scorer:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.succ: dict[str, set[str]] = {}
        for s in engine.lex.successors:
            self.succ.setdefault(s.code, set()).update(s.successors)

    def equivalent(self, pred: str, gold: str, drift: bool) -> bool:
        if code_matches(pred, gold):
            return True
        if drift and len(gold) == 5 and pred in self.succ.get(gold, set()):
            return True
        return False

    def _carries(self, code: str, method: str) -> bool:
        """Does ``code``'s title say everything the method code ``method`` says (beyond "organ")?"""
        if len(method) != 5 or method not in self.engine.index.pos or code not in self.engine.index.pos:
            return False
        says = self.engine.assembler._says
        feats = {f for f in self.engine._title_core(method)
                 if not f.startswith(("site.", "w:")) and f != "qualifier.noc"}
        tf = self.engine.assembler._title_feats(code)
        return bool(feats) and all(says(f, tf) for f in feats)

    def gold_primary(self, case: Case) -> list[str]:
        firsts = [c for c in case.codes_all if c[0] not in "YZO"]
        if firsts:
            return firsts[:1]
        for grp in case.codes_one_of:
            if any(c[0] not in "YZO" for c in grp):
                return [c for c in grp if c[0] not in "YZO"]
        return case.codes_all[:1]

    def score(self, case: Case, result: CodingResult) -> CaseOutcome:
        preds = [c.code for c in result.codes]
        primary = preds[0] if preds else ""
        gp = self.gold_primary(case)
        exact, cat, tp, correct = {}, {}, {}, {}
        code_correct: list[tuple[float, bool]] = []
        units: list[list[str]] = [[c] for c in case.codes_all] + case.codes_one_of
        # Conditional codes (named in the notes, "not counted") are neither right nor wrong.
        counted = [c for c in result.codes if not any(code_matches(c.code, g) for g in case.conditional)]
        for mode in ("strict", "drift"):
            drift = mode == "drift"
            exact[mode] = any(self.equivalent(primary, g, drift) for g in gp) if primary else False
            cat[mode] = any(primary[:3] == g[:3] or (drift and any(
                s[:3] == primary[:3] for s in self.succ.get(g, ()))) for g in gp) if primary else False
            sat = 0
            specific_site_ok = drift and any(primary in self.succ.get(g, set()) for g in gp)
            for u in units:
                if any(self.equivalent(p, g, drift) for p in preds for g in u):
                    sat += 1
                elif specific_site_ok and all(g.startswith("Z") for g in u):
                    sat += 1
                elif specific_site_ok and all(g.startswith("Y") and self._carries(primary, g) for g in u):
                    sat += 1  # the newer code says the method itself (D22.4 balloon dilation vs D22.2 + Y40.3)
            tp[mode] = sat
            ok = 0
            for c in counted:
                good = any(self.equivalent(c.code, g, drift) for u in units for g in u)
                ok += good
                if mode == "strict":
                    code_correct.append((c.confidence, good))
            correct[mode] = ok
        return CaseOutcome(case, result, exact, cat, tp, len(units), correct, len(counted), code_correct)


def expected_calibration_error(pairs: Iterable[tuple[float, bool]], bins: int = 10) -> float:
    pairs = list(pairs)
    if not pairs:
        return 0.0
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = [(p, y) for p, y in pairs if (lo <= p < hi) or (b == bins - 1 and p == 1.0)]
        if sel:
            conf = sum(p for p, _ in sel) / len(sel)
            acc = sum(1 for _, y in sel if y) / len(sel)
            total += len(sel) / len(pairs) * abs(conf - acc)
    return total


def summarise(outcomes: list[CaseOutcome]) -> dict[str, Any]:
    n = len(outcomes) or 1
    out: dict[str, Any] = {"cases": len(outcomes)}
    for mode in ("strict", "drift"):
        tp = sum(o.tp_units[mode] for o in outcomes)
        units = sum(o.n_units for o in outcomes)
        corr = sum(o.correct_pred[mode] for o in outcomes)
        npred = sum(o.n_pred for o in outcomes)
        p = corr / npred if npred else 0.0
        r = tp / units if units else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        unflagged = [o for o in outcomes if not o.result.needs_review]
        nu = len(unflagged) or 1
        out[mode] = {
            "primary_exact": sum(o.primary_exact[mode] for o in outcomes) / n,
            "primary_category": sum(o.primary_category[mode] for o in outcomes) / n,
            "precision": p, "recall": r, "f1": f1,
            "unflagged_primary_exact": sum(o.primary_exact[mode] for o in unflagged) / nu,
            "unflagged_primary_category": sum(o.primary_category[mode] for o in unflagged) / nu,
        }
    out["coverage"] = sum(1 for o in outcomes if not o.result.needs_review) / n
    out["ece"] = expected_calibration_error(p for o in outcomes for p in o.code_correct)
    out["by_chapter"] = by_chapter(outcomes)
    return out


def set_exact(o: CaseOutcome, mode: str = "strict") -> bool:
    """The whole code set is right: every reference unit found and nothing extra."""
    return o.tp_units[mode] == o.n_units and o.correct_pred[mode] == o.n_pred


def chapter_of(case: Case) -> str:
    if case.chapter:
        return case.chapter
    firsts = [c for c in case.codes_all if c[0] not in "YZ"] or \
        [c for g in case.codes_one_of for c in g if c[0] not in "YZ"]
    return firsts[0][0] if firsts else "?"


def by_chapter(outcomes: list[CaseOutcome]) -> dict[str, dict[str, float]]:
    """Strict primary-category, primary-exact and whole-set accuracy per chapter of the reference."""
    groups: dict[str, list[CaseOutcome]] = {}
    for o in outcomes:
        groups.setdefault(chapter_of(o.case), []).append(o)
    table = {}
    for ch in sorted(groups):
        g = groups[ch]
        table[ch] = {"cases": len(g),
                     "primary_category": sum(o.primary_category["strict"] for o in g) / len(g),
                     "primary_exact": sum(o.primary_exact["strict"] for o in g) / len(g),
                     "code_set_exact": sum(set_exact(o) for o in g) / len(g)}
    return table


def write_misses(outcomes: list[CaseOutcome], path: str | Path) -> int:
    """Per-case misses (ids and codes only: never the case texts)."""
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter="\t", lineterminator="\n")
        w.writerow(["id", "primary_category_ok", "primary_exact_ok", "predicted", "gold_all",
                    "gold_one_of", "needs_review"])
        for o in outcomes:
            if o.primary_exact["strict"] and set_exact(o):
                continue
            rows += 1
            w.writerow([o.case.id, o.primary_category["strict"], o.primary_exact["strict"],
                        " ".join(f"{c.code}:{c.confidence:.2f}" for c in o.result.codes),
                        " ".join(o.case.codes_all), " | ".join(" ".join(g) for g in o.case.codes_one_of),
                        o.result.needs_review])
    return rows


def run(engine: Engine, cases: list[Case]) -> list[CaseOutcome]:
    sc = Scorer(engine)
    return [sc.score(c, engine.code(c.text)) for c in cases]


def reliability_plot(outcomes: list[CaseOutcome], path: str | Path, bins: int = 10) -> None:
    """A reliability diagram (needs the optional matplotlib extra)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [p for o in outcomes for p in o.code_correct]
    xs, ys, ns = [], [], []
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = [(p, y) for p, y in pairs if lo <= p < hi or (b == bins - 1 and p == 1.0)]
        if sel:
            xs.append(sum(p for p, _ in sel) / len(sel))
            ys.append(sum(1 for _, y in sel if y) / len(sel))
            ns.append(len(sel))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot(xs, ys, "o-", label="nlp-coder")
    for x, y, n in zip(xs, ys, ns):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set_xlabel("confidence")
    ax.set_ylabel("share correct")
    ax.set_title(f"Reliability (ECE {expected_calibration_error(pairs):.3f})")
    ax.legend(loc="upper left")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
