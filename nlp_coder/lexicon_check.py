"""Validate the lexicon files: ``python -m nlp_coder.lexicon_check [PATH]``."""
from __future__ import annotations

import sys

from .lexicons import LexiconError, load_lexicons


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        lex = load_lexicons(args[0] if args else None)
    except LexiconError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        print(f"{len(exc.problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"lexicons {lex.version} at {lex.root}: {len(lex.concepts)} concepts, "
          f"{len(lex.procedures)} procedures, {len(lex.triggers)} triggers, "
          f"{len(lex.sections)} sections, ok")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
