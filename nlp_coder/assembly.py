"""Coding rules: turn ranked candidates per procedure mention into the sequenced code set.

Implements the rule families of docs/opcs4-rules.md as data-driven steps: approach and method
Y codes (not when the primary title already says them), Y53 image control, Y79 access, conversion
codes, Z site codes when the primary does not name the site, Z94 laterality (required / forbidden /
bilateral, once per site, last), companion codes, incompatible Y pairs, absorption of diagnostic
procedures and biopsies, and sequencing (Y/Z never first).
"""
from __future__ import annotations

import dataclasses
import re

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .code_index import Candidate
from .features import implied_closure
from .mentions import Analysis, Hit, Mention
from .results import (Alternative, Choice, CodeAssignment, CodingResult, Evidence, Question)
from .scoring import INCOMPLETE_FACETS, REVIEW_FACETS, REVIEW_FLAGS, PrimaryFeatures

if TYPE_CHECKING:
    from .engine import Engine

ROLE_ORDER = {"primary": 0, "other": 1, "method": 2, "site": 3, "laterality": 4}
SIDE_IDS = {"laterality.right": "right", "laterality.left": "left",
            "laterality.bilateral": "bilateral", "laterality.unilateral": "unilateral"}
MODALITY_CHOICES = ["modality.fluoroscopy", "modality.ultrasound", "modality.ct", "modality.mri"]


@dataclass
class Group:
    mention: Mention
    candidates: list[Candidate]
    features: dict[str, float]
    codes: list[CodeAssignment] = field(default_factory=list)
    provenance: dict[str, Hit] = field(default_factory=dict)

    @property
    def top(self) -> Candidate:
        return self.candidates[0]


# Grammar of spinal level notation, not vocabulary: "L4/5", "L4-5", "L5/S1", "C5-C7", "L4-S1".
_LEVEL = re.compile(r"\b([CTLS])(\d{1,2})\s*[/-]\s*([CTLS]?)(\d{1,2})\b")
_REGION_SIZE = {"C": 7, "T": 12, "L": 5, "S": 5}
_LEVELS_ANSWER = re.compile(r"\b(one|two|three|four|five|1|2|3|4|5)\b(?: or more)? levels?\b", re.I)
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5,
                 "single": 1}
# A number in words before what it counts (the rule's counted_words): "at two levels",
# "a single-level fusion", "one vertebra was treated".
_NUMBER_BEFORE = r"\b(one|two|three|four|five|single|[1-5])[- ]"
_counting_patterns: dict[tuple[str, ...], re.Pattern[str]] = {}


def _counting(words: tuple[str, ...]) -> re.Pattern[str]:
    pat = _counting_patterns.get(words)
    if pat is None:
        alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        pat = _counting_patterns[words] = re.compile(_NUMBER_BEFORE + f"(?:{alts})\\b", re.I)
    return pat


_REGIONS = "CTLS"


def _vertebra_index(region: str, number: int) -> int | None:
    if region not in _REGION_SIZE or not 1 <= number <= _REGION_SIZE[region]:
        return None
    return sum(_REGION_SIZE[r] for r in _REGIONS[: _REGIONS.index(region)]) + number


def spinal_levels(analysis: Analysis, counted_words: tuple[str, ...] = ()) -> int:
    """The number of distinct intervertebral levels named in the performed parts of the note
    ("L4/5" one, "L3/4 and L4/5" two, "L4-S1" two; else in words, "at two levels"); indications
    and history do not count."""
    from .sections import PERFORMED_CATEGORIES
    for m in _LEVELS_ANSWER.finditer(analysis.text):  # the coder's answer: "two levels"
        if analysis.sections.at(m.start()).category == "answer":
            return _NUMBER_WORDS.get(m.group(1).lower(), 0)
    levels: set[int] = set()
    for m in _LEVEL.finditer(analysis.text):
        if analysis.sections.at(m.start()).category not in PERFORMED_CATEGORIES | {"answer"}:
            continue
        a = _vertebra_index(m.group(1), int(m.group(2)))
        b = _vertebra_index(m.group(3) or m.group(1), int(m.group(4)))
        if a is None or b is None or not 0 < b - a <= 8:
            continue
        levels.update(range(a, b))  # level k is the disc between vertebrae k and k + 1
    if levels:
        return len(levels)
    for m in (_counting(counted_words).finditer(analysis.text) if counted_words else ()):
        if analysis.sections.at(m.start()).category in PERFORMED_CATEGORIES:
            return _NUMBER_WORDS[m.group(1).lower()]
    return 0


