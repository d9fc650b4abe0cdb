"""Shared test support: where ../shared is (never copied here) and small result helpers."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NLP_CODER_SHARED", ROOT.parent / "shared"))
RELEASE_XML = SHARED / "opcs4" / "OPCS411_CodesAndTitles_Nov_2025_V1.0.xml"
DEV_CASES = SHARED / "eval" / "dev_cases.tsv"
CORPUS = SHARED / "corpora" / "mtsamples_surgery.csv"


def codes_of(result) -> list[str]:  # type: ignore[no-untyped-def]
    """The codes of a CodingResult in submission order."""
    return [c.code for c in result.codes]
