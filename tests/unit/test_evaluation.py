"""Scoring a prediction against a reference case: units, drift, conditional codes."""
from __future__ import annotations

from pathlib import Path

from nlp_coder.evaluation import Case, Scorer, _conditional, read_cases, summarise
from nlp_coder.results import CodeAssignment, CodingResult


class _Lex:
    successors: list = []


class _Engine:
    lex = _Lex()


def _result(*codes: str) -> CodingResult:
    return CodingResult({}, [CodeAssignment(c, "", "primary" if i == 0 else "method", 0, 0.8)
                             for i, c in enumerate(codes)], [], [], [], False)


def test_conditional_codes_come_only_from_not_counted_clauses_and_never_include_required_ones():
    notes = ("source: one of M61.1/M61.8, plus Y75.2; node removal coded from T85-T87 "
             "(not counted, although the text mentions it); ICD-10 C61.X omitted")
    assert _conditional(notes, ["M61.1", "M61.8", "Y75.2"]) == {"T85", "T86", "T87"}
    assert _conditional("B27.- fourth character varies; extra T85 (not counted)", ["B27.-"]) == {"T85"}
    assert _conditional("no such clause; J66.1", []) == set()


def test_a_conditional_prediction_is_neither_right_nor_wrong_and_a_required_one_counts():
    case = Case("x", "text", ["M61.1"], [["Y75.1", "Y75.2"]], {"T85", "T86"})
    out = Scorer(_Engine()).score(case, _result("M61.1", "Y75.2", "T86.1"))
    assert out.n_pred == 2 and out.correct_pred["strict"] == 2 and out.tp_units["strict"] == 2
    wrong = Scorer(_Engine()).score(case, _result("M61.1", "Y53.9"))
    assert wrong.n_pred == 2 and wrong.correct_pred["strict"] == 1 and wrong.tp_units["strict"] == 1
    s = summarise([out, wrong])["strict"]
    assert s["precision"] == 3 / 4 and s["recall"] == 3 / 4


def test_tsv_reader_keeps_required_codes_out_of_the_conditional_set(tmp_path: Path):
    f = tmp_path / "cases.tsv"
    f.write_text("id\tsource_url\ttitle\ttext\tcodes_all\tcodes_one_of\tnotes\n"
                 "C1\tu\tTitle\tText.\tB27.- Y76.3\t\tB27.- depends on the text; nodes T85-T87 (not counted)\n",
                 encoding="utf-8")
    (case,) = read_cases(f)
    assert case.text == "Title\n\nText." and case.conditional == {"T85", "T86", "T87"}


def test_drift_credits_a_method_code_the_newer_more_specific_code_carries(engine):
    # Older guidance: intubation of the eustachian canal + balloon dilation NOC (+ a retired
    # approach); 4.11 has balloon dilation of the eustachian canal (D22.4), which says the method.
    case = Case("x", "text", ["D22.2", "Y76.6", "Y40.3"], [])
    out = Scorer(engine).score(case, _result("D22.4"))
    assert out.tp_units["strict"] == 0
    assert out.tp_units["drift"] == 2  # D22.2 (successor) and Y40.3 (carried); not the approach


def test_a_flat_codes_one_of_is_an_error_naming_the_line(tmp_path: Path):
    import pytest
    f = tmp_path / "cases.jsonl"
    f.write_text('{"id": "a", "text": "x", "codes_all": ["W40.1"]}\n'
                 '{"id": "b", "text": "y", "codes_all": ["K35.2"], "codes_one_of": ["Y53.1", "Y53.4"]}\n',
                 encoding="utf-8")
    with pytest.raises(ValueError, match=r"cases.jsonl:2: bad case \(codes_one_of must be a list of groups"):
        read_cases(f)
