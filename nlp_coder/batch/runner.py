"""The batch loop: stream records in order, code them in chunks (here or in a process pool),
append each chunk to the output, report progress.

Memory stays flat: at most ``2 * workers`` chunks are in flight and nothing else is kept per note.
A pool of processes, each loading the engine once, scales where spaCy's ``n_process`` does not.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Iterator

from ..paths import data_home
from .progress import Counts, Progress
from .readers import MalformedInput, Record, Source
from .worker import code_chunk, init_worker, load_engine, set_engine
from .writers import CsvWriter, csv_id, open_writer

EXIT_OK, EXIT_ROW_ERRORS, EXIT_FAILURE = 0, 1, 2
_BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class BatchFailure(Exception):
    """The run cannot continue (bad arguments, malformed input, a crashed worker)."""


@dataclass
class BatchOptions:
    input: str
    output: Path
    input_format: str | None = None
    output_format: str | None = None
    text_column: str = "text"
    id_column: str | None = None
    workers: int = 1
    min_confidence: float | None = None
    concepts: bool = False   # the per-word concept list in JSONL rows (for highlighting tools)
    limit: int | None = None
    resume: bool = False
    overwrite: bool = False
    chunk_size: int = 32
    lexicons: str | None = None
    home: str | None = None
    progress: str = "auto"
    log_every: float = 10.0


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    """Chunks of records; the notes read before a malformed line are still yielded (then the
    error is raised), so the output keeps them and a fixed file can be resumed."""
    chunk: list[Record] = []
    try:
        for rec in records:
            chunk.append(rec)
            if len(chunk) == size:
                yield chunk
                chunk = []
    except MalformedInput:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


def _tally(counts: Counts, results: list[dict[str, Any]]) -> None:
    if counts.first_at is None:
        counts.first_at, counts.first_n = time.perf_counter(), len(results)
    for r in results:
        if r.get("error") is not None:
            counts.errors += 1
        else:
            counts.coded += 1
            counts.needs_review += bool(r.get("needs_review"))
            counts.incomplete += bool(r.get("incomplete"))
            counts.nothing_codable += bool(r.get("nothing_codable"))


def _skip_done(records: Iterator[Record], done: int, last_id: str | None, as_csv: bool) -> None:
    """Advance past the notes a previous run wrote, checking the output belongs to this input."""
    rec = None
    for _ in range(done):
        rec = next(records, None)
        if rec is None:
            raise BatchFailure(f"the output holds {done} notes but the input has fewer: "
                               "it was written from another input; cannot resume")
    if rec is not None and last_id is not None:
        rid = csv_id(rec.id) if as_csv else rec.id
        if rid != last_id:
            raise BatchFailure(f"note {rec.seq} of the input does not have the id the output "
                               "ends with: the output was written from another input (or other "
                               "--id-column/--limit); cannot resume")


def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_batch(opts: BatchOptions, engine: Any = None) -> Counts:
    """Run a batch; returns the counts. Raises ``BatchFailure``/``MalformedInput`` on failure and
    ``KeyboardInterrupt`` when interrupted (the output then holds whole notes only)."""
    if opts.workers < 1:
        raise BatchFailure("--workers must be at least 1")
    if opts.chunk_size < 1:
        raise BatchFailure("--chunk-size must be at least 1")
    source = Source(opts.input, opts.input_format, opts.text_column, opts.id_column)
    writer = open_writer(opts.output, opts.output_format, opts.resume, opts.overwrite)
    counts = Counts(skipped=writer.done)
    if opts.limit is not None:  # progress in notes towards the limit
        todo = max(0, opts.limit - writer.done)
        where = lambda: (counts.written, todo)  # noqa: E731
    else:  # progress in bytes of input (notes for a folder or stdin)
        where = lambda: (source.progress(), source.total)  # noqa: E731
    progress = Progress(counts, where, opts.progress, opts.log_every)
    old_term = None
    try:
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        pass
    status = "done"
    try:
        records = source.records()
        _skip_done(records, writer.done, writer.last_id, isinstance(writer, CsvWriter))
        if opts.limit is not None:
            records = islice(records, max(0, opts.limit - writer.done))

        def counted() -> Iterator[Record]:
            for rec in records:
                counts.read += 1
                yield rec

        chunks = _chunks(counted(), opts.chunk_size)
        with progress:
            if opts.workers == 1:
                if engine is not None:
                    set_engine(engine)
                else:
                    load_engine(opts.home or str(data_home()), opts.lexicons)
                for chunk in chunks:
                    results = code_chunk(chunk, opts.min_confidence, opts.concepts)
                    writer.write(results)
                    _tally(counts, results)
                    progress.update()
            else:
                _run_pool(opts, chunks, writer, counts, progress)
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except BaseException:
        status = "stopped"
        raise
    finally:
        counts.ended = time.perf_counter()
        writer.close()
        source.close()
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        progress.summary(str(opts.output), status)
    return counts


def _run_pool(opts: BatchOptions, chunks: Iterator[list[Record]], writer: Any, counts: Counts,
              progress: Progress) -> None:
    home = opts.home or str(data_home())
    ctx = multiprocessing.get_context("spawn")  # safe with threads (progress bar) on every OS
    pending: deque[Future[list[dict[str, Any]]]] = deque()
    # One BLAS thread per worker: numpy's threads in every worker fight over the same cores
    # (the workers are the parallelism). Children copy the environment when they start.
    saved = {k: os.environ.get(k) for k in _BLAS_THREADS}
    os.environ.update({k: "1" for k in _BLAS_THREADS})
    try:
        pool = ProcessPoolExecutor(opts.workers, mp_context=ctx, initializer=init_worker,
                                   initargs=(home, opts.lexicons))
        for _ in range(opts.workers):  # start every worker now, while the environment is set
            pool.submit(int)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def drain(limit: int) -> None:
        while len(pending) > limit:
            try:
                results = pending.popleft().result()
            except Exception as exc:  # a worker died (killed, out of memory) or failed to load
                raise BatchFailure(f"a worker process failed ({type(exc).__name__}: "
                                   f"{str(exc)[:200]}); the output holds whole notes, rerun "
                                   "with --resume") from None
            writer.write(results)
            _tally(counts, results)
            progress.update()

    ok = False
    try:
        try:
            for chunk in chunks:
                pending.append(pool.submit(code_chunk, chunk, opts.min_confidence, opts.concepts))
                drain(2 * opts.workers)
        except MalformedInput:
            drain(0)  # keep the notes read before the bad line, then report it
            raise
        drain(0)
        ok = True
    finally:
        pool.shutdown(wait=ok, cancel_futures=True)
