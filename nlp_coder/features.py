"""Facet features shared by code titles and note mentions, so both sides speak one vocabulary.

A feature is a concept id (``site.aortic_valve``) or a residual word (``w:segment``). Titles get
their concepts plus everything those imply; mentions also reach up to broader concepts (parents)
and sideways to related ones, with lower weights.
"""
from __future__ import annotations

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc

from .lexicons import Lexicons
from .pipeline import concept_spans


def word_feature(word: str) -> str | None:
    w = word.lower()
    if len(w) < 3 or not w.isalpha() or w in STOP_WORDS:
        return None
    if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]  # crude plural folding for words no lexicon covers
    return "w:" + w


def implied_closure(lex: Lexicons, ids: list[str], depth: int = 3) -> set[str]:
    out: set[str] = set()
    frontier = list(ids)
    for _ in range(depth):
        nxt: list[str] = []
        for i in frontier:
            c = lex.concepts.get(i)
            if c is None:
                p = lex.procedures.get(i)
                implied = p.implies if p else []
            else:
                implied = c.implies
            for j in implied:
                if j not in out and j not in ids:
                    out.add(j)
                    nxt.append(j)
        frontier = nxt
    return out


def doc_features(lex: Lexicons, doc: Doc) -> set[str]:
    """Features of a short text such as a code title (concepts, implied concepts, words)."""
    from .mentions import resolve_overlaps
    spans = resolve_overlaps(concept_spans(doc))
    covered: set[int] = set()
    ids: list[str] = []
    for sp in spans:
        if sp.label_ in ("procedure", "anaesthesia"):
            continue  # index entries are for notes; titles are described by their facets
        ids.append(sp.id_)
        covered.update(range(sp.start, sp.end))
    fw = {i: 1.0 for i in [*ids, *implied_closure(lex, ids)]}
    # A compound action or device in a title ("microwave ablation") also says its broader form
    # ("ablation"), so a note naming the broader form with its parts matches it.
    for i in list(fw):
        if i.startswith(("action.", "device.")):
            for a in lex.ancestors(i):
                fw.setdefault(a, 1.0)
    apply_combinations(lex, fw, 1.0)
    feats = set(fw)
    for tok in doc:
        if tok.i not in covered:
            wf = word_feature(tok.text)
            if wf:
                feats.add(wf)
    return feats


def mention_features(lex: Lexicons, explicit: list[str], words: list[str],
                     weights: dict[str, float]) -> dict[str, float]:
    """Weighted features of a procedure mention: explicit 1.0, implied, broader and related less."""
    w_implied = weights.get("implied", 0.9)
    w_parent = weights.get("parent", 0.7)
    w_related = weights.get("related", 0.5)
    w_word = weights.get("word", 0.6)
    feats: dict[str, float] = {}

    def put(f: str, w: float) -> None:
        if feats.get(f, 0.0) < w:
            feats[f] = w

    for i in explicit:
        put(i, 1.0)
    for i in implied_closure(lex, explicit):
        put(i, w_implied)
    apply_combinations(lex, feats, w_implied)
    for i in list(feats):
        base = feats[i]
        for k, anc in enumerate(lex.ancestors(i)):
            put(anc, base * w_parent ** (k + 1))
        c = lex.concepts.get(i)
        if c:
            for r in c.related:
                put(r, base * w_related)
    for wd in words:
        wf = word_feature(wd)
        if wf:
            put(wf, w_word)
    return feats


def apply_combinations(lex: Lexicons, feats: dict[str, float], weight: float) -> None:
    """Concept combinations (balloon dilatation + heart valve -> valvuloplasty), to a fixed point."""
    for _ in range(3):
        changed = False
        present = set(feats)
        for f in list(present):
            present.update(lex.ancestors(f))
        for cb in lex.combinations:
            if all(r in present for r in cb.requires):
                for i in [*cb.implies, *implied_closure(lex, list(cb.implies))]:
                    if feats.get(i, 0.0) < weight:
                        feats[i] = weight
                        changed = True
        if not changed:
            break
