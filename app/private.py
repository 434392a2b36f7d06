"""Owner-only files: what docent writes under DATA_DIR is for the user running it alone.

Uploads, the app database, the catalog, the vector store and the operator token hold the
knowledge base and its accounts, so nothing there may be readable by other local users. One
mechanism covers every writer (SQLite, Qdrant, uploads, the model cache): the process umask,
set first thing by `docent` and by the app factory, makes new folders 0700 and new files 0600.
DATA_DIR itself is made 0700 when it is created (and tightened at start if it was left open,
which also shuts out files created by an older docent under it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

OWNER_ONLY_UMASK = 0o077  # new folders 0700, new files 0600
PRIVATE_DIR_MODE = 0o700
log = logging.getLogger(__name__)


def owner_only_files() -> None:
    """From now on this process creates folders 0700 and files 0600 (process-wide)."""
    os.umask(OWNER_ONLY_UMASK)


def private_dir(path: Path) -> Path:
    """`path` created if missing, readable, writable and searchable by its owner only."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(PRIVATE_DIR_MODE)
    except OSError as exc:  # not ours (a mounted volume): say so, and go on
        log.warning("could not make %s owner-only: %s", path, exc)
    return path
