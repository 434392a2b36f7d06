"""The passage cell cache: keys, two tiers within their budgets, restarts."""

from __future__ import annotations

import os
from pathlib import Path

from app.generation.passage_cache import PassageCache, cell_key, model_fingerprint


def cells(size: int, fill: int = 1) -> bytes:
    return bytes([fill]) * size


def test_the_key_changes_with_the_model_the_tokens_before_and_the_tokens() -> None:
    base = cell_key("model-a", [1, 2], [3, 4])
    assert base == cell_key("model-a", [1, 2], [3, 4])
    assert len({base, cell_key("model-b", [1, 2], [3, 4])}) == 2
    assert len({base, cell_key("model-a", [1, 9], [3, 4])}) == 2
    assert len({base, cell_key("model-a", [1, 2], [3, 5])}) == 2
    assert cell_key("m", [1, 2], [3]) != cell_key("m", [1], [2, 3])  # where the cut is counts


def test_cells_come_back_from_memory_and_from_disk_after_a_restart(tmp_path: Path) -> None:
    cache = PassageCache(tmp_path, disk_bytes=1000, ram_bytes=1000)
    cache.put("k1", cells(100, 7))
    assert cache.get("k1") == cells(100, 7)
    assert cache.get("missing") is None
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)

    again = PassageCache(tmp_path, disk_bytes=1000, ram_bytes=1000)
    assert again.stats.disk_bytes == 100 and again.stats.ram_bytes == 0
    assert again.get("k1") == cells(100, 7)
    assert again.stats.ram_bytes == 100  # read once, kept in memory


def test_memory_only_without_a_folder() -> None:
    cache = PassageCache(None, disk_bytes=1000, ram_bytes=250)
    for key in ("a", "b", "c"):
        cache.put(key, cells(100))
    assert cache.get("a") is None  # least recently used, out of memory; no disk behind it
    assert cache.get("c") == cells(100)
    assert cache.stats.ram_bytes == 200


def test_disk_stays_within_its_budget_least_recently_used_out(tmp_path: Path) -> None:
    cache = PassageCache(tmp_path, disk_bytes=300, ram_bytes=0)
    for key in ("a", "b", "c"):
        cache.put(key, cells(100))
    assert cache.get("a") == cells(100)  # used: now the most recent
    cache.put("d", cells(100))
    assert "b" not in cache and "a" in cache and "d" in cache
    assert cache.stats.disk_bytes == 300 and cache.stats.evicted == 1
    assert sorted(p.stem for p in tmp_path.glob("*.kv")) == ["a", "c", "d"]


def test_an_entry_larger_than_a_tier_is_not_kept_there(tmp_path: Path) -> None:
    cache = PassageCache(tmp_path, disk_bytes=50, ram_bytes=50)
    cache.put("big", cells(100))
    assert "big" not in cache
    assert cache.stats.disk_bytes == 0 and cache.stats.ram_bytes == 0


def test_a_smaller_budget_at_start_evicts_the_oldest_and_half_written_files_go(
    tmp_path: Path,
) -> None:
    cache = PassageCache(tmp_path, disk_bytes=1000, ram_bytes=0)
    for age, key in enumerate(("old", "mid", "new")):
        cache.put(key, cells(100))
        os.utime(tmp_path / f"{key}.kv", ns=(10**18 + age, 10**18 + age))
    cache.get("old")  # its file's time becomes now: the newest
    (tmp_path / "crash.partial").write_bytes(b"half")

    smaller = PassageCache(tmp_path, disk_bytes=200, ram_bytes=0)
    assert "mid" not in smaller and "old" in smaller and "new" in smaller
    assert not (tmp_path / "crash.partial").exists()


def test_a_file_removed_behind_the_cache_is_a_miss_not_an_error(tmp_path: Path) -> None:
    cache = PassageCache(tmp_path, disk_bytes=1000, ram_bytes=0)
    cache.put("k", cells(10))
    (tmp_path / "k.kv").unlink()
    assert cache.get("k") is None
    assert cache.stats.disk_bytes == 0 and "k" not in cache


def test_clear_empties_both_tiers(tmp_path: Path) -> None:
    cache = PassageCache(tmp_path, disk_bytes=1000, ram_bytes=1000)
    cache.put("k", cells(10))
    cache.clear()
    assert "k" not in cache and not list(tmp_path.glob("*.kv"))
    assert cache.stats.ram_bytes == 0 and cache.stats.disk_bytes == 0


def test_the_model_fingerprint_changes_with_the_adapter_and_its_scale(tmp_path: Path) -> None:
    model, adapter = tmp_path / "model.gguf", tmp_path / "adapter.gguf"
    model.write_bytes(b"model")
    adapter.write_bytes(b"adapter")
    plain = model_fingerprint(model)
    assert plain == model_fingerprint(model)
    tuned = model_fingerprint(model, adapter)
    assert len({plain, tuned, model_fingerprint(model, adapter, 0.5)}) == 3
    adapter.write_bytes(b"adapter, trained again")
    assert model_fingerprint(model, adapter) != tuned
