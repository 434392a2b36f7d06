"""Names for uploaded files: a client's file name is never trusted as a path.

`safe_name` keeps a plain name (no folders, control characters or leading dots), `place` moves a
received file under it without overwriting anything ("name (2).ext" for a taken name).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from ingest.parse import SUPPORTED_SUFFIXES

MAX_NAME_BYTES = 150  # room left for " (NNN)" and the file system's 255
_RESERVED = re.compile(r'[<>:"|?*/\\]')


def safe_name(raw: str, fallback: str = "upload") -> str:
    """A plain file name from a client's: no folders, no control characters, no leading dots."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C"))
    name = " ".join(_RESERVED.sub("_", name).split()).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > 16 or " " in suffix:
        stem, suffix = name, ""
    stem = _clip(stem.strip(" ."), MAX_NAME_BYTES - len(suffix.encode()) - 1) or fallback
    return f"{stem}.{suffix}" if suffix else stem


def _clip(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")[:max_bytes]
    return encoded.decode("utf-8", errors="ignore").rstrip()


def unsupported_reason(name: str) -> str | None:
    """Why a file of this name cannot be ingested, or None."""
    suffix = Path(name).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return None
    known = " ".join(sorted(SUPPORTED_SUFFIXES))
    return f"unsupported file type {suffix or '(no extension)'}; docent reads {known}"


def place(received: Path, folder: Path, name: str, *, replace_existing: bool = False) -> Path:
    """Move a received file to `folder/name`; a taken name becomes "name (2).ext" and so on
    (never overwritten unless `replace_existing`). Returns where it went."""
    folder.mkdir(parents=True, exist_ok=True)
    if replace_existing:
        target = folder / name
        os.replace(received, target)
        return target
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, 10_000):
        target = folder / (name if n == 1 else f"{stem} ({n}){suffix}")
        try:
            os.link(received, target)  # atomic: fails if the name is taken
        except FileExistsError:
            continue
        received.unlink()
        return target
    raise FileExistsError(f"no free name for {name} in {folder}")
