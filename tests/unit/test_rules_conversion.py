"""R21 conversion: a minimal-access procedure converted to open is coded as the open procedure +
Y71.4 (percutaneous endoscopic), Y72.1 (robotic) or Y72.2 (video-assisted), never with the
minimal-access approach code; negated or hypothetical conversion is not a conversion."""
from __future__ import annotations

import pytest

from testsupport import codes_of

CONVERSION = {"Y71.4", "Y71.5", "Y72.1", "Y72.2"}

ROWS = [
    pytest.param("Laparoscopic cholecystectomy converted to open", ["J18.3", "Y71.4"],
                 id="lap-chole-converted"),
    pytest.param("Lap chole converted to laparotomy due to dense adhesions", ["J18.3", "Y71.4"],
                 id="lap-chole-converted-to-laparotomy"),
    pytest.param("Laparoscopic appendicectomy, converted to open", ["H01.9", "Y71.4"],
                 id="lap-appendicectomy-converted"),
    pytest.param("Laparoscopic right hemicolectomy converted to laparotomy", ["H07.1", "Y71.4"],
                 id="lap-hemicolectomy-converted"),
    pytest.param("Robotic-assisted laparoscopic radical prostatectomy, converted to open",
                 ["M61.1", "Y72.1"], id="robotic-converted-Y72.1"),
    pytest.param("VATS Rt upper lobectomy converted to thoracotomy", ["E54.3", "Y72.2", "Z94.2"],
                 id="vats-converted-Y72.2"),
    pytest.param("VATS lobectomy of right upper lobe, converted to thoracotomy",
                 ["E54.3", "Y72.2", "Z94.2"], id="vats-lobectomy-converted-no-redundant-site"),
    pytest.param("Lap chole, completed laparoscopically without conversion to open",
                 ["J18.3", "Y75.2"], id="without-conversion-not-converted"),
    pytest.param("Consented for lap chole with possible conversion to open. Lap chole performed.",
                 ["J18.3", "Y75.2"], id="possible-conversion-not-converted"),
]


@pytest.mark.parametrize("note,expected", ROWS)
def test_conversion(engine, note, expected):
    r = engine.code(note)
    codes = codes_of(r)
    assert codes == expected
    if CONVERSION & set(codes):
        assert not any(c.startswith(("Y74", "Y75", "Y76", "Y45.2", "Y49", "Y50")) for c in codes), \
            "a converted procedure carries no minimal-access or open approach code"
