"""Lexicons are validated at load time; errors name the file and line."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nlp_coder.lexicons import LexiconError, find_lexicon_dir, load_lexicons


@pytest.fixture()
def lexdir(tmp_path: Path) -> Path:
    d = tmp_path / "lex"
    shutil.copytree(find_lexicon_dir(), d)
    return d


def test_bundled_lexicons_are_valid():
    lex = load_lexicons()
    assert len(lex.concepts) > 1000 and len(lex.procedures) > 500
    # Every chapter A-X has index entries (the bundled default reaches all chapters).
    chapters = {p.chapter for p in lex.procedures.values()}
    assert set("ABCDEFGHJKLMNPQRSTUVWX") <= chapters


@pytest.mark.parametrize("line,needle", [
    ('{"id": "site.x", "kind": "site", "terms": ["x"], "colour": "red"}', "Extra inputs are not permitted"),
    ('{"id": "site.x", "kind": "action", "terms": ["x"]}', "must look like 'action."),
    ('{"id": "site.x", "kind": "site", "terms": []}', "terms"),
    ('{"id": "site.x", "kind": "site", "terms": ["x"], "z_code": "Z322"}', "not a four-character"),
    ('{"id": "site.x", "kind": "site", "terms": ["x"], "parent": "site.nowhere"}', "not a known concept"),
    ('{"id": "site.x", "kind": "site", "terms": ["x"]', "not valid JSON"),
])
def test_broken_entries_name_file_and_line(lexdir: Path, line: str, needle: str):
    f = lexdir / "concepts" / "zz_test.jsonl"
    f.write_text('{"id": "site.ok_one", "kind": "site", "terms": ["ok one"]}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(LexiconError) as exc:
        load_lexicons(lexdir)
    msg = str(exc.value)
    assert "concepts/zz_test.jsonl:2" in msg and needle in msg


def test_duplicate_ids_and_binary_files(lexdir: Path):
    (lexdir / "concepts" / "zz_dup.jsonl").write_text(
        '{"id": "site.aortic_valve", "kind": "site", "terms": ["x"]}\n', encoding="utf-8")
    (lexdir / "procedures" / "zz_bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LexiconError) as exc:
        load_lexicons(lexdir)
    msg = str(exc.value)
    assert "duplicate id 'site.aortic_valve'" in msg
    assert "procedures/zz_bin.jsonl: cannot read as UTF-8" in msg


def test_known_words_are_single_lowercase_words(lexdir: Path):
    f = lexdir / "context" / "known_words.jsonl"
    f.write_text(f.read_text("utf-8") + '{"id": "words.bad", "words": ["Infection Control"]}\n', encoding="utf-8")
    with pytest.raises(LexiconError) as exc:
        load_lexicons(lexdir)
    assert "known_words.jsonl:2" in str(exc.value) and "single lowercase words" in str(exc.value)
