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

import numpy
from spacy.language import Language

from .classification import Classification, CodeEntry
from .features import doc_features
from .lexicons import Lexicons

INDEX_FORMAT = 13


@dataclass
class Candidate:
    code: str
    score: float
    cover_title: float
    explained: float
    matched: list[str]
    via: str            # "facets" or the procedure entry id


class CodeIndex:
    """Facet features of every code, laid out as sparse arrays so that one mention is scored
    against all ~10,000 codes with a few vectorised numpy operations."""

    def __init__(self, entries: list[CodeEntry], title_feats: list[frozenset[str]],
                 cat_feats: dict[str, frozenset[str]], subsidiary_categories: frozenset[str] = frozenset(),
                 ancestors: dict[str, tuple[str, ...]] | None = None,
                 noise: frozenset[str] = frozenset(), concept_weights: dict[str, float] | None = None):
        self.entries = entries
        self.pos = {e.code: i for i, e in enumerate(entries)}
        self.title_feats = title_feats
        self.cat_feats = cat_feats
        self.anc = ancestors or {}
        n = len(entries)
        df: dict[str, int] = {}
        for fs in title_feats:
            for f in fs:
                df[f] = df.get(f, 0) + 1
        for fs in cat_feats.values():
            for f in fs:
                df.setdefault(f, 1)
        self.idf = {f: math.log((n + 1) / (d + 0.5)) for f, d in df.items()}
        self.words = {f[2:] for f in df if f.startswith("w:")}
        vocab = set(df)
        for fs in title_feats:
            for f in fs:
                vocab.update(self.anc.get(f, ()))
        for fs in cat_feats.values():
            for f in fs:
                vocab.update(self.anc.get(f, ()))
        self.fidx = {f: j for j, f in enumerate(sorted(vocab))}
        idf_arr = numpy.zeros(len(self.fidx))
        cw = concept_weights or {}
        for f, j in self.fidx.items():
            # A concept's lexicon weight scales how much its presence in a title matters
            # ("total", "primary" are defaults; "lesion" is vague).
            idf_arr[j] = self.idf.get(f, 0.0) * cw.get(f, 1.0)
        self.idf_arr = idf_arr
        cover_rows, title_rows, catonly_rows, union_rows, site_rows, app_rows = [], [], [], [], [], []
        own_site_rows: list[list[str]] = []
        eligible = numpy.ones(n, dtype=bool)
        kind = numpy.zeros(n, dtype=numpy.int8)
        for i, e in enumerate(entries):
            tf = title_feats[i]
            kf = cat_feats.get(e.category, frozenset())
            core_title = [f for f in tf if f not in noise] or [f for f in kf if f not in noise]
            cover_rows.append(core_title)
            title_rows.append(list(tf))
            catonly_rows.append([f for f in kf if f not in tf])
            union = tf | kf
            union_rows.append(list(union))
            sites = {f for f in union if f.startswith("site.")}
            site_rows.append(list(sites.union(*(self.anc.get(x, ()) for x in sites))))
            own_site_rows.append(list(sites))
            app_rows.append([f for f in tf if f.startswith("approach.")])
            # Y/Z codes (and overflow site/method categories) are never a primary procedure.
            eligible[i] = not (e.chapter in "YZ" or e.category in subsidiary_categories)
            t = e.title.lower()
            if e.code[-1] in "89" and (t.startswith("other specified") or t.startswith("unspecified")):
                kind[i] = 2 if e.code[-1] == "8" else 3
            elif t.endswith(" nec") or " nec " in t:
                kind[i] = 1
        self.cover_m = _Sparse(cover_rows, self.fidx, idf_arr)
        self.title_m = _Sparse(title_rows, self.fidx)
        self.catonly_m = _Sparse(catonly_rows, self.fidx)
        self.site_m = _Sparse(site_rows, self.fidx)          # a code's sites and their broader sites
        self.own_site_m = _Sparse(own_site_rows, self.fidx)  # the sites its titles name
        self.action_m = _Sparse([[f for f in r if f.startswith("action.")] for r in union_rows], self.fidx)
        self.has_action = self.action_m.row_nnz > 0
        self.app_m = _Sparse(app_rows, self.fidx)
        self.den = self.cover_m.dot(numpy.ones(len(self.fidx)))
        self.has_site = self.site_m.row_nnz > 0
        self.approach_cols = [(f, j) for f, j in self.fidx.items() if f.startswith("approach.")]
        self.eligible = eligible
        self.kind = kind
        # Postings (feature -> codes whose title or category names it) for broader-concept credit.
        post: dict[int, list[int]] = {}
        for i, fs in enumerate(union_rows):
            for f in fs:
                post.setdefault(self.fidx[f], []).append(i)
        self.postings = {j: numpy.array(v, dtype=numpy.int32) for j, v in post.items()}
        # Codes naming something narrower than a feature (a site inside it): "eye" -> lens codes.
        narrower: dict[int, set[int]] = {}
        for i, fs in enumerate(union_rows):
            for f in fs:
                for a in self.anc.get(f, ()):
                    if a in self.fidx:
                        narrower.setdefault(self.fidx[a], set()).add(i)
        self.narrower = {j: numpy.array(sorted(v), dtype=numpy.int32) for j, v in narrower.items()}

    @classmethod
    def build(cls, nlp: Language, lex: Lexicons, entries: list[CodeEntry],
              categories: dict[str, str]) -> "CodeIndex":
        subsidiary = frozenset(c.z_code[:3] for c in lex.concepts.values()
                               if c.z_code and c.z_code[0] not in "YZ")
        secondary = tuple(p for r in lex.secondary_only for p in r.scope)
        subsidiary |= {e.category for e in entries if e.code.startswith(secondary)}
        titles = [e.title for e in entries]
        cat_codes = sorted(categories)
        docs = list(nlp.pipe(titles + [categories[c] for c in cat_codes], batch_size=512))
        title_feats = [frozenset(doc_features(lex, d)) for d in docs[: len(titles)]]
        cat_feats = {c: frozenset(doc_features(lex, d)) for c, d in zip(cat_codes, docs[len(titles):])}
        ancestors = {c: tuple(lex.ancestors(c)) for c in lex.concepts}
        noise = frozenset(lex.scoring.get("noise_features", ()))
        weights = {c.id: c.weight for c in lex.concepts.values() if c.weight != 1.0}
        return cls(entries, title_feats, cat_feats, subsidiary, ancestors, noise, weights)

    def _vec(self, weights: dict[str, float]) -> numpy.ndarray:
        v = numpy.zeros(len(self.fidx))
        for f, w in weights.items():
            j = self.fidx.get(f)
            if j is not None:
                v[j] = w
        return v

    def retrieve(self, feats: dict[str, float], core: set[str], noise: set[str] | frozenset[str],
                 specificity: dict[str, float], sites: set[str] | frozenset[str] = frozenset(),
                 factors: dict[str, float] | None = None, limit: int = 12,
                 methods: frozenset[str] = frozenset(),
                 own_sites: set[str] | frozenset[str] = frozenset()) -> list[Candidate]:
        """Rank codes for one mention's weighted features; ``core`` are the facets it must explain,
        ``sites`` the sites it names with their broader sites, ``own_sites`` the sites it names:
        codes on other organs rank lower.

        score = cover^0.7 * explained * specificity * site factor * approach factor, where cover is
        the idf-weighted share of the code title the mention supports and explained the share of
        the mention's core facets the code (title, else category, else a broader concept) names.
        """
        fx = factors or {}
        idf = self.idf
        site_boost = fx.get("site_weight", 2.0)  # organ first: a site counts double
        core_w = {f: feats[f] * idf[f] * (site_boost if f.startswith("site.") else 1.0)
                  for f in core if f in idf and f not in noise}
        core_total = sum(core_w.values())
        if not core_w or core_total <= 0:
            return []
        m = self._vec(feats)
        cover = self.cover_m.dot(m)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            cover = numpy.where(self.den > 0, cover / self.den, 0.0)
        c = self._vec(core_w)
        expl = self.title_m.dot(c) + 0.8 * self.catonly_m.dot(c)
        n = len(self.entries)
        for f, w in core_w.items():
            own = self.postings.get(self.fidx[f])
            narrow = self.narrower.get(self.fidx[f])
            if narrow is not None and f.startswith("site."):
                nmask = numpy.zeros(n, dtype=bool)
                nmask[narrow] = True
                if own is not None:
                    nmask[own] = False
                expl += 0.8 * w * nmask  # the code names a part of the site the note names
            ancs = self.anc.get(f)
            if not ancs:
                continue
            mask = numpy.zeros(n, dtype=bool)
            for a in ancs:
                pa = self.postings.get(self.fidx.get(a, -1))
                if pa is not None:
                    mask[pa] = True
            own = self.postings.get(self.fidx[f])
            if own is not None:
                mask[own] = False
            expl += 0.6 * w * mask  # the code names a broader site or action than the note
        # A method with a Y code of its own ("radiofrequency" -> Y11.4) completes an "other
        # specified" or NEC code of the organ, which then carries it (R3, R6): the organ's code plus
        # the method says what the note says, where a code on another organ does not (organ first).
        # Only when no code of the organ names the method itself (panretinal laser
        # photocoagulation is a retina code), and only for codes that name no other action.
        method_feats = {f: 1.0 for f in core_w if f in methods} if own_sites else {}
        explained_all = expl / core_total
        completion = None
        if method_feats:
            completion = fx.get("method_completes", 0.8) * sum(core_w[f] for f in method_feats) / core_total * (
                (self.kind > 0) & (self.kind < 3) & ~self.has_action)
        # Only codes the mention covers at all can rank: everything below runs on those rows.
        covered = explained_all if completion is None else explained_all + completion
        idx = numpy.flatnonzero(self.eligible & (cover > 0) & (covered > 0))
        if not len(idx):
            return []
        # Codes on the note's own site or a part of it (not a broader region).
        part = self.site_m.dot(self._vec({s: 1.0 for s in own_sites}))[idx] > 0 if own_sites else None
        hit = None
        if sites:
            # The code names the note's site, a broader one, or a part of it; a sibling organ
            # of the same system (liver and gastro-oesophageal junction) is another organ.
            hit = self.own_site_m.dot(self._vec({s: 1.0 for s in sites}))[idx] > 0
            if part is not None:
                hit |= part
        if completion is not None and part is not None and not numpy.any(
                part & (self.title_m.dot(self._vec(method_feats))[idx] > 0)):
            explained_all = explained_all + completion
        cover, explained = cover[idx], explained_all[idx]
        kind = self.kind[idx]
        # A stated method or qualifier that no title of the classification uses ("electrotherapy")
        # is documented detail without a code of its own: that is what .8 is for (R3).
        unclassifiable = any(f not in idf and f.split(".", 1)[0] in ("action", "device", "qualifier")
                             and feats.get(f, 0.0) >= 1.0 for f in core)
        detail = (explained < 0.999) | unclassifiable
        spec = numpy.ones(len(idx))
        spec[kind == 1] = specificity.get("nec", 0.97)
        k2, k3 = kind == 2, kind == 3
        # .8 when the note says something the category has no code for; .9 when detail is missing.
        spec[k2] = numpy.where(detail[k2], specificity.get("other_specified_when_detail", 0.93),
                               specificity.get("other_specified", 0.86))
        spec[k3] = numpy.where(detail[k3], specificity.get("unspecified_when_detail", 0.85),
                               specificity.get("unspecified", 0.9))
        score = numpy.power(cover, 0.7) * explained * spec
        if hit is not None:
            score *= numpy.where(self.has_site[idx], numpy.where(hit, 1.0, fx.get("site_mismatch", 0.45)),
                                 fx.get("site_unnamed", 0.8))
        agree, conflict = math.log(fx.get("approach_agrees", 1.1)), math.log(fx.get("approach_conflicts", 0.85))
        actions = {f: w for f, w in feats.items() if f.startswith("action.") and w >= 0.5}
        if any(w >= 0.85 for w in actions.values()):
            # What is done must agree too: a code on the right organ doing something else ranks low.
            act_hit = self.action_m.dot(self._vec({f: 1.0 for f in actions}))[idx] > 0
            score *= numpy.where(act_hit | ~self.has_action[idx], 1.0, fx.get("action_mismatch", 0.5))
        # Each approach a title names agrees with the note or conflicts with it.
        stated = {f: 1.0 for f, _ in self.approach_cols if feats.get(f, 0.0) >= 0.5}
        n_agree = self.app_m.dot(self._vec(stated))[idx] if stated else numpy.zeros(len(idx))
        n_app = self.app_m.row_nnz[idx]
        score *= numpy.exp(agree * n_agree + conflict * (n_app - n_agree))
        # Round away float noise: sums over sets run in hash order, which differs between
        # processes, and ties must break the same way everywhere (batch pool == one process).
        score = numpy.round(score, 9)
        k = min(limit, len(idx))
        kth = numpy.partition(-score, k - 1)[k - 1]
        tied = numpy.flatnonzero(-score <= kth)
        order = tied[numpy.lexsort((idx[tied], -score[tied]))][:k]
        out = []
        for j in order.tolist():
            i = int(idx[j])
            matched = sorted(f for f in self.title_feats[i] if f in feats and f not in noise)
            out.append(Candidate(self.entries[i].code, float(score[j]), round(float(cover[j]), 9),
                                 round(float(explained[j]), 9), matched, "facets"))
        out.sort(key=lambda c: (-c.score, c.code))
        return out


