"""The README stays true: every setting and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import typer.main

from app.cli.main import cli
from app.paths import PROJECT_ROOT
from app.settings import Settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [n for n in Settings.model_fields if f"`DOCENT_{n.upper()}`" not in README]
    assert missing == []


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_every_cli_command_is_documented_in_the_readme() -> None:
    group = typer.main.get_group(cli)
    commands: list[str] = []
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        commands += [f"docent {name} {s}" for s in sub] if sub else [f"docent {name}"]
    assert [c for c in commands if f"`{c}" not in README] == []


def test_readme_names_the_ci_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    assert "make test" in README


def test_importing_the_packages_loads_no_heavy_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, app, ingest, app.web, app.cli.main, app.answering.answer, app.services;"
        "heavy = {'torch', 'sentence_transformers', 'llama_cpp', 'unstructured', 'qdrant_client'};"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_paths_point_at_the_project_folders() -> None:
    for folder in ("prompts", "templates", "static"):
        assert (Path(PROJECT_ROOT) / folder).is_dir()
