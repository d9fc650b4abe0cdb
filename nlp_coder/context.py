"""Clinical context (ConText-style): negated, planned, historical, abandoned, converted, ...

Trigger phrases, their direction and reach, and the words that end a trigger's scope are data
(``lexicons/context/``). A pseudo-trigger ("no complications") blocks any trigger inside it.
"""
from __future__ import annotations

from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from .lexicon_schema import Terminator, Trigger


@dataclass(frozen=True)
class TriggerHit:
    start: int          # token offsets
    end: int
    category: str
    direction: str
    max_scope: int
    rule_id: str
    sections: tuple[str, ...] = ()   # section categories it applies in (empty: all)


class ContextFinder:
    def __init__(self, nlp: Language, triggers: list[Trigger], terminators: list[Terminator]):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.term_matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.triggers: dict[str, Trigger] = {}
        for t in triggers:
            self.triggers[t.id] = t
            self.matcher.add(t.id, [nlp.make_doc(p) for p in t.phrases])
        self.terminators: dict[str, Terminator] = {}
        # Keyed by the matcher's own id hash: looked up for every terminator match of every note.
        self._term_categories: dict[int, frozenset[str]] = {}
        for term in terminators:
            self.terminators[term.id] = term
            self.term_matcher.add(term.id, [nlp.make_doc(p) for p in term.phrases])
            self._term_categories[nlp.vocab.strings.add(term.id)] = frozenset(term.categories)

    def triggers_in(self, doc: Doc) -> tuple[list[TriggerHit], list[tuple[int, frozenset[str]]]]:
        """Trigger hits (pseudo-blocked ones removed) and terminator positions with categories."""
        strings = doc.vocab.strings
        hits: list[TriggerHit] = []
        pseudo: list[tuple[int, int]] = []
        for match_id, start, end in self.matcher(doc):
            t = self.triggers[strings[match_id]]
            if t.category == "pseudo":
                pseudo.append((start, end))
            else:
                hits.append(TriggerHit(start, end, t.category, t.direction, t.max_scope, t.id,
                                       tuple(t.sections)))
        if pseudo:
            hits = [h for h in hits if not any(ps <= h.start and h.end <= pe for ps, pe in pseudo)]
        # Keep the longest of overlapping hits of one category ("not performed" over "not").
        hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
        kept: list[TriggerHit] = []
        for h in hits:
            if any(k.category == h.category and k.start <= h.start and h.end <= k.end for k in kept):
                continue
            kept.append(h)
        cats = self._term_categories
        terms = [(start, cats[mid]) for mid, start, _ in self.term_matcher(doc)]
        return kept, terms

    @staticmethod
    def categories_for(start: int, end: int, sent_start: int, sent_end: int,
                       hits: list[TriggerHit], terms: list[tuple[int, frozenset[str]]]
                       ) -> dict[str, str]:
        """Context categories (-> the rule id that set each) for the token span [start, end).

        ``hits`` and ``terms`` may be all of the document's or, faster, only the sentence's.
        """
        found: dict[str, str] = {}
        for h in hits:
            if h.start < sent_start or h.end > sent_end or h.category in found:
                continue
            if h.start < end and start < h.end:
                # The trigger is inside the concept span itself ("failed" in a title): ignore.
                continue
            if h.direction in ("forward", "both") and h.end <= start and start - h.end <= h.max_scope:
                if not any(h.end <= tp < start and h.category in cats for tp, cats in terms):
                    found[h.category] = h.rule_id
                    continue
            if h.direction in ("backward", "both") and h.start >= end and h.start - end <= h.max_scope:
                if not any(end <= tp < h.start and h.category in cats for tp, cats in terms):
                    found[h.category] = h.rule_id
        return found
