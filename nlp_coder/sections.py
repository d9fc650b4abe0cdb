"""Section awareness: which part of an op note a character offset belongs to.

Headers come from ``lexicons/context/sections.jsonl``. A header is a known name followed by a colon,
at the start of a line or after a sentence/comma boundary (scraped notes flatten line breaks into
commas). A short first line followed by a line break is the note's title and lists the procedure.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from .lexicon_schema import Section

BODY = "body"          # text under no header
TITLE = "title"        # a short first line: the procedure's name
CODED_CATEGORIES = frozenset({"procedure_list", TITLE})
PERFORMED_CATEGORIES = frozenset({"procedure_list", TITLE, "description", "findings", BODY})
# Header fields whose text, when written on the header's own line, is that line only.
ONE_LINE_WHEN_INLINE = frozenset({"indication", "diagnosis", "history", "plan", "anaesthesia", "other"})


@dataclass(frozen=True)
class SectionSpan:
    start: int
    end: int
    category: str
    header: str


class SectionFinder:
    def __init__(self, sections: list[Section], title_max_words: int = 20, list_max_chars: int = 300):
        self.list_max_chars = list_max_chars
        self.by_header: dict[str, Section] = {}
        for s in sections:
            for h in s.headers:
                self.by_header[" ".join(h.lower().split())] = s
        self.max_words = max((len(h.split()) for h in self.by_header), default=1)
        # Candidates, then a dictionary lookup: one alternation of ~400 header names in a regex
        # is an order of magnitude slower on long notes.
        # A header sits at a line start or after . , ; (scraped notes flatten line breaks),
        # may be numbered, and ends with a colon ...
        self.header_re = re.compile(
            r"(?:^|(?<=[\n.,;]))[ \t]*(?:\d+[.)]\s*)?([A-Za-z][A-Za-z0-9 /&'()-]{0,80}?)\s*,?\s*:")
        # ... or, in capitals only, with a comma or line break where the colon was dropped.
        self.bare_header_re = re.compile(
            r"(?:^|(?<=[\n.,;]))[ \t]*([A-Z][A-Z0-9 /&'()-]{2,80}?)(?=[ \t]*(?:,|\n))")
        self.title_max_words = title_max_words

    def find(self, text: str) -> list[SectionSpan]:
        """Sections covering the whole text in order (BODY where no header applies)."""
        marks: list[tuple[int, int, str, str]] = []  # header start, content start, category, header
        for start, end, raw in self._colon_headers(text):
            hit = self._lookup(raw)
            if hit is not None:
                sec, name = hit
                marks.append((start, end, sec.category, name))
        seen = {mk[0] for mk in marks}
        for m in self.bare_header_re.finditer(text):
            raw = m.group(1)
            if m.start(1) in seen or len(raw) < 4:
                continue
            hit = self._lookup(raw, exact=True)
            if hit is not None:
                sec, name = hit
                marks.append((m.start(1), m.end(), sec.category, name))
        marks.sort()
        spans: list[SectionSpan] = []
        first_start = marks[0][0] if marks else len(text)
        pos = 0
        if first_start > 0:
            title_end = self._title_end(text[:first_start])
            if title_end:
                spans.append(SectionSpan(0, title_end, TITLE, ""))
                pos = title_end
            if pos < first_start:
                spans.append(SectionSpan(pos, first_start, BODY, ""))
        for i, (hstart, cstart, cat, name) in enumerate(marks):
            end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
            if cat == "procedure_list" and end - cstart > self.list_max_chars:
                # "PROCEDURE: The patient was brought to theatre ..." is a narrative, not a list:
                # its first sentences name the operation, the rest describes it.
                cut = _sentence_end(text, cstart + self.list_max_chars, end)
                spans.append(SectionSpan(hstart, cut, cat, name))
                spans.append(SectionSpan(cut, end, "description", name))
                continue
            if cat in ONE_LINE_WHEN_INLINE:
                # "Indication: gallstones\nTumour 30-36cm, stent deployed ...": a field filled in on
                # the header's own line ends with that line; what follows is the operation again.
                nl = text.find("\n", cstart, end)
                if nl >= 0 and text[cstart:nl].strip() and text[nl:end].strip():
                    spans.append(SectionSpan(hstart, nl + 1, cat, name))
                    spans.append(SectionSpan(nl + 1, end, BODY, ""))
                    continue
            spans.append(SectionSpan(hstart, end, cat, name))
        if not spans:
            spans.append(SectionSpan(0, len(text), BODY, ""))
        return spans

    def _colon_headers(self, text: str) -> list[tuple[int, int, str]]:
        """(name start, content start, name) for each "Name:" header candidate.

        Same result as ``header_re.finditer`` but found from the colons backwards: a note has a
        few dozen colons, while the pattern would be tried after every boundary character."""
        out = []
        for colon in _COLON.finditer(text):
            c = colon.start()
            k = c
            while k > 0 and text[k - 1] in " \t\r\n\f\v":
                k -= 1
            if k > 0 and text[k - 1] == ",":
                k -= 1
                while k > 0 and text[k - 1] in " \t\r\n\f\v":
                    k -= 1
            seg_start = max(text.rfind(b, 0, k) for b in "\n.,;") + 1
            m = self.header_re.match(text, seg_start, colon.end())
            if m is not None and m.end() == colon.end():
                out.append((m.start(1), m.end(), m.group(1)))
        return out

    def _lookup(self, raw: str, exact: bool = False) -> tuple[Section, str] | None:
        """A known header name, optionally with an optional '(s)' or '(es)' suffix."""
        words = raw.lower().replace("(s)", "").replace("(es)", "").split()
        if not words or len(words) > self.max_words + 1:
            return None
        name = " ".join(words)
        sec = self.by_header.get(name)
        return (sec, name) if sec is not None else None

    def _title_end(self, text: str) -> int:
        stripped = text.lstrip()
        lead = len(text) - len(stripped)
        nl = stripped.find("\n")
        if nl < 0 and 0 < len(stripped.split()) <= self.title_max_words and \
                not re.search(r"[.;!?]\s+\S", stripped):
            return len(text)  # a one-sentence note ("Lap chole under GA") is the procedure's name
        if nl <= 0:
            return 0
        line = stripped[:nl]
        if len(line.split()) > self.title_max_words or line.rstrip().endswith((".", ":")):
            return 0
        return lead + nl


_COLON = re.compile(":")


def _sentence_end(text: str, pos: int, limit: int) -> int:
    """The end of the sentence that contains ``pos`` (or ``limit``)."""
    m = re.compile(r"[.;\n]").search(text, pos, limit)
    return m.end() if m else limit


class SectionIndex:
    """Fast offset -> section lookup."""

    def __init__(self, spans: list[SectionSpan]):
        self.spans = spans
        self.starts = [s.start for s in spans]

    def at(self, offset: int) -> SectionSpan:
        i = bisect.bisect_right(self.starts, offset) - 1
        return self.spans[max(i, 0)]

    def has_procedure_list(self) -> bool:
        return any(s.category in CODED_CATEGORIES for s in self.spans)
