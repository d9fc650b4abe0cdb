"""R8 companion codes: C75.1 (lens prosthesis) is followed by the concurrent lens extraction code
(C71-C74); when the method is not stated C71.2 is assumed and asked ('companion' question).
No extraction code when there was no concurrent extraction; no C75.1 when no lens was inserted."""
from __future__ import annotations

import pytest

from testsupport import codes_of

# (note, expected codes in order, companion question expected)
ROWS = [
    pytest.param("Phacoemulsification and IOL left eye", ["C75.1", "C71.2", "Z94.3"], False,
                 id="phaco-iol-left"),
    pytest.param("Rt phaco + PCIOL under topical", ["C75.1", "C71.2", "Z94.2"], False,
                 id="phaco-pciol-right"),
    pytest.param("Bilateral phacoemulsification and IOL", ["C75.1", "C71.2", "Z94.1"], False,
                 id="bilateral-phaco-iol"),
    pytest.param("Cataract extraction with insertion of lens implant, Lt eye",
                 ["C75.1", "C71.2", "Z94.3"], True, id="extraction-method-not-stated-default"),
    pytest.param("Insertion of intraocular lens, Rt eye", ["C75.1", "C71.2", "Z94.2"], True,
                 id="iol-insertion-default-companion"),
    pytest.param("Secondary IOL insertion Lt eye", ["C75.1", "Z94.3"], False,
                 id="secondary-iol-no-extraction"),
]


@pytest.mark.parametrize("note,expected,asks", ROWS)
def test_companion(engine, note, expected, asks):
    r = engine.code(note)
    codes = codes_of(r)
    assert codes == expected
    if "C75.1" in codes and any(c.startswith(("C71", "C72", "C73", "C74")) for c in codes):
        i = codes.index("C75.1")
        assert codes[i + 1][:3] in ("C71", "C72", "C73", "C74"), "extraction code follows C75.1"
    companion_qs = [q for q in r.questions if q.facet == "companion"]
    if asks:
        assert companion_qs, "an assumed extraction method must be asked"
        assert r.needs_review
    else:
        assert not companion_qs
