"""Shared fixtures: the OPCS-4 release from ../shared (never a copy in the repository)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from nlp_coder import classification as clsmod
from nlp_coder.code_index import index_cache_path, save_index
from nlp_coder.engine import Engine, compile_index
from nlp_coder.lexicons import load_lexicons

from testsupport import CORPUS, DEV_CASES, RELEASE_XML, ROOT, SHARED  # noqa: F401


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user data folder."""
    if "NLP_CODER_HOME" not in os.environ or not os.environ["NLP_CODER_HOME"].startswith(str(tmp_path_factory.getbasetemp())):
        monkeypatch.setenv("NLP_CODER_HOME", str(tmp_path_factory.getbasetemp() / "empty-home"))


@pytest.fixture(scope="session")
def release_xml() -> Path:
    if not RELEASE_XML.is_file():
        pytest.skip(f"OPCS-4 release not found at {RELEASE_XML} (tests read it from ../shared/opcs4)")
    return RELEASE_XML


@pytest.fixture(scope="session")
def imported_home(tmp_path_factory: pytest.TempPathFactory, release_xml: Path) -> Path:
    """A user data folder with OPCS-4.11 imported (as 'nlp-coder opcs import' does)."""
    home = tmp_path_factory.mktemp("home-4.11")
    cls = clsmod.parse_release(release_xml)
    lex = load_lexicons()
    save_index(compile_index(lex, cls), index_cache_path(home, lex, cls))
    clsmod.save(cls, home)
    return home


@pytest.fixture(scope="session")
def engine(imported_home: Path) -> Engine:
    """The engine against the imported OPCS-4.11 release."""
    return Engine.load(home=imported_home)


@pytest.fixture(scope="session")
def bundled_engine() -> Engine:
    """The engine with no classification imported (the bundled default)."""
    return Engine.load(use_classification=False)
