"""Reading note text from files and stdin with clear errors for binary or undecodable input."""
from __future__ import annotations

MAX_NOTE_BYTES = 50 * 1024 * 1024


class InputError(Exception):
    """Input that cannot be read as a note; the message never contains note text."""


def decode_note(data: bytes, where: str) -> str:
    if len(data) > MAX_NOTE_BYTES:
        raise InputError(f"{where}: {len(data)} bytes is over the {MAX_NOTE_BYTES // (1024 * 1024)} MB limit for one note")
    if b"\0" in data:
        raise InputError(f"{where}: looks like a binary file (contains NUL bytes), not a text note")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-save the note as UTF-8, e.g. 'iconv -f WINDOWS-1252 -t UTF-8'") from exc
