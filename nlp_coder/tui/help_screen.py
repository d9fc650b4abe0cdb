"""The help screen: keys, colours and where the work is saved."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# nlp-coder: keys

**Everywhere**: `F1` help · `F2` add a code by search · `F3` export (copy + save) ·
`F5` accept the note (saved at once) · `F6`/`F7` previous/next note ·
`F8` next note needing review · `F9` light/dark theme · `Tab` next pane ·
`Ctrl+P` command palette · `Ctrl+Q` quit (your work is saved)

**Codes table** (select a row with the arrows): `a` accept · `r`/`Del` reject ·
`x` replace with the next alternative · `u`/`d` (or `Shift+↑/↓`) move up/down · `+` add a code.
Pressing `a` or `r` again returns the code to *proposed*.

**Conversation**: answer a question by its number (`1`, `2`…) or in words, or type a
remark such as *it was converted to open*; the note is coded again with every answer so far.

**Note colours**: procedure/action, device, site, approach, imaging, laterality each have a
colour of the theme; planned or historical mentions are dim, negated ones are struck through.
The selected code's evidence is shown reversed.

**Worklists**: `nlp-coder tui --file notes.csv|notes.jsonl|folder/`. Accepted notes are
appended to `notes.coded.jsonl` beside the worklist (or `--output`) the moment you accept;
re-opening the worklist resumes at the first note not yet accepted. Export writes a CSV
(`id,position,code,code_nodots,title`) and copies the codes, with and without dots.

Press `Esc` to close.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss(None)", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP)
