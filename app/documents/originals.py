"""Who may see a catalogued document's original file (and the pictures of its pages), and
where that file is: looked up by document id, never by a path from a request."""

from __future__ import annotations

from pathlib import Path

from app.accounts import User
from ingest.catalog import DocumentRecord


def may_open(user: User, record: DocumentRecord) -> bool:
    """Searchable documents the user's groups allow; admins may open any catalogued one."""
    if user.is_admin:
        return True
    return record.status == "ok" and user.access.allows(record.groups)


def servable_path(source: str) -> Path | None:
    """The catalogued path if it is still a regular file reached without symbolic links
    (the catalog stores resolved paths), else None."""
    path = Path(source)
    if not path.is_absolute() or path.is_symlink() or not path.is_file():
        return None
    return path if path.resolve() == path else None
