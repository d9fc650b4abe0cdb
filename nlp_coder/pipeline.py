"""The spaCy pipeline: text -> Doc with sentences and concept spans (exact, abbreviation, fuzzy).

``spacy.blank("en")`` only: nothing is downloaded at run time. Phrase matching is spaCy's
``span_ruler`` fed from the lexicons (each pattern's id points back to its lexicon entry).
"""
from __future__ import annotations

import re
from typing import Iterable

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from . import sentences  # noqa: F401  (registers the nlp_coder_sentences factory)
from .fuzzy_matcher import SPAN_LIST_KEY, SPANS_KEY, FuzzyMatcher
from .lexicons import Lexicons
from .side_words import SideSkipper

PROCEDURE_LABEL = "procedure"
_PERIOD_ABBREVIATION = re.compile(r"[A-Za-z]+\.(?:[A-Za-z]+\.)*")


@Language.factory("nlp_coder_fuzzy", default_config={"min_length": 6, "score_cutoff": 88.0})
def make_fuzzy(nlp: Language, name: str, min_length: int, score_cutoff: float) -> FuzzyMatcher:
    # Vocabulary is attached by build_pipeline (lexicon objects are not JSON-serialisable config).
    return FuzzyMatcher({}, (), min_length=min_length, score_cutoff=score_cutoff)


@Language.factory("nlp_coder_side_skip")
def make_side_skip(nlp: Language, name: str) -> SideSkipper:
    # The rulers and side words are attached by build_pipeline.
    return SideSkipper([], (), (), SPANS_KEY)


def _patterns(lex: Lexicons) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    lower: list[dict[str, str]] = []
    exact: list[dict[str, str]] = []
    for c in lex.concepts.values():
        lower += [{"label": c.kind, "pattern": t, "id": c.id} for t in c.terms]
        exact += [{"label": c.kind, "pattern": a, "id": c.id} for a in c.abbreviations]
    for p in lex.procedures.values():
        lower += [{"label": PROCEDURE_LABEL, "pattern": t, "id": p.id} for t in p.terms]
        exact += [{"label": PROCEDURE_LABEL, "pattern": a, "id": p.id} for a in p.abbreviations]
    return lower, exact


def fuzzy_terms(lex: Lexicons, min_length: int) -> dict[str, tuple[str, str]]:
    """Single-word terms eligible for near-miss matching: word -> (label, id)."""
    out: dict[str, tuple[str, str]] = {}
    for c in lex.concepts.values():
        if c.kind in ("laterality",):
            continue  # short, common words: a misspelling guess would do more harm than good
        for t in c.terms:
            if " " not in t and "-" not in t and len(t) >= min_length and t.isalpha():
                out.setdefault(t.lower(), (c.kind, c.id))
    for p in lex.procedures.values():
        for t in p.terms:
            if " " not in t and len(t) >= min_length and t.isalpha():
                out.setdefault(t.lower(), (PROCEDURE_LABEL, p.id))
    return out


def build_pipeline(lex: Lexicons, known_words: Iterable[str] = (), fuzzy: bool = True) -> Language:
    """A blank English pipeline with the lexicons' span rulers (and the fuzzy matcher)."""
    nlp = spacy.blank("en")
    nlp.max_length = 20_000_000  # long notes are legal input; memory, not spaCy, is the limit
    # Scraped notes flatten line breaks into commas after headers ("DIAGNOSIS:,Right knee"):
    # split ":," / ",Word" so headers, sides and triggers stay separate tokens.
    infixes = list(nlp.Defaults.infixes) + [r"(?<=[A-Za-z0-9)])[:;,](?=[,A-Za-z])", r"(?<=[:;]),"]
    nlp.tokenizer.infix_finditer = spacy.util.compile_infix_regex(infixes).finditer
    # Of spaCy's ~1,300 English special cases only the abbreviations with full stops matter here
    # ("Dr.", "e.g.": a full stop that does not end a sentence); contractions and emoticons
    # nearly halve the tokenizer's speed on long notes for nothing an op note needs.
    nlp.tokenizer.rules = {k: v for k, v in nlp.tokenizer.rules.items() if _PERIOD_ABBREVIATION.fullmatch(k)}
    nlp.add_pipe("nlp_coder_sentences")
    lower, exact = _patterns(lex)
    ruler = nlp.add_pipe("span_ruler", name="nlp_coder_terms",
                         config={"spans_key": SPANS_KEY, "phrase_matcher_attr": "LOWER",
                                 "validate": False, "overwrite": True})
    ruler.add_patterns(lower)  # type: ignore[attr-defined]
    if exact:
        abbrev = nlp.add_pipe("span_ruler", name="nlp_coder_abbreviations",
                              config={"spans_key": SPANS_KEY, "phrase_matcher_attr": "ORTH",
                                      "validate": False, "overwrite": False})
        abbrev.add_patterns(exact)  # type: ignore[attr-defined]
    if fuzzy:  # the note pipeline (code titles need neither)
        rulers = [nlp.get_pipe("nlp_coder_terms")] + ([nlp.get_pipe("nlp_coder_abbreviations")] if exact else [])
        sides = [c for c in lex.concepts.values() if c.kind == "laterality"]
        sk: SideSkipper = nlp.add_pipe("nlp_coder_side_skip")  # type: ignore[assignment]
        sk.__init__(rulers, [t for c in sides for t in c.terms],  # type: ignore[misc]
                    [a for c in sides for a in c.abbreviations], SPANS_KEY,
                    patterns=[p["pattern"] for p in lower + exact])
        fm: FuzzyMatcher = nlp.add_pipe("nlp_coder_fuzzy")  # type: ignore[assignment]
        terms = fuzzy_terms(lex, fm.min_length)
        ordinary = [w for kw in lex.known_words for w in kw.words]
        fm.__init__(terms, [*known_words, *ordinary], min_length=fm.min_length,  # type: ignore[misc]
                    score_cutoff=fm.score_cutoff)
    return nlp


def concept_spans(doc: Doc) -> list:
    # Taken out, not read: Span objects kept in the Doc's own user_data would make a reference
    # cycle that only the garbage collector frees.
    listed = doc.user_data.pop(SPAN_LIST_KEY, None)
    if listed is not None:
        return listed
    return list(doc.spans[SPANS_KEY]) if SPANS_KEY in doc.spans else []
