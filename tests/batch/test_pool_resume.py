"""A pooled run (--workers 2) stopped by Ctrl-C, SIGTERM or SIGKILL, or cut short by --limit,
leaves whole notes only, and --resume --workers 2 completes it: one result per input id, in input
order, exactly what an uninterrupted single-process run writes."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from batch_helpers import cli, many_notes, read_jsonl, wait_for_lines

N_BIG = 300  # enough invented notes that a pooled run is still going after its first chunks
CHUNK = 4


@pytest.fixture(scope="module")
def big(imported_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], bytes]:
    """The input, its ids, and what an uninterrupted single-process run writes for it."""
    folder = tmp_path_factory.mktemp("pool-big")
    src, full = folder / "big.csv", folder / "full.jsonl"
    ids = many_notes(src, N_BIG)
    proc = cli(["batch", str(src), "-o", str(full), "--progress", "none"], imported_home)
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    return src, ids, full.read_bytes()


def _whole_lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    """The output parsed line by line: no partial line, every line a JSON result."""
    data = path.read_bytes()
    assert data and data.endswith(b"\n"), "the output ends in a partial line"
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def _group_gone(pgid: int, timeout: float = 30.0) -> bool:
    """True once no process of the group is left (the pool workers exited with the parent)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig,group", [(signal.SIGINT, True), (signal.SIGTERM, True),
                                       (signal.SIGKILL, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c", "sigterm-group", "sigkill-group", "sigterm-parent"])
def test_pooled_run_interrupted_then_resumed_with_workers(big, imported_home: Path, tmp_path: Path,
                                                          sig, group):
    src, ids, full = big
    out = tmp_path / "coded.jsonl"
    # Its own process group, as a shell job: signalling the group reaches the parent and its pool
    # workers, as Ctrl-C in a terminal or a kill of the job does; "parent" signals the parent only
    # (kill PID), which must stop its workers itself.
    proc = cli(["batch", str(src), "-o", str(out), "--workers", "2", "--chunk-size", str(CHUNK),
                "--progress", "log"], imported_home, start_new_session=True)
    try:
        wait_for_lines(out, CHUNK, proc)  # at least one whole chunk written, with a timeout
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 130, stderr
        assert "interrupted" in stderr and "--resume" in stderr
        assert "Traceback" not in stderr
    assert _group_gone(proc.pid), "pool workers outlived the interrupted run"

    done = _whole_lines(out)
    got = [d["id"] for d in done]
    assert len(set(got)) == len(got), "an id was written twice"
    assert CHUNK <= len(got) < len(ids), "the run was not interrupted part way"
    assert got == ids[:len(got)]  # a prefix of the input, in order: nothing skipped
    assert out.read_bytes() == full[:len(out.read_bytes())]  # the same bytes as a full run

    proc = cli(["batch", str(src), "-o", str(out), "--resume", "--workers", "2",
                "--chunk-size", str(CHUNK), "--progress", "log"], imported_home)
    _, stderr = proc.communicate(timeout=180)
    assert proc.returncode == 0, stderr
    assert f"{len(ids) - len(got)} notes read" in stderr
    assert f"{len(got)} already in the output (resumed)" in stderr
    assert [d["id"] for d in _whole_lines(out)] == ids  # every id once, in input order
    assert out.read_bytes() == full  # and field for field what an uninterrupted run writes


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_resume_with_workers_after_a_limited_run(imported_home: Path, tmp_path: Path, fmt):
    """Deterministic: a pooled --limit run stops at a known note, a kill mid-write is simulated
    by a cut last line, and --resume --workers 2 (other chunk size) finishes the file."""
    src, out, full = tmp_path / "notes.csv", tmp_path / f"coded.{fmt}", tmp_path / f"full.{fmt}"
    ids = many_notes(src, 30)
    proc = cli(["batch", str(src), "-o", str(full), "--progress", "none"], imported_home)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    proc = cli(["batch", str(src), "-o", str(out), "--limit", "10", "--workers", "2",
                "--chunk-size", "4", "--progress", "none"], imported_home)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    part = out.read_bytes()
    assert full.read_bytes().startswith(part)
    if fmt == "jsonl":
        assert [d["id"] for d in read_jsonl(out)] == ids[:10]
        cut = full.read_bytes()[len(part):][:25]  # the start of note 11's line, as a kill leaves it
    else:
        cut = full.read_bytes()[len(part):].split(b"\n")[0][:12]
    assert cut and not cut.endswith(b"\n")
    with open(out, "ab") as fh:
        fh.write(cut)
    proc = cli(["batch", str(src), "-o", str(out), "--resume", "--workers", "2", "--chunk-size", "3",
                "--progress", "log"], imported_home)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    # CSV re-codes the last whole note too (its rows may have been split by a kill).
    skipped = 10 if fmt == "jsonl" else 9
    assert f"{skipped} already in the output (resumed)" in stderr
    assert f"{30 - skipped} notes read" in stderr
    assert out.read_bytes() == full.read_bytes()  # one result per id, in input order, none lost
