"""Rich progress bars for the two slow parts: indexing a corpus and running the queries."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressBar:
    """A bar with a count, elapsed time and ETA; it appears at the first step (none: no bar)."""

    def __init__(self, console: Console, label: str, total: int, unit: str) -> None:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit + "{task.fields[note]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        self._progress = Progress(*columns, console=console)
        self._task: TaskID = self._progress.add_task(label, total=total, note="", start=False)
        self._shown = False

    def __enter__(self) -> ProgressBar:
        self._progress.start_task(self._task)  # the clock runs from here
        return self

    def __exit__(self, *_: object) -> None:
        if self._shown:
            self._progress.stop()

    def _show(self) -> None:
        if not self._shown:
            self._shown = True
            self._progress.start()

    def index_step(self, documents: int, chunks: int) -> None:
        """An `IndexProgress` callback: documents done, chunks written, chunks per second."""
        self._show()
        elapsed = self._progress.tasks[0].elapsed or 0.0
        rate = f" · {chunks / elapsed:.1f} chunks/s" if elapsed > 1 else ""
        self._progress.update(self._task, completed=documents, note=f" · {chunks} chunks{rate}")

    def query_step(self, done: int, total: int) -> None:
        """A `QueryProgress` callback."""
        self._show()
        self._progress.update(self._task, completed=done, total=total)
