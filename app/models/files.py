"""File helpers: hashing, sidecars, atomic finalisation, disk space."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from app.models.errors import ChecksumMismatch, InsufficientDiskSpace

CHUNK_SIZE = 1 << 20
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_SPACE_MARGIN = 64 << 20


def normalize_sha256(value: str | None) -> str | None:
    """Return ``value`` as lowercase 64-hex (quotes and ``W/`` stripped), else None."""
    if value is None:
        return None
    text = value.strip()
    if text.startswith(("W/", "w/")):
        text = text[2:]
    text = text.strip().strip('"').strip().lower()
    return text if _SHA256_RE.fullmatch(text) else None


def require_sha256(value: str) -> str:
    """Validate a pinned sha256, raising ValueError when it is malformed."""
    normal = normalize_sha256(value)
    if normal is None:
        raise ValueError(f"Not a sha256 hex digest: {value!r}")
    return normal


def part_path(dest: Path) -> Path:
    """Where ``dest`` is written while incomplete."""
    return dest.with_suffix(dest.suffix + ".part")


def sidecar_path(path: Path) -> Path:
    """Where the verified sha256 of ``path`` is recorded."""
    return path.with_name(path.name + ".sha256")


def hash_file(path: Path, hasher: hashlib._Hash | None = None) -> hashlib._Hash:
    """Feed the whole of ``path`` into ``hasher`` (a new sha256 if None)."""
    digest = hasher if hasher is not None else hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest


def write_sidecar(path: Path, sha256: str) -> None:
    """Record ``sha256`` next to ``path`` in ``sha256sum`` format."""
    side = sidecar_path(path)
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text(f"{sha256}  {path.name}\n", encoding="utf-8")
    os.replace(tmp, side)


def read_sidecar(path: Path) -> str | None:
    """Return the recorded sha256 of ``path``, or None if absent or unreadable."""
    try:
        text = sidecar_path(path).read_text(encoding="utf-8")
    except OSError:
        return None
    fields = text.split()
    return normalize_sha256(fields[0]) if fields else None


def finalize(part: Path, dest: Path, *, expected: str, actual: str, origin: str = "") -> Path:
    """Move a verified ``part`` onto ``dest`` atomically and write its sidecar.

    On mismatch the part is deleted and ChecksumMismatch raised.
    """
    if actual != expected:
        part.unlink(missing_ok=True)
        raise ChecksumMismatch(
            dest,
            expected=expected,
            actual=actual,
            origin=origin,
            note="The incomplete file was deleted.",
        )
    sidecar_path(dest).unlink(missing_ok=True)
    os.replace(part, dest)
    write_sidecar(dest, actual)
    return dest


def ensure_free_space(directory: Path, needed: int | None) -> None:
    """Raise InsufficientDiskSpace if ``directory`` can't take ``needed`` more bytes."""
    if not needed or needed <= 0:
        return
    free = shutil.disk_usage(directory).free
    if free < needed + _SPACE_MARGIN:
        raise InsufficientDiskSpace(
            f"Not enough disk space in {directory}: need {human_size(needed)}, "
            f"{human_size(free)} free."
        )


def human_size(num: float) -> str:
    """Format a byte count like ``4.7 GB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(num) < 1000:
            return f"{num:.0f} {unit}" if unit == "B" else f"{num:.1f} {unit}"
        num /= 1000
    return f"{num:.1f} TB"
