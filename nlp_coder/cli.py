"""The ``nlp-coder`` command line (Typer)."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import classification as clsmod
from .lexicons import LexiconError
from .paths import data_home
from .textio import InputError, decode_note

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Propose sequenced OPCS-4 codes for free-text operation notes.")
opcs_app = typer.Typer(no_args_is_help=True, help="Import and browse the OPCS-4 classification.")
app.add_typer(opcs_app, name="opcs")
out = Console()
err = Console(stderr=True)


def _fail(msg: str, code: int = 2) -> "typer.Exit":
    err.print(Text("error: ", style="bold red") + Text(msg))
    return typer.Exit(code)


def _engine(lexicons: Optional[Path]):  # type: ignore[no-untyped-def]
    from .engine import Engine
    try:
        return Engine.load(lexicons)
    except LexiconError as exc:
        raise _fail(str(exc)) from None
    except clsmod.ClassificationError as exc:
        raise _fail(str(exc)) from None


@app.command()
def code(
    text: Optional[str] = typer.Argument(None, help="The note text, or '-' to read stdin."),
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="Read the note from a file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    answer: list[str] = typer.Option([], "--answer", "-a", help="A coder answer to a question (repeatable)."),
    lexicons: Optional[Path] = typer.Option(None, "--lexicons", help="Lexicon folder to use."),
) -> None:
    """Code one op note and print the codes in submission order."""
    sources = sum(x is not None for x in (text, file))
    if sources != 1:
        raise _fail("give the note as TEXT, '-' (stdin) or --file PATH (exactly one)")
    try:
        if file is not None:
            try:
                data = file.read_bytes()
            except OSError as exc:
                raise InputError(f"{file}: cannot read ({exc.strerror})") from None
            note = decode_note(data, str(file))
        elif text == "-":
            note = decode_note(sys.stdin.buffer.read(), "stdin")
        else:
            note = text or ""
    except InputError as exc:
        raise _fail(str(exc)) from None
    engine = _engine(lexicons)
    result = engine.code(note, answers=answer)
    if as_json:
        sys.stdout.write(result.to_json() + "\n")
        return
    _print_result(result)


def _print_result(result) -> None:  # type: ignore[no-untyped-def]
    info = result.classification
    table = Table(title=f"{info['name']} {info['version']}" + (f" ({info['source']})" if "source" in info else ""))
    for col in ("#", "group", "role", "code", "title", "confidence", "evidence"):
        table.add_column(col)
    for i, c in enumerate(result.codes, start=1):
        ev = "; ".join(e.text for e in c.evidence)
        flag = " ⚑" if c.needs_review else ""
        table.add_row(str(i), str(c.group), c.role, Text(c.code + flag), Text(c.title),
                      f"{c.confidence:.2f}", Text(ev))
    out.print(table)
    for a in result.alternatives:
        out.print(Text(f"  alternative for {a.replaces}: {a.code} {a.title} ({a.confidence:.2f})"))
    for q in result.questions:
        choices = ", ".join(f"{c.answer} -> {' '.join(c.codes)}" for c in q.choices)
        out.print(Text(f"? {q.text}" + (f" [{choices}]" if choices else ""), style="yellow"))
    for w in result.warnings:
        out.print(Text(f"! {w}", style="red" if result.nothing_codable else "dim"))
    if result.needs_review:
        out.print(Text("Needs review.", style="bold yellow"))


@opcs_app.command("import")
def opcs_import(
    path: Path = typer.Argument(..., help="CodesAndTitles XML, its tab-separated text, or the normalised TSV."),
    release: Optional[str] = typer.Option(None, "--release", help="Release number, e.g. 4.11, when the file name does not say."),
    lexicons: Optional[Path] = typer.Option(None, "--lexicons", help="Lexicon folder to compile with."),
) -> None:
    """Import an OPCS-4 release and compile its index into the user data folder."""
    from .code_index import index_cache_path, save_index
    from .engine import compile_index
    from .lexicons import load_lexicons
    try:
        cls = clsmod.parse_release(path, version=release)
        lex = load_lexicons(lexicons)
        index = compile_index(lex, cls)
        home = data_home()
        save_index(index, index_cache_path(home, lex, cls))
        target = clsmod.save(cls, home)
    except (clsmod.ClassificationError, LexiconError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot write to {data_home()} ({exc.strerror}); set NLP_CODER_HOME") from None
    n_active = len(cls.active_codes())
    out.print(f"Imported OPCS-{cls.version} from {path.name}: {len(cls.codes)} codes "
              f"({n_active} active, {len(cls.codes) - n_active} retired) into {target}")
    if cls.version == "unknown":
        out.print("[yellow]Release number not found in the file name; pass --release 4.11 to record it.[/]")


def _release_or_fail() -> clsmod.Classification:
    try:
        cls = clsmod.load()
    except clsmod.ClassificationError as exc:
        raise _fail(str(exc)) from None
    if cls is None:
        raise _fail("no classification imported yet: run 'nlp-coder opcs import FILE' first")
    return cls


@opcs_app.command("show")
def opcs_show(code: str = typer.Argument(..., help="A code such as K35.5 or K355, or a category K35.")) -> None:
    """Show a code of the imported release."""
    cls = _release_or_fail()
    e = cls.get(code)
    if e is None:
        raise _fail(f"{code!r} is not in OPCS-{cls.version}", code=1)
    status = "active" if e.active else "RETIRED (not usable)"
    out.print(Text(f"{e.code}  {e.title}\n  category {e.category}: {e.category_title}\n  {status} in OPCS-{cls.version}"))
    if len(e.code) == 3:
        for c in sorted(x for x in cls.codes if x.startswith(e.code)):
            ce = cls.codes[c]
            out.print(Text(f"  {ce.code}  {ce.title}" + ("" if ce.active else "  (retired)")))


@opcs_app.command("search")
def opcs_search(query: str = typer.Argument(...), limit: int = typer.Option(10, "--limit", "-n"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Fuzzy search over the imported release's active codes."""
    _release_or_fail()
    engine = _engine(None)
    hits = engine.search(query, limit=limit)
    if as_json:
        sys.stdout.write(json.dumps([{"code": e.code, "title": e.title, "score": s} for e, s in hits]) + "\n")
        return
    for e, s in hits:
        out.print(Text(f"{e.code}  {e.title}  ({s:.0f})"))


