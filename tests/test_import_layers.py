"""The import graph of `tfdis/` reads one way: no module imports a module of a higher layer.

Every `import` and `from ... import` in `tfdis/` (also those inside functions, which tfdis uses to
keep start-up light) is parsed with `ast`, and each module is placed in the layer of its longest
matching prefix in `LAYERS`.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "tfdis"

# Lowest first. A module may import its own layer and the layers before it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("tfdis.utils",),  # run-directory layout, results files, gin helpers, image grids
    ("tfdis.runtime",),  # what a loss needs inside a replica step (TensorFlow only)
    ("tfdis.data",),
    ("tfdis.posteriors",),
    ("tfdis.estimators",),  # TC and ELBO estimators over posteriors
    # Metrics score codes given a dataset: pure functions of data, estimators and utils, so
    # training can score its in-memory model during training (`model.eval_metrics`).
    ("tfdis.evaluation.metrics",),
    ("tfdis.models",),
    # Representation functions of a model and the representation SavedModel (SavedModel files
    # through `tfdis.utils.saved_models`): evaluation during training scores the in-memory
    # model with postprocessing's own `mean_representation`.
    ("tfdis.postprocessing",),
    ("tfdis.training",),  # the training loop, devices and steps, the SavedModel export
    ("tfdis.aggregation",),  # results of many runs (UDR groups its runs by their seeds)
    ("tfdis.evaluation",),
    ("tfdis.visualization",),
    ("tfdis.config",),  # studies and the study runner
    ("tfdis.cli", "tfdis.testing"),
)

# (importer, imported) pairs allowed to point up, each with its reason. None are needed now.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}


def _layer(module: str) -> int | None:
    best, best_length = None, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    return best


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = PACKAGE.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _imported_modules(source: str, module: str, is_package: bool) -> set[str]:
    """The tfdis modules `source` (the text of `module`) imports; `from a import b` counts as
    `a` and, when `a.b` is a module, as `a.b` too."""
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin)
            found.update(
                f"{origin}.{alias.name}"
                for alias in node.names
                if _is_module(f"{origin}.{alias.name}")
            )
    return {name for name in found if name == "tfdis" or name.startswith("tfdis.")}


def _edges() -> list[tuple[str, str]]:
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        imported = _imported_modules(path.read_text(), module, path.name == "__init__.py")
        edges.extend((module, name) for name in sorted(imported))
    return edges


def test_every_module_has_a_layer():
    modules = {_module_name(path) for path in PACKAGE.rglob("*.py")} - {"tfdis"}
    unplaced = sorted(module for module in modules if _layer(module) is None)
    assert not unplaced, f"modules outside every layer (add them to LAYERS): {unplaced}"


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{importer} (layer {LAYERS[_layer(importer)][0]}) imports {imported} "
        f"(layer {LAYERS[_layer(imported)][0]})"
        for importer, imported in _edges()
        if imported != "tfdis"
        and _layer(importer) is not None
        and _layer(imported) is not None
        and _layer(imported) > _layer(importer)
        and (importer, imported) not in ALLOWED_UPWARD
    ]
    assert not upward, "imports that point up the layers:\n" + "\n".join(upward)


def test_allowed_exceptions_are_still_needed():
    edges = set(_edges())
    stale = [pair for pair in ALLOWED_UPWARD if pair not in edges]
    assert not stale, f"ALLOWED_UPWARD lists imports that no longer exist: {stale}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from tfdis.training import devices\n", {"tfdis.training", "tfdis.training.devices"}),
        ("import tfdis.models.vae\n", {"tfdis.models.vae"}),
        ("def f():\n    from tfdis.cli import common\n", {"tfdis.cli", "tfdis.cli.common"}),
        ("from . import replicas\n", {"tfdis.runtime", "tfdis.runtime.replicas"}),
        ("import numpy as np\n", set()),
    ],
)
def test_the_parser_sees_every_kind_of_import(source, expected):
    assert _imported_modules(source, "tfdis.runtime", is_package=True) == expected


def test_a_higher_import_is_caught():
    """The check is not vacuous: a models module importing training is an upward edge."""
    imported = _imported_modules("from tfdis.training import devices\n", "tfdis.models.vae", False)
    assert max(_layer(name) for name in imported) > _layer("tfdis.models.vae")
