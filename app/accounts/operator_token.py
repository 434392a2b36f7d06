"""A secret in the data dir: whoever can read it is an operator of this machine.

The running web app accepts CLI ingestion over loopback only with this token, so the embedded
store (one process at a time) can be fed while the app serves.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.private import private_dir

TOKEN_FILE = "operator.token"


def ensure_token(data_dir: Path) -> str:
    path = data_dir / TOKEN_FILE
    if path.is_file():
        return path.read_text().strip()
    private_dir(data_dir)
    token = secrets.token_urlsafe(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token)
    return token


def read_token(data_dir: Path) -> str | None:
    path = data_dir / TOKEN_FILE
    return path.read_text().strip() if path.is_file() else None


def token_matches(expected: str, given: str | None) -> bool:
    return given is not None and secrets.compare_digest(expected, given)
