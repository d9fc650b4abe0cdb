"""Where nlp-coder keeps user data (the imported classification and its compiled index)."""
from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir


def data_home() -> Path:
    """``$NLP_CODER_HOME`` if set, else the platform's user data folder for nlp-coder."""
    env = os.environ.get("NLP_CODER_HOME")
    return Path(env).expanduser() if env else Path(user_data_dir("nlp-coder", appauthor=False))
