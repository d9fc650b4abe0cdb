"""R28 diagnostic absorbed by therapeutic on the same site, R29 biopsy absorbed by excision."""
from __future__ import annotations

import pytest

from testsupport import codes_of

# (note, expected codes in order, code prefixes that must be absorbed)
ROWS = [
    pytest.param("Cystoscopy and TURBT under GA", ["M42.1"], ("M45",), id="cystoscopy-by-turbt"),
    pytest.param("OGD and banding of varices", ["G43.7"], ("G45",), id="ogd-by-banding"),
    pytest.param("Diagnostic laparoscopy proceeding to laparoscopic appendicectomy",
                 ["H01.9", "Y75.2"], ("T43",), id="diagnostic-lap-by-appendicectomy"),
    pytest.param("Flexible cystoscopy and removal of Rt ureteric stent", ["M29.3", "Z94.2"],
                 ("M45", "M29.2"), id="cystoscopy-by-stent-removal"),
    pytest.param("Colonoscopy and snare polypectomy of sigmoid polyp", ["H20.1", "Z28.6"],
                 ("H22",), id="colonoscopy-by-polypectomy"),
    pytest.param("Diagnostic arthroscopy and arthroscopic partial medial meniscectomy Rt knee",
                 ["W82.2", "Z94.2"], ("W87",), id="diagnostic-arthroscopy-by-meniscectomy"),
    pytest.param("ERCP, sphincterotomy and stone extraction", ["J38.1"], ("J43",),
                 id="ercp-by-sphincterotomy"),
    pytest.param("Excision biopsy of lesion of Lt breast", ["B28.3", "Z94.3"], ("B32",),
                 id="excision-biopsy-is-excision"),
    pytest.param("Excision of lesion of Lt breast and biopsy of same lesion", ["B28.3", "Z94.3"],
                 ("B32",), id="biopsy-by-excision-same-site"),
]


@pytest.mark.parametrize("note,expected,absorbed", ROWS)
def test_absorption(engine, note, expected, absorbed):
    r = engine.code(note)
    codes = codes_of(r)
    assert codes == expected
    assert not any(c.startswith(absorbed) for c in codes)
    assert len({c.group for c in r.codes}) == 1, "one procedure group remains"
