"""R20 minimal access: open-code procedures done laparoscopically / arthroscopically /
thoracoscopically get Y75 / Y76.7 / Y74 after the code they qualify; no approach code when the
primary title already says percutaneous endoscopic."""
from __future__ import annotations

import pytest

from testsupport import codes_of

APPROACH_CATS = ("Y74", "Y75", "Y76")

ROWS = [
    pytest.param("Lap appendicectomy under GA", ["H01.9", "Y75.2"], id="lap-appendicectomy-Y75.2"),
    pytest.param("Laparoscopic Lt nephrectomy", ["M02.5", "Y75.2", "Z94.3"], id="lap-nephrectomy"),
    pytest.param("Lap-assisted right hemicolectomy", ["H07.1", "Y75.1"], id="lap-assisted-Y75.1"),
    pytest.param("Robotic-assisted laparoscopic hysterectomy", ["Q07.4", "Y75.3"],
                 id="robotic-laparoscopic-Y75.3"),
    pytest.param("Arthroscopic rotator cuff repair Rt shoulder", ["T79.1", "Y76.7", "Z94.2"],
                 id="arthroscopic-open-code-Y76.7"),
    pytest.param("VATS Rt upper lobectomy", ["E54.3", "Y74.4", "Z94.2"], id="vats-Y74.4"),
    pytest.param("Arthroscopic washout Lt knee", ["W85.2", "Z94.3"],
                 id="knee-code-already-percutaneous-endoscopic"),
    pytest.param("Rt knee arthroscopy and partial medial meniscectomy", ["W82.2", "Z94.2"],
                 id="meniscectomy-no-Y76.7"),
    pytest.param("Laparoscopic sterilisation with Filshie clips", ["Q35.2"],
                 id="sterilisation-title-says-percutaneous-endoscopic"),
    pytest.param("Diagnostic laparoscopy", ["T43.9"], id="diagnostic-laparoscopy-no-Y75"),
]


@pytest.mark.parametrize("note,expected", ROWS)
def test_minimal_access_approach(engine, note, expected):
    r = engine.code(note)
    codes = codes_of(r)
    assert codes == expected
    approach = [c for c in codes if c.startswith(APPROACH_CATS)]
    assert len(approach) <= 1
    if approach:  # the approach code directly follows the code it qualifies
        assert codes.index(approach[0]) == 1
