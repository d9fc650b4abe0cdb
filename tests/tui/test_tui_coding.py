"""Pilot tests of the coding screen: paste, review, accept/reject, add by search, answer, export."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.widgets import Input, OptionList

from nlp_coder.tui.codes_table import CodesTable
from nlp_coder.tui.note_editor import NoteEditor
from nlp_coder.tui.search_screen import CodeSearchScreen
from nlp_coder.tui.help_screen import HelpScreen
from tui_helpers import make_app  # noqa: F401  (fixture)
from tui_helpers import SEED, drive, settle, type_text


def table_codes(app: Any) -> list[tuple[str, str]]:
    """(code, confidence cell) for each row of the codes table, as displayed."""
    t = app.screen.query_one(CodesTable)
    return [(str(t.get_row_at(i)[2]), str(t.get_row_at(i)[4])) for i in range(t.row_count)]


async def paste(pilot: Any, text: str) -> None:
    pilot.app.screen.query_one(NoteEditor).focus()
    await pilot.pause()
    pilot.app.post_message(events.Paste(text))   # as the terminal driver does
    await settle(pilot)


def test_paste_seed_example_shows_codes_with_confidence(make_app: Any) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        await paste(pilot, SEED)
        seen["rows"] = table_codes(pilot.app)
        seen["status"] = str(pilot.app.screen.query_one("#status").render())
        editor = pilot.app.screen.query_one(NoteEditor)
        seen["highlights"] = {name for row in editor._highlights.values() for *_, name in row}

    drive(make_app(), script)
    codes = [c for c, _ in seen["rows"]]
    assert codes[0] in ("K35.2", "K35.5") and "Y53.4" in codes
    for _code, conf in seen["rows"]:
        value = float(conf.split()[0])
        assert 0.0 < value <= 1.0 and "█" in conf       # a number and a bar
    assert "OPCS-4 4.11" in seen["status"] and "lexicons" in seen["status"]
    assert {"nc.proc", "nc.site", "nc.imaging", "nc.evidence"} <= seen["highlights"]


def test_note_text_is_never_markup(make_app: Any) -> None:
    note = "Drain [/] removed. [bold]Right[/bold] knee arthroscopy."
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        await paste(pilot, note)
        editor = pilot.app.screen.query_one(NoteEditor)
        seen["text"] = editor.text
        seen["line"] = editor.get_line(0).plain

    drive(make_app(), script)
    assert seen["text"] == note and seen["line"] == note


def test_accept_and_reject_codes(make_app: Any) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        await paste(pilot, SEED)
        s = pilot.app.screen
        s.query_one(CodesTable).focus()
        await pilot.press("a")                        # accept the primary
        await pilot.press("down", "r")                # reject the method code
        await pilot.pause()
        seen["status"] = [(r.code, r.status) for r in s.session.rows]
        seen["final"] = s.session.final_codes()
        seen["flags"] = [str(s.query_one(CodesTable).get_row_at(i)[5]) for i in range(2)]
        await pilot.press("r")                        # again: back to proposed
        seen["undone"] = [(r.code, r.status) for r in s.session.rows]

    drive(make_app(), script)
    (c1, s1), (c2, s2) = seen["status"]
    assert s1 == "accepted" and s2 == "rejected" and c2 == "Y53.4"
    assert seen["final"] == [c1]
    assert seen["flags"][0].startswith("✓") and seen["flags"][1].startswith("✗")
    assert seen["undone"][1] == ("Y53.4", "proposed")


def test_move_and_replace_with_alternative(make_app: Any) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        await paste(pilot, SEED)
        s = pilot.app.screen
        s.query_one(CodesTable).focus()
        await pilot.press("x")                        # K35.2 -> its first alternative
        seen["replaced"] = s.session.final_codes()
        await pilot.press("down", "u")                # Y53.4 up: a Y code first
        seen["moved"] = s.session.final_codes()
        seen["warnings"] = s.session.sequence_warnings(pilot.app.engine)

    drive(make_app(), script)
    assert seen["replaced"][0] == "K35.5" and seen["replaced"][1] == "Y53.4"
    assert seen["moved"] == ["Y53.4", "K35.5"]
    assert any("Y/Z code placed first" in w for w in seen["warnings"])


def test_add_code_by_search(make_app: Any) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        await paste(pilot, "Right TKR, cemented.")
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(pilot.app.screen, CodeSearchScreen)
        await type_text(pilot, "aortic valvulo")
        await pilot.pause()
        options = pilot.app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        seen["ids"] = ids
        await pilot.press("down")                     # into the results
        for _ in range(ids.index("K35.2")):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        s = pilot.app.screen
        seen["codes"] = s.session.final_codes()
        seen["manual"] = [(r.code, r.source, r.status) for r in s.session.rows if r.source == "manual"]
        # an unknown code typed by hand is refused with a clear message
        await pilot.press("f2")
        await pilot.pause()
        await type_text(pilot, "X99.9")
        await pilot.press("enter")
        await pilot.pause()
        seen["notes"] = [n.message for n in pilot.app._notifications]
        seen["after"] = s.session.final_codes()

    drive(make_app(), script)
    assert "K35.2" in seen["ids"]
    assert seen["codes"][:2] == ["W40.1", "Z94.2"] and seen["codes"][-1] == "K35.2"
    assert seen["manual"] == [("K35.2", "manual", "accepted")]
    assert any("X99.9 is not a code in OPCS-4 4.11" in m for m in seen["notes"])
    assert "X99.9" not in seen["after"]


def test_manual_code_validation(engine: Any) -> None:
    from nlp_coder.tui.session import NoteSession
    s = NoteSession("n", "Knee replacement, cemented.")
    s.apply(engine.code(s.text), engine)
    assert s.add("E63.2", engine) == ["E63.2 is retired in OPCS-4 4.11: it cannot be submitted."]
    warnings = s.sequence_warnings(engine)
    assert any("W40.1 needs a laterality code" in w for w in warnings)
    assert any("E63.2 is retired" in w for w in warnings)


def test_answer_a_question_and_a_remark_change_the_codes(make_app: Any) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        s = pilot.app.screen
        await paste(pilot, "balloon dilatation of aortic valve under image guidance")
        seen["before"] = s.session.final_codes()
        seen["questions"] = [q.text for q in s.session.result.questions]
        s.query_one("#chat-input", Input).focus()
        await type_text(pilot, "1")                   # the first offered choice: fluoroscopy
        await pilot.press("enter")
        await settle(pilot)
        seen["after"] = s.session.final_codes()
        seen["answers"] = list(s.session.answers)
        seen["log"] = str(s.query_one("#chat-log").render())

    drive(make_app(), script)
    assert seen["before"][1] == "Y53.9" and any("imaging" in q for q in seen["questions"])
    assert seen["after"][1] == "Y53.4" and seen["answers"] == ["fluoroscopy"]
    assert "you: fluoroscopy" in seen["log"] and "Y53.4" in seen["log"]


def test_free_text_remark(make_app: Any) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        s = pilot.app.screen
        await paste(pilot, "Lap chole under GA.")
        seen["before"] = s.session.final_codes()
        s.query_one("#chat-input", Input).focus()
        await type_text(pilot, "it was converted to open")
        await pilot.press("enter")
        await settle(pilot)
        seen["after"] = s.session.final_codes()

    drive(make_app(), script)
    assert "Y71.4" not in seen["before"] and "Y71.4" in seen["after"]


def test_export_copies_and_saves_exact_contents(make_app: Any, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        await paste(pilot, SEED)
        await pilot.press("f3")
        await pilot.pause()
        seen["export"] = pilot.app.screen.last_export
        seen["clipboard"] = pilot.app.clipboard
        seen["notes"] = [n.message for n in pilot.app._notifications]

    drive(make_app(), script)
    path, clip = seen["export"]
    assert path.parent == tmp_path and path.suffix == ".csv"
    assert path.read_text(encoding="utf-8") == (
        "id,position,code,code_nodots,title\n"
        "note,1,K35.2,K352,Percutaneous transluminal aortic valvuloplasty\n"
        "note,2,Y53.4,Y534,Approach to organ under fluoroscopic control\n")
    assert clip == seen["clipboard"] == "K35.2 Y53.4\nK352 Y534\n"
    assert any(str(path) in m for m in seen["notes"])       # the coder is told where


def test_help_screen_and_command_palette(make_app: Any) -> None:
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        await paste(pilot, SEED)
        await pilot.press("f1")
        await pilot.pause()
        seen["help"] = isinstance(pilot.app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "export codes")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        seen["export"] = pilot.app.screen.last_export

    drive(make_app(), script)
    assert seen["help"] and seen["export"] is not None


def test_status_bar_without_an_imported_classification(bundled_engine: Any, make_app: Any) -> None:
    seen: dict[str, str] = {}

    async def script(pilot: Any) -> None:
        seen["status"] = str(pilot.app.screen.query_one("#status").render())

    drive(make_app(engine=bundled_engine), script, size=(120, 30))
    assert "no OPCS-4 imported" in seen["status"] and "nlp-coder opcs import" in seen["status"]


def test_big_paste_turns_off_soft_wrap_and_keeps_text(make_app: Any) -> None:
    from nlp_coder.tui.big_notes import BIG_NOTE
    big = "Right total knee replacement, cemented.\n" * (BIG_NOTE // 40 + 10)
    seen: dict[str, Any] = {}

    async def script(pilot: Any) -> None:
        pilot.app.post_message(events.Paste(big))
        await pilot.pause()
        editor = pilot.app.screen.query_one(NoteEditor)
        seen["wrap"] = editor.soft_wrap
        seen["same"] = editor.text == big and pilot.app.screen.session.text == big

    drive(make_app(debounce=600), script)         # no coding run: this is about the editor
    assert seen["wrap"] is False and seen["same"]


def test_big_note_coder_round_trip() -> None:
    """The helper process codes with its own engine and returns plain result records."""
    from nlp_coder.tui.big_notes import BigNoteCoder
    coder = BigNoteCoder()
    try:
        result = coder.code("Right TKR, cemented.", [])
    finally:
        coder.close()
    assert result.codes and result.codes[0].code.startswith("W40")
