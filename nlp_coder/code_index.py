"""The compiled facet index over a classification's code titles, and candidate retrieval.

Every active code's title (and its category title) is decomposed into features with the same
lexicons that read the notes; codes are then scored by how well their features agree with a
mention's (inverse-document-frequency weighted), preferring the most specific fitting code.
"""
from __future__ import annotations

import hashlib
import math
import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

from spacy.language import Language

from .classification import Classification, CodeEntry
from .features import doc_features
from .lexicons import Lexicons

INDEX_FORMAT = 4


@dataclass
class Candidate:
    code: str
    score: float
    cover_title: float
    explained: float
    matched: list[str]
    via: str            # "facets" or the procedure entry id


class CodeIndex:
    def __init__(self, entries: list[CodeEntry], title_feats: list[frozenset[str]],
                 cat_feats: dict[str, frozenset[str]], subsidiary_categories: frozenset[str] = frozenset(),
                 ancestors: dict[str, tuple[str, ...]] | None = None):
        self.entries = entries
        anc = ancestors or {}
        self.anc = anc
        # Sites a code operates on, with their broader sites: the organ-first check of R2.
        self.site_closure: list[frozenset[str]] = []
        self.approaches: list[frozenset[str]] = []
        for i, e in enumerate(entries):
            fs = title_feats[i] | cat_feats.get(e.category, frozenset())
            sites = {f for f in fs if f.startswith("site.")}
            self.site_closure.append(frozenset(sites.union(*(anc.get(x, ()) for x in sites))))
            self.approaches.append(frozenset(f for f in title_feats[i] if f.startswith("approach.")))
        self.pos = {e.code: i for i, e in enumerate(entries)}
        self.title_feats = title_feats
        self.cat_feats = cat_feats
        n = len(entries)
        df: dict[str, int] = {}
        for fs in title_feats:
            for f in fs:
                df[f] = df.get(f, 0) + 1
        for fs in cat_feats.values():
            for f in fs:
                df.setdefault(f, 1)
        self.idf = {f: math.log((n + 1) / (d + 0.5)) for f, d in df.items()}
        self.inverted: dict[str, list[int]] = {}
        for i, fs in enumerate(title_feats):
            # Y/Z codes (and overflow site/method categories) are never a primary procedure.
            if entries[i].chapter in "YZ" or entries[i].category in subsidiary_categories:
                continue
            for f in fs | cat_feats.get(entries[i].category, frozenset()):
                self.inverted.setdefault(f, []).append(i)
        self.words = {f[2:] for f in df if f.startswith("w:")}

    @classmethod
    def build(cls, nlp: Language, lex: Lexicons, entries: list[CodeEntry],
              categories: dict[str, str]) -> "CodeIndex":
        subsidiary = frozenset(c.z_code[:3] for c in lex.concepts.values()
                               if c.z_code and c.z_code[0] not in "YZ")
        titles = [e.title for e in entries]
        cat_codes = sorted(categories)
        docs = list(nlp.pipe(titles + [categories[c] for c in cat_codes], batch_size=512))
        title_feats = [frozenset(doc_features(lex, d)) for d in docs[: len(titles)]]
        cat_feats = {c: frozenset(doc_features(lex, d)) for c, d in zip(cat_codes, docs[len(titles):])}
        ancestors = {c: tuple(lex.ancestors(c)) for c in lex.concepts}
        return cls(entries, title_feats, cat_feats, subsidiary, ancestors)

    def retrieve(self, feats: dict[str, float], core: set[str], noise: set[str],
                 specificity: dict[str, float], sites: set[str] = frozenset(),  # type: ignore[assignment]
                 factors: dict[str, float] | None = None, limit: int = 12) -> list[Candidate]:
        """Rank codes for one mention's weighted features; ``core`` are the facets it must explain,
        ``sites`` the sites it names (with their broader sites): codes on other organs rank lower."""
        fx = factors or {}
        site_miss = fx.get("site_mismatch", 0.45)
        site_none = fx.get("site_unnamed", 0.8)
        app_hit = fx.get("approach_agrees", 1.1)
        app_miss = fx.get("approach_conflicts", 0.85)
        idf = self.idf
        cand: set[int] = set()
        for f in feats:
            if f in core or f.startswith("w:"):
                posting = self.inverted.get(f)
                if posting is not None and len(posting) < 3000:
                    cand.update(posting)
        site_boost = fx.get("site_weight", 2.0)  # organ first: a site counts double
        core_w = {f: feats[f] * idf.get(f, 0.0) * (site_boost if f.startswith("site.") else 1.0)
                  for f in core if f in idf}
        core_total = sum(core_w.values()) or 1.0
        out: list[Candidate] = []
        for i in cand:
            e = self.entries[i]
            tf = self.title_feats[i]
            kf = self.cat_feats.get(e.category, frozenset())
            num = den = 0.0
            matched = []
            for f in tf:
                if f in noise:
                    continue
                w = idf.get(f, 0.0)
                den += w
                m = feats.get(f, 0.0)
                if m:
                    num += w * m
                    matched.append(f)
            if den == 0.0:  # "Other specified ..." titles: fall back to the category's features
                for f in kf:
                    if f in noise:
                        continue
                    w = idf.get(f, 0.0)
                    den += w
                    m = feats.get(f, 0.0)
                    if m:
                        num += w * m
                        matched.append(f)
            cover = num / den if den else 0.0
            expl = 0.0
            for f, w in core_w.items():
                if f in tf:
                    expl += w
                elif f in kf:
                    expl += 0.8 * w
                elif f in self.anc and any(a in tf or a in kf for a in self.anc[f]):
                    expl += 0.6 * w  # the code names a broader site or action than the note
            explained = expl / core_total
            if cover <= 0.0 or explained <= 0.0:
                continue
            score = (cover ** 0.7) * explained * self._specificity(e, explained, specificity)
            if sites:
                sc = self.site_closure[i]
                if not sc:
                    score *= site_none
                elif not (sc & sites):
                    score *= site_miss
            for a in self.approaches[i]:
                score *= app_hit if feats.get(a, 0.0) >= 0.5 else app_miss
            out.append(Candidate(e.code, score, cover, explained, matched, "facets"))
        out.sort(key=lambda c: (-c.score, c.code))
        return out[:limit]

    @staticmethod
    def _specificity(e: CodeEntry, explained: float, spec: dict[str, float]) -> float:
        t = e.title.lower()
        fourth = e.code[-1]
        if fourth in "89" and (t.startswith("other specified") or t.startswith("unspecified")):
            # .8 when the note says something the category has no code for; .9 when detail is missing.
            prefer_8 = explained < 0.999
            if fourth == "8":
                return spec.get("other_specified_when_detail", 0.93) if prefer_8 else spec.get("other_specified", 0.86)
            return spec.get("unspecified", 0.9) if not prefer_8 else spec.get("unspecified_when_detail", 0.85)
        if t.endswith(" nec") or " nec " in t:
            return spec.get("nec", 0.97)
        return 1.0


def index_cache_path(home: Path, lex: Lexicons, cls: Classification) -> Path:
    h = hashlib.sha256(f"{INDEX_FORMAT}|{lex.digest}|{cls.version}|{cls.source}|{len(cls.codes)}".encode())
    return home / f"index-{h.hexdigest()[:16]}.pickle"


def save_index(index: CodeIndex, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".index-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_index(path: Path) -> CodeIndex | None:
    try:
        with path.open("rb") as fh:
            obj = pickle.load(fh)  # our own file in the user's data folder, written by save_index
        return obj if isinstance(obj, CodeIndex) else None
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
