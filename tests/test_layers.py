"""The layering contract (issue 18): no import cycle among Atlas's modules, and a ledger of the components that
still import each other, both exact so that they only ever shrink.

The graph is ``scripts/layers.py``'s, read from the source with ``ast``: every import statement that names an atlas
module, at module level or inside a function, and here also those under ``if TYPE_CHECKING:`` (stricter than what
runs: a type-only import still says one component knows another). ``docs/architecture.md`` explains the layers.
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

# Module cycles that issue 18's later parts remove. Nothing else may be in a cycle; an entry that is no longer a
# cycle must be deleted from here (the test says so).
ALLOWED_MODULE_CYCLES: dict[frozenset[str], str] = {
    frozenset({"atlas.ai_engine.pages", "atlas.approvals.pages", "atlas.mapping.data_pages", "atlas.web.pages"}): (
        "the pages: web/pages assembles the dashboard from the AI and approvals cards, which import web/pages' "
        "layout, and the shared page helpers (pager, money and quantity formatting, ItemRepo) live in "
        "mapping/data_pages; they move to the web layer's lower half (atlas/web/ui/) in issue 18's pages part"
    ),
}

# Components that import each other (directly, both ways), with why and what removes each. Not module cycles (no
# module reaches itself), but each pair is a loop between two components that the layering forbids. Exact as well:
# a new pair fails, and a pair that is gone must be deleted here.
PAGES = (
    "its pages or controllers import web's page helpers (pages, paging, guards, dependencies) while web assembles "
    "them: the helpers move to the web layer's lower half, atlas/web/ui/ (issue 18, pages part)"
)
ALLOWED_COMPONENT_PAIRS: dict[tuple[str, str], str] = {
    ("atlas.ai_engine", "atlas.approvals"): (
        "the analysis starts approval workflows (approvals.dispatch, hooks) while approvals read recommendations "
        "and the AI pages: approvals build on the AI, not the reverse (issue 18, later part)"
    ),
    ("atlas.ai_engine", "atlas.policy"): (
        "the AI reads the policy's service levels through atlas.policy.services.analysis_settings while policy "
        "reads the AI's classes and models: the settings move to the AI's side (issue 18, later part)"
    ),
    ("atlas.ai_engine", "atlas.web"): PAGES,
    ("atlas.approvals", "atlas.policy"): (
        "a saved policy tells the approval workflows (policy.controllers imports approvals.dispatch)"
    ),
    ("atlas.approvals", "atlas.web"): PAGES,
    ("atlas.billing", "atlas.web"): PAGES,
    (
        "atlas.billing",
        "atlas.workflows",
    ): "billing.scheduling starts the renewal workflow (workflows.billing) that the worker registers with billing's activities",
    ("atlas.connectors", "atlas.mapping"): (
        "the connector page shows its mappings and syncs (connectors.pages imports mapping): it moves above both "
        "with the pages (issue 18, pages part)"
    ),
    ("atlas.connectors", "atlas.web"): PAGES,
    (
        "atlas.connectors",
        "atlas.workflows",
    ): "connectors.controllers sets sync schedules (workflows.schedules) that start the sync workflow",
    ("atlas.mapping", "atlas.web"): PAGES,
    ("atlas.platform", "atlas.web"): (
        "platform.controllers uses web.paging (cursor parameters): paging moves down with the shared helpers "
        "(issue 18, pages part)"
    ),
    ("atlas.policy", "atlas.web"): PAGES,
    ("atlas.presets", "atlas.web"): PAGES,
}


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


def test_no_import_cycle_but_the_listed_ones(graph):
    found = {frozenset(cycle) for cycle in layers.cycles(graph)}
    new = [" <-> ".join(sorted(c)) for c in found - set(ALLOWED_MODULE_CYCLES)]
    stale = [" <-> ".join(sorted(c)) for c in set(ALLOWED_MODULE_CYCLES) - found]
    assert not new, (
        "new import cycle (break it; see docs/architecture.md):\n" + "\n".join(new) + "\n" + (upward_summary(graph))
    )
    assert not stale, "no longer a cycle: delete it from ALLOWED_MODULE_CYCLES\n" + "\n".join(stale)


def test_components_import_each_other_only_where_the_ledger_says(graph):
    pairs = mutual_pairs(graph)
    new = {pair: arrows for pair, arrows in pairs.items() if pair not in ALLOWED_COMPONENT_PAIRS}
    stale = sorted(set(ALLOWED_COMPONENT_PAIRS) - set(pairs))
    assert not new, (
        "two components now import each other (import only downwards; see docs/architecture.md):\n"
        + "\n".join(f"{a} <-> {b}: {', '.join(arrows)}" for (a, b), arrows in new.items())
        + "\n"
        + upward_summary(graph)
    )
    assert not stale, "these no longer import each other: delete them from ALLOWED_COMPONENT_PAIRS\n" + "\n".join(
        f"{a} <-> {b}" for a, b in stale
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
    assert mutual_pairs(typed) == {
        ("pkg.a", "pkg.b"): [
            "pkg.a.top -> pkg.b.top",
            "pkg.a.typed -> pkg.b.typed",
            "pkg.b.top -> pkg.a.top",
            "pkg.b.typed -> pkg.a.typed",
        ]
    }
