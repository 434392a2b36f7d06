"""Why a file could not be read: the errors every reader raises (they cross process boundaries)."""

from __future__ import annotations


class ParseError(Exception):
    """A file that cannot be turned into text; the message says why."""


class UnsupportedFormat(ParseError):
    """A file type docent does not read: to be reported as skipped rather than failed."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix
        name = suffix or "(no file extension)"
        super().__init__(f"unsupported type {name}")

    def __reduce__(self) -> tuple[type[UnsupportedFormat], tuple[str]]:
        return type(self), (self.suffix,)  # crosses process boundaries intact


class Refused(ParseError):
    """A file docent will not parse by policy (too large, OCR off); reported as skipped."""
