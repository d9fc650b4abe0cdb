"""R23 / R25 context: negated, planned, historical and alternative procedures are not coded;
abandoned procedures are coded to the stage reached and flagged; pseudo-negation ("no
complications") does not suppress; Indication/Drain sections are not procedures."""
from __future__ import annotations

import pytest

from testsupport import codes_of

# (note, expected codes in order, abandoned flag expected)
ROWS = [
    pytest.param("Cystoscopy. No stent was inserted.", ["M45.9"], False, id="negated-stent"),
    pytest.param("Flexible cystoscopy. Bladder tumour seen. Plan for TURBT.", ["M45.9"], False,
                 id="planned-turbt-and-finding-not-coded"),
    pytest.param("Plan: TAVI next month", [], False, id="plan-section"),
    pytest.param("Listed for lap chole", [], False, id="listed-for"),
    pytest.param("Previous right hip replacement. Today: Lt TKR.", ["W42.1", "Z94.3"], False,
                 id="historical-previous"),
    pytest.param("s/p appendicectomy 2015. Diagnostic laparoscopy performed.", ["T43.9"], False,
                 id="historical-s/p"),
    pytest.param("Colonoscopy abandoned due to poor bowel prep", ["H22.9"], True,
                 id="abandoned-flagged"),
    pytest.param("The standard treatment is open surgery. Laparoscopic appendicectomy performed.",
                 ["H01.9", "Y75.2"], False, id="alternative-open-surgery"),
    pytest.param("Indication: gallstones, for ERCP if CBD stones\nProcedure: Lap chole\n"
                 "Complications: No complications\nDrain: No",
                 ["J18.3", "Y75.2"], False, id="sections-and-pseudo-negation"),
]


@pytest.mark.parametrize("note,expected,abandoned", ROWS)
def test_context(engine, note, expected, abandoned):
    r = engine.code(note)
    assert codes_of(r) == expected
    assert r.nothing_codable == (not expected)
    if abandoned:
        assert r.needs_review
        assert "abandoned" in r.codes[0].flags
        assert any(q.facet == "stage" for q in r.questions)
    else:
        assert not any("abandoned" in c.flags for c in r.codes)