class _Sparse:
    """A minimal column-compressed matrix: rows of feature columns (numpy has no sparse type and
    scipy is not otherwise needed). Queries name a handful of features, so a product touches
    only those columns' entries, not the whole matrix."""

    def __init__(self, rows: list[list[str]], fidx: dict[str, int], col_weights: numpy.ndarray | None = None):
        cols = numpy.array([fidx[f] for r in rows for f in r], dtype=numpy.int64)
        row_ids = numpy.repeat(numpy.arange(len(rows), dtype=numpy.int64), [len(r) for r in rows])
        data = col_weights[cols] if col_weights is not None else numpy.ones(len(cols))
        order = numpy.argsort(cols, kind="stable")
        self.rows = row_ids[order]
        self.data = data[order]
        self.ptr = numpy.searchsorted(cols[order], numpy.arange(len(fidx) + 1)) if len(cols) else \
            numpy.zeros(len(fidx) + 1, dtype=numpy.int64)
        self.n = len(rows)
        self.row_nnz = numpy.bincount(row_ids, minlength=self.n) if len(cols) else numpy.zeros(self.n)

    def dot(self, vec: numpy.ndarray) -> numpy.ndarray:
        out = numpy.zeros(self.n)
        for j in numpy.flatnonzero(vec).tolist():
            a, b = self.ptr[j], self.ptr[j + 1]
            if a < b:
                # A row holds a feature once, so the rows of one column are distinct.
                out[self.rows[a:b]] += self.data[a:b] * vec[j]
        return out


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
