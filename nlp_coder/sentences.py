"""Sentence boundaries for op notes: punctuation, semicolons and line breaks.

spaCy's sentencizer does not break on newlines, but op notes are lists of lines and headers; this
component marks both (a few lines, so no need for a trained parser).
"""
from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc

_ENDERS = frozenset({".", "!", "?", ";"})


class SentenceSplitter:
    def __call__(self, doc: Doc) -> Doc:
        prev_end = True
        for i, tok in enumerate(doc):
            tok.is_sent_start = prev_end if i else True
            text = tok.text
            if text in _ENDERS:
                # "2.5 cm" is one token in spaCy, so a lone "." really ends a sentence.
                prev_end = True
            elif tok.is_space and "\n" in text:
                prev_end = True
            elif tok.whitespace_ and "\n" in tok.whitespace_:
                prev_end = True
            else:
                prev_end = False
        return doc


@Language.factory("nlp_coder_sentences")
def make_sentence_splitter(nlp: Language, name: str) -> SentenceSplitter:
    return SentenceSplitter()
