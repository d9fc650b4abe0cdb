"""Sentence boundaries for op notes: punctuation, semicolons and line breaks.

spaCy's sentencizer does not break on newlines, but op notes are lists of lines and headers; this
component marks both (a few lines, so no need for a trained parser).
"""
from __future__ import annotations

import numpy
from spacy.attrs import SENT_START
from spacy.language import Language
from spacy.tokens import Doc

_ENDERS = frozenset({".", "!", "?", ";"})


class SentenceSplitter:
    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        # spaCy reads SENT_START as uint64: 1 starts a sentence, -1 (wrapped) continues one.
        flags = numpy.full((len(doc), 1), numpy.iinfo(numpy.uint64).max, dtype="uint64")
        prev_end = True
        for i, tok in enumerate(doc):
            if prev_end:
                flags[i, 0] = 1
            text = tok.text
            # "2.5 cm" is one token in spaCy, so a lone "." really ends a sentence.
            prev_end = (text in _ENDERS or (tok.is_space and "\n" in text)
                        or "\n" in tok.whitespace_)
        # One array write: setting token.is_sent_start one by one is quadratic in spaCy.
        doc.from_array([SENT_START], flags)
        return doc


@Language.factory("nlp_coder_sentences")
def make_sentence_splitter(nlp: Language, name: str) -> SentenceSplitter:
    return SentenceSplitter()
