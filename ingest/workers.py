"""Parse files in worker processes while the caller embeds and writes (a pipeline)."""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

from ingest.guards import check_file
from ingest.parse import ParseError, parse_file
from ingest.types import ParsedDocument

T = TypeVar("T")
Outcome = ParsedDocument | ParseError
_CRASHED = "the parser process died on this file (out of memory, or a crash in a library)"
_VANISHED = "the file disappeared before it was read (deleted or moved during ingestion)"


def safe_parse(path: Path, max_bytes: int) -> Outcome:
    """Check and parse, returning the error instead of raising it (it crosses processes)."""
    try:
        check_file(path, max_bytes)
        return parse_file(path)
    except ParseError as exc:
        return exc
    except FileNotFoundError:
        return ParseError(_VANISHED)
    except OSError as exc:  # unreadable: permissions, a name too long, an I/O error
        return ParseError(f"cannot read the file: {exc.strerror or exc}")
    except Exception as exc:  # a parser bug on a hostile file must not stop the batch
        return ParseError(f"{type(exc).__name__}: {exc}")


def parse_in_order(
    items: Iterable[tuple[T, Path]], workers: int, max_bytes: int
) -> Iterator[tuple[T, Outcome]]:
    """Outcomes in input order; `workers` processes parse ahead (0 = parse in this process)."""
    if workers <= 0:
        for item, path in items:
            yield item, safe_parse(path, max_bytes)
        return
    yield from _ParsePool(workers, max_bytes).run(iter(items))


class _ParsePool:
    """A process pool that keeps a bounded number of files in flight and survives crashes."""

    def __init__(self, workers: int, max_bytes: int) -> None:
        self._workers = workers
        self._max_bytes = max_bytes
        self._context = multiprocessing.get_context("spawn")  # torch threads do not fork well

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self._workers, mp_context=self._context)

    def run(self, items: Iterator[tuple[T, Path]]) -> Iterator[tuple[T, Outcome]]:
        pool = self._pool()
        pending: deque[tuple[T, Path, Future[Outcome]]] = deque()
        try:
            while True:
                while len(pending) < self._workers * 2 and (nxt := next(items, None)):
                    pending.append(
                        (nxt[0], nxt[1], pool.submit(safe_parse, nxt[1], self._max_bytes))
                    )
                if not pending:
                    return
                item, path, future = pending.popleft()
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    pool.shutdown(cancel_futures=True)
                    outcome = self._alone(path)  # was it this file, or another in flight?
                    pool = self._pool()
                    pending = deque(
                        (i, p, pool.submit(safe_parse, p, self._max_bytes)) for i, p, _ in pending
                    )
                yield item, outcome
        finally:
            pool.shutdown(cancel_futures=True)

    def _alone(self, path: Path) -> Outcome:
        with ProcessPoolExecutor(1, mp_context=self._context) as solo:
            try:
                return solo.submit(safe_parse, path, self._max_bytes).result()
            except BrokenProcessPool:
                return ParseError(_CRASHED)
