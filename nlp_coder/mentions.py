"""From a Doc to concept hits with section and context, then to procedure mentions.

A mention is anchored on an action or a named procedure; sites, devices and qualifiers attach to the
nearest anchor in their sentence, while approach, imaging, access and side attach to every anchor of
the sentence. Facets stated elsewhere in the performed text (imaging, access, side, approach) are
inherited by the main procedure when it states none of its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy
from spacy.attrs import IDX, LOWER
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc

from .context import ContextFinder
from .fuzzy_matcher import FUZZY_KEY
from .pipeline import PROCEDURE_LABEL, concept_spans
from .sections import CODED_CATEGORIES, PERFORMED_CATEGORIES, TITLE, SectionIndex
from .sentences import SENTS_KEY
from .side_words import SIDE_SKIP_KEY

ANSWER = "answer"
NOT_PERFORMED = frozenset({"negated", "planned", "historical", "alternative", "family", "indication"})
SECTION_CONTEXT = {"plan": "planned", "history": "historical", "indication": "indication",
                   "diagnosis": "indication"}
ANCHOR_KINDS = frozenset({"action", PROCEDURE_LABEL})
LOCAL_KINDS = frozenset({"site", "device", "qualifier"})
SHARED_KINDS = frozenset({"approach", "modality", "access", "laterality"})
MODIFIER_LABELS = frozenset({"modality", "access", "anaesthesia"})
# Spans that only hide the words inside them ("under spinal" is not the spine) and are not facets.
HIDING_LABELS = frozenset({"anaesthesia"})


@dataclass(slots=True)
class Hit:
    start: int              # character offsets into the analysed text
    end: int
    tok_start: int
    tok_end: int
    text: str
    kind: str
    id: str
    sent: int
    section: str
    context: dict[str, str] = field(default_factory=dict)   # category -> rule id
    fuzzy: float | None = None

    @property
    def performed(self) -> bool:
        return not (NOT_PERFORMED & self.context.keys())


@dataclass
class Mention:
    anchor: Hit
    facets: list[Hit]
    words: list[str]
    sent: int
    section: str
    inherited: list[Hit] = field(default_factory=list)
    fallback_sites: list[Hit] = field(default_factory=list)   # sites named for another procedure or the indication

    @property
    def context(self) -> dict[str, str]:
        return self.anchor.context

    def hits(self) -> list[Hit]:
        return [self.anchor, *self.facets, *self.inherited]

    def ids(self, kinds: frozenset[str] | None = None) -> list[str]:
        return [h.id for h in self.hits() if kinds is None or h.kind in kinds]


@dataclass
class Analysis:
    text: str
    hits: list[Hit]
    mentions: list[Mention]          # coded procedure mentions, in text order
    not_performed: list[Mention]     # negated / planned / historical ... (never coded)
    doc_modifiers: list[Hit]         # performed approach/imaging/access/side facets
    converted: bool
    sections: SectionIndex


def resolve_overlaps(spans: list) -> list:
    """Drop a span nested in a longer span of the same label ("valve" inside "aortic valve"), and
    a side word inside any longer span ("left atrium", "right hemicolectomy", "left in situ")."""
    return [t[3] for t in _resolve(spans)]


def _resolve(spans: list, side_skip: set[tuple[int, int, str]] | frozenset = frozenset()) -> list[tuple]:
    """resolve_overlaps on (start, end, label, span) tuples, which analyse reuses: Span attribute
    access is a Python-level call per use, and this runs for every concept span of every note.
    A side word inside a phrase matched across it (``side_skip``: "ORIF Rt ankle") is kept."""
    items = sorted(((sp.start, sp.end, sp.label_, sp) for sp in spans), key=lambda t: (t[0], t[0] - t[1]))
    kept: list[tuple] = []
    open_: list[tuple] = []  # kept spans still running at this start: only they can contain it
    for item in items:
        s0, e0, label, _ = item
        if open_:
            open_ = [k for k in open_ if k[1] > s0]
        n = e0 - s0
        drop = False
        for k0, k1, klabel, _k in open_:
            if k0 <= s0 and e0 <= k1:
                longer = (k1 - k0) > n
                if longer and (klabel in MODIFIER_LABELS or klabel == label or (
                        label == "laterality" and (k0, k1, klabel) not in side_skip)):
                    drop = True  # "under imaging", "via the femoral artery": the words inside are not a procedure or site
                    break
                if klabel == label and k0 == s0 and k1 == e0:
                    drop = True
                    break
        if not drop:
            kept.append(item)
            open_.append(item)
    return kept


def analyse(doc: Doc, sections: SectionIndex, ctx: ContextFinder,
            weights: dict[str, float] | None = None,
            self_sited: frozenset[str] = frozenset(), text: str | None = None,
            guidance: frozenset[str] = frozenset(), placing: frozenset[str] = frozenset()) -> Analysis:
    """Concept hits with section and context, grouped into procedure mentions.

    ``weights`` are the lexicon weights of concepts: in narrative text an action makes a procedure
    only when it names its own site (``self_sited``: "lobectomy") or the sentence names one, and
    generic actions (weight below 1: "placed", "incision") never do."""
    weights = weights or {}
    if text is None:
        text = doc.text  # rebuilt token by token: callers that have the text pass it
    fuzzy_scores: dict[tuple[int, int], float] = doc.user_data.get(FUZZY_KEY, {})
    # (start, end) token offsets per sentence
    sents = doc.user_data.get(SENTS_KEY) or [(s.start, s.end) for s in doc.sents]
    sent_of = [0] * len(doc)
    for si, (a, b) in enumerate(sents):
        sent_of[a:b] = [si] * (b - a)
    trig_hits, terms = ctx.triggers_in(doc)
    char_of = doc.to_array(IDX) if len(doc) else numpy.zeros(0, dtype="uint64")
    # Group triggers and terminators by sentence: long notes would otherwise be quadratic.
    trig_by_sent: dict[int, list] = {}
    for t in trig_hits:
        if t.sections and sections.at(int(char_of[t.start])).category not in t.sections:
            continue  # a trigger for one kind of section only ("after <operation>" in a title)
        trig_by_sent.setdefault(sent_of[t.start], []).append(t)
    terms_by_sent: dict[int, list] = {}
    for tp, cats in terms:
        terms_by_sent.setdefault(sent_of[tp], []).append((tp, cats))
    hits: list[Hit] = []
    # A scraped note may run a sentence across a header: group by sentence *and* section.
    by_sent: dict[tuple[int, int], list[Hit]] = {}
    categories_for = ctx.categories_for
    for t0, t1, label, sp in _resolve(concept_spans(doc), doc.user_data.get(SIDE_SKIP_KEY, frozenset())):
        if label in HIDING_LABELS:
            continue
        si = sent_of[t0]
        a, b = sp.start_char, sp.end_char
        sec = sections.at(a)
        h = Hit(a, b, t0, t1, text[a:b], label, sp.id_, si, sec.category,
                fuzzy=fuzzy_scores.get((a, b)))
        trig = trig_by_sent.get(si)
        if trig:  # most sentences have no trigger at all
            h.context = categories_for(t0, t1, sents[si][0], sents[si][1], trig,
                                       terms_by_sent.get(si, []))
        if "route" in h.context:
            if label == "site":
                continue  # "via the round window", "through the cervix": the way in, not the site operated on
            del h.context["route"]
        if sec.category in SECTION_CONTEXT:
            h.context.setdefault(SECTION_CONTEXT[sec.category], f"section:{sec.header}")
        hits.append(h)
        by_sent.setdefault((si, sec.start), []).append(h)

    has_list = sections.has_procedure_list()
    converted = any(t.category == "converted" and
                    sections.at(int(char_of[t.start])).category in PERFORMED_CATEGORIES | {ANSWER}
                    for t in trig_hits)

    indication_tokens: set[int] = set()
    for t in trig_hits:
        if t.category == "indication":
            stop = min(t.end + t.max_scope, sents[sent_of[t.start]][1])
            stop = min([tp for tp, cats in terms_by_sent.get(sent_of[t.start], [])
                        if t.end <= tp < stop and "indication" in cats] + [stop])
            indication_tokens.update(range(t.start, stop))
    # A note read as narrative after its procedure header turned out to list nothing: what was
    # done is in the procedure and description sections, not in the findings.
    NARRATIVE_CODED = PERFORMED_CATEGORIES - {"findings"} if has_list else PERFORMED_CATEGORIES

    def build(list_mode: bool) -> tuple[list[Mention], list[Mention], list[Hit]]:
        """Mentions sentence by sentence, and the actions joined to a procedure as its
        components. ``list_mode``: the note lists its operations (a title or procedure list), so
        only they are coded and the sentences after them describe them; otherwise every
        performed section is coded like narrative."""
        mentions: list[Mention] = []
        not_performed: list[Mention] = []
        components: list[Hit] = []
        for (si, sec_start), shits in sorted(by_sent.items()):
            sec = shits[0].section
            anchors = [h for h in shits if h.kind in ANCHOR_KINDS and "indication" not in h.context]
            # A named procedure that names only a device yields to an action just before it:
            # "removal of ureteric stent" is a removal, not the index's stent insertion. Putting
            # the device in is what the named procedure already means ("insertion of pacemaker").
            actions = [a for a in anchors if a.kind == "action" and a.id not in placing]
            anchors = [a for a in anchors if not (
                a.kind == PROCEDURE_LABEL and _names_only_device(a, shits)
                and any(_governs(doc, x, a, shits) for x in actions))]
            # A named procedure swallows the actions inside it ("laparoscopic cholecystectomy").
            procs = [a for a in anchors if a.kind == PROCEDURE_LABEL]
            anchors = [a for a in anchors if a.kind == PROCEDURE_LABEL or
                       not any(p.tok_start <= a.tok_start and a.tok_end <= p.tok_end for p in procs)]
            # Where this part of the sentence starts: a scraped note runs a sentence across headers.
            part_start = max(int(char_of[sents[si][0]]), sec_start)
            listed = sec in CODED_CATEGORIES and _listed(text, sections, part_start)
            if sec not in CODED_CATEGORIES or (not list_mode and not listed):
                # In narrative, a generic verb ("placed", "removed", "incision") is only a procedure
                # when the sentence also says where; named procedures always are.
                has_site = any(h.kind == "site" and "indication" not in h.context for h in shits)
                anchors = [a for a in anchors if a.kind == PROCEDURE_LABEL or a.id in self_sited or
                           (has_site and weights.get(a.id, 1.0) >= 1.0) or weights.get(a.id, 1.0) > 1.0]
            elif not listed:
                # "Procedure: Rt mastoidectomy. Pus drained, antrum opened.": after the operation's
                # name, the section describes its steps; only named operations there are more.
                anchors = [a for a in anchors if a.kind == PROCEDURE_LABEL or a.id in self_sited]
            if not anchors and listed:
                # A listed procedure named without an action word ("soft-palate implants"):
                # anchor on its device, else its site.
                for kind in ("device", "site"):
                    firsts = [h for h in shits if h.kind == kind and "indication" not in h.context]
                    if firsts:
                        anchors = firsts[:1]
                        break
            if not anchors:
                continue
            indication_sites = [h for h in shits if h.kind == "site" and "indication" in h.context]
            groups: dict[int, list[Hit]] = {id(a): [] for a in anchors}
            shared: dict[str, list[Hit]] = {}
            for h in shits:
                if h in anchors or "indication" in h.context:
                    continue
                inside = next((a for a in anchors if a.tok_start <= h.tok_start and h.tok_end <= a.tok_end), None)
                if inside is not None:  # "lap" inside "lap chole" belongs to that procedure only
                    groups[id(inside)].append(h)
                    continue
                if h.kind in SHARED_KINDS:
                    # Modifiers usually precede what they qualify ("Lt TKR", "laparoscopic X").
                    best = min(anchors, key=lambda a: (_distance(a, h), a.tok_start < h.tok_start))
                    shared.setdefault(h.kind, []).append(h)
                else:
                    best = min(anchors, key=lambda a: (_distance(a, h), a.tok_start > h.tok_start))
                groups[id(best)].append(h)
            # One modifier value in the sentence qualifies every procedure in it ("laparoscopic
            # cholecystectomy and appendicectomy"); different values stay with their nearest procedure.
            for kind, mods in shared.items():
                if len({m.id for m in mods}) == 1:
                    for a in anchors:
                        if not any(x.kind == kind for x in groups[id(a)]):
                            groups[id(a)].extend(mods)
            # "Bronchoscopy with biopsies": an action with no site of its own, joined to the
            # procedure before it, is a component of that procedure rather than another one.
            head_of: dict[int, Hit] = {}
            for prev, a in zip(anchors, anchors[1:]):
                if (a.kind == "action" and a.id not in self_sited and prev.tok_end <= a.tok_start
                        and not any(h.kind == "site" for h in groups[id(a)])
                        and _joined(doc, prev, a, shits)):
                    head = head_of.get(id(prev), prev)
                    groups[id(head)].extend([a, *groups[id(a)]])
                    groups[id(a)] = []
                    head_of[id(a)] = head
            components.extend(a for a in anchors if id(a) in head_of)
            anchors = [a for a in anchors if id(a) not in head_of]
            words: list[str] | None = None
            for a in anchors:
                if words is None:  # once per sentence, shared by its procedures
                    words = _content_words(doc, sents[si][0], sents[si][1], indication_tokens)
                m = Mention(a, groups[id(a)], words, si, sec)
                if not any(h.kind == "site" for h in m.facets) and a.kind != "site":
                    sentence_sites = [h for g in groups.values() for h in g if h.kind == "site"]
                    m.fallback_sites = sentence_sites or indication_sites
                if not a.performed:
                    not_performed.append(m)
                elif sec in (CODED_CATEGORIES if list_mode else NARRATIVE_CODED) or \
                        sec == ANSWER and not mentions:
                    mentions.append(m)
        return mentions, not_performed, components

    mentions, not_performed, components = build(has_list)
    if has_list and not any(m.section in CODED_CATEGORIES for m in mentions):
        # A "PROCEDURE:" header over a narrative ("The patient was taken to theatre ...")
        # lists nothing: read the note as narrative instead.
        mentions, not_performed, components = build(False)
    for a in components:
        a.context.setdefault("component", "joined")
    # Only sentences that do something specific lend their approach/imaging/side to the note
    # ("the safety belt was placed across his lap" does not make a procedure laparoscopic).
    # A device put in or used ("a needle is passed under ultrasound", "a tube is tunnelled") is
    # as specific as an action word: plain-English descriptions often say nothing else.
    action_sents = {h.sent for h in hits if h.kind in (*ANCHOR_KINDS, "device") and h.performed
                    and weights.get(h.id, 1.0) >= 1.0}
    # The side in a note's title line ("Ingrowing toenail L hallux") is the operation's too.
    # Imaging named as guidance says how the operation was done wherever the sentence is ("a
    # probe is passed, guided by ultrasound"), as does an access route; imaging named to check
    # ("level confirmed on image intensifier") counts only in a sentence that does something.
    guided_sents = {h.sent for h in hits if h.id == "qualifier.image_guidance"} | {
        h.sent for h in hits if h.kind == "modality" and any(
            w in guidance for w in h.text.lower().replace("-", " ").split())}
    # When the title names the operation, the sentences after it describe it: their side and
    # approach are its own even in lay words ("a needle is passed ... on the left side").
    titled = any(m.section == TITLE for m in mentions)
    # A vague approach ("minimally invasive", weight below 1) qualifies only its own sentence's
    # procedure: descriptions call whole families of treatment that.
    doc_modifiers = [h for h in hits if h.kind in SHARED_KINDS and h.performed and (
        h.kind != "approach" or weights.get(h.id, 1.0) >= 1.0) and (
        h.section == ANSWER or (h.section == TITLE and h.kind == "laterality") or
        (h.section in PERFORMED_CATEGORIES - {"findings"} and (
            h.sent in action_sents or h.kind == "access" or
            (h.kind == "modality" and h.sent in guided_sents) or
            (titled and h.kind in ("laterality", "approach")))))]
    return Analysis(text, hits, mentions, not_performed, doc_modifiers, converted, sections)


# A line of a procedure list: numbered or bulleted, or short and a single sentence.
_LIST_ITEM = re.compile(r"\s*(?:\d+[.)]|[-*\u2022])\s")
_LIST_ITEM_WORDS = 10
_NUMBERED_BEFORE = re.compile(r"(?:^|[\s,;:])\(?\d{1,2}[.)]\s*$")
_ENDER_INSIDE = re.compile(r"[.;!?]\s+\S")


def _listed(text: str, sections: SectionIndex, pos: int) -> bool:
    """Is the sentence starting at ``pos`` (in a procedure list or title) an item of the list,
    rather than a description of the operation just named? The first sentence of the section is;
    a later one only when it starts a line that reads as a list item."""
    sec = sections.at(pos)
    if _NUMBERED_BEFORE.search(text, max(sec.start, pos - 12), pos):
        return True  # "1.  Open reduction ...", also inside a flattened line ("...,2.  Application of")
    before = text[sec.start:pos]
    colon = before.find(":")
    body = before[colon + 1:] if colon >= 0 and sec.header else before
    if not body.strip():
        return True
    if "\n" not in body.rstrip(" \t") and _ENDER_INSIDE.search(body) is None and not body.rstrip().endswith((".", ";", "!", "?")):
        return True  # still the first sentence (split at a comma-free boundary spaCy chose)
    line_start = text.rfind("\n", 0, pos) + 1
    if text[line_start:pos].strip():
        return False  # a later sentence on the same line
    line_end = text.find("\n", pos)
    line = text[pos: line_end if line_end >= 0 else len(text)]
    if _LIST_ITEM.match(line):
        return True
    line = line.strip()
    # A short line without a full stop: "Lap chole", "OGD and biopsy" (a sentence ends with one).
    return len(line.split()) <= _LIST_ITEM_WORDS and _ENDER_INSIDE.search(line) is None \
        and not line.endswith(".")


_WORD_CACHE: dict[int, str | None] = {}
_WORDS_KEY = "nlp_coder_words"


def _content_words(doc: Doc, start: int, end: int, skip: set[int]) -> list[str]:
    """Lower-cased alphabetic words of more than two letters, not stop words, in tokens
    start..end: from the note's token array and a cache per distinct word (a Token object per
    token costs more than the rest of the analysis)."""
    lowers = doc.user_data.get(_WORDS_KEY)
    if lowers is None:
        lowers = doc.user_data[_WORDS_KEY] = doc.to_array(LOWER).tolist()
    strings = doc.vocab.strings
    out = []
    for i in range(start, end):
        h = lowers[i]
        w = _WORD_CACHE.get(h, "")
        if w == "":
            s = strings[h]
            w = s if (len(s) > 2 and s.isalpha() and s not in STOP_WORDS) else None
            if len(_WORD_CACHE) < 500_000:  # bounded: a note of random strings cannot grow it forever
                _WORD_CACHE[h] = w
        if w is not None and i not in skip:
            out.append(w)
    return out


def _names_only_device(p: Hit, shits: list[Hit]) -> bool:
    inside = [x for x in shits if p.tok_start <= x.tok_start and x.tok_end <= p.tok_end and x is not p]
    return any(x.kind == "device" for x in inside) and not any(x.kind == "action" for x in inside)


def _governs(doc: Doc, action: Hit, p: Hit, shits: list[Hit]) -> bool:
    """'removal of the Rt ureteric stent': the action takes the named device as its object. Only
    function words and modifiers may stand between them (not 'and', which starts another one)."""
    if not 0 <= p.tok_start - action.tok_end <= 4:
        return False
    mods = {i for h in shits if h.kind in ("laterality", "qualifier", "site")
            for i in range(h.tok_start, h.tok_end)}
    return all((t.is_stop and t.lower_ not in _COORDINATORS) or t.i in mods
               for t in doc[action.tok_end:p.tok_start])


def _joined(doc: Doc, prev: Hit, a: Hit, shits: list[Hit]) -> bool:
    """'X with Y', 'X and Y', 'X + Y' with at most a qualifier between ('with multiple')."""
    gap = doc[prev.tok_end:a.tok_start]
    if not 1 <= len(gap) <= 3 or gap[0].lower_ not in _COORDINATORS | {"&", "+"}:
        return False
    quals = {i for h in shits if h.kind in ("qualifier", "laterality") for i in range(h.tok_start, h.tok_end)}
    return all(t.i in quals or t.lower_ in _COORDINATORS | {"&", "+"} or t.is_stop for t in gap[1:])


# Grammar, not vocabulary: words that join two procedures rather than an action and its object.
_COORDINATORS = frozenset({"and", "or", "then", "with", "plus"})


def _distance(a: Hit, h: Hit) -> int:
    if h.tok_start >= a.tok_end:
        return h.tok_start - a.tok_end
    if a.tok_start >= h.tok_end:
        return a.tok_start - h.tok_end
    return 0
