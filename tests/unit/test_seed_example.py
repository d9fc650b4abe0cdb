"""The issue's must-show examples, end to end through the public API."""
from __future__ import annotations

from testsupport import codes_of

SEED = "balloon dilatation of aortic valve under fluoroscopy"


def _evidence_texts(code) -> set[str]:  # type: ignore[no-untyped-def]
    return {e.text.lower() for e in code.evidence}


def test_seed_example_codes_and_evidence(engine):
    r = engine.code(SEED)
    codes = codes_of(r)
    assert codes[0] in ("K35.2", "K35.5")
    if codes[0] == "K35.5":
        assert "Z32.2" in codes
    else:
        assert "Z32.2" not in codes  # K35.2 already names the aortic valve (R15)
    assert codes[codes.index(codes[0]) + 1] == "Y53.4"
    assert not any(c.startswith("Z94") for c in codes)  # chapter K takes no laterality
    spans = {e.text.lower() for c in r.codes for e in c.evidence}
    assert {"balloon dilatation", "aortic valve", "fluoroscopy"} <= spans
    for c in r.codes:
        for e in c.evidence:
            assert SEED[e.start:e.end] == e.text
        assert 0.0 <= c.confidence <= 1.0
    assert r.classification == {"name": "OPCS-4", "version": "4.11"}


def test_seed_example_bundled_default(bundled_engine):
    r = bundled_engine.code(SEED)
    codes = codes_of(r)
    assert codes[0] in ("K35.2", "K35.5") and "Y53.4" in codes
    assert any("import" in w for w in r.warnings)


def test_negated_valvuloplasty_gives_no_k35(engine):
    r = engine.code("No valvuloplasty was performed.")
    assert not any(c.startswith("K35") for c in codes_of(r))
    r = engine.code("Valvuloplasty was not performed.")
    assert not any(c.startswith("K35") for c in codes_of(r))


def test_planned_tavi_gives_no_code(engine):
    r = engine.code("Plan: TAVI next month")
    assert codes_of(r) == []
    assert r.nothing_codable
    assert any("Nothing codable" in w for w in r.warnings)


def test_misspelling_and_abbreviation(engine):
    assert codes_of(engine.code("percutaneous aortic valvuloplsty"))[0] in ("K35.2", "K35.5")
    assert codes_of(engine.code("Lap cholecystectmy for gallstones"))[:2] == ["J18.3", "Y75.2"]
    assert codes_of(engine.code("TURP under spinal"))[0].startswith("M65")
    assert codes_of(engine.code("OGD"))[0].startswith("G45")


def test_json_shape(engine):
    d = engine.code(SEED).to_dict()
    assert set(d) >= {"classification", "codes", "alternatives", "questions", "warnings", "needs_review"}
    c = d["codes"][0]
    assert set(c) >= {"code", "title", "role", "group", "confidence", "evidence"}
    assert c["role"] == "primary" and c["group"] == 0
    assert set(c["evidence"][0]) >= {"start", "end", "text", "concept"}
