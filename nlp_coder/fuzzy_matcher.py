"""Near-miss matching of misspelt clinical words ("valvuloplsty", "cholecystectmy") with rapidfuzz.

Only tokens that no exact pattern matched and that are not known words are tried, against the
single-word lexicon terms; results are cached per word because op notes repeat their vocabulary.
"""
from __future__ import annotations

from typing import Iterable

import numpy
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.attrs import IS_ALPHA, LENGTH, LOWER
from spacy.tokens import Doc, Span

SPANS_KEY = "nlp_coder_concepts"
FUZZY_KEY = "nlp_coder_fuzzy"
SPAN_LIST_KEY = "nlp_coder_span_list"   # the same spans as a list (see __call__)
_MISS = object()


class FuzzyMatcher:
    """Adds spans for misspelt single-word terms to ``doc.spans[SPANS_KEY]``."""

    def __init__(self, terms: dict[str, tuple[str, str]], known_words: Iterable[str],
                 min_length: int = 6, score_cutoff: float = 88.0, cache_size: int = 200_000):
        # terms: lowercase single word -> (label, entry id)
        self.terms = terms
        # Misspellings keep their first letter almost always: bucket the choices by it so each
        # lookup compares against a few hundred terms, not thousands.
        self.buckets: dict[str, list[str]] = {}
        for t in terms:
            self.buckets.setdefault(t[:1], []).append(t)
        self.known = set(known_words) | set(STOP_WORDS) | set(terms)
        self.min_length = min_length
        self.score_cutoff = score_cutoff
        self.cache: dict[str, tuple[str, str, float] | None] = {}
        self.cache_size = cache_size

    def lookup(self, word: str) -> tuple[str, str, float] | None:
        """Best lexicon term for a lowercase word, or None below the cutoff."""
        if word in self.cache:
            return self.cache[word]
        hit = process.extractOne(word, self.buckets.get(word[:1], ()), scorer=fuzz.ratio,
                                 processor=default_process, score_cutoff=self.score_cutoff)
        result = None
        if hit is not None:
            label, ident = self.terms[hit[0]]
            result = (label, ident, float(hit[1]))
        if len(self.cache) < self.cache_size:
            self.cache[word] = result
        return result

    def __call__(self, doc: Doc) -> Doc:
        # One list of Span objects for the whole pipeline: iterating a SpanGroup builds new Span
        # objects every time, which cost more than the matching on long notes.
        spans = list(doc.spans[SPANS_KEY]) if SPANS_KEY in doc.spans else []
        added: list[Span] = []
        scores: dict[tuple[int, int], float] = {}
        if len(doc):
            # Whole-array filtering: building a Token object for every word costs more than
            # the matching itself on long notes.
            arr = doc.to_array([IS_ALPHA, LENGTH, LOWER])
            cand = (arr[:, 0] == 1) & (arr[:, 1] >= self.min_length)
            for sp in spans:
                cand[sp.start:sp.end] = False
            strings = doc.vocab.strings
            known, cache = self.known, self.cache
            for i in numpy.flatnonzero(cand).tolist():
                low = strings[int(arr[i, 2])]
                if low in known:
                    continue
                hit = cache.get(low, _MISS)  # inline: most words were seen in earlier notes
                if hit is _MISS:
                    hit = self.lookup(low)
                if hit is None:
                    continue
                label, ident, score = hit
                tok = doc[i]
                added.append(Span(doc, i, i + 1, label=label, span_id=ident))
                scores[(tok.idx, tok.idx + len(tok))] = score
        if added:
            doc.spans[SPANS_KEY] = spans + added
        doc.user_data[SPAN_LIST_KEY] = spans + added
        doc.user_data[FUZZY_KEY] = scores
        return doc
