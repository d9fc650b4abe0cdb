"""R11-R14 sequencing: Y/Z never first; per group primary -> Y method -> Z site -> Z94 last;
several procedures give several groups, the main (therapeutic) procedure first."""
from __future__ import annotations

import pytest

from testsupport import codes_of

ROLE_RANK = {"primary": 0, "other": 1, "method": 2, "site": 3, "laterality": 4}

# (note, expected codes in order, expected number of procedure groups)
ROWS = [
    pytest.param("Lap chole under GA", ["J18.3", "Y75.2"], 1, id="primary-then-approach"),
    pytest.param("Percutaneous nephrostomy insertion under US guidance, Lt kidney",
                 ["M13.6", "Y53.2", "Z94.3"], 1, id="primary-y53-z94-last"),
    pytest.param("Ultrasound guided aspiration of Lt knee joint",
                 ["W90.1", "Y53.2", "Z84.6", "Z94.3"], 1, id="primary-y-zsite-z94"),
    pytest.param("Excision of lipoma from Lt forearm", ["T96.2", "Z89.3", "Z94.3"], 1,
                 id="primary-zsite-z94"),
    pytest.param("OGD. Then laparoscopic cholecystectomy.", ["J18.3", "Y75.2", "G45.9"], 2,
                 id="therapeutic-before-earlier-diagnostic"),
    pytest.param("Diagnostic OGD followed by lap chole", ["J18.3", "Y75.2", "G45.9"], 2,
                 id="lap-approach-not-copied-to-ogd"),
    pytest.param("Lap chole and open umbilical hernia repair with mesh",
                 ["J18.3", "Y75.2", "T24.2"], 2, id="two-procedures-open-hernia-no-y75"),
]


def _check_cluster_order(result) -> None:  # type: ignore[no-untyped-def]
    codes = result.codes
    assert codes, "no codes"
    assert codes[0].code[0] not in "YZ", "R11: a Y/Z code is never first"
    assert codes[0].role == "primary"
    groups = [c.group for c in codes]
    assert groups == sorted(groups), "codes of one group are contiguous, groups in order"
    for g in set(groups):
        members = [c for c in codes if c.group == g]
        assert members[0].role == "primary" and members[0].code[0] not in "YZ"
        ranks = [ROLE_RANK[c.role] for c in members]
        assert ranks == sorted(ranks), f"group {g}: primary -> method -> site -> laterality"
        lat = [i for i, c in enumerate(members) if c.code.startswith("Z94")]
        assert len(lat) <= 1 and (not lat or lat[0] == len(members) - 1), "Z94 once, last"


@pytest.mark.parametrize("note,expected,n_groups", ROWS)
def test_sequencing(engine, note, expected, n_groups):
    r = engine.code(note)
    assert codes_of(r) == expected
    _check_cluster_order(r)
    assert len({c.group for c in r.codes}) == n_groups
