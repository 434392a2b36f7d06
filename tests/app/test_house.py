"""The rules of the house, checked on the source: routes import the core and the shared web
modules, never another route or the CLI; only the CLI imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(APP.parent).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _defines_routes(path: Path) -> bool:
    return "= APIRouter(" in path.read_text()


SOURCES = {_module(p): p for p in APP.rglob("*.py")}
ROUTES = {name for name, path in SOURCES.items() if _defines_routes(path)}


def test_the_route_modules_are_found() -> None:
    assert {"app.web.chat", "app.web.api", "app.web.admin.documents"} <= ROUTES


def test_no_route_imports_another_route() -> None:
    crossings = {
        (name, imported)
        for name in ROUTES
        if SOURCES[name].name != "__init__.py"  # a package putting its routers together
        for imported in _imports(SOURCES[name]) & ROUTES
        if imported != name and SOURCES[imported].name != "__init__.py"
    }
    assert crossings == set()


def test_only_the_cli_imports_the_cli() -> None:
    crossings = {
        (name, imported)
        for name, path in SOURCES.items()
        if not name.startswith("app.cli")
        for imported in _imports(path)
        if imported == "app.cli" or imported.startswith("app.cli.")
    }
    assert crossings == set()


def test_the_demo_builder_is_not_in_the_package() -> None:
    assert not any(
        "build_docs" in name or "fpdf" in str(_imports(p)) for name, p in SOURCES.items()
    )