@opcs_app.command("status")
def opcs_status() -> None:
    """Which release is imported, and where it is stored."""
    cls = clsmod.load()
    if cls is None:
        out.print(f"No classification imported (data folder {data_home()}). "
                  "Run 'nlp-coder opcs import FILE'.")
        return
    out.print(f"OPCS-{cls.version} from {cls.source}: {len(cls.active_codes())} active codes; "
              f"stored in {clsmod.store_path()}")


@app.command("calibrate")
def calibrate(
    cases: list[Path] = typer.Argument(..., help="Case files or folders (as for 'eval') to fit on; "
                                       "a path given twice counts twice (weights notes like those to be coded)."),
    write: bool = typer.Option(False, "--write", help="Write the fitted model into the lexicons' scoring.json."),
    target: float = typer.Option(0.92, "--target", help="Share of right primary categories wanted "
                                 "among notes not flagged for review."),
    review_on: Optional[Path] = typer.Option(None, "--review-on", help="Choose the review threshold "
                                             "on these cases only (default: all of them)."),
    lexicons: Optional[Path] = typer.Option(None, "--lexicons"),
) -> None:
    """Fit the confidence model and the review threshold to labelled cases."""
    from . import calibration as cal
    from . import evaluation as ev
    try:
        case_list = [c for p in cases for c in ev.read_cases(p)]
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise _fail(str(exc)) from None
    engine = _engine(lexicons)
    outcomes = ev.run(engine, case_list)
    config = engine.lex.scoring
    review_outcomes = None
    if review_on is not None:
        try:
            review_outcomes = ev.run(engine, ev.read_cases(review_on))
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise _fail(str(exc)) from None
    result = cal.fit(outcomes, config, target=target, review_outcomes=review_outcomes)
    out.print(f"{len(case_list)} cases: {result.n_primary} primary and {result.n_subsidiary} "
              f"subsidiary codes; ECE before {ev.summarise(outcomes)['ece']:.3f}")
    t = Table(title="review threshold (primary confidence)")
    for col in ("threshold", "coverage", "unflagged category", "unflagged exact"):
        t.add_column(col)
    for r in result.threshold_table:
        t.add_row(f"{r['threshold']:.2f}", f"{r['coverage']:.3f}", f"{r['unflagged_primary_category']:.3f}",
                  f"{r['unflagged_primary_exact']:.3f}")
    out.print(t)
    out.print(f"primary: {result.primary}")
    out.print(f"subsidiary: {result.subsidiary}")
    out.print(f"needs_review_below: {result.needs_review_below}")
    out.print(f"expected calibration error, leave one case out: "
              f"{cal.cross_validated_ece(outcomes, config, target=target):.3f} "
              "(the in-sample figure is what 'eval' prints after --write)")
    if review_outcomes is not None:
        ids = {o.case.id for o in review_outcomes}
        out.print(f"... on the --review-on cases only: "
                  f"{cal.cross_validated_ece(outcomes, config, on=ids, target=target):.3f}")
    if write:
        path = engine.lex.root / "scoring.json"
        data = json.loads(path.read_text("utf-8"))
        data["primary"], data["subsidiary"] = result.primary, result.subsidiary
        data["needs_review_below"] = result.needs_review_below
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
        out.print(f"written to {path}; run 'nlp-coder eval' to see the calibration")


