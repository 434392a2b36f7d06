"""The chat-model catalog."""

from __future__ import annotations

import re

import pytest

from app.models.catalog import (
    CATALOG,
    DEFAULT_MODEL,
    OFFLINE_MODEL,
    UnknownModelError,
    get_spec,
)


def test_default_and_offline_models() -> None:
    default = get_spec(DEFAULT_MODEL)
    assert default.source == "hub" and default.repo == "bartowski/Qwen2.5-7B-Instruct-GGUF"
    assert default.filename == "Qwen2.5-7B-Instruct-Q4_K_M.gguf"
    offline = get_spec(OFFLINE_MODEL)
    assert offline.source == "packaged" and offline.repo is None
    assert offline.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert offline.size_bytes == 1117320768


@pytest.mark.parametrize("spec", list(CATALOG.values()), ids=list(CATALOG))
def test_entries_are_consistent(spec: object) -> None:
    from app.models.catalog import ChatModelSpec

    assert isinstance(spec, ChatModelSpec)
    assert CATALOG[spec.name] is spec
    assert spec.filename.endswith(".gguf") and spec.title and spec.license
    assert spec.context_length >= 2048
    assert (spec.repo is not None) == (spec.source == "hub")
    assert spec.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    if spec.source == "packaged" and spec.name != "smollm2-135m":
        assert spec.sha256 is not None  # assembled files must be pinned
    assert spec.checksum_origin


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(UnknownModelError) as info:
        get_spec("gpt-5")
    assert isinstance(info.value, ValueError)
    for name in CATALOG:
        assert name in str(info.value)


def test_catalog_is_immutable() -> None:
    spec = get_spec(DEFAULT_MODEL)
    with pytest.raises(AttributeError):
        spec.sha256 = "0" * 64  # type: ignore[misc]
