"""The layout tells the architecture: sizes, import directions and one list-making path."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "coldrec"
#: a package may import the packages listed after it, never those before it
LAYERS = ["cli", "serve", "experiments", "eval", "pipeline", "rerank", "models", "text", "data"]


def _modules(folder: Path) -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text())) for p in sorted(folder.rglob("*.py"))]


def _imports(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_function_over_80_lines_and_no_class_over_300() -> None:
    too_long = []
    for path, tree in _modules(SRC):
        for node in ast.walk(tree):
            lines = getattr(node, "end_lineno", 0) - getattr(node, "lineno", 0) + 1
            limit = 300 if isinstance(node, ast.ClassDef) else 80 if isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef) else None
            if limit is not None and lines > limit:
                too_long.append(f"{path.relative_to(SRC)}:{node.name} ({lines} lines)")
    assert not too_long


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_point_down(layer: str) -> None:
    above = LAYERS[:LAYERS.index(layer)]
    wrong = [f"{path.relative_to(SRC)} imports {name}"
             for path, tree in _modules(SRC / layer) for name in _imports(tree)
             if name.split(".")[:2][0] == "coldrec" and len(name.split(".")) > 1
             and name.split(".")[1] in above]
    assert not wrong


def test_the_registry_is_a_leaf_and_benchmarks_use_no_cli_code() -> None:
    models = [path.name for path, tree in _modules(SRC / "models")  # the package's face aside
              if path.name != "__init__.py" and "coldrec.models.registry" in _imports(tree)]
    assert models == []
    bench = [path.name for path, tree in _modules(ROOT / "benchmarks")
             if any(name.startswith("coldrec.cli") for name in _imports(tree))]
    assert bench == []


def test_one_place_assembles_lists_and_nothing_probes_capabilities() -> None:
    depth = [str(path.relative_to(SRC)) for path, _ in _modules(SRC)
             if "DEPTH_FACTOR" in path.read_text()]
    assert {p.split("/")[0] for p in depth} == {"pipeline"}
    for layer in ("eval", "serve", "cli"):
        probes = [f"{path.relative_to(SRC)}:{node.lineno}"
                  for path, tree in _modules(SRC / layer) for node in ast.walk(tree)
                  if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "hasattr"]
        assert not probes