def _matches(code: str, prefixes: list[str]) -> bool:
    return code.startswith(tuple(prefixes))  # one C-level call, not a generator per rule


class Assembler:
    def __init__(self, engine: "Engine"):
        self.e = engine
        self.lex = engine.lex
        self._actions_memo: dict[tuple[int, str, int], set[str]] = {}
        self.successors = {s.code: s for s in self.lex.successors}

    # ------------------------------------------------------------ code validity
    def usable_code(self, code: str) -> str | None:
        """The code itself when active in the release, else an active successor, else None."""
        if self.e.is_active(code):
            return code
        rule = self.successors.get(code)
        if rule and rule.relation == "retired":
            for s in rule.successors:
                if self.e.is_active(s):
                    return s
        return None

    def laterality_rule(self, code: str) -> str | None:
        verdict = None
        for r in self.lex.laterality_rules:
            if _matches(code, r.scope) and not _matches(code, r.except_):
                if r.laterality == "forbidden":
                    return "forbidden"
                verdict = "required"
        return verdict

    def _skin_site(self, chain: list[str], code: str) -> str | None:
        """The skin site standing for the nearest region in ``chain`` when ``code`` is a skin
        operation (rules/skin_sites.jsonl)."""
        rules = {r.region: r for r in self.lex.skin_sites if _matches(code, r.scope)}
        for s in chain:
            if s.startswith("site.skin"):
                return None  # the note already names the skin
            if s in rules:
                return rules[s].skin
        return None

    def _implicit_approach(self, approach_id: str, code: str) -> bool:
        ids = {approach_id, *self.lex.ancestors(approach_id)}
        return any(r.approach in ids and _matches(code, r.scope) and not _matches(code, r.except_)
                   for r in self.lex.implicit_approaches)

    # ------------------------------------------------------------ main entry
    def assemble(self, groups: list[Group], analysis: Analysis, note_length: int) -> CodingResult:
        e = self.e
        self._actions_memo = {}
        warnings: list[str] = []
        if e.bundled:
            warnings.append("No OPCS-4 classification imported: coding with the bundled lexicons' "
                            f"{len(e.index.entries)} codes only. Import your release with "
                            "'nlp-coder opcs import FILE' to make every code reachable.")
        self._analysis = analysis
        for g in groups:
            g.provenance = self._provenance(g.mention)
        groups = self._merge_fragments(groups)
        groups = self._dedupe(groups)
        groups = self._absorb(groups)
        # Main procedure first (R12): therapeutic before diagnostic, weakly supported codes last,
        # otherwise the order the note lists them in.
        weak = float(self.lex.scoring.get("weak_group_score", 0.4))
        groups.sort(key=lambda g: (self._is_diagnostic(g), g.top.score < weak))
        questions: list[Question] = []
        alternatives: list[Alternative] = []
        groups = self._drop_weak_groups(groups, alternatives)
        for gi, g in enumerate(groups):
            self._build_group(gi, g, analysis, note_length, questions, alternatives)
        codes = self._merge_laterality(groups)
        codes = self._check_incompatible(codes, warnings)
        codes = self._sequence(codes)
        needs_review = any(c.needs_review for c in codes if c.role == "primary") or any(
            q.facet in REVIEW_FACETS for q in questions)
        incomplete = any(q.facet in INCOMPLETE_FACETS for q in questions)
        not_coded = [{"text": m.anchor.text, "start": m.anchor.start, "end": m.anchor.end,
                      "context": sorted(m.context)} for m in analysis.not_performed]
        result = CodingResult(e.classification_info(), codes, alternatives, questions, warnings,
                              needs_review=needs_review, nothing_codable=not codes, incomplete=incomplete,
                              lexicon_version=self.lex.version, not_coded=not_coded)
        if not codes:
            # Nothing recognised in a note that says something: a person should look, since
            # the note may describe an operation in words the lexicons do not know.
            result.needs_review = not analysis.not_performed and bool(analysis.text.strip())
            if analysis.not_performed:
                why = ", ".join(f"'{m.anchor.text}' ({'/'.join(sorted(m.context))})"
                                for m in analysis.not_performed[:5])
                warnings.append(f"Nothing codable: procedures are mentioned but not performed: {why}.")
            else:
                warnings.append("Nothing codable: no performed procedure was recognised in the note.")
        return result

    # ------------------------------------------------------------ grouping rules
    def _provenance(self, m: Mention) -> dict[str, Hit]:
        prov: dict[str, Hit] = {}
        for h in m.hits():
            prov.setdefault(h.id, h)
        for h in m.hits():
            for i in implied_closure(self.lex, [h.id]):
                prov.setdefault(i, h)
        return prov

    def _drop_weak_groups(self, groups: list[Group], alternatives: list[Alternative]) -> list[Group]:
        """Beside a well-supported main procedure, weakly supported extra procedures are more
        often misreadings of the narrative than real operations: offer them as possible
        additional codes (alternatives replacing nothing) instead of asserting them."""
        floor = float(self.lex.scoring.get("extra_group_min_score", 0.45))
        if not groups:
            return groups
        best = max(groups, key=lambda g: g.top.score)
        if best.top.score < 0.8:
            # Nothing is well supported: keep the best reading only (flagged by its confidence).
            floor = best.top.score
        # Beside a named operation, a step described in general words ("pus drained", "skin
        # excised", "bone removed") is part of that operation unless it is itself well supported.
        named_main = any(self._named(g) and g.top.score >= 0.8 for g in groups)
        step_floor = float(self.lex.scoring.get("extra_step_min_score", 0.8))
        kept = []
        for g in groups:
            if g.top.score < floor or (named_main and g is not best and not self._named(g)
                                       and g.top.score < step_floor):
                alternatives.append(Alternative(g.top.code, self.e.title(g.top.code), -1,
                                                round(min(g.top.score, 1.0) * 0.5, 3), ""))
                continue
            kept.append(g)
        return kept

    def _vagueness(self, code: str) -> int:
        """0 for a specific code, more for NEC, other specified and unspecified ones."""
        i = self.e.index.pos.get(code)
        return int(self.e.index.kind[i]) if i is not None else 0

    def _named(self, g: Group) -> bool:
        """Anchored on a named operation (an index entry or a self-sited action: "lobectomy")."""
        a = g.mention.anchor
        return a.kind == "procedure" or a.id in self.e._self_sited

    def _merge_fragments(self, groups: list[Group]) -> list[Group]:
        """A weak mention beside a strong one of the same chapter in the same sentence is part
        of it ("implantation of ... intraocular lenses during cataract surgery")."""
        weak = float(self.lex.scoring.get("weak_group_score", 0.4))
        strong = [g for g in groups if g.top.score >= 0.8]
        out = []
        for g in groups:
            host = next((h for h in strong if h is not g and h.mention.sent == g.mention.sent
                         and h.top.code[0] == g.top.code[0]), None)
            if g.top.score < weak and host is not None:
                host.mention.facets.extend(x for x in g.mention.hits() if x not in host.mention.facets)
                continue
            out.append(g)
        return out

    def _dedupe(self, groups: list[Group]) -> list[Group]:
        kept: list[Group] = []
        for g in groups:
            same = next((k for k in kept if k.top.code[:3] == g.top.code[:3]), None)
            if same is None:
                kept.append(g)
            elif (g.top.score, -self._vagueness(g.top.code)) > (same.top.score, -self._vagueness(same.top.code)):
                kept[kept.index(same)] = g  # on a tie the more specific code (not NEC/.8/.9)
        return kept

    def _code_feats(self, g: Group, prefix: str) -> set[str]:
        idx = self.e.index
        i = idx.pos.get(g.top.code)
        return {f for f in idx.title_feats[i] if f.startswith(prefix)} if i is not None else set()

    def _actions(self, g: Group) -> set[str]:
        # Asked for every pair of groups by every absorption rule: kept while the group's
        # code and features stay the same.
        key = (id(g), g.top.code, id(g.features))
        hit = self._actions_memo.get(key)
        if hit is None:
            acts = {f for f, w in g.features.items() if f.startswith("action.") and w >= 0.85}
            acts |= self._code_feats(g, "action.")
            hit = self._actions_memo[key] = acts.union(*(self.lex.ancestors(a) for a in acts))
        return hit

    def _sites(self, g: Group) -> set[str]:
        sites = {f for f, w in g.features.items() if f.startswith("site.") and w >= 0.85}
        return sites | self._code_feats(g, "site.")

    def _approaches(self, g: Group) -> set[str]:
        apps = {f for f, w in g.features.items() if f.startswith("approach.") and w >= 0.85}
        apps |= self._code_feats(g, "approach.")
        apps = apps.union(*(self.lex.ancestors(a) for a in apps))
        return apps - {"approach.open", "approach.percutaneous"}

    def _same_site(self, a: Group, b: Group) -> bool:
        sa, sb = self._sites(a), self._sites(b)
        ca = sa.union(*(self.lex.ancestors(s) for s in sa))
        cb = sb.union(*(self.lex.ancestors(s) for s in sb))
        return bool(sa & cb or sb & ca)

    def _absorb(self, groups: list[Group]) -> list[Group]:
        drop: set[int] = set()
        for rule in self.lex.absorption:
            for i, a in enumerate(groups):
                if i in drop or not (self._actions(a) & set(rule.absorbed)):
                    continue
                for j, b in enumerate(groups):
                    if i == j or j in drop or not (self._actions(b) & set(rule.by)):
                        continue
                    site_ok = not rule.same_site or self._same_site(a, b)
                    approach_ok = rule.or_same_approach and bool(self._approaches(a) & self._approaches(b))
                    if not (site_ok or approach_ok):
                        continue
                    if self._is_diagnostic(b) or self._actions(a) <= self._actions(b):
                        continue
                    drop.add(i)
                    self._take_approach(b, a)
                    break
        return [g for i, g in enumerate(groups) if i not in drop]

    def _take_approach(self, b: Group, a: Group) -> None:
        """The absorbed diagnostic endoscopy was the therapeutic procedure's route ("cystoscopy
        and removal of stent" is an endoscopic removal): re-rank the therapeutic codes with it."""
        apps = {f: w for f, w in a.features.items() if f.startswith("approach.") and w >= 0.85}
        if not apps or self._approaches(b) & set(apps):
            return
        cands, feats = self.e.candidates_for(b.mention, self._analysis, extra=apps)
        if cands:
            b.candidates, b.features = cands, feats

    def _is_diagnostic(self, g: Group) -> bool:
        title = self.e.title(g.top.code).lower()
        return "diagnostic" in title or "biopsy" in title or "qualifier.diagnostic" in g.features

    # ------------------------------------------------------------ one group
    def _evidence(self, hits: list[Hit], note_length: int) -> list[Evidence]:
        out, seen = [], set()
        for h in sorted(hits, key=lambda h: h.start):
            if (h.start, h.end) in seen:
                continue
            seen.add((h.start, h.end))
            kind = "procedure" if h.kind == "procedure" else h.kind
            out.append(Evidence(h.start, h.end, h.text, kind, h.id,
                                "answer" if h.start >= note_length else "note"))
        return out

    def _title_feats(self, code: str) -> set[str]:
        idx = self.e.index
        i = idx.pos.get(code)
        if i is None:
            return set()
        e = idx.entries[i]
        return set(idx.title_feats[i]) | set(idx.cat_feats.get(e.category, frozenset()))

    def _says(self, concept_id: str, title_feats: set[str]) -> bool:
        """Does the code title already express this concept (or a narrower/broader form of it)?"""
        if concept_id in title_feats:
            return True
        lex = self.lex
        if any(concept_id in lex.ancestors(f) for f in title_feats):
            return True
        if any(a in title_feats for a in lex.ancestors(concept_id)):
            return True
        c = lex.concepts.get(concept_id)
        return bool(c and any(r in title_feats for r in c.related))

    def _inherit(self, g: Group, gi: int, analysis: Analysis) -> dict[str, list[Hit]]:
        """Approach/imaging/access/side hits for a group: its own, else the note's performed ones."""
        own: dict[str, list[Hit]] = {}
        for h in g.mention.hits():
            if h.kind in ("approach", "modality", "access", "laterality") and h.performed:
                own.setdefault(h.kind, []).append(h)
        docmods: dict[str, list[Hit]] = {}
        for h in analysis.doc_modifiers:
            docmods.setdefault(h.kind, []).append(h)
        # The coder's answers override what the note said (or failed to say).
        for kind, hs in docmods.items():
            answered = [h for h in hs if h.section == "answer"]
            if answered and (gi == 0 or kind == "laterality"):
                own[kind] = answered
                g.mention.inherited.extend(h for h in answered if h not in g.mention.inherited)
        for kind in ("approach", "modality", "access", "laterality"):
            if kind in own or kind not in docmods:
                continue
            if kind == "laterality" or gi == 0:
                sides = {SIDE_IDS.get(h.id) for h in docmods[kind]} if kind == "laterality" else set()
                if kind == "laterality" and len(sides - {None}) > 1:
                    answers = [h for h in docmods[kind] if h.section == "answer"]
                    if not answers:
                        continue  # both sides appear in the note: do not guess which applies
                    docmods[kind] = answers
                own[kind] = docmods[kind]
                g.mention.inherited.extend(docmods[kind])
        return own

    def _build_group(self, gi: int, g: Group, analysis: Analysis, note_length: int,
                     questions: list[Question], alternatives: list[Alternative]) -> None:
        e, scorer, lex = self.e, self.e.scorer, self.lex
        m = g.mention
        top = g.top
        ctx = m.context
        nxt = next((c for c in g.candidates[1:] if c.code != top.code), None)
        margin = top.score - (nxt.score if nxt else 0.0)
        title = e.title(top.code)
        tl = title.lower()
        local_hits = [h for h in m.hits() if h.kind in ("action", "site", "device", "qualifier", "procedure")
                      and h not in m.inherited]
        pf = PrimaryFeatures(
            score=top.score, margin=margin, index_hit=top.via != "facets",
            fuzzy=any(h.fuzzy for h in local_hits),
            nec_or_unspecified=tl.endswith(" nec") or " nec " in tl or tl.startswith(("other specified", "unspecified")),
            uncertain="uncertain" in ctx, abandoned="abandoned" in ctx, bundled_only=e.bundled)
        conf = scorer.primary_confidence(pf)
        flags = [c for c in REVIEW_FLAGS if c in ctx]
        rule = f"lexicon:{top.via}" if top.via != "facets" else "facets:" + ",".join(sorted(top.matched)[:6])
        primary = CodeAssignment(top.code, title, "primary", gi, conf,
                                 self._evidence(local_hits, note_length), rule,
                                 needs_review=scorer.needs_review(conf) or bool(flags), flags=flags,
                                 features={"kind": "primary", **dataclasses.asdict(pf)})
        codes = [primary]
        tf = self._title_feats(top.code)
        # Codes that always accompany a named procedure (phaco -> C75.1 + C71.2).
        if top.via.startswith("proc."):
            for extra in lex.procedures[top.via].codes[1:]:
                code = self.usable_code(extra)
                if code:
                    codes.append(self._sub(code, "other", gi, "local", conf, [m.anchor], note_length,
                                           f"lexicon:{top.via}"))
        own = self._inherit(g, gi, analysis)
        prov = g.provenance
        inherited_ids = {id(h) for h in m.inherited}

        def basis(h: Hit) -> str:
            return "inherited" if id(h) in inherited_ids else "local"

        # Approach (Y74-Y76, Y49/Y50, robotic) or conversion (Y71.4/Y71.5/Y72.x).
        approach_ids = [f for f, w in g.features.items() if f.startswith("approach.") and w >= 0.85]
        for h in own.get("approach", []):
            if h.id not in approach_ids:
                approach_ids.append(h.id)
        converted = "converted" in ctx or analysis.converted
        best_app = None
        present = set(approach_ids)
        approach_ids = [a for a in approach_ids
                        if not any(a in lex.ancestors(o) for o in present if o != a)]
        if converted:  # the approach that failed is the one with a conversion code
            failed = [a for a in approach_ids if a in lex.concepts and lex.concepts[a].converted_code]
            approach_ids = failed or approach_ids
        for aid in sorted(approach_ids, key=lambda a: (-g.features.get(a, 1.0), -len(lex.ancestors(a)))):
            c = lex.concepts.get(aid)
            if c is None or not (c.code or (converted and c.converted_code)):
                continue
            if converted and c.converted_code:
                best_app = (c, c.converted_code, "converted")
                break
            if not self._says(aid, tf):
                best_app = (c, c.code, "local")
                break
            break  # the most specific approach is already in the title
        if best_app and best_app[2] != "converted" and self._implicit_approach(best_app[0].id, top.code):
            best_app = None  # the operation is done through it anyway (R20: no code for it)
        if best_app:
            c, code, kind = best_app
            code = self.usable_code(code) if code else None
            h = prov.get(c.id) or next((x for x in own.get("approach", []) if x.id == c.id), m.anchor)
            if code:
                codes.append(self._sub(code, "method", gi, kind if kind == "converted" else basis(h),
                                       conf, [h], note_length, f"approach:{c.id}"))
        # Methods and energies with their own Y code (laser, radiofrequency, ...).
        for f, w in g.features.items():
            c = lex.concepts.get(f)
            if c and c.kind == "device" and c.code and w >= 0.85 and not self._says(f, tf):
                # A code for a lesion of the organ takes the method's lesion form (E59.6
                # destruction of lesion of lung + Y13.7, not the organ form Y11.6).
                lesion = c.lesion_code and "qualifier.lesion" in tf
                code = self.usable_code(c.lesion_code if lesion else c.code)
                if code and not any(x.code == code for x in codes):
                    codes.append(self._sub(code, "method", gi, "local", conf, [prov.get(f, m.anchor)],
                                           note_length, f"method:{f}"))
        # Y53 image control.
        mod_hits = own.get("modality", [])
        mod_ids = {h.id for h in mod_hits} | {f for f, w in g.features.items()
                                              if f.startswith("modality.") and w >= 0.85}
        default_mod = None
        if not mod_ids:
            default_mod = next((r.adds for r in lex.default_methods
                                if any(self._says(w, tf) for w in r.when_title)
                                and (not r.scope or _matches(top.code, r.scope))), None)
            if default_mod:
                mod_ids = {default_mod}
        if top.code[0] != "U":
            specific = [i for i in mod_ids if i != "modality.image_guided"]
            for mid in sorted(specific or mod_ids):
                c = lex.concepts.get(mid)
                if not c or not c.code or self._says(mid, tf):
                    continue
                code = self.usable_code(c.code)
                if not code or any(x.code == code for x in codes):
                    continue
                h = next((x for x in mod_hits if x.id == mid), prov.get(mid, m.anchor))
                kind = "unspecified_modality" if mid == "modality.image_guided" or mid == default_mod else basis(h)
                codes.append(self._sub(code, "method", gi, kind, conf, [h], note_length, f"modality:{mid}"))
                if mid == "modality.image_guided":
                    questions.append(Question(
                        f"modality-{gi}", f"Image guidance stated without modality: {code} used. "
                        "Which imaging was it?", "modality", gi,
                        [Choice(lex.concepts[x].terms[0], [lex.concepts[x].code or ""])
                         for x in MODALITY_CHOICES if x in lex.concepts]))
        # Y79 arterial access, for transluminal work.
        transluminal = any(self._says(a, tf) for a in ("approach.transluminal",) if a in lex.concepts) \
            or any(a in ("approach.transluminal", "approach.percutaneous_transluminal") for a in approach_ids) \
            or top.code[0] in "KL"
        if transluminal:
            for h in own.get("access", []):
                c = lex.concepts.get(h.id)
                if self._implicit_approach(h.id, top.code):
                    continue  # the artery is the organ operated on: no route through it
                code = self.usable_code(c.code) if c and c.code else None
                if code and not any(x.code == code for x in codes):
                    codes.append(self._sub(code, "method", gi, basis(h), conf, [h], note_length,
                                           f"access:{h.id}"))
        # Z site code when the primary does not name the site.
        site_hits = [h for h in m.facets if h.kind == "site" and h.performed]
        if not site_hits:
            # A site borrowed from the indication or the sentence's other procedure, when the
            # code was chosen with it ("ablation for reflux disease": the junction's site code).
            # A code of a site-generic chapter (radiotherapy) is done on the organ the indication
            # names ("brachytherapy for rectal cancer": the rectum's site code).
            generic = top.code.startswith(tuple(lex.scoring.get("site_generic_codes", ())))
            site_hits = [h for h in m.fallback_sites if generic or (top.via == "facets" and any(
                s in top.matched for s in (h.id, *lex.ancestors(h.id))))]
        site_hits.sort(key=lambda h: -len(lex.ancestors(h.id)))
        title_sites = {f for f in tf if f.startswith("site.")}
        for h in site_hits:
            # The nearest site code on the way up (a sub-site may have none of its own).
            chain = [h.id, *lex.ancestors(h.id)]
            skin = self._skin_site(chain, top.code)
            if skin:
                chain = [skin, *lex.ancestors(skin)]
            if title_sites and not any(t in chain or chain[0] in lex.ancestors(t) for t in title_sites) \
                    and top.code[0] not in (lex.concepts[chain[0]].chapters if chain[0] in lex.concepts else ()):
                # A structure of another body system than the code's organ (the retroperitoneum
                # a pancreatic necrosectomy goes through): not a site of this code (R15).
                continue
            zc = next((lex.concepts[s] for s in chain if s in lex.concepts and lex.concepts[s].z_code), None)
            if zc is None:
                break
            # A site code borrowed from the containing structure belongs to that structure.
            k = chain.index(zc.id)
            while k + 1 < len(chain) and chain[k + 1] in lex.concepts and \
                    lex.concepts[chain[k + 1]].z_code == zc.z_code:
                k += 1
            title_only = set(e.index.title_feats[e.index.pos[top.code]]) if top.code in e.index.pos else set()
            policy = self.site_policy(top.code)
            if any(self._names_site(s, tf, title_only, policy) for s in chain[: k + 1]):
                break
            # A code that goes with the procedure may name it already (B27.4 + T85.2 axillary nodes).
            others = [self._title_feats(x.code) for x in codes[1:] if x.role == "other"]
            if any(s in of or any(s in lex.ancestors(f) for f in of if f.startswith("site."))
                   for of in others for s in chain[: k + 1]):
                break
            code = self.usable_code(zc.z_code or "")
            if code and not any(x.code == code for x in codes):
                codes.append(self._sub(code, "site", gi, "local", conf, [h], note_length, f"site:{h.id}"))
            break
        # Z94 laterality.
        verdict = self.laterality_rule(top.code)
        if any(self.laterality_rule(c.code) == "forbidden" for c in codes):
            verdict = "forbidden"  # a code of the procedure already says both sides (TAH + BSO)
        side_hits = own.get("laterality", [])
        sides = {SIDE_IDS[h.id] for h in side_hits if h.id in SIDE_IDS}
        side = "bilateral" if "bilateral" in sides or {"left", "right"} <= sides else (
            next(iter(sides)) if len(sides) == 1 else None)
        paired = any(lex.concepts[s].paired for s in self._sites(g) if s in lex.concepts) or any(
            lex.concepts[f].paired for f in tf if f.startswith("site.") and f in lex.concepts)
        in_title = any(f.startswith("laterality.") for f in tf)
        if side and verdict != "forbidden" and (verdict == "required" or paired) and not in_title:
            lat_id = f"laterality.{side}"
            c = lex.concepts.get(lat_id)
            code = self.usable_code(c.code) if c and c.code else None
            if code:
                codes.append(self._sub(code, "laterality", gi, basis(side_hits[0]), conf, side_hits,
                                       note_length, f"laterality:{lat_id}"))
        elif verdict == "required" and not side and not in_title:
            # Not a doubt about the codes (R17): the note lacks the side, so the result is
            # incomplete until the coder answers; confidence in the codes given is unchanged.
            primary.flags.append("laterality_missing")
            choices = [Choice(s, [lex.concepts[f"laterality.{s}"].code or ""])
                       for s in ("right", "left", "bilateral") if f"laterality.{s}" in lex.concepts]
            questions.append(Question(f"laterality-{gi}", f"Laterality required for {top.code} but not "
                                      "stated: which side?", "laterality", gi, choices))
        # Companion codes (C75.1 -> lens extraction).
        for comp in lex.companions:
            if any(g.features.get(u, 0.0) >= 0.85 for u in comp.unless):
                continue
            applies = top.code == comp.code or bool(comp.scope and _matches(top.code, comp.scope))
            if applies and not any(_matches(x.code, comp.requires_one_of) for x in codes):
                code = self.usable_code(comp.default)
                if code:
                    # An assumed method (phaco for a lens implant) may be wrong: review. An
                    # unspecified default (L76.9, type and number of stents) is right as far as it
                    # goes: the note lacks the detail, so the result is incomplete instead.
                    unspecified = code.endswith(".9")
                    sub = self._sub(code, "other", gi, "companion_unspecified" if unspecified
                                    else "companion_default", conf, [m.anchor], note_length, f"rule:{comp.id}")
                    sub.needs_review = not unspecified
                    codes.append(sub)
                    questions.append(Question(f"companion-{gi}", f"{top.code} is followed by a code for "
                                              f"{', '.join(comp.requires_one_of)}; {code} "
                                              f"{'used: which one exactly?' if unspecified else 'assumed. Correct?'}",
                                              "detail" if unspecified else "companion", gi))
        # Levels of spine (V55) after a spinal operation, counted from the levels the note names.
        for lr in lex.levels:
            if not _matches(top.code, lr.scope):
                continue
            n = spinal_levels(analysis, tuple(lr.counted_words))
            code = self.usable_code(lr.codes.get(str(min(n, 3)), "")) if n else None
            if code:
                codes.append(self._sub(code, "other", gi, "local", conf, [m.anchor], note_length,
                                       f"rule:{lr.id}"))
            else:
                # The levels code is required even when the note omits them: the unspecified
                # code (V55.9) stands, and the coder is asked for the number (incomplete).
                default = self.usable_code(lr.unspecified) if lr.unspecified else None
                if default:
                    codes.append(self._sub(default, "other", gi, "companion_unspecified", conf,
                                           [m.anchor], note_length, f"rule:{lr.id}"))
                primary.flags.append("levels_missing")
                questions.append(Question(f"levels-{gi}", f"{top.code} is followed by the number of "
                                          "spinal levels operated on; the note does not name them. How many?",
                                          "levels", gi, [Choice(lr.answers.get(k, f"{k} levels"), [v])
                                                         for k, v in sorted(lr.codes.items())]))
            break
        if "abandoned" in ctx:
            questions.append(Question(f"stage-{gi}", f"The procedure ({m.anchor.text}) is described as "
                                      "abandoned or failed: coded to the stage reached; please confirm "
                                      "how far it went.", "stage", gi))
        # Alternatives and a question when the top two are close.
        n_alt = int(lex.scoring["alternatives_per_group"])
        alts = [c for c in g.candidates[1:] if c.code != top.code][:n_alt]
        for rank, c in enumerate(alts):
            af = PrimaryFeatures(c.score, c.score - top.score, c.via != "facets", pf.fuzzy, False,
                                 pf.uncertain, pf.abandoned, e.bundled)
            alternatives.append(Alternative(c.code, e.title(c.code), gi,
                                            scorer.primary_confidence(af), top.code))
        if alts and margin < float(lex.scoring["question_margin"]):
            questions.append(Question(f"choice-{gi}", f"{top.code} ({title}) or {alts[0].code} "
                                      f"({e.title(alts[0].code)})?", "code", gi,
                                      [Choice(e.title(x.code), [x.code]) for x in [top, alts[0]]]))
            # Not a review flag by itself: the margin is in the confidence model, whose
            # threshold decides review (a close call between two right-category codes is common).
        g.codes = codes

    def site_policy(self, code: str) -> str:
        best, policy = -1, "unnamed_only"
        for r in self.lex.site_code_rules:
            for p in r.scope:
                if code.startswith(p) and len(p) > best:
                    best, policy = len(p), r.policy
        return policy

    def _names_site(self, site_id: str, tf: set[str], title_only: set[str], policy: str) -> bool:
        """Does the primary already say this site? (R15; policy from rules/site_codes.jsonl)"""
        if site_id in tf:
            return True
        if any(site_id in self.lex.ancestors(f) for f in tf if f.startswith("site.")):
            return True  # the title names a narrower site still
        if policy == "unnamed_only":
            ancestors = set(self.lex.ancestors(site_id))
            return any(f in ancestors for f in title_only)
        return False

    def _sub(self, code: str, role: str, group: int, kind: str, primary_conf: float,
             hits: list[Hit], note_length: int, rule: str) -> CodeAssignment:
        key = f"{kind}:{role}"
        conf = self.e.scorer.subsidiary_confidence(key, primary_conf)
        return CodeAssignment(code, self.e.title(code), role, group, conf,
                              self._evidence(hits, note_length), rule,
                              needs_review=self.e.scorer.needs_review(conf),
                              features={"kind": key, "primary_confidence": primary_conf})

    # ------------------------------------------------------------ whole-set rules
    def _merge_laterality(self, groups: list[Group]) -> list[CodeAssignment]:
        """One Z94 per site: drop a Z94 repeated by a later group on the same chapter."""
        codes: list[CodeAssignment] = []
        for gi, g in enumerate(groups):
            for c in g.codes:
                if c.role == "laterality" and any(
                        later.codes and later.codes[0].code[0] == g.codes[0].code[0] and
                        any(x.code == c.code for x in later.codes) for later in groups[gi + 1:]):
                    continue
                codes.append(c)
        return codes

    def _check_incompatible(self, codes: list[CodeAssignment], warnings: list[str]) -> list[CodeAssignment]:
        """Incompatible pairs within one procedure's group (two procedures may differ)."""
        out: list[CodeAssignment] = []
        for gi in sorted({c.group for c in codes}):
            out += self._check_group_incompatible([c for c in codes if c.group == gi], warnings)
        return out

    def _check_group_incompatible(self, codes: list[CodeAssignment], warnings: list[str]) -> list[CodeAssignment]:
        out = list(codes)
        for r in self.lex.incompatible:
            bs = [r.b] if isinstance(r.b, str) else r.b
            has_a = [c for c in out if c.code.startswith(r.a)]
            has_b = [c for c in out if _matches(c.code, bs) and c not in has_a]
            if has_a and has_b:
                # A subsidiary code yields to the procedure it would qualify, whatever the
                # confidences (R22.8 stays; the vaginal approach Y50.3 goes).
                pool = [c for c in has_a + has_b if c.role != "primary"] or has_a + has_b
                weaker = min(pool, key=lambda c: c.confidence)
                out.remove(weaker)
                warnings.append(f"{weaker.code} dropped: cannot be combined with "
                                f"{(has_b if weaker in has_a else has_a)[0].code} ({r.id}: {r.source}).")
        return out

    def _sequence(self, codes: list[CodeAssignment]) -> list[CodeAssignment]:
        """Group order, then primary, other, method, site, laterality; Y/Z never first."""
        ordered = sorted(codes, key=lambda c: (c.group, ROLE_ORDER.get(c.role, 5)))
        first = next((i for i, c in enumerate(ordered) if c.code[0] not in "YZ"), None)
        if first:  # never leave a Y or Z code in first place
            ordered.insert(0, ordered.pop(first))
        return ordered
