"""4.4 incompatible Y pairs: Y45 with Y53, Y49 with Y74, Y50 with Y75, Y45.2 with the specific
robotic codes Y74.3/Y75.3/Y76.5 are never both present. Through notes, and through the
assembler's validation step directly."""
from __future__ import annotations

import pytest

from testsupport import codes_of
from nlp_coder.results import CodeAssignment

PAIRS = [("Y45", ("Y53",)), ("Y49", ("Y74",)), ("Y50", ("Y75",)),
         ("Y45.2", ("Y74.3", "Y75.3", "Y76.5"))]


def _violations(codes: list[str]) -> list[tuple[str, str]]:
    out = []
    for a, bs in PAIRS:
        for x in codes:
            for y in codes:
                if x != y and x.startswith(a) and y.startswith(bs):
                    out.append((x, y))
    return out


# (note, expected primary, expected full code list or None when only the pair rule is asserted)
NOTE_ROWS = [
    pytest.param("Robot-assisted laparoscopic radical prostatectomy using the da Vinci robot",
                 "M61.1", ["M61.1", "Y75.3"], id="robotic-laparoscopic-not-Y45.2"),
    pytest.param("Lumbar microdiscectomy under microscope, image intensifier used to confirm level",
                 "V33.7", None, id="microscope-and-image-intensifier"),
    pytest.param("Microdiscectomy L4/5 using operating microscope and fluoroscopic level check",
                 "V33.7", None, id="microscope-and-fluoroscopy"),
    pytest.param("Lap chole converted to laparotomy", "J18.3", ["J18.3", "Y71.4"],
                 id="converted-no-Y50-with-Y75"),
    pytest.param("VATS lobectomy of right upper lobe, converted to thoracotomy", "E54.3", None,
                 id="converted-no-Y49-with-Y74"),
]


@pytest.mark.parametrize("note,primary,expected", NOTE_ROWS)
def test_incompatible_pairs_in_notes(engine, note, primary, expected):
    r = engine.code(note)
    codes = codes_of(r)
    assert not _violations(codes)
    assert codes[0] == primary
    if expected is not None:
        assert codes == expected


# (first code, second code, compatible?)
DIRECT_ROWS = [
    pytest.param("Y45.2", "Y75.3", False, id="Y45.2+Y75.3"),
    pytest.param("Y45.2", "Y74.3", False, id="Y45.2+Y74.3"),
    pytest.param("Y45.2", "Y76.5", False, id="Y45.2+Y76.5"),
    pytest.param("Y45.4", "Y53.2", False, id="Y45.4+Y53.2"),
    pytest.param("Y49.3", "Y74.2", False, id="Y49.3+Y74.2"),
    pytest.param("Y50.2", "Y75.2", False, id="Y50.2+Y75.2"),
    pytest.param("Y75.2", "Y53.4", True, id="Y75.2+Y53.4-compatible"),
]


@pytest.mark.parametrize("a,b,compatible", DIRECT_ROWS)
def test_assembler_drops_one_of_an_incompatible_pair(engine, a, b, compatible):
    codes = [CodeAssignment("J18.3", engine.title("J18.3"), "primary", 0, 0.9),
             CodeAssignment(a, engine.title(a), "method", 0, 0.8),
             CodeAssignment(b, engine.title(b), "method", 0, 0.7)]
    warnings: list[str] = []
    kept = [c.code for c in engine.assembler._check_incompatible(codes, warnings)]
    assert kept[0] == "J18.3"
    if compatible:
        assert kept == ["J18.3", a, b] and not warnings
    else:
        assert len(kept) == 2 and not _violations(kept)
        assert kept[1] == a, "the lower-confidence code of the pair is dropped"
        assert any(b in w for w in warnings)


def test_the_subsidiary_code_of_an_incompatible_pair_goes_even_when_more_confident(engine):
    # Chapter R takes no vaginal approach code: the delivery code stays and Y50.3 is dropped,
    # never the other way round (a Y code is never left standing alone).
    codes = [CodeAssignment("R22.8", "", "primary", 0, 0.5), CodeAssignment("Y50.3", "", "method", 0, 0.7)]
    warnings: list[str] = []
    kept = engine.assembler._check_group_incompatible(codes, warnings)
    assert [c.code for c in kept] == ["R22.8"] and "Y50.3 dropped" in warnings[0]
