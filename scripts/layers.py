"""Atlas's own import graph: its cycles, and the arrows that run from a lower layer up to a higher one.

    .venv/bin/python scripts/layers.py            # counts, every cycle, every upward arrow
    .venv/bin/python scripts/layers.py --counts   # the counts only
    .venv/bin/python scripts/layers.py --type-checking   # imports under ``if TYPE_CHECKING:`` count too

The graph is read from the source (``ast``), never by importing it: a node is a module of ``atlas/`` (tests
excluded), an arrow is an import statement in it that names another ``atlas`` module, at module level or inside a
function alike. ``from atlas.x import y`` points at ``atlas.x.y`` when that is a module, else at ``atlas.x``.
Imports under ``if TYPE_CHECKING:`` are left out: they never run, so they can neither form a cycle at import time
nor make one component need another at run time. The parent packages Python runs on the way
(``atlas/x/__init__.py``) are not arrows of their own; they only re-export.

A component is a top-level name under ``atlas/`` (``atlas.billing``, ``atlas.config``). Its layer is in ``LAYERS``
below (docs/architecture.md draws the same table); ``tests/test_layers.py`` is the contract that holds the code to
it.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ATLAS = ROOT / "atlas"

# Bottom (0) to top. A component may import its own layer's neighbours only when no cycle results, and any lower
# layer freely; an arrow to a higher layer is an upward arrow (counted, and listed by this script).
LAYERS: dict[str, int] = {
    # 0: the base every component stands on: settings, errors, the database, text, logging.
    "atlas.config": 0,
    "atlas.errors": 0,
    "atlas.bounds": 0,
    "atlas.observability": 0,
    "atlas.collector": 0,
    "atlas.i18n": 0,
    "atlas.moyasar_keys": 0,
    # ZATCA Phase 2 documents: UBL, hash, XAdES signature, QR, CSR (a pure library: lxml, cryptography, msgspec).
    "atlas.einvoicing": 0,
    "atlas.invoice_party": 0,
    "atlas.db": 0,
    # The request parameters every controller and page parses the same way (limit, offset, cursor, page, text).
    "atlas.web.params": 0,
    # 1: tenants, users, sessions, roles and permissions, audit trail, entitlements (what a tenant's plan allows).
    "atlas.platform": 1,
    # 2: the execution lock, the bottom of the trusted base: it depends on nothing above the platform; and what every
    # component's Temporal activities stand on (the worker's database and settings, the heartbeat helper).
    "atlas.execution_lock": 2,
    "atlas.durable": 2,
    # The web layer's lower half: what every component's pages and controllers share (layout, guards, dependencies,
    # formatting). The app factory and the pages that assemble several components stay in ``atlas.web``, on top.
    "atlas.web.ui": 2,
    # 3: reading customer systems, and turning what they answer into canonical rows.
    "atlas.connectors": 3,
    "atlas.mapping": 4,
    "atlas.presets": 5,
    # 6: deciding: the analysis and its recommendations, the policies that check them, the approvals that act on them.
    "atlas.ai_engine": 6,
    "atlas.policy": 7,
    "atlas.approvals": 8,
    # 9: billing: plans, trial, subscriptions, payments, invoices (writes the entitlements the platform keeps).
    "atlas.billing": 9,
    # 10: the composition that connects billing's plan limits and the usage counts to the platform's entitlements.
    "atlas.wiring": 10,
    # 11: durable execution: Temporal workflows and activities that call every component's services.
    "atlas.workflows": 11,
    # 12: the web app that assembles every component's controllers and pages.
    "atlas.web": 12,
    # 13: entry points nothing imports: the command line, the demo, every table for Alembic.
    "atlas.models": 13,
    # Alembic's environment: an entry point Alembic runs, which needs every table (atlas.models); nothing imports it.
    "atlas.db.migrations": 13,
    "atlas.cli": 13,
    "atlas.audit_cli": 13,
    "atlas.demo": 13,
    # The local ZATCA gateway (`atlas zatca-fake`): a stand-in for ZATCA, run by the CLI and the demo; no component
    # imports it (Atlas's e-invoicing must not lean on it), and it imports nothing of Atlas's but the base.
    "atlas.zatca_fake": 13,
}


@dataclass(frozen=True)
class Graph:
    """Every atlas module and the atlas modules it imports."""

    modules: frozenset[str]
    arrows: dict[str, frozenset[str]]

    def components(self) -> dict[str, str]:
        return {module: component_of(module) for module in self.modules}


def component_of(module: str) -> str:
    """The component a module belongs to: its top-level name under ``atlas/`` (``atlas.billing``), or the longest
    sub-package or module that ``LAYERS`` names on its own (``atlas.web.ui``, ``atlas.db.migrations``) — a package
    whose parts sit in different layers lists each part."""
    parts = module.split(".")
    for end in range(len(parts), 2, -1):
        candidate = ".".join(parts[:end])
        if candidate in LAYERS:
            return candidate
    return ".".join(parts[:2])


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_nodes(tree: ast.AST, type_checking: bool = False) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: anywhere in the file (functions too), except under
    ``if TYPE_CHECKING:`` unless ``type_checking`` asks for those too."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and is_type_checking(node.test) and not type_checking:
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def imported_names(tree: ast.AST, module: str, is_package: bool, type_checking: bool = False) -> Iterator[str]:
    """The dotted name of each import: ``import m`` is ``m``, ``from m import n`` is ``m.n`` (a module or a name)."""
    for node in import_nodes(tree, type_checking):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
            continue
        base = node.module or ""
        if node.level:
            package = module if is_package else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        for alias in node.names:
            yield f"{base}.{alias.name}"


def resolve(name: str, modules: frozenset[str]) -> str | None:
    """The deepest atlas module a dotted name reaches (``atlas.x.y.Name`` -> ``atlas.x.y``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def build(root: Path = ROOT, package: str = "atlas", type_checking: bool = False) -> Graph:
    """The graph of ``root/package``; ``type_checking`` counts the imports under ``if TYPE_CHECKING:`` as well."""
    files = {module_name(path, root): path for path in sorted((root / package).rglob("*.py"))}
    modules = frozenset(files)
    arrows: dict[str, frozenset[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets: set[str] = set()
        for name in imported_names(tree, module, path.name == "__init__.py", type_checking):
            target = resolve(name, modules)
            if target is not None and target != module:
                targets.add(target)
        arrows[module] = frozenset(targets)
    return Graph(modules=modules, arrows=arrows)


def strongly_connected(arrows: dict[str, frozenset[str]]) -> list[tuple[str, ...]]:
    """Strongly connected components with more than one node, each sorted, smallest first (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[tuple[str, ...]] = []
    counter = 0
    for start in sorted(arrows):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(arrows[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(arrows.get(successor, ())))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1:
                    found.append(tuple(sorted(members)))
    return sorted(found, key=lambda c: (len(c), c))


def cycles(graph: Graph) -> list[tuple[str, ...]]:
    """Module cycles: strongly connected sets of modules, within one component or across several."""
    return strongly_connected(graph.arrows)


def component_cycles(graph: Graph) -> list[tuple[str, ...]]:
    """Component cycles: components that import each other, through any of their modules."""
    between: dict[str, set[str]] = defaultdict(set)
    for source, target in component_arrows(graph):
        between[source].add(target)
    return strongly_connected({c: frozenset(between[c]) for c in {component_of(m) for m in graph.modules}})


def component_arrows(graph: Graph) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Arrows between components, each with the module arrows that make it."""
    between: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for module, targets in graph.arrows.items():
        for target in sorted(targets):
            pair = (component_of(module), component_of(target))
            if pair[0] != pair[1]:
                between[pair].append((module, target))
    return dict(sorted(between.items()))


def upward(graph: Graph, layers: dict[str, int] = LAYERS) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Component arrows from a lower layer to a higher one."""
    return {
        pair: made
        for pair, made in component_arrows(graph).items()
        if layers.get(pair[0], -1) < layers.get(pair[1], -1) or pair[0] not in layers or pair[1] not in layers
    }


def unlayered(graph: Graph, layers: dict[str, int] = LAYERS) -> list[str]:
    return sorted({component_of(m) for m in graph.modules if m != "atlas"} - set(layers))


def report(graph: Graph, counts_only: bool = False) -> Iterable[str]:
    found = cycles(graph)
    across = [c for c in found if len({component_of(m) for m in c}) > 1]
    between = component_arrows(graph)
    up = upward(graph)
    tangled = component_cycles(graph)
    yield (
        f"modules {len(graph.modules)}, component arrows {len(between)}, upward {len(up)}, "
        f"module cycles {len(found)} (across components {len(across)}, within one {len(found) - len(across)}), "
        f"component cycles {len(tangled)}"
    )
    if counts_only:
        return
    for cycle in found:
        yield "module cycle: " + " <-> ".join(cycle)
    for cycle in tangled:
        yield "component cycle: " + " <-> ".join(cycle)
    for (source, target), made in up.items():
        yield f"upward: {source} ({LAYERS.get(source)}) -> {target} ({LAYERS.get(target)}): " + ", ".join(
            f"{a} -> {b}" for a, b in made
        )
    for name in unlayered(graph):
        yield f"not in a layer: {name}"


def main(argv: list[str]) -> int:
    graph = build(type_checking="--type-checking" in argv)
    for line in report(graph, counts_only="--counts" in argv):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
