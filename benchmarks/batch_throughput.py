"""Batch throughput and memory: notes/s in one process and with 2 workers, and peak RSS.

    python benchmarks/batch_throughput.py [--corpus ../shared/corpora/mtsamples_surgery.csv]
        [--notes 1088] [--memory-notes 100000] [--workers 2] [--release OPCS411...xml]

Runs ``nlp-coder batch`` end to end (CSV in, JSONL out) on the corpus's op notes. Throughput is
measured after the first chunk (engines loaded); "wall" includes loading. The memory run repeats
the notes to --memory-notes (written to a temporary CSV, streamed) and codes them with the pool.
Without NLP_CODER_HOME, the OPCS-4 release in ../shared/opcs4 is imported into a temporary home so
the figures are for the full classification. The corpus is read from ../shared, never copied.
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One BLAS thread: "per core" figures, and what the pool's workers use too.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"


def _notes(corpus: Path) -> list[str]:
    csv.field_size_limit(sys.maxsize)
    with open(corpus, encoding="utf-8", newline="") as fh:
        return [r["transcription"] for r in csv.DictReader(fh) if r["transcription"].strip()]


def _write_csv(path: Path, notes: list[str], n: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text"])
        for i in range(n):
            w.writerow([f"n{i + 1}", notes[i % len(notes)]])


def _cpu() -> float:
    """CPU seconds used by this process and its reaped children (the pool's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _run(inp: Path, out: Path, workers: int, engine: object = None):  # type: ignore[no-untyped-def]
    from nlp_coder.batch import BatchOptions, run_batch
    t0, c0 = time.perf_counter(), _cpu()
    counts = run_batch(BatchOptions(input=str(inp), output=out, workers=workers, overwrite=True,
                                    progress="none", chunk_size=32), engine=engine)
    return counts, time.perf_counter() - t0, _cpu() - c0


def _tree_rss_kib(pid: int) -> dict[int, int]:
    """Resident set size (KiB) of a process and all its descendants, from /proc (Linux)."""
    out: dict[int, int] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            out[p] = next((int(line.split()[1]) for line in status.splitlines()
                           if line.startswith("VmRSS:")), 0)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return out


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=SHARED / "corpora" / "mtsamples_surgery.csv")
    ap.add_argument("--notes", type=int, default=0, help="notes for the throughput runs (0: all)")
    ap.add_argument("--memory-notes", type=int, default=100_000, help="0 to skip the memory run")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--release", type=Path, default=SHARED / "opcs4" / "OPCS411_CodesAndTitles_Nov_2025_V1.0.xml")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="nlp-coder-bench-"))
    if "NLP_CODER_HOME" not in os.environ and args.release.is_file():
        from nlp_coder import classification as clsmod
        from nlp_coder.code_index import index_cache_path, save_index
        from nlp_coder.engine import compile_index
        from nlp_coder.lexicons import load_lexicons
        home = tmp / "home"
        cls = clsmod.parse_release(args.release)
        lex = load_lexicons()
        save_index(compile_index(lex, cls), index_cache_path(home, lex, cls))
        clsmod.save(cls, home)
        os.environ["NLP_CODER_HOME"] = str(home)

    from nlp_coder import Engine
    notes = _notes(args.corpus)
    n = args.notes or len(notes)
    words = sum(len(x.split()) for x in notes) / len(notes)
    inp = tmp / "notes.csv"
    _write_csv(inp, notes, n)
    t0 = time.perf_counter()
    engine = Engine.load()
    print(f"classification: {engine.classification_info()}; engine load {time.perf_counter() - t0:.1f} s")
    print(f"corpus: {len(notes)} non-empty op notes, mean {words:.0f} words; {os.cpu_count()} CPUs")

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          "(other work on the machine lowers the wall-clock figures, not the CPU ones)")
    c1, wall1, cpu1 = _run(inp, tmp / "out1.jsonl", 1, engine)
    print(f"1 process : {c1.written} notes, {c1.steady_rate:.1f} notes/s (wall {wall1:.1f} s); "
          f"{c1.written / cpu1:.1f} notes per CPU-second")
    cw, wallw, cpuw = _run(inp, tmp / "outw.jsonl", args.workers)
    print(f"{args.workers} workers : {cw.written} notes, {cw.steady_rate:.1f} notes/s "
          f"(wall {wallw:.1f} s incl. worker start); speed-up x{cw.steady_rate / c1.steady_rate:.2f}; "
          f"{cw.written / cpuw:.1f} notes per CPU-second incl. engine loads")
    same = (tmp / "out1.jsonl").read_bytes() == (tmp / "outw.jsonl").read_bytes()
    print(f"pool output identical to single-process output: {same}")

    if args.memory_notes:
        big = tmp / "big.csv"
        _write_csv(big, notes, args.memory_notes)
        (tmp / "out1.jsonl").unlink()
        (tmp / "outw.jsonl").unlink()
        cmd = [sys.executable, "-m", "nlp_coder.cli", "batch", str(big), "-o", str(tmp / "big.jsonl"),
               "--workers", str(args.workers), "--progress", "log"]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        peak_total = peak_parent = 0
        while proc.poll() is None:
            rss = _tree_rss_kib(proc.pid)
            peak_total = max(peak_total, sum(rss.values()))
            peak_parent = max(peak_parent, rss.get(proc.pid, 0))
            time.sleep(0.5)
        wallm = time.perf_counter() - t0
        tail = (proc.stderr.read() if proc.stderr else "").strip().splitlines()
        size = (tmp / "big.jsonl").stat().st_size / 1e6
        print(f"memory run: {args.memory_notes} notes, {args.workers} workers, exit {proc.returncode}, "
              f"{wallm:.0f} s ({args.memory_notes / wallm:.1f} notes/s wall), output {size:.0f} MB")
        print(f"  {tail[-1] if tail else ''}")
        print(f"peak RSS (sampled every 0.5 s): whole run {peak_total / 1024:.0f} MB "
              f"(parent {peak_parent / 1024:.0f} MB; largest worker "
              f"{_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB by getrusage)")
    for f in tmp.glob("*.csv"):
        f.unlink()
    for f in tmp.glob("*.jsonl"):
        f.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
