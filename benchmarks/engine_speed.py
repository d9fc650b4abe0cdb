"""Engine load time and per-note latency on real op notes (one core).

    python benchmarks/engine_speed.py [--corpus ../shared/corpora/mtsamples_surgery.csv] [--notes 300]

Figures go in closing notes; they are not asserted by the tests. The corpus is read from ../shared
and never copied into the repository.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(HERE.parent.parent / "shared" / "corpora" / "mtsamples_surgery.csv"))
    ap.add_argument("--notes", type=int, default=300)
    ap.add_argument("--words", type=int, default=300, help="cut notes to about this many words")
    args = ap.parse_args()

    t0 = time.perf_counter()
    from nlp_coder.engine import Engine
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine = Engine.load()
    t_load = time.perf_counter() - t0
    print(f"classification: {engine.classification_info()}")
    print(f"import nlp_coder: {t_import:.2f} s; Engine.load(): {t_load:.2f} s (total {t_import + t_load:.2f} s)")

    csv.field_size_limit(sys.maxsize)
    with open(args.corpus, encoding="utf-8", newline="") as fh:
        notes = [r["transcription"] for r in csv.DictReader(fh) if r["transcription"].strip()]
    notes = [" ".join(n.split()[: args.words]) for n in notes[: args.notes]]
    engine.code(notes[0])  # warm-up
    times = []
    for n in notes:
        t0 = time.perf_counter()
        engine.code(n)
        times.append((time.perf_counter() - t0) * 1000)
    words = statistics.mean(len(n.split()) for n in notes)
    times.sort()
    print(f"{len(notes)} notes, mean {words:.0f} words: median {statistics.median(times):.1f} ms, "
          f"p90 {times[int(0.9 * len(times))]:.1f} ms, max {times[-1]:.1f} ms, "
          f"{1000 * len(times) / sum(times):.0f} notes/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
