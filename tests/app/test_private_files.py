"""What docent writes under DATA_DIR is readable by its own user only (issue #15, finding 8)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from app.accounts import Passwords, open_accounts
from app.cli.main import cli
from app.private import private_dir
from app.settings import Settings
from app.web import create_app
from tests.app.sample import services_on_disk


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A typical login umask (022: files 0644, folders 0755), restored afterwards."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def _modes(root: Path) -> dict[str, str]:
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def test_the_data_dir_and_everything_written_in_it_is_owner_only(
    loose_umask: None, tmp_path: Path, passwords: Passwords
) -> None:
    """Uploads, the app database, the catalog, the vector store and the operator token: folders
    0700, files 0600, with the process started the way `docent` starts it."""
    assert CliRunner().invoke(cli, ["config"]).exit_code == 0  # `docent` sets the umask first
    settings = Settings(data_dir=tmp_path / "data")
    accounts = open_accounts(settings, passwords)
    accounts.create_user("alice", password="correct horse battery")
    services = services_on_disk(settings, accounts)
    try:
        app = create_app(settings, services)
        with TestClient(app):  # the operator token
            (app.state.admin.uploads.incoming / "upload.pdf").write_bytes(b"%PDF-")
    finally:
        services.store.close()
        services.catalog.close()
        accounts.close()
    modes = _modes(settings.data_dir)
    assert {"docent.db", "operator.token", "uploads"} <= set(modes)  # the catalog: in docent.db
    assert any(name.startswith(settings.qdrant_path.name + os.sep) for name in modes)
    loose = {
        name: mode
        for name, mode in modes.items()
        if mode != ("0o700" if (settings.data_dir / name).is_dir() else "0o600")
    }
    assert loose == {}


def test_a_data_dir_left_open_by_an_older_docent_is_tightened(
    loose_umask: None, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    private_dir(data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
