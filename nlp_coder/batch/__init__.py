"""Batch coding: files of notes in, coded files out (``nlp-coder batch``).

Readers stream CSV/TSV, JSONL, a folder of .txt files or stdin; writers append JSONL (the
``code --json`` shape plus ``id`` and ``error``) or long CSV in atomic chunks; the runner codes
in this process or a process pool and can resume an interrupted run.
"""
from .readers import MalformedInput, Record, Source
from .runner import EXIT_FAILURE, EXIT_OK, EXIT_ROW_ERRORS, BatchFailure, BatchOptions, run_batch
from .worker import LONG_COLUMNS, code_record, long_rows

__all__ = ["BatchFailure", "BatchOptions", "EXIT_FAILURE", "EXIT_OK", "EXIT_ROW_ERRORS",
           "LONG_COLUMNS", "MalformedInput", "Record", "Source", "code_record", "long_rows",
           "run_batch"]
