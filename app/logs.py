"""Logging for `docent serve`: readable text or one JSON object per line, with request ids.

`REQUEST_ID` holds the id of the request being served (set by the request middleware); every
log line written while serving it carries that id, whichever logger wrote it.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

REQUEST_ID: ContextVar[str | None] = ContextVar("docent_request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or "-") on every record as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "-")
        if request_id != "-":
            data["request_id"] = request_id
        data |= {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class _DocentHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs (found again and replaced on a second call)."""


def configure_logging(
    log_format: Literal["text", "json"], level: str, stream: TextIO | None = None
) -> logging.Handler:
    """Send every logger's records through one handler on the root logger."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _DocentHandler)]:
        root.removeHandler(old)
    handler = _DocentHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):  # uvicorn's own lines go through ours
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    return handler
