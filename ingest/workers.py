"""Parse files in worker processes while the caller embeds and writes (a pipeline)."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TypeVar

from ingest.guards import check_file
from ingest.ocr import OCR_OFF, OcrOptions, engine_for
from ingest.parse import ParseError, parse_file
from ingest.types import ParsedDocument

T = TypeVar("T")
Outcome = ParsedDocument | ParseError
_CRASHED = "the parser process died on this file (out of memory, or a crash in a library)"
_VANISHED = "the file disappeared before it was read (deleted or moved during ingestion)"
_SLOW = "parsing took longer than {seconds:g} s and was stopped (DOCENT_PARSE_TIMEOUT)"


def safe_parse(path: Path, max_bytes: int, ocr: OcrOptions = OCR_OFF) -> Outcome:
    """Check and parse, returning the error instead of raising it (it crosses processes)."""
    try:
        check_file(path, max_bytes, ocr)
        return parse_file(path, ocr)
    except ParseError as exc:
        return exc
    except FileNotFoundError:
        return ParseError(_VANISHED)
    except OSError as exc:  # unreadable: permissions, a name too long, an I/O error
        return ParseError(f"cannot read the file: {exc.strerror or exc}")
    except Exception as exc:  # a parser bug on a hostile file must not stop the batch
        return ParseError(f"{type(exc).__name__}: {exc}")


def exit_with_parent(parent_pid: int, every: float = 0.5) -> None:
    """Run in each worker at start: a thread that ends the worker once the process that
    started it is gone (SIGKILLed, OOM-killed), so no parser outlives the server or CLI.

    A dead parent's children are adopted by another process, so `getppid()` changes. (Linux's
    parent-death signal is not used: it fires when the *thread* that started the worker ends,
    and pools here are driven from short-lived worker threads.)"""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every)
        os._exit(1)

    if os.getppid() != parent_pid:  # died before this worker started
        os._exit(1)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def warm_up(ocr: OcrOptions = OCR_OFF) -> bool:
    """Import the parsers (and load the OCR models) a worker needs before its first timed
    file (seconds of imports)."""
    with tempfile.TemporaryDirectory() as folder:
        sample = Path(folder) / "warm-up.md"
        sample.write_text("# Warm-up\n\nA sentence to parse.\n", encoding="utf-8")
        safe_parse(sample, 1 << 20)
    if ocr.enabled:
        engine_for(ocr)
    return True


def parse_in_order(
    items: Iterable[tuple[T, Path]],
    workers: int,
    max_bytes: int,
    timeout: float | None = None,
    ocr: OcrOptions = OCR_OFF,
) -> Iterator[tuple[T, Outcome]]:
    """Outcomes in input order; `workers` processes parse ahead (0 = parse in this process).
    With workers, a file still parsing `timeout` seconds after its turn came is stopped (its
    worker killed) and reported as failed; inline parsing cannot be stopped."""
    if workers <= 0:
        for item, path in items:
            yield item, safe_parse(path, max_bytes, ocr)
        return
    yield from _ParsePool(workers, max_bytes, timeout, ocr).run(iter(items))


class _ParsePool:
    """A process pool that keeps a bounded number of files in flight and survives crashes
    and files that never finish."""

    def __init__(
        self, workers: int, max_bytes: int, timeout: float | None, ocr: OcrOptions
    ) -> None:
        self._workers = workers
        self._max_bytes = max_bytes
        self._ocr = ocr
        self._timeout = timeout
        self._context = multiprocessing.get_context("spawn")  # torch threads do not fork well

    def _pool(self) -> ProcessPoolExecutor:
        pool = self._executor(self._workers)
        if self._timeout is not None:  # imports must not count against the first file
            for ready in [pool.submit(warm_up, self._ocr) for _ in range(self._workers)]:
                ready.result()
        return pool

    def _executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            workers,
            mp_context=self._context,
            initializer=exit_with_parent,
            initargs=(os.getpid(),),
        )

    def run(self, items: Iterator[tuple[T, Path]]) -> Iterator[tuple[T, Outcome]]:
        pool = self._pool()
        pending: deque[tuple[T, Path, Future[Outcome]]] = deque()
        try:
            while True:
                while len(pending) < self._workers * 2 and (nxt := next(items, None)):
                    pending.append((nxt[0], nxt[1], self._submit(pool, nxt[1])))
                if not pending:
                    return
                item, path, future = pending.popleft()
                try:
                    outcome = future.result(timeout=self._timeout)
                except FutureTimeout:
                    _kill_workers(pool)
                    outcome = ParseError(_SLOW.format(seconds=self._timeout))
                    pool, pending = self._restart(pending)
                except BrokenProcessPool:
                    pool.shutdown(cancel_futures=True)
                    outcome = self._alone(path)  # was it this file, or another in flight?
                    pool, pending = self._restart(pending)
                yield item, outcome
        finally:
            pool.shutdown(cancel_futures=True)

    def _restart(
        self, pending: deque[tuple[T, Path, Future[Outcome]]]
    ) -> tuple[ProcessPoolExecutor, deque[tuple[T, Path, Future[Outcome]]]]:
        """A fresh pool, with the files that were in flight in the old one submitted again."""
        pool = self._pool()
        again = deque((i, p, self._submit(pool, p)) for i, p, _ in pending)
        return pool, again

    def _submit(self, pool: ProcessPoolExecutor, path: Path) -> Future[Outcome]:
        return pool.submit(safe_parse, path, self._max_bytes, self._ocr)

    def _alone(self, path: Path) -> Outcome:
        solo = self._executor(1)
        try:
            return self._submit(solo, path).result(timeout=self._timeout)
        except BrokenProcessPool:
            return ParseError(_CRASHED)
        except FutureTimeout:
            _kill_workers(solo)
            return ParseError(_SLOW.format(seconds=self._timeout))
        finally:
            solo.shutdown(cancel_futures=True)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool whose worker is stuck in a parser. The executor has no public way to kill
    its processes before Python 3.14 (`terminate_workers`), hence its `_processes`."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        process.kill()
    for process in processes:
        process.join(timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)
