"""The coding engine's public API: ``Engine.load()`` then ``engine.code(text)``.

One path for every caller (CLI, TUI, batch, Spark): text -> spaCy Doc with concept spans and their
context -> procedure mentions -> candidate codes from the facet index -> coding rules (assembly)
-> confidence -> plain result records.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

from . import classification as clsmod
from .assembly import Assembler, Group
from .classification import Classification, CodeEntry
from .code_index import Candidate, CodeIndex, index_cache_path, load_index, save_index
from .context import ContextFinder
from .features import apply_combinations, implied_closure, mention_features
from .lexicons import Lexicons, load_lexicons
from .mentions import ANSWER, Analysis, Mention, analyse
from .paths import data_home
from .pipeline import PROCEDURE_LABEL, build_pipeline
from .results import CodingResult, ConceptMention
from .scoring import Scorer
from .sections import BODY, TITLE, SectionFinder, SectionIndex, SectionSpan

log = logging.getLogger("nlp_coder")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ANSWER_HEADER = "Coder answer:"
CORE_KINDS = frozenset({"action", "site", "device", "qualifier", PROCEDURE_LABEL})


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    imported: bool


class Engine:
    """Codes op notes against one classification release with one set of lexicons."""

    def __init__(self, lex: Lexicons, cls: Classification | None, index: CodeIndex,
                 bundled: bool):
        self.lex = lex
        self.cls = cls
        self.index = index
        self.bundled = bundled
        self.release = Release("OPCS-4", cls.version if cls else "4.11", not bundled)
        self.nlp = build_pipeline(lex, known_words=index.words)
        self.sections = SectionFinder(lex.sections)
        self.context = ContextFinder(self.nlp, lex.triggers, lex.terminators)
        self.scorer = Scorer(lex.scoring)
        self.assembler = Assembler(self)
        self._search_choices: dict[str, str] | None = None
        self._noise = frozenset(lex.scoring["noise_features"])
        # Methods and energies that have a Y code of their own (laser, radiofrequency, ...), and
        # the actions that are done with one ("radiofrequency ablation").
        methods = {c.id for c in lex.concepts.values() if c.kind == "device" and (c.code or "").startswith("Y")}
        self._methods = frozenset(methods | {c.id for c in lex.concepts.values() if c.kind == "action"
                                             and any(i in methods for i in c.implies or ())})
        self._weights = {c.id: c.weight for c in lex.concepts.values() if c.weight != 1.0}
        # Actions that put a device in (insertion, implantation and their kinds).
        put_in = {"action.insertion", "action.implantation", "action.introduction"}
        self._placing = frozenset(c.id for c in lex.concepts.values() if c.kind == "action" and (
            c.id in put_in or any(a in put_in for a in lex.ancestors(c.id))))
        g = lex.concepts.get("qualifier.image_guidance")
        self._guidance = frozenset(t.lower() for t in (g.terms if g else ()) if " " not in t)
        self._self_sited = frozenset(
            c.id for c in lex.concepts.values() if c.kind == "action" and c.weight >= 1.0 and
            any(i.startswith("site.") for i in implied_closure(lex, [c.id])))
        self._retrieval_cache: dict[tuple, list[Candidate]] = {}
        self._category_cores: dict[str, frozenset[str]] = {}
        self._category_members: dict[str, list[str]] = {}
        self.max_mentions = int(lex.scoring.get("max_mentions", 200))

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(cls, lexicon_path: str | Path | None = None, home: str | Path | None = None,
             use_classification: bool = True) -> "Engine":
        """Load lexicons and the imported classification (or fall back to the bundled default)."""
        lex = load_lexicons(lexicon_path)
        home_p = Path(home) if home else data_home()
        release = clsmod.load(home_p) if use_classification else None
        if release is None:
            entries, cats = bundled_entries(lex)
            nlp = build_pipeline(lex, fuzzy=False)
            return cls(lex, None, CodeIndex.build(nlp, lex, entries, cats), bundled=True)
        path = index_cache_path(home_p, lex, release)
        index = load_index(path)
        if index is None:
            index = compile_index(lex, release)
            try:
                save_index(index, path)
            except OSError as exc:  # a read-only home still codes, just compiles each time
                log.warning("could not cache the compiled index (%s)", exc.strerror)
        return cls(lex, release, index, bundled=False)

    # ----------------------------------------------------------------- lookup
    def lookup(self, code: str) -> CodeEntry | None:
        """A code or category of the release in use (retired ones included, marked inactive)."""
        norm = clsmod.normalise_code(code)
        if norm is None:
            return None
        if self.cls is not None:
            return self.cls.get(norm)
        i = self.index.pos.get(norm)
        return self.index.entries[i] if i is not None else None

    def title(self, code: str) -> str:
        e = self.lookup(code)
        return e.title if e else ""

    def is_active(self, code: str) -> bool:
        e = self.lookup(code)
        return bool(e and e.active and len(e.code) == 5)

    def search(self, query: str, limit: int = 10) -> list[tuple[CodeEntry, float]]:
        """Fuzzy search over active code titles (and codes), best first."""
        q = query.strip()
        if not q:
            return []
        norm = clsmod.normalise_code(q)
        if norm and self.lookup(norm):
            hit = self.lookup(norm)
            assert hit is not None
            return [(hit, 100.0)]
        # Clinical wording first ("lap chole", "TURP"): what the engine would code the query to.
        coded: list[tuple[CodeEntry, float]] = []
        r = self.code(q)
        confident = [c.code for c in r.codes if c.role == "primary" and c.confidence >= 0.6]
        for code in confident + ([a.code for a in r.alternatives] if confident else []):
            e = self.lookup(code)
            if e and e.active and all(e.code != x.code for x, _ in coded):
                coded.append((e, 100.0 - len(coded)))
        if self._search_choices is None:
            self._search_choices = {e.code: f"{e.title} {e.category_title}" for e in self.index.entries}
        hits = process.extract(q, self._search_choices, scorer=fuzz.token_set_ratio,
                               processor=default_process, limit=limit * 8)
        # token_set_ratio finds candidates (it rewards subsets); rank them by how much of the
        # query the title itself spells out, so "aortic valvulo" finds the valvuloplasty first.
        pq = default_process(q)

        def rank(h: tuple[str, float, str]) -> float:
            return 0.5 * h[1] + 0.5 * fuzz.partial_ratio(pq, default_process(self.title(h[2])))

        ranked = sorted(((c, rank(h), code) for h in hits for c, code in [(h[0], h[2])]),
                        key=lambda h: (-h[1], h[2]))
        out = list(coded[:limit])
        for _, score, code in ranked:
            e = self.lookup(code)
            if e and len(out) < limit and all(e.code != x.code for x, _ in out):
                out.append((e, float(min(score, 99.0))))
        return out

    # ----------------------------------------------------------------- coding
    def code(self, text: str, answers: Sequence[str] = (), concepts: bool = True) -> CodingResult:
        """Code one op note. ``answers`` are the coder's replies to questions (free text);
        ``concepts=False`` leaves out the per-word concept list (for highlighting), which batch
        runs rarely need and which costs more to build and write than the codes."""
        if not isinstance(text, str):
            raise TypeError("text must be a str (decode bytes first)")
        clean = _CONTROL_RE.sub(" ", unicodedata.normalize("NFC", text)) if text else ""
        if len(clean) != len(text):  # NFC can change length; keep offsets in the user's text
            clean = _CONTROL_RE.sub(" ", text)
        answer_text = "".join(f"\n\n{ANSWER_HEADER} {_CONTROL_RE.sub(' ', a).strip()}"
                              for a in answers if a and a.strip())
        full = clean + answer_text
        if not full.strip():
            return self._empty("The note is empty: nothing to code.")
        doc = self.nlp(full)
        spans = self.sections.find(full)
        if answer_text:
            spans = _with_answer_section(spans, len(clean), len(full))
        analysis = analyse(doc, SectionIndex(spans), self.context, self._weights, self._self_sited, text=full,
                           guidance=self._guidance, placing=self._placing)
        self._drop_device_parts(analysis)
        mentions = analysis.mentions
        if len(mentions) > self.max_mentions:
            mentions = mentions[: self.max_mentions]
        groups = [g for g in (self._code_mention(m, analysis) for m in mentions) if g]
        for g in groups:
            self._refine_from_steps(g, analysis)
        result = self.assembler.assemble(groups, analysis, note_length=len(clean))
        if len(analysis.mentions) > self.max_mentions:
            result.warnings.append(
                f"Very long note: {len(analysis.mentions)} procedure mentions; the first "
                f"{self.max_mentions} were coded. Split the note to code the rest.")
            result.needs_review = True
        if concepts:
            result.concepts = [ConceptMention(h.start, h.end, h.text, h.kind, h.id, sorted(h.context),
                                              h.section) for h in analysis.hits]
        return result

    def _drop_device_parts(self, analysis: Analysis) -> None:
        """A site word inside a device that carries its own site ("intraocular lens") is part
        of the device's name, not a second site."""
        for m in analysis.mentions:
            devices = [h for h in m.facets if h.kind == "device" and any(
                i.startswith("site.") for i in self.lex.concepts[h.id].implies)] if m.facets else []
            if devices:
                m.facets = [h for h in m.facets if not (h.kind == "site" and any(
                    d.start <= h.start and h.end <= d.end for d in devices))]

    def _empty(self, why: str) -> CodingResult:
        return CodingResult(self.classification_info(), [], [], [], [why], needs_review=False,
                            nothing_codable=True, lexicon_version=self.lex.version)

    def classification_info(self) -> dict[str, str]:
        info = {"name": self.release.name, "version": self.release.version}
        if self.bundled:
            info["source"] = "bundled lexicons (no classification imported)"
        return info

    def candidates_for(self, mention: Mention, analysis: Analysis,
                       extra: dict[str, float] | None = None) -> tuple[list[Candidate], dict[str, float]]:
        """Ranked candidate codes for a mention (index entries first, then facet retrieval);
        ``extra`` adds features learnt from elsewhere in the note."""
        cands, feats = self._candidates(mention, analysis, extra, use_fallback=True)
        if mention.fallback_sites and (not cands or cands[0].score < float(self.lex.scoring["min_candidate_score"])):
            # A site named only in the indication ("brachytherapy for rectal cancer") helps when
            # codes of the procedure name sites; when none fits with it, code without it.
            alt, alt_feats = self._candidates(mention, analysis, extra, use_fallback=False)
            if alt and (not cands or alt[0].score > cands[0].score):
                return alt, alt_feats
        return cands, feats

    def _candidates(self, mention: Mention, analysis: Analysis, extra: dict[str, float] | None,
                    use_fallback: bool) -> tuple[list[Candidate], dict[str, float]]:
        sc = self.lex.scoring
        hits = mention.hits()
        explicit = [h.id for h in hits if h.kind != "laterality"]
        feats = mention_features(self.lex, explicit, mention.words, sc["feature_weights"])
        for f, w in (extra or {}).items():
            feats[f] = max(feats.get(f, 0.0), w)
        if mention.section == TITLE and not any(h.kind == "approach" for h in hits):
            # The description after a titled operation says how it was done ("a needle is passed
            # through the skin"): its approach agrees or conflicts with the codes' approaches.
            # Below the weight at which assembly takes an approach as the group's own (0.85):
            # it ranks codes; which approach code is added stays the assembly's decision.
            w_app = 0.8
            for h in analysis.doc_modifiers:
                if h.kind == "approach" and feats.get(h.id, 0.0) < w_app:
                    feats[h.id] = w_app
        # A named procedure brings its code's facets (THR -> hip joint, prosthesis), so the
        # note's other words can refine it and the rules know its site.
        w_proc = float(sc["feature_weights"].get("implied", 0.9))
        # Only the anchoring named procedure speaks for the code: one that is merely the object
        # of another action ("removal of ureteric stent") lends its words, not its code.
        anchor_procs = [mention.anchor] if mention.anchor.kind == PROCEDURE_LABEL else []
        for h in anchor_procs:
            code = self.assembler.usable_code(self.lex.procedures[h.id].codes[0])
            for f in self._title_core(code) if code else ():
                if not f.startswith("w:") and feats.get(f, 0.0) < w_proc:
                    feats[f] = w_proc
        core = {h.id for h in hits if h.kind in CORE_KINDS}
        # A qualifier another stated concept implies ("wide local" in "wide local excision") is
        # not separate evidence a code must explain.
        core -= {i for i in implied_closure(self.lex, [h.id for h in hits if h.kind != "qualifier"])
                 if i.startswith("qualifier.")}
        # Details from the operation's other sentences must be explained too, or they could
        # never make a code that says them rank higher.
        core |= {f for f in (extra or {}) if f.split(".", 1)[0] in ("action", "device", "qualifier")}
        # Implied sites and actions of named operations are core too (cholecystectomy -> gall bladder).
        core |= {f for f, w in feats.items() if w >= 0.85 and f.split(".")[0] in ("site", "action")}
        core |= {f for f in feats if f.startswith("w:") and f[2:] in self.index.words}
        has_site = any(f.startswith("site.") and w >= 0.85 for f, w in feats.items())
        fallback = mention.fallback_sites if use_fallback else []
        for h in ([] if has_site else fallback):
            # Sites named only in the indication ("for breast cancer") or for the other
            # procedure of the sentence ("excision and biopsy of breast lesion").
            for f, w in mention_features(self.lex, [h.id], [], sc["feature_weights"]).items():
                w *= float(sc["fallback_site_weight"])
                if feats.get(f, 0.0) < w:
                    feats[f] = w
            core.add(h.id)
        if fallback and not has_site:
            apply_combinations(self.lex, feats, float(sc["feature_weights"].get("implied", 0.9)))
        site_ids = [h.id for h in hits if h.kind == "site"] or [h.id for h in fallback]
        sites = {s for i in site_ids for s in [i, *self.lex.ancestors(i)]}
        sites |= {f for f, w in feats.items() if f.startswith("site.") and w >= 0.85}
        own_sites = frozenset(site_ids) | {f for f, w in feats.items() if f.startswith("site.") and w >= 0.85}
        key = (tuple(sorted(feats.items())), frozenset(core), frozenset(sites), own_sites)
        cands = self._retrieval_cache.get(key)
        if cands is None:
            cands = self.index.retrieve(feats, core, self._noise, sc["specificity"], sites,
                                        sc["retrieval_factors"], methods=self._methods,
                                        own_sites=own_sites)
            if len(self._retrieval_cache) < 50_000:  # notes repeat themselves; batches too
                self._retrieval_cache[key] = cands
        direct: list[Candidate] = []
        site_chapters = [set(self.lex.concepts[h.id].chapters) for h in hits
                         if h.kind == "site" and h not in mention.inherited and self.lex.concepts[h.id].chapters]
        for h in anchor_procs:
            entry = self.lex.procedures[h.id]
            code = self.assembler.usable_code(entry.codes[0])
            if code and site_chapters and not any(code[0] in ch for ch in site_chapters):
                # "drainage of abscess of liver": the index's skin-abscess default is in a chapter
                # the organ the note names never leads to; let the facets choose (brachytherapy
                # of the prostate has a prostate code; of the rectum, the delivery code).
                continue
            if code:
                direct.append(Candidate(code, float(sc["index_hit_score"]), 1.0, 1.0, [h.id], h.id))
        if direct:
            # A named procedure's default code yields to a code that says more of what the note
            # says ("THR, cemented": W37.1 rather than the index's W39.1).
            facet_of = {c.code: c for c in cands}
            d0 = facet_of.get(direct[0].code)
            base = d0.explained if d0 else 0.0
            dfe = self._title_core(direct[0].code)
            better = [c for c in cands if c.explained > base + 0.1 and c.cover_title >= 0.4
                      and (c.score >= 0.5 or (d0 is not None and c.score > d0.score))
                      and dfe and dfe < self._title_core(c.code)]
            if better:
                b = better[0]
                direct[0] = Candidate(b.code, direct[0].score, b.cover_title, b.explained,
                                      b.matched, direct[0].via)
        seen = {c.code for c in direct}
        return direct + [c for c in cands if c.code not in seen], feats

    def _category_codes(self, category: str) -> list[str]:
        if not self._category_members:  # built once for the whole index, on first use
            for e in self.index.entries:
                self._category_members.setdefault(e.category, []).append(e.code)
        return self._category_members.get(category, [])

    def _category_core(self, category: str) -> frozenset[str]:
        """Everything the codes of a category say (cached: asked once per coded procedure)."""
        hit = self._category_cores.get(category)
        if hit is None:
            hit = frozenset().union(*(self._full_core(c) for c in self._category_codes(category)))
            self._category_cores[category] = hit
        return hit

    def _full_core(self, code: str) -> frozenset[str]:
        """A code's title facets with its category title's ("Primary repair of umbilical
        hernia" speaks for T24.3 "Repair of umbilical hernia using sutures")."""
        i = self.index.pos.get(code)
        if i is None:
            return frozenset()
        cat = self.index.cat_feats.get(self.index.entries[i].category, frozenset())
        return frozenset(f for f in self.index.title_feats[i] | cat if f not in self._noise)

    def _title_core(self, code: str) -> frozenset[str]:
        """A code's title facets without the NEC/other/unspecified qualifiers."""
        i = self.index.pos.get(code)
        if i is None:
            return frozenset()
        return frozenset(f for f in self.index.title_feats[i] if f not in self._noise)

    def _refine_from_steps(self, g: Group, analysis: Analysis) -> None:
        """The sentences that describe an operation's steps ("Stones extracted with a balloon",
        "circular stapled anastomosis", "drug-eluting stent deployed") can settle its fourth
        character: their actions, devices and qualifiers that some code of the same category
        names are offered to the ranking, and a code of that category that says more is taken.
        A different category is never taken from them."""
        first = g.mention.sent
        sayable = self._category_core(g.top.code[:3])
        extra: dict[str, float] = {}
        w_detail = float(self.lex.scoring.get("detail_weight", 0.85))
        # Steps follow their operation closely; further on, a description may list other
        # treatments ("interventional treatments include ... sclerosant injections").
        last = first + int(self.lex.scoring.get("step_sentences", 4))
        for h in analysis.hits:
            if not first < h.sent <= last or not (h.id in sayable or any(a in sayable for a in self.lex.ancestors(h.id))):
                continue
            if h.kind in ("action", "device", "qualifier") and h.performed \
                    and h.section in DETAIL_SECTIONS and "indication" not in h.context \
                    and g.features.get(h.id, 0.0) < w_detail:
                extra[h.id] = w_detail
        if not extra:
            return
        top_core = self._full_core(g.top.code)
        if not top_core:
            return
        anc = self.lex.ancestors

        def says(f: str, core: frozenset[str]) -> bool:
            if f in core:
                return True
            # The title names something broader (mesh -> "prosthetic material"), unless it only
            # does so through a sibling of the detail ("expanding metal stent" vs "plastic stent").
            up = [a for a in anc(f) if a in core]
            return bool(up) and not any(t != f and t not in anc(f) and up[0] in anc(t) for t in core)

        def said(code: str) -> frozenset[str]:
            core = self._title_core(code)
            return frozenset(f for f in extra if says(f, core))

        # Ranking is only needed when some code of the category could be the finer one.
        possible = {c for c in self._category_codes(g.top.code[:3])
                    if c != g.top.code and top_core < self._full_core(c) and said(c)}
        if not possible:
            return
        cands, feats = self.candidates_for(g.mention, analysis, extra=extra)
        finer = [c for c in cands if c.code in possible]
        if len({said(c.code) for c in finer}) > 1:
            # The details point different ways ("mesh sutured to the ligament": mesh repair or
            # sutured repair?): a device named settles it, a bare action word does not.
            finer = [c for c in finer if any(f.startswith("device.") for f in said(c.code))]
            if len({said(c.code) for c in finer}) > 1:
                return
        if finer:
            b = finer[0]
            top = g.top
            g.candidates = [Candidate(b.code, top.score, b.cover_title, b.explained, b.matched, top.via)] + \
                [c for c in cands if c.code != b.code]
            g.features = feats

    def _code_mention(self, m: Mention, analysis: Analysis) -> Group | None:
        cands, feats = self.candidates_for(m, analysis)
        if not cands or cands[0].score < float(self.lex.scoring["min_candidate_score"]):
            return None
        return Group(mention=m, candidates=cands, features=feats)


