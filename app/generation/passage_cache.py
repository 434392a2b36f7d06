"""Computed key/value cells of prompt stretches (quoted passages, the opening), kept for reuse.

An entry is llama.cpp's serialised sequence state of one stretch of tokens, computed once after
the system prompt and reused by every later prompt that quotes the same text. Entries are keyed
by what produced them (`cell_key`: the model file, llama.cpp's version, the tokens before the
stretch and the stretch's own tokens), so a re-ingested passage with new text, another model
or another system prompt simply misses; old entries age out.

Two tiers, both least recently used out: a RAM tier (`ram_bytes`) and a folder on disk
(`disk_bytes`, survives restarts). Bytes only: access is checked where passages are chosen,
before any of their cells are asked for (a prompt only ever quotes passages its asker may read).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
SUFFIX = ".kv"


def cell_key(model: str, before: Sequence[int], tokens: Sequence[int]) -> str:
    """The key of the cells `tokens` get when read after `before` by `model` (a fingerprint of
    the model file and the llama.cpp build)."""
    digest = hashlib.sha256(model.encode("utf-8"))
    for part in (before, tokens):
        digest.update(b"\0" + ",".join(map(str, part)).encode("ascii"))
    return digest.hexdigest()[:40]


def model_fingerprint(path: Path, adapter: Path | None = None, scale: float = 1.0) -> str:
    """Changes when the model file, its LoRA adapter (and scale) or llama.cpp (whose state
    format may change) does."""
    import llama_cpp

    def file(p: Path) -> str:
        stat = p.stat()
        return f"{p.name}:{stat.st_size}:{stat.st_mtime_ns}"

    lora = f":lora={file(adapter)}@{scale}" if adapter is not None else ""
    return f"{file(path)}{lora}:llama_cpp-{llama_cpp.__version__}"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    stored: int = 0
    evicted: int = 0
    ram_bytes: int = 0
    disk_bytes: int = 0
    entries_on_disk: int = 0

    @property
    def hit_rate(self) -> float | None:
        asked = self.hits + self.misses
        return self.hits / asked if asked else None


class PassageCache:
    """Cells by key, in RAM and (when `folder` is given) on disk, each tier within its bytes."""

    def __init__(self, folder: Path | None, *, disk_bytes: int, ram_bytes: int) -> None:
        self.folder = folder
        self.disk_budget, self.ram_budget = disk_bytes, ram_bytes
        self.stats = CacheStats()
        self._ram: OrderedDict[str, bytes] = OrderedDict()
        self._disk: OrderedDict[str, int] = OrderedDict()  # key -> size, oldest use first
        self._lock = threading.Lock()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self._load_index(folder)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            cells = self._ram.get(key)
            if cells is not None:
                self._ram.move_to_end(key)
            elif key in self._disk:
                cells = self._read(key)
            if cells is None:
                self.stats.misses += 1
                return None
            self.stats.hits += 1
            if key in self._disk:
                self._disk.move_to_end(key)
                self._touch(key)
            self._keep_in_ram(key, cells)
            return cells

    def put(self, key: str, cells: bytes) -> None:
        with self._lock:
            self.stats.stored += 1
            self._keep_in_ram(key, cells)
            if self.folder is not None and key not in self._disk:
                self._write(key, cells)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._ram or key in self._disk

    def clear(self) -> None:
        with self._lock:
            self._ram.clear()
            self.stats.ram_bytes = 0
            for key in list(self._disk):
                self._drop_file(key)

    def _keep_in_ram(self, key: str, cells: bytes) -> None:
        if len(cells) > self.ram_budget:
            return
        if key not in self._ram:
            self._ram[key] = cells
            self.stats.ram_bytes += len(cells)
        self._ram.move_to_end(key)
        while self.stats.ram_bytes > self.ram_budget:
            _, dropped = self._ram.popitem(last=False)
            self.stats.ram_bytes -= len(dropped)

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / f"{key}{SUFFIX}"

    def _write(self, key: str, cells: bytes) -> None:
        if len(cells) > self.disk_budget:
            return
        while self._disk and self.stats.disk_bytes + len(cells) > self.disk_budget:
            self._drop_file(next(iter(self._disk)))
            self.stats.evicted += 1
        path = self._path(key)
        partial = path.with_suffix(".partial")
        try:
            partial.write_bytes(cells)
            os.replace(partial, path)  # never a half-written entry under its key
        except OSError as exc:
            log.warning("passage cache: could not write %s: %s", path, exc)
            partial.unlink(missing_ok=True)
            return
        self._disk[key] = len(cells)
        self.stats.disk_bytes += len(cells)
        self.stats.entries_on_disk = len(self._disk)

    def _read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except OSError:  # removed behind our back: forget it
            self._forget(key)
            return None

    def _touch(self, key: str) -> None:
        try:
            os.utime(self._path(key))  # the file's time is its last use, for the next start
        except OSError:
            self._forget(key)

    def _drop_file(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._forget(key)

    def _forget(self, key: str) -> None:
        size = self._disk.pop(key, None)
        if size is not None:
            self.stats.disk_bytes -= size
        self.stats.entries_on_disk = len(self._disk)

    def _load_index(self, folder: Path) -> None:
        for partial in folder.glob("*.partial"):
            partial.unlink(missing_ok=True)
        files = sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns)
        for path in files:
            size = path.stat().st_size
            self._disk[path.stem] = size
            self.stats.disk_bytes += size
        self.stats.entries_on_disk = len(self._disk)
        while self._disk and self.stats.disk_bytes > self.disk_budget:  # the budget shrank
            self._drop_file(next(iter(self._disk)))
            self.stats.evicted += 1
