"""Bad input never gives a traceback: a clear result or message naming the problem."""
from __future__ import annotations

import logging

import pytest

from nlp_coder.textio import InputError, decode_note


@pytest.mark.parametrize("text", ["", "   \n\t  ", "\n\n\n"])
def test_empty_and_whitespace(engine, text):
    r = engine.code(text)
    assert r.codes == [] and r.nothing_codable
    assert any("empty" in w for w in r.warnings)


def test_no_medical_content(engine):
    r = engine.code("The quick brown fox jumps over the lazy dog. Lunch was at noon.")
    assert r.codes == [] and r.nothing_codable
    assert any("Nothing codable" in w for w in r.warnings)


def test_control_characters_and_odd_unicode(engine):
    r = engine.code("Lap chole\x00\x07 done \ufffd\u200b under GA")
    assert [c.code for c in r.codes][:2] == ["J18.3", "Y75.2"]


def test_huge_note_is_coded_with_a_warning(engine):
    note = ("Laparoscopic cholecystectomy performed. Right inguinal hernia repair with mesh. " * 70_000)
    assert len(note) > 5_000_000
    r = engine.code(note)
    assert r.codes and r.codes[0].code == "J18.3"
    assert any("Very long note" in w for w in r.warnings)
    assert r.needs_review


def test_non_str_input_is_a_type_error(engine):
    with pytest.raises(TypeError):
        engine.code(b"bytes are not text")  # type: ignore[arg-type]


def test_decode_note_binary_and_encoding():
    with pytest.raises(InputError, match="binary"):
        decode_note(b"\x00\x01abc", "note.bin")
    with pytest.raises(InputError, match="not valid UTF-8") as exc:
        decode_note("Op\u00e9ration".encode("latin-1"), "note.txt")
    assert "note.txt" in str(exc.value)
    assert decode_note("\ufeffTURP".encode("utf-8"), "x") == "TURP"


def test_logs_and_errors_never_contain_note_text(engine, caplog):
    secret = "Mrs Zebedee Quixotic underwent TURP"
    caplog.set_level(logging.DEBUG)
    engine.code(secret)
    assert "Zebedee" not in caplog.text
    with pytest.raises(InputError) as exc:
        decode_note(("Zebedee " * 3).encode("utf-16"), "n.txt")
    assert "Zebedee" not in str(exc.value)


def test_no_network_at_run_time(imported_home, monkeypatch):
    import socket

    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from nlp_coder.engine import Engine
    e = Engine.load(home=imported_home)
    assert e.code("TURP").codes
