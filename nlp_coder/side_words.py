"""Phrases interrupted by a side word: "ORIF Rt ankle", "removal of L tibial IM nail",
"laparoscopic L ovarian cystectomy", "skin of L forearm".

UK op notes put the side inside the operation's name. The lexicons list each phrase once, without
sides, so this component matches the same patterns again on short windows around each side word
with the side word taken out, and adds a span over the whole original stretch. The side word
inside such a span is kept as the operation's side (see ``mentions._resolve``).
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy
from spacy.attrs import LOWER, ORTH
from spacy.tokens import Doc, Span

SIDE_SKIP_KEY = "nlp_coder_side_skip"
_SEPARATOR = "\u2016"  # DOUBLE VERTICAL LINE: in no lexicon phrase


class SideSkipper:
    def __init__(self, rulers: list[Any], side_terms: Iterable[str], side_abbreviations: Iterable[str],
                 spans_key: str, patterns: Iterable[str] = (), window: int = 6):
        self.rulers = rulers
        # Adjacent word pairs of the lexicon's phrases: a side word is worth a second look only
        # when the words either side of it could be neighbours in some phrase (most are not).
        self.pairs: set[tuple[str, str]] = set()
        for p in patterns:
            words = p.lower().split()
            self.pairs.update(zip(words, words[1:]))
        self.side_terms = {t.lower() for t in side_terms if " " not in t}
        self.side_abbreviations = {a for a in side_abbreviations if " " not in a}
        self.spans_key = spans_key
        self.window = window
        self._hashes: tuple[numpy.ndarray, numpy.ndarray] | None = None

    def __call__(self, doc: Doc) -> Doc:
        doc.user_data[SIDE_SKIP_KEY] = set()
        n = len(doc)
        if not n or not self.rulers:
            return doc
        strings = doc.vocab.strings
        if self._hashes is None:
            self._hashes = (numpy.array(sorted(strings.add(t) for t in self.side_terms), dtype="uint64"),
                            numpy.array(sorted(strings.add(a) for a in self.side_abbreviations), dtype="uint64"))
        lower_h, exact_h = self._hashes
        cols = doc.to_array([LOWER, ORTH])
        hit = numpy.isin(cols[:, 0], lower_h) | numpy.isin(cols[:, 1], exact_h)
        all_sides = numpy.flatnonzero(hit).tolist()
        if not all_sides:
            return doc
        side_set = set(all_sides)
        sides = []
        for i in all_sides:
            j, k = i - 1, i + 1
            while j >= 0 and j in side_set:
                j -= 1
            while k < n and k in side_set:
                k += 1
            if j >= 0 and k < n and (strings[int(cols[j, 0])], strings[int(cols[k, 0])]) in self.pairs:
                sides.append(i)
        if not sides:
            return doc
        windows: list[list[int]] = []
        for i in sides:
            a, b = max(0, i - self.window), min(n, i + self.window + 1)
            if windows and a <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], b)
            else:
                windows.append([a, b])
        found: dict[tuple[int, int, str], str] = {}
        # All windows in one Doc, separated by a token no pattern contains: one matcher call.
        words: list[str] = []
        origin: list[int] = []  # original token index of each word (-1 for a separator)
        for a, b in windows:
            keep = [j for j in range(a, b) if j not in side_set]
            if len(keep) < 2:
                continue
            if words:
                words.append(_SEPARATOR)
                origin.append(-1)
            words.extend(strings[int(cols[j, 1])] for j in keep)
            origin.extend(keep)
        if not words:
            return doc
        wdoc = Doc(doc.vocab, words=words)
        for ruler in self.rulers:
            for sp in ruler.match(wdoc):
                s, e = origin[sp.start], origin[sp.end - 1] + 1
                if e - s == sp.end - sp.start:
                    continue  # no side word inside: the normal matchers found it already
                found.setdefault((s, e, sp.label_), sp.id_)
        if found:
            current = list(doc.spans[self.spans_key]) if self.spans_key in doc.spans else []
            have = {(sp.start, sp.end, sp.label_) for sp in current}
            added = [Span(doc, s, e, label=label, span_id=ident)
                     for (s, e, label), ident in found.items() if (s, e, label) not in have]
            doc.user_data[SIDE_SKIP_KEY].update((sp.start, sp.end, sp.label_) for sp in added)
            if added:
                doc.spans[self.spans_key] = current + added
        return doc
