"""The OPCS-4 classification a user imported: parsing release files and storing them.

Accepted inputs: the NHS release service "CodesAndTitles" XML (``<code CODE=".." TITLE=".."/>``),
its tab-separated text form (``code<TAB>title``, point optional), and the normalised TSV with a
``code``/``title`` header (plus optional ``category_title``). Retired placeholders are kept but
marked inactive. The stored copy lives in the user data folder, never in the repository.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from .paths import data_home

MAX_RELEASE_BYTES = 50 * 1024 * 1024  # the real release is under 1 MB; refuse absurd inputs
_CODE_RE = re.compile(r"^([A-Z])(\d{2})(?:\.?(\d))?$")
_RETIRED_RE = re.compile(r"^(code|category) (retired|deleted)", re.IGNORECASE)
_RELEASE_RE = re.compile(r"OPCS[-_ ]?4[._]?(\d{1,2})", re.IGNORECASE)
STORE_NAME = "classification.json"


class ClassificationError(Exception):
    """A release file could not be imported; the message names the file and, where known, the line."""


@dataclass(frozen=True)
class CodeEntry:
    code: str          # "K35.2" or, for categories, "K35"
    title: str
    chapter: str
    category: str
    category_title: str
    active: bool


@dataclass
class Classification:
    name: str
    version: str
    source: str
    codes: dict[str, CodeEntry]        # four-character codes
    categories: dict[str, CodeEntry]   # three-character categories

    def active_codes(self) -> list[CodeEntry]:
        return [c for c in self.codes.values() if c.active]

    def get(self, code: str) -> CodeEntry | None:
        norm = normalise_code(code)
        if norm is None:
            return None
        return self.codes.get(norm) or self.categories.get(norm)


def normalise_code(raw: str) -> str | None:
    """'k355', 'K35.5', ' K35.5 ' -> 'K35.5'; 'K35' -> 'K35'; anything else -> None."""
    m = _CODE_RE.match(raw.strip().upper())
    if not m:
        return None
    return f"{m.group(1)}{m.group(2)}" + (f".{m.group(3)}" if m.group(3) else "")


def detect_release(path: Path, text_head: str = "") -> str | None:
    m = _RELEASE_RE.search(path.name) or _RELEASE_RE.search(text_head[:2000])
    return f"4.{m.group(1)}" if m else None


def _rows_from_xml(text: str, where: str) -> list[tuple[int, str, str, str | None]]:
    try:
        root = safe_fromstring(text.encode("utf-8"), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ClassificationError(
            f"{where}: refused: the XML declares a DTD or entities ({exc.__class__.__name__}); "
            "a release file never does") from exc
    except ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        raise ClassificationError(f"{where}:{line}: malformed XML at column {col}: {exc.msg if hasattr(exc, 'msg') else exc}") from exc
    rows = []
    for i, el in enumerate(root.iter()):
        tag = el.tag.rsplit("}", 1)[-1]
        if tag != "code":
            continue
        code, title = el.get("CODE"), el.get("TITLE")
        if code is None or title is None:
            raise ClassificationError(f"{where}: <code> element #{i} lacks CODE or TITLE")
        rows.append((i, code, title, None))
    return rows


def _rows_from_delimited(text: str, where: str) -> list[tuple[int, str, str, str | None]]:
    reader = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    rows: list[tuple[int, str, str, str | None]] = []
    header: list[str] | None = None
    for lineno, rec in enumerate(reader, start=1):
        if not rec or not any(f.strip() for f in rec):
            continue
        if lineno == 1 and rec[0].strip().lower() == "code":
            header = [h.strip().lower() for h in rec]
            if "title" not in header:
                raise ClassificationError(f"{where}:1: header has no 'title' column")
            continue
        if header:
            if len(rec) != len(header):
                raise ClassificationError(
                    f"{where}:{lineno}: expected {len(header)} tab-separated columns, found {len(rec)}")
            d = dict(zip(header, rec))
            rows.append((lineno, d["code"], d["title"], d.get("category_title")))
        else:
            if len(rec) < 2:
                raise ClassificationError(
                    f"{where}:{lineno}: expected 'code<TAB>title', found {len(rec)} column(s)")
            rows.append((lineno, rec[0], rec[1], None))
    return rows


def parse_release(path: str | os.PathLike[str], version: str | None = None) -> Classification:
    """Parse a release file into a Classification, or raise ClassificationError."""
    p = Path(path)
    where = str(p)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ClassificationError(f"{where}: cannot read ({exc.strerror})") from exc
    if size > MAX_RELEASE_BYTES:
        raise ClassificationError(f"{where}: {size} bytes is far larger than any OPCS-4 release file")
    data = p.read_bytes()
    if b"\0" in data[:4096]:
        raise ClassificationError(f"{where}: binary file, not an OPCS-4 release (XML or tab-separated text)")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly everything
        raise ClassificationError(f"{where}: unknown text encoding")
    head = text.lstrip()[:200]
    rows = _rows_from_xml(text, where) if head.startswith("<") else _rows_from_delimited(text, where)
    if not rows:
        raise ClassificationError(f"{where}: no codes found")
    codes: dict[str, CodeEntry] = {}
    cats: dict[str, CodeEntry] = {}
    cat_titles: dict[str, str] = {}
    pending: list[tuple[str, str, str | None]] = []
    for lineno, raw_code, title, cat_title in rows:
        code = normalise_code(raw_code)
        title = " ".join(title.split())
        if code is None or not title:
            raise ClassificationError(f"{where}:{lineno}: '{raw_code[:20]}' is not an OPCS-4 code with a title")
        if len(code) == 3:
            cat_titles[code] = title
            cats[code] = CodeEntry(code, title, code[0], code, title, not _RETIRED_RE.match(title))
        else:
            pending.append((code, title, cat_title))
    for code, title, cat_title in pending:
        cat = code[:3]
        ct = cat_titles.get(cat) or cat_title or ""
        if cat not in cats and ct:
            cats[cat] = CodeEntry(cat, ct, code[0], cat, ct, True)
        codes[code] = CodeEntry(code, title, code[0], cat, ct, not _RETIRED_RE.match(title))
    if len(codes) < 10:
        raise ClassificationError(f"{where}: only {len(codes)} four-character codes: not a full release")
    ver = version or detect_release(p, text) or "unknown"
    return Classification("OPCS-4", ver, p.name, codes, cats)


def store_path(home: Path | None = None) -> Path:
    return (home or data_home()) / STORE_NAME


def save(cls: Classification, home: Path | None = None) -> Path:
    """Write atomically: a crash leaves the previous import intact, never half a file."""
    target = store_path(home)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "name": cls.name, "version": cls.version, "source": cls.source,
        "codes": [asdict(c) for c in cls.codes.values()],
        "categories": [asdict(c) for c in cls.categories.values()],
    }
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".classification-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load(home: Path | None = None) -> Classification | None:
    """The imported classification, or None when nothing has been imported."""
    p = store_path(home)
    if not p.is_file():
        return None
    try:
        d = json.loads(p.read_text("utf-8"))
        codes = {c["code"]: CodeEntry(**c) for c in d["codes"]}
        cats = {c["code"]: CodeEntry(**c) for c in d["categories"]}
        return Classification(d["name"], d["version"], d["source"], codes, cats)
    except (ValueError, KeyError, TypeError) as exc:
        raise ClassificationError(
            f"{p}: the stored classification is damaged ({exc.__class__.__name__}); "
            "run 'nlp-coder opcs import' again") from exc
