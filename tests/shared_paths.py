"""Where the tests find ../shared (the OPCS-4 release, dev cases, corpus): never copied here."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NLP_CODER_SHARED", ROOT.parent / "shared"))
RELEASE_XML = SHARED / "opcs4" / "OPCS411_CodesAndTitles_Nov_2025_V1.0.xml"
DEV_CASES = SHARED / "eval" / "dev_cases.tsv"
CORPUS = SHARED / "corpora" / "mtsamples_surgery.csv"
