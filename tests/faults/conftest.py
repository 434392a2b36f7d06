"""One prepared knowledge base for the fault tests (the CLI is slow to start: made once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.site import make_template


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return make_template(tmp_path_factory.mktemp("faults-template"))
