"""Dependencies point one way (DESIGN §3): no module imports a layer above its own."""

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers" / "shared" / "ghlsync"

# package -> the project packages (and shared top-level modules) it may import, itself included
ALLOWED = {
    "core": {"core"},
    "http": {"core", "http"},
    "mapping": {"core", "mapping", "ghl"},  # GHL ⇄ canonical reads the GHL models, no HTTP
    "ghl": {"core", "http", "ghl", "config", "observability"},
    "apps": {"core", "http", "ghl", "mapping", "apps", "config", "observability"},
}


def _imported_packages(path: Path) -> set[str]:
    """The ghlsync sub-packages a module imports, lazily or not."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {name.split(".")[1] for name in names if name.startswith("ghlsync.")}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_lower_layer_imports_nothing_above_it(package: str) -> None:
    # GIVEN every module of one of the lower layers
    modules = sorted((LAYER / package).rglob("*.py"))
    assert modules
    # WHEN their project imports are collected
    upward = {
        str(module.relative_to(LAYER)): sorted(_imported_packages(module) - ALLOWED[package])
        for module in modules
    }
    # THEN none reaches a layer above
    assert {module: names for module, names in upward.items() if names} == {}
