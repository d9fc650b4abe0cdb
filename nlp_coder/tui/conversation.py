"""The conversation panel: the engine's questions as a short chat, answered in free text."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from ..results import Question


def resolve_answer(raw: str, questions: list[Question]) -> str:
    """"2" picks the second choice offered (numbered across the open questions)."""
    text = raw.strip()
    choices = [c.answer for q in questions for c in q.choices]
    if text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return text


def questions_text(questions: list[Question]) -> Text:
    t = Text()
    n = 0
    for q in questions:
        t.append("? ", style="bold yellow").append(q.text)
        for c in q.choices:
            n += 1
            t.append(f"  [{n}]", style="bold").append(f" {c.answer}")
        t.append("\n")
    t.rstrip()
    return t


class Conversation(Vertical):
    """A log of questions and answers, and an input for answers and remarks."""

    class Answered(Message):
        def __init__(self, answer: str) -> None:
            super().__init__()
            self.answer = answer

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.questions: list[Question] = []
        self._log: list[Text] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="chat-scroll", can_focus=False):
            yield Static(id="chat-questions")
            yield Static(id="chat-log")
        yield Input(placeholder="Answer (1, 2… or words) or a remark: 'converted to open'",
                    id="chat-input")

    def reset(self, answers: list[str]) -> None:
        self._log = [Text("you: ", style="bold").append(a) for a in answers]
        self._render_log()

    def say(self, line: Text) -> None:
        self._log.append(line)
        self._log = self._log[-4:]
        self._render_log()

    def _render_log(self) -> None:
        self.query_one("#chat-log", Static).update(Text("\n").join(self._log))

    def show_questions(self, questions: list[Question]) -> None:
        self.questions = list(questions)
        body = questions_text(self.questions)
        if not questions:
            body = Text("No open questions. Type a remark to refine the codes.", style="dim")
        self.query_one("#chat-questions", Static).update(body)
        self.query_one("#chat-scroll", VerticalScroll).scroll_home(animate=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        answer = resolve_answer(event.value, self.questions)
        event.input.value = ""
        if answer:
            self.say(Text("you: ", style="bold").append(answer))
            self.post_message(self.Answered(answer))
