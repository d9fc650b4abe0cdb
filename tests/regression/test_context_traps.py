"""Context traps from real op notes, written as op notes are written (invented wording).

Each row: the note, the codes a coder assigns (in order), and what else must hold. Negated,
planned and historical procedures are never coded; an abandoned one is coded to the stage
reached and flagged; header fields answered "No" are not procedures; a list of several
procedures gives each its own codes.
"""
from __future__ import annotations

import pytest

from testsupport import codes_of

ROWS = [
    pytest.param("Procedure: Flexible cystoscopy\nFindings: normal urethra and bladder. "
                 "No stent was required.\nComplications: none", ["M45.9"], id="no-stent-required"),
    pytest.param("Op: Lap chole under GA\nComplications: No complications\nEBL: minimal",
                 ["J18.3", "Y75.2"], id="no-complications"),
    pytest.param("Procedure: colonoscopy - abandoned due to poor prep\nScope passed to sigmoid only.",
                 ["H22.9"], id="abandoned-poor-prep"),
    pytest.param("PMH: previous right hip replacement 2019, HTN.\nProcedure: Lt THR (cemented)",
                 ["W37.1", "Z94.3"], id="previous-hip-replacement"),
    pytest.param("Procedure: flexible cystoscopy\nFindings: 2 cm papillary tumour L lateral wall\n"
                 "Plan: for TURBT under GA next list", ["M45.9"], id="plan-for-turbt"),
    pytest.param("Procedure: laparoscopic cholecystectomy, converted to open due to adhesions",
                 ["J18.3", "Y71.4"], id="converted-to-open"),
    pytest.param("Indication: obstructive jaundice, CBD stones on MRCP - for ERCP\n"
                 "Procedure: Lap chole", ["J18.3", "Y75.2"], id="indication-for-ercp"),
    pytest.param("Procedure: Open inguinal hernia repair with mesh, R\nDrain: No\nTourniquet: No\n"
                 "Antibiotics: Yes", ["T20.2", "Z94.2"], id="header-fields-no"),
    pytest.param("Procedures:\n1. OGD\n2. Colonoscopy and polypectomy", ["H20.1", "G45.9"],
                 id="list-of-procedures"),
    pytest.param("Cystoscopy + removal of R ureteric stent. No new stent inserted.",
                 ["M29.3", "Z94.2"], id="negated-replacement-stent"),
    pytest.param("Planned: R TKR. Procedure today: R knee arthroscopy and washout only.",
                 ["W85.2", "Z94.2"], id="planned-vs-performed"),
    pytest.param("Lap appendicectomy. Drain not required. No conversion.",
                 ["H01.9", "Y75.2"], id="no-drain-no-conversion"),
    # Scraped notes flatten line breaks into ".," and run sentences across headers.
    pytest.param("PREOPERATIVE DIAGNOSIS:,  Benign prostatic hyperplasia.,POSTOPERATIVE DIAGNOSIS:,  "
                 "Same.,OPERATION PERFORMED: , Transurethral resection of the prostate.,ANESTHESIA: , "
                 "Spinal.,COMPLICATIONS:,  None.", ["M65.3"], id="flattened-headers"),
    pytest.param("PROCEDURES PERFORMED:,1.  Left knee arthroscopy.,2.  Partial medial meniscectomy.,"
                 "ANESTHESIA: , General.", ["W82.2", "Z94.3"], id="flattened-numbered-list"),
]


@pytest.mark.parametrize("note,expected", ROWS)
def test_context_trap(engine, note, expected):
    r = engine.code(note)
    assert codes_of(r) == expected
    if "abandoned" in note:
        assert "abandoned" in r.codes[0].flags and r.needs_review
        assert any(q.facet == "stage" for q in r.questions)
