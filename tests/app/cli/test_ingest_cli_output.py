"""File names are shown as they are: rich markup in a name stays literal, control bytes escaped."""

from __future__ import annotations

import io

from rich.console import Console

from app.cli.ingest import print_summary, shown
from ingest.pipeline import IngestResult


def test_markup_and_control_characters_in_names_are_inert() -> None:
    assert shown("[bold]x.md").plain == "[bold]x.md"
    assert shown("a\x1b[31mred\nb.txt").plain == "a\\x1b[31mred\\nb.txt"


def test_summary_lists_hostile_names_literally() -> None:
    console = Console(file=io.StringIO(), width=200, record=True)
    results = [
        IngestResult("/docs/[bold]x.md", "failed", reason="damaged [red]PDF"),
        IngestResult("/docs/ok.md", "new", chunks=2),
    ]
    print_summary(results, console)
    output = console.export_text()
    assert "[bold]x.md" in output and "damaged [red]PDF" in output