@app.command("eval")
def evaluate(
    cases: Path = typer.Argument(..., help="Cases: a TSV (the dev_cases.tsv format), a JSONL file, "
                                 "or a folder of JSONL files."),
    misses: Path = typer.Option(Path("eval_misses.tsv"), "--misses", help="Where to write per-case misses."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a reliability diagram PNG here."),
    as_json: bool = typer.Option(False, "--json"),
    chapters: bool = typer.Option(False, "--by-chapter", help="Also print accuracy per chapter."),
    lexicons: Optional[Path] = typer.Option(None, "--lexicons"),
) -> None:
    """Score the engine on reference cases: strict and version-drift-aware figures."""
    from . import evaluation as ev
    try:
        case_list = ev.read_cases(cases)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise _fail(str(exc)) from None
    engine = _engine(lexicons)
    outcomes = ev.run(engine, case_list)
    summary = ev.summarise(outcomes)
    n_miss = ev.write_misses(outcomes, misses)
    summary["misses_file"] = str(misses)
    summary["classification"] = engine.classification_info()
    if plot:
        try:
            ev.reliability_plot(outcomes, plot)
            summary["plot"] = str(plot)
        except ImportError:
            err.print("matplotlib is not installed: pip install 'nlp-coder[plot]' for --plot", markup=False)
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
        return
    info = summary["classification"]
    out.print(f"{summary['cases']} cases, {info['name']} {info['version']}")
    t = Table()
    t.add_column("metric")
    t.add_column("strict")
    t.add_column("drift-aware")
    for key, label in [("primary_category", "primary category (3 char)"),
                       ("primary_exact", "primary exact (4 char)"),
                       ("unflagged_primary_category", "  ... category, not flagged"),
                       ("unflagged_primary_exact", "  ... exact, not flagged"),
                       ("precision", "code-set precision"), ("recall", "code-set recall"),
                       ("f1", "code-set F1")]:
        t.add_row(label, f"{summary['strict'][key]:.3f}", f"{summary['drift'][key]:.3f}")
    out.print(t)
    if chapters:
        ct = Table(title="per chapter (strict)")
        for col in ("chapter", "cases", "primary category", "primary exact", "whole code set"):
            ct.add_column(col)
        for ch, row in summary["by_chapter"].items():
            ct.add_row(ch, str(row["cases"]), f"{row['primary_category']:.3f}",
                       f"{row['primary_exact']:.3f}", f"{row['code_set_exact']:.3f}")
        out.print(ct)
    out.print(f"coverage (not flagged for review): {summary['coverage']:.3f}")
    out.print(f"expected calibration error: {summary['ece']:.3f}")
    out.print(f"{n_miss} cases with misses written to {misses}")
    out.print("strict = reference codes as written; drift-aware = also accepts successors and more "
              "specific siblings recorded in lexicons/rules/successors.jsonl")


@app.command("batch")
def batch(
    input: str = typer.Argument(..., help="CSV/TSV, JSONL, a folder of .txt files, or '-' for stdin (CSV or JSONL)."),
    output: Path = typer.Option(..., "--output", "-o", help="Output file: .jsonl (one result per note) or .csv (long format, one row per code)."),
    text_column: str = typer.Option("text", "--text-column", help="Column (CSV/TSV) or field (JSONL) holding the note."),
    id_column: Optional[str] = typer.Option(None, "--id-column", help="Column or field holding the note id (default: an 'id' column if present, else the note's position)."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="csv, tsv, jsonl or txt (default: from the extension; stdin: sniffed)."),
    output_format: Optional[str] = typer.Option(None, "--output-format", help="jsonl or csv (default: from the extension)."),
    workers: int = typer.Option(1, "--workers", "-w", help="Processes coding in parallel (each loads the engine once)."),
    min_confidence: Optional[float] = typer.Option(None, "--min-confidence", help="Leave out codes below this confidence."),
    concepts: bool = typer.Option(False, "--concepts", help="Fill each JSONL row's 'concepts' list (every "
                                  "concept found, for highlighting); left empty by default, as it is most of the output."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Code only the first N notes of the input."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run into the same output."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    chunk_size: int = typer.Option(32, "--chunk-size", help="Notes per chunk (the unit of parallel work and of atomic writes)."),
    progress: str = typer.Option("auto", "--progress", help="auto (a bar on a terminal, log lines otherwise), bar, log or none."),
    engine_name: str = typer.Option("local", "--engine", help="local, or spark for Parquet/CSV inputs on a Spark cluster."),
    lexicons: Optional[Path] = typer.Option(None, "--lexicons", help="Lexicon folder to use."),
) -> None:
    """Code a file of notes: exit 0 when all were coded, 1 with row errors, 2 on failure."""
    from .batch import EXIT_ROW_ERRORS, BatchFailure, BatchOptions, MalformedInput, run_batch
    if engine_name == "spark":
        from .spark import SparkBatchError, run_spark_batch
        try:
            errors = run_spark_batch(input, output, input_format=input_format, text_column=text_column,
                                     id_column=id_column, min_confidence=min_confidence, limit=limit,
                                     overwrite=overwrite, lexicons=str(lexicons) if lexicons else None)
        except SparkBatchError as exc:
            raise _fail(str(exc)) from None
        raise typer.Exit(EXIT_ROW_ERRORS if errors else 0)
    if engine_name != "local":
        raise _fail(f"unknown --engine {engine_name!r} (local or spark)")
    if progress not in ("auto", "bar", "log", "none"):
        raise _fail("--progress must be auto, bar, log or none")
    opts = BatchOptions(input=input, output=output, input_format=input_format, output_format=output_format,
                        text_column=text_column, id_column=id_column, workers=workers,
                        min_confidence=min_confidence, concepts=concepts, limit=limit, resume=resume,
                        overwrite=overwrite, chunk_size=chunk_size, lexicons=str(lexicons) if lexicons else None,
                        progress=progress)
    try:
        counts = run_batch(opts)
    except (BatchFailure, MalformedInput, InputError) as exc:
        raise _fail(str(exc)) from None
    except (LexiconError, clsmod.ClassificationError) as exc:
        raise _fail(str(exc)) from None
    raise typer.Exit(EXIT_ROW_ERRORS if counts.errors else 0)


@app.command("lexicons")
def lexicons_check(path: Optional[Path] = typer.Argument(None)) -> None:
    """Validate the lexicon files."""
    from .lexicon_check import main as check
    raise typer.Exit(check([str(path)] if path else []))


@app.command("tui")
def tui(
    file: Optional[Path] = typer.Option(None, "--file", "-f", help="A worklist: notes.csv (id,text), notes.jsonl or a folder of .txt."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where accepted results are appended (JSONL); default beside the worklist."),
) -> None:
    """Open the terminal UI for coders (a worklist with --file)."""
    from .tui import run
    from .tui.worklist import WorklistError
    try:
        run(file=file, output=output)
    except WorklistError as exc:
        raise _fail(str(exc)) from None


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        if len(sys.argv) == 1 and sys.stdin.isatty() and sys.stdout.isatty():
            sys.argv.append("tui")   # 'nlp-coder' alone in a terminal opens the UI
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
