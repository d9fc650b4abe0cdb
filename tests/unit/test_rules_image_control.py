"""R9 / 4.4 Y53 image control: each modality word -> its own Y53 fourth character; image guidance
without a modality -> Y53.9 plus a 'modality' question; the coder's answer replaces Y53.9."""
from __future__ import annotations

import pytest

from testsupport import codes_of

# (note, coder answers, expected codes in order, modality question expected)
ROWS = [
    pytest.param("Percutaneous nephrostomy under fluoroscopic guidance, Rt", (),
                 ["M13.6", "Y53.4", "Z94.2"], False, id="fluoroscopy-Y53.4"),
    pytest.param("US-guided percutaneous liver biopsy", (), ["J13.2", "Y53.2"], False,
                 id="ultrasound-Y53.2"),
    pytest.param("Liver biopsy under CT guidance", (), ["J13.2", "Y53.3"], False, id="ct-Y53.3"),
    pytest.param("MRI-guided percutaneous biopsy of liver lesion", (), ["J13.2", "Y53.7"], False,
                 id="mri-Y53.7"),
    pytest.param("Percutaneous nephrostomy insertion using image intensifier, R kidney", (),
                 ["M13.6", "Y53.5", "Z94.2"], False, id="image-intensifier-Y53.5"),
    pytest.param("Percutaneous drainage of liver abscess under radiological control", (),
                 ["J12.1", "Y53.1"], False, id="radiological-Y53.1"),
    pytest.param("Percutaneous liver biopsy, image-guided", (), ["J13.2", "Y53.9"], True,
                 id="image-guided-no-modality-Y53.9"),
    pytest.param("Percutaneous liver biopsy under imaging", (), ["J13.2", "Y53.9"], True,
                 id="under-imaging-Y53.9-no-imaging-procedure"),
    pytest.param("Image-guided percutaneous biopsy of lesion of Rt kidney", (),
                 ["M13.1", "Y53.9", "Z94.2"], True, id="image-guided-kidney-biopsy"),
    pytest.param("Percutaneous liver biopsy, image-guided", ("fluoroscopic",), ["J13.2", "Y53.4"],
                 False, id="answer-fluoroscopic-replaces-Y53.9"),
]


@pytest.mark.parametrize("note,answers,expected,asks_modality", ROWS)
def test_image_control(engine, note, answers, expected, asks_modality):
    r = engine.code(note, answers=answers)
    assert codes_of(r) == expected
    modality_qs = [q for q in r.questions if q.facet == "modality"]
    if asks_modality:
        assert modality_qs, "Y53.9 must come with a modality question"
        offered = {c for q in modality_qs for ch in q.choices for c in ch.codes}
        assert {"Y53.2", "Y53.3", "Y53.4", "Y53.7"} <= offered
    else:
        assert not modality_qs
    y53 = [c for c in codes_of(r) if c.startswith("Y53")]
    assert len(y53) == 1, "one modality stated -> exactly one Y53 code"
