"""Near-miss matching of misspelt clinical words ("valvuloplsty", "cholecystectmy") with rapidfuzz.

Only tokens that no exact pattern matched and that are not known words are tried, against the
single-word lexicon terms; results are cached per word because op notes repeat their vocabulary.
"""
from __future__ import annotations

from typing import Iterable

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc, Span

SPANS_KEY = "nlp_coder_concepts"
FUZZY_KEY = "nlp_coder_fuzzy"


class FuzzyMatcher:
    """Adds spans for misspelt single-word terms to ``doc.spans[SPANS_KEY]``."""

    def __init__(self, terms: dict[str, tuple[str, str]], known_words: Iterable[str],
                 min_length: int = 6, score_cutoff: float = 88.0, cache_size: int = 200_000):
        # terms: lowercase single word -> (label, entry id)
        self.terms = terms
        self.choices = list(terms)
        self.known = set(known_words) | set(STOP_WORDS) | set(terms)
        self.min_length = min_length
        self.score_cutoff = score_cutoff
        self.cache: dict[str, tuple[str, str, float] | None] = {}
        self.cache_size = cache_size

    def lookup(self, word: str) -> tuple[str, str, float] | None:
        """Best lexicon term for a lowercase word, or None below the cutoff."""
        if word in self.cache:
            return self.cache[word]
        hit = process.extractOne(word, self.choices, scorer=fuzz.ratio,
                                 processor=default_process, score_cutoff=self.score_cutoff)
        result = None
        if hit is not None:
            label, ident = self.terms[hit[0]]
            result = (label, ident, float(hit[1]))
        if len(self.cache) < self.cache_size:
            self.cache[word] = result
        return result

    def __call__(self, doc: Doc) -> Doc:
        spans = doc.spans[SPANS_KEY] if SPANS_KEY in doc.spans else []
        covered = set()
        for sp in spans:
            covered.update(range(sp.start, sp.end))
        added: list[Span] = []
        scores: dict[tuple[int, int], float] = {}
        for tok in doc:
            if tok.i in covered or len(tok) < self.min_length or not tok.is_alpha:
                continue
            low = tok.lower_
            if low in self.known:
                continue
            hit = self.lookup(low)
            if hit is None:
                continue
            label, ident, score = hit
            added.append(Span(doc, tok.i, tok.i + 1, label=label, span_id=ident))
            scores[(tok.idx, tok.idx + len(tok))] = score
        if added:
            doc.spans[SPANS_KEY] = list(spans) + added
        doc.user_data[FUZZY_KEY] = scores
        return doc