def bundled_entries(lex: Lexicons) -> tuple[list[CodeEntry], dict[str, str]]:
    """Codes the lexicons themselves name, with our own labels: the no-import default."""
    seen: dict[str, CodeEntry] = {}
    for p in lex.procedures.values():
        for code, label in zip(p.codes, p.labels):
            seen.setdefault(code, CodeEntry(code, label, code[0], code[:3], "", True))
    for c in lex.concepts.values():
        if c.code and c.label:
            seen.setdefault(c.code, CodeEntry(c.code, c.label, c.code[0], c.code[:3], "", True))
        if c.z_code and c.z_label:
            seen.setdefault(c.z_code, CodeEntry(c.z_code, c.z_label, c.z_code[0], c.z_code[:3], "", True))
    return sorted(seen.values(), key=lambda e: e.code), {}


def compile_index(lex: Lexicons, release: Classification) -> CodeIndex:
    nlp = build_pipeline(lex, fuzzy=False)
    cats = {c: e.title for c, e in release.categories.items() if e.active}
    return CodeIndex.build(nlp, lex, release.active_codes(), cats)


# Sections whose sentences describe the operation already named: their details refine its code.
DETAIL_SECTIONS = frozenset({"findings", "description", BODY, "procedure_list", TITLE})


def _with_answer_section(spans: list[SectionSpan], note_len: int, total: int) -> list[SectionSpan]:
    out = [SectionSpan(s.start, min(s.end, note_len), s.category, s.header)
           for s in spans if s.start < note_len]
    out.append(SectionSpan(note_len, total, ANSWER, "coder answer"))
    return out
