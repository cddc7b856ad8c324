"""The layering contract (issue 18): no import cycle among Atlas's modules, no two components that import each other,
and no import from a lower layer up to a higher one.

The graph is ``scripts/layers.py``'s, read from the source with ``ast``: every import statement that names an atlas
module, at module level or inside a function, and here also those under ``if TYPE_CHECKING:`` (stricter than what
runs: a type-only import still says one component knows another). The layers are ``scripts/layers.py``'s ``LAYERS``;
``docs/architecture.md`` draws and explains them. Each test's failure message names the arrows to remove.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_layers():  # scripts/ is not a package: load the script as a module
    spec = importlib.util.spec_from_file_location("atlas_layers_script", ROOT / "scripts" / "layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


layers = _load_layers()


@pytest.fixture(scope="module")
def graph():
    """Atlas's import graph, type-only imports included (parsing every file takes a few seconds: once)."""
    return layers.build(type_checking=True)


def mutual_pairs(graph) -> dict[tuple[str, str], list[str]]:
    between = layers.component_arrows(graph)
    return {
        (a, b): [f"{x} -> {y}" for x, y in between[(a, b)] + between[(b, a)]]
        for (a, b) in between
        if a < b and (b, a) in between
    }


def upward_summary(graph) -> str:
    up = layers.upward(graph)
    lines = [f"{len(up)} component arrows run from a lower layer up to a higher one (scripts/layers.py lists them):"]
    lines += [f"  {a} ({layers.LAYERS.get(a)}) -> {b} ({layers.LAYERS.get(b)})" for a, b in up]
    return "\n".join(lines)


def test_no_import_cycle(graph):
    found = [" <-> ".join(cycle) for cycle in layers.cycles(graph)]
    assert not found, "import cycle (break it; see docs/architecture.md):\n" + "\n".join(found)


def test_no_two_components_import_each_other(graph):
    pairs = mutual_pairs(graph)
    assert not pairs, "two components import each other (import only downwards; see docs/architecture.md):\n" + (
        "\n".join(f"{a} <-> {b}: {', '.join(arrows)}" for (a, b), arrows in pairs.items())
    )


def test_every_component_imports_only_components_below_it(graph):
    up = layers.upward(graph)
    assert not up, (
        upward_summary(graph) + "\n" + "\n".join(f"  {x} -> {y}" for arrows in up.values() for x, y in arrows)
    )


def test_the_cycles_this_contract_was_written_against_stay_gone(graph):
    """Issue 18's first part: Moyasar keys, provisioning, approvals' dispatch, plan limits, the session cookie."""
    between = layers.component_arrows(graph)
    assert ("atlas.config", "atlas.billing") not in between
    assert ("atlas.platform", "atlas.billing") not in between
    assert ("atlas.connectors", "atlas.billing") not in between
    assert ("atlas.billing", "atlas.connectors") not in between
    assert ("atlas.mapping", "atlas.billing") not in between
    assert ("atlas.billing", "atlas.mapping") not in between
    assert "atlas.web.context" not in graph.arrows["atlas.platform.controllers"]
    assert "atlas.approvals.activities" not in graph.arrows["atlas.approvals.dispatch"]
    # Deciding (issue 18): the AI engine imports neither the policy nor the approvals nor billing, the policy not
    # the approvals, the presets not the AI engine (analysis runs and the recommendation writes are the approvals',
    # a saved policy reaches the workflows through atlas.wiring, the draft imports are the approvals').
    for lower, higher in [
        ("atlas.ai_engine", "atlas.approvals"),
        ("atlas.ai_engine", "atlas.policy"),
        ("atlas.ai_engine", "atlas.billing"),
        ("atlas.policy", "atlas.approvals"),
        ("atlas.presets", "atlas.ai_engine"),
    ]:
        assert (lower, higher) not in between, between.get((lower, higher))


def test_every_component_has_a_layer(graph):
    assert layers.unlayered(graph) == []


def test_the_graph_sees_every_kind_of_import(tmp_path):
    """A made-up package with one cycle of each kind the contract must see, and one it must not."""
    package = tmp_path / "pkg"
    (package / "a").mkdir(parents=True)
    (package / "b").mkdir()
    for init in (package / "__init__.py", package / "a" / "__init__.py", package / "b" / "__init__.py"):
        init.write_text("")
    (package / "a" / "top.py").write_text("from pkg.b.top import thing\n")  # module level
    (package / "b" / "top.py").write_text("def f():\n    from pkg.a import top\n")  # in a function: a cycle
    (package / "a" / "rel.py").write_text("from . import peer\n")  # relative
    (package / "a" / "peer.py").write_text("import pkg.a.rel\n")
    (package / "a" / "typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b.typed import T\n"
    )
    (package / "b" / "typed.py").write_text("from pkg.a.typed import U\n")
    running = layers.build(tmp_path, "pkg")
    typed = layers.build(tmp_path, "pkg", type_checking=True)
    expected = [("pkg.a.peer", "pkg.a.rel"), ("pkg.a.top", "pkg.b.top")]
    assert layers.cycles(running) == expected
    assert layers.cycles(typed) == [*expected, ("pkg.a.typed", "pkg.b.typed")]
    assert layers.upward(typed, {"pkg.a": 0, "pkg.b": 1}) == {
        ("pkg.a", "pkg.b"): [("pkg.a.top", "pkg.b.top"), ("pkg.a.typed", "pkg.b.typed")]
    }
    assert layers.upward(typed, {"pkg.a": 1, "pkg.b": 0}) == {
        ("pkg.b", "pkg.a"): [("pkg.b.top", "pkg.a.top"), ("pkg.b.typed", "pkg.a.typed")]
    }
    assert mutual_pairs(typed) == {
        ("pkg.a", "pkg.b"): [
            "pkg.a.top -> pkg.b.top",
            "pkg.a.typed -> pkg.b.typed",
            "pkg.b.top -> pkg.a.top",
            "pkg.b.typed -> pkg.a.typed",
        ]
    }
