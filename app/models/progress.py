"""Terminal progress bar for downloads and assembly."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from app.models.hub import ProgressCallback

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def rich_progress(
    description: str, *, console: Console | None = None
) -> Iterator[ProgressCallback]:
    """Yield a ProgressCallback drawing a rich bar (bytes, speed, ETA)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update
