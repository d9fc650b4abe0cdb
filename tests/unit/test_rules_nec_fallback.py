"""R5 / R3 NEC fallback: a stated site or detail selects the specific code over the NEC / .9 one;
with nothing more specific stated the NEC code is used."""
from __future__ import annotations

import pytest

from testsupport import codes_of

# (note, expected codes in order, codes that must not appear)
ROWS = [
    pytest.param("Percutaneous balloon valvuloplasty of aortic valve", ["K35.2"],
                 ("K35.5", "Z32.2"), id="aortic-valve-K35.2-not-NEC"),
    pytest.param("Percutaneous mitral balloon valvuloplasty under fluoroscopy", ["K35.1", "Y53.4"],
                 ("K35.5",), id="mitral-valve-K35.1"),
    pytest.param("Percutaneous balloon valvuloplasty", ["K35.5"], (), id="valve-not-stated-K35.5-NEC"),
    pytest.param("Rt nephrectomy", ["M02.5", "Z94.2"], (), id="nephrectomy-NEC"),
    pytest.param("Open cholecystectomy", ["J18.3"], (), id="cholecystectomy-NEC"),
    pytest.param("Rt total hip replacement", ["W39.1", "Z94.2"], (), id="thr-cement-not-stated-NEC"),
    pytest.param("Left total hip replacement, cemented", ["W37.1", "Z94.3"], ("W39",),
                 id="thr-cemented-W37.1"),
    pytest.param("Lt THR, uncemented", ["W38.1", "Z94.3"], ("W39",), id="thr-uncemented-W38.1"),
    pytest.param("Lt inguinal hernia repair using mesh", ["T20.2", "Z94.3"], ("T20.9", "Y28.4"),
                 id="mesh-stated-T20.2"),
    pytest.param("Excision of lesion of Lt breast", ["B28.3", "Z94.3"], (), id="breast-lesion-NEC"),
]


@pytest.mark.parametrize("note,expected,forbidden", ROWS)
def test_nec_fallback(engine, note, expected, forbidden):
    r = engine.code(note)
    codes = codes_of(r)
    assert codes == expected
    assert not set(codes) & set(forbidden)
    assert not any(c.startswith(forbidden) for c in codes)
