"""Errors raised while provisioning chat models."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class ModelError(RuntimeError):
    """Base class for model provisioning failures."""


class HubError(ModelError):
    """The hub answered, but refused the request (4xx, bad URL, no checksum)."""

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class HubUnreachable(ModelError):
    """The hub could not be reached: DNS, refused connection, timeout, 5xx."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"Could not reach the model hub at {url}: {reason}")
        self.url = url
        self.reason = reason


class ChecksumMismatch(ModelError):
    """A file's sha256 differs from the expected one."""

    def __init__(
        self, path: Path | str, *, expected: str, actual: str, origin: str = "", note: str = ""
    ) -> None:
        where = f" ({origin})" if origin else ""
        tail = f" {note}" if note else ""
        super().__init__(
            f"Checksum mismatch for {path}: expected sha256 {expected}{where}, got {actual}.{tail}"
        )
        self.path = Path(path)
        self.expected = expected
        self.actual = actual


class InsufficientDiskSpace(ModelError):
    """Not enough free space to store a model file."""


class PackageMissing(ModelError):
    """A pip package that ships (part of) a model is not installed."""

    def __init__(self, message: str, *, packages: Sequence[str]) -> None:
        super().__init__(message)
        self.packages = tuple(packages)


class OfflineModelUnavailable(ModelError):
    """The hub is unreachable and the offline fallback cannot be provided."""
