"""Importing a release: the formats users receive, and malformed or hostile files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nlp_coder import classification as clsmod
from nlp_coder.classification import ClassificationError, parse_release


def test_xml_release(release_xml: Path) -> None:
    cls = parse_release(release_xml)
    assert cls.version == "4.11"
    assert len(cls.codes) == 10457
    assert len(cls.active_codes()) == 10411
    assert cls.get("K355").title == "Percutaneous transluminal valvuloplasty NEC"
    assert cls.get("K35").title.startswith("Therapeutic transluminal operations")
    assert not cls.get("Y76.3").active  # "Code retired - refer to introduction"
    assert cls.get("K35.5").category_title == cls.get("K35").title


def test_normalised_tsv_with_release_option(release_xml: Path) -> None:
    tsv = release_xml.parent / "opcs4_codes.tsv"
    cls = parse_release(tsv, version="4.11")
    assert cls.version == "4.11" and len(cls.active_codes()) == 10411


def test_tab_separated_text_format(tmp_path: Path, release_xml: Path) -> None:
    xml = parse_release(release_xml)
    # The release service's text form: code without the point, a tab, the title.
    lines = [f"{c.code.replace('.', '')}\t{c.title}" for c in list(xml.categories.values())[:40]]
    lines += [f"{c.code.replace('.', '')}\t{c.title}" for c in list(xml.codes.values())[:200]]
    p = tmp_path / "OPCS410 CodesAndTitles.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cls = parse_release(p)
    assert cls.version == "4.10"
    assert len(cls.codes) == 200
    assert cls.get("A01.1").title == "Hemispherectomy"


@pytest.mark.parametrize("content,needle", [
    ('<?xml version="1.0"?>\n<dsv>\n  <code CODE="A01.1" TITLE="x"/>\n  <code CODE="A0', "malformed XML"),
    ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
     '<dsv><code CODE="A01.1" TITLE="&lol2;"/></dsv>', "DTD or entities"),
    ("code\ttitle\tchapter\nA01.1\tHemispherectomy\n", "expected 3 tab-separated columns"),
    ("A01.1 Hemispherectomy\nA01.2 Total lobectomy of brain\n", "expected 'code<TAB>title'"),
    ("not a code\tsome title\n", "is not an OPCS-4 code"),
    ("A01.1\tHemispherectomy\n", "not a full release"),
])
def test_malformed_files_are_rejected_with_file_and_line(tmp_path: Path, content: str, needle: str) -> None:
    p = tmp_path / "bad.txt"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ClassificationError) as exc:
        parse_release(p)
    assert needle in str(exc.value)
    assert str(p) in str(exc.value)


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    p = tmp_path / "release.xml"
    p.write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    with pytest.raises(ClassificationError, match="binary"):
        parse_release(p)


def test_failed_import_keeps_previous_store(tmp_path: Path, release_xml: Path, monkeypatch) -> None:
    cls = parse_release(release_xml)
    clsmod.save(cls, tmp_path)
    before = (tmp_path / clsmod.STORE_NAME).read_bytes()

    def boom(*a, **k):  # a crash half way through writing
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", boom)
    with pytest.raises(OSError):
        clsmod.save(cls, tmp_path)
    assert (tmp_path / clsmod.STORE_NAME).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [clsmod.STORE_NAME]  # no temp files left


def test_damaged_store_is_reported(tmp_path: Path) -> None:
    (tmp_path / clsmod.STORE_NAME).write_text("{not json", encoding="utf-8")
    with pytest.raises(ClassificationError, match="import' again"):
        clsmod.load(tmp_path)


def test_nothing_imported_gives_none(tmp_path: Path) -> None:
    assert clsmod.load(tmp_path) is None


def test_engine_knows_retired_codes(engine) -> None:
    assert engine.lookup("Y76.3") is not None and not engine.is_active("Y76.3")
    assert engine.is_active("K35.2")
    hits = engine.search("aortic valvuloplasty", limit=5)
    assert hits[0][0].code == "K35.2"
    assert engine.search("K355")[0][0].code == "K35.5"
