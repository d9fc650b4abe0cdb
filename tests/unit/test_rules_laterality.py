"""R16-R19 laterality: required (eye, joints, hernia, kidney), forbidden (Chapter K), bilateral once
as Z94.1, shorthand sides, missing side -> no Z94 + 'laterality' question; answering adds Z94."""
from __future__ import annotations

import pytest

from testsupport import codes_of

# (note, coder answers, expected codes in order, laterality question expected)
ROWS = [
    pytest.param("Lt eye phaco + IOL", (), ["C75.1", "C71.2", "Z94.3"], False,
                 id="eye-required-Lt"),
    pytest.param("R TKR", (), ["W42.1", "Z94.2"], False, id="shorthand-R"),
    pytest.param("B/L carpal tunnel decompression", (), ["A65.1", "Z94.1"], False,
                 id="bilateral-B/L-Z94.1"),
    pytest.param("Rt and Lt inguinal hernia repair", (), ["T20.9", "Z94.1"], False,
                 id="right-and-left-same-procedure-Z94.1-once"),
    pytest.param("Left heart catheterisation", (), ["K65.3"], False, id="chapter-K-forbidden"),
    pytest.param("Left atrial appendage occlusion", (), ["K62.5"], False,
                 id="chapter-K-left-is-anatomy"),
    pytest.param("Trabeculectomy", (), ["C60.1"], True, id="eye-side-missing-question"),
    pytest.param("Trabeculectomy", ("right",), ["C60.1", "Z94.2"], False,
                 id="answer-right-adds-Z94.2"),
    pytest.param("Laparoscopic Lt nephrectomy and open Rt inguinal hernia repair", (),
                 ["M02.5", "Y75.2", "Z94.3", "T20.9", "Z94.2"], False,
                 id="different-procedures-each-own-side"),
    pytest.param("Lt TKR. Rt carpal tunnel release.", (),
                 ["W42.1", "Z94.3", "A65.1", "Z94.2"], False,
                 id="two-sides-two-procedures-both-kept"),
]


@pytest.mark.parametrize("note,answers,expected,asks_side", ROWS)
def test_laterality(engine, note, answers, expected, asks_side):
    r = engine.code(note, answers=answers)
    codes = codes_of(r)
    assert codes == expected
    for g in {c.group for c in r.codes}:
        lat = [c.code for c in r.codes if c.group == g and c.code.startswith("Z94")]
        assert len(lat) <= 1, "laterality coded once per procedure, never Z94.2 + Z94.3"
    side_qs = [q for q in r.questions if q.facet == "laterality"]
    if asks_side:
        assert side_qs, "missing required laterality must be asked"
        assert r.incomplete, "a missing required side leaves the result incomplete (R17)"
        assert "laterality_missing" in r.codes[0].flags
        assert {c for q in side_qs for ch in q.choices for c in ch.codes} >= {"Z94.2", "Z94.3", "Z94.1"}
    else:
        assert not side_qs
        assert not r.incomplete
