"""Sentence boundaries for op notes: punctuation, semicolons and line breaks.

spaCy's sentencizer does not break on newlines, but op notes are lists of lines and headers; this
component marks both (a few lines, so no need for a trained parser). It works on whole token
arrays and also leaves the sentence bounds in ``doc.user_data`` so later steps need not rebuild
``doc.sents`` (creating a Python object per token is the main cost on long notes).
"""
from __future__ import annotations

import numpy
from spacy.attrs import IS_SPACE, ORTH, SENT_START
from spacy.language import Language
from spacy.tokens import Doc

_ENDERS = (".", "!", "?", ";")
SENTS_KEY = "nlp_coder_sents"


class SentenceSplitter:
    def __init__(self) -> None:
        self._ender_hashes: numpy.ndarray | None = None

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n:
            doc.user_data[SENTS_KEY] = []
            return doc
        if self._ender_hashes is None:
            self._ender_hashes = numpy.array([doc.vocab.strings.add(e) for e in _ENDERS], dtype="uint64")
        arr = doc.to_array([ORTH, IS_SPACE])
        # "2.5 cm" is one token in spaCy, so a lone "." really ends a sentence.
        ends = numpy.isin(arr[:, 0], self._ender_hashes)
        for i in numpy.flatnonzero(arr[:, 1]):
            if "\n" in doc[int(i)].text:
                ends[i] = True
        starts = numpy.zeros(n, dtype=bool)
        starts[0] = True
        starts[1:] = ends[:-1]
        # spaCy reads SENT_START as uint64: 1 starts a sentence, -1 (wrapped) continues one.
        flags = numpy.where(starts, 1, numpy.iinfo(numpy.uint64).max).astype("uint64").reshape(n, 1)
        doc.from_array([SENT_START], flags)
        bounds = numpy.flatnonzero(starts).tolist() + [n]
        doc.user_data[SENTS_KEY] = list(zip(bounds[:-1], bounds[1:]))
        return doc


@Language.factory("nlp_coder_sentences")
def make_sentence_splitter(nlp: Language, name: str) -> SentenceSplitter:
    return SentenceSplitter()
