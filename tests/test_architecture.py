"""Structural rules that must not erode (ARCHITECTURE rules 1 and 2)."""

from __future__ import annotations

import ast
from pathlib import Path

ATLAS = Path(__file__).resolve().parents[1] / "atlas"
HTTP_CLIENTS = {
    "httpx",
    "requests",
    "urllib3",
    "aiohttp",
    "http.client",
    "urllib.request",
    "pycurl",
    "httplib2",
    "authlib.integrations.httpx_client",
    "authlib.integrations.requests_client",
}
# The only modules that may hold an HTTP client: the execution lock's guarded transport (every request to a
# customer system), and the two clients of Atlas's own providers, never customers: sign-in's OIDC client and
# billing's Moyasar client.
ALLOWED = {
    "atlas/execution_lock/transport.py",
    "atlas/platform/oidc.py",
    "atlas/billing/moyasar.py",
    # The local Moyasar stand-in's webhook sender: it plays Moyasar (a third party) calling Atlas's webhook
    # endpoint, and never reaches a customer system.
    "atlas/billing/moyasar_fake/delivery.py",
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


def is_http_client(module: str) -> bool:
    return any(module == c or module.startswith(c + ".") for c in HTTP_CLIENTS)


def test_only_the_lock_and_the_provider_clients_import_an_http_client():
    offenders = []
    for path in ATLAS.rglob("*.py"):
        relative = path.relative_to(ATLAS.parent).as_posix()
        if relative in ALLOWED:
            continue
        bad = sorted(m for m in imported_modules(path) if is_http_client(m))
        if bad:
            offenders.append((relative, bad))
    assert offenders == []


def test_the_checker_itself_catches_an_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import httpx as h\nfrom urllib.request import urlopen\n__import__('requests')\n")
    assert {m for m in imported_modules(sample) if is_http_client(m)} == {
        "httpx",
        "urllib.request",
        "urllib.request.urlopen",
        "requests",
    }


def test_no_module_shadows_the_standard_library():
    import sys

    stdlib = set(sys.stdlib_module_names)
    shadows = [p.relative_to(ATLAS).as_posix() for p in ATLAS.rglob("*.py") if p.stem in stdlib]
    assert shadows == []


def test_action_executed_is_never_written():
    offenders = [
        p.relative_to(ATLAS).as_posix()
        for p in ATLAS.rglob("*.py")
        if "ACTION_EXECUTED" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


# --- The execution lock (issue 6) ---------------------------------------------------------------------------------

# What the lock's own code must never reach: any HTTP client, raw sockets or TLS, and the guarded transport and
# network policy that connectors read through.
NETWORK = {
    *HTTP_CLIENTS,
    "socket",
    "ssl",
    "http.server",
    "urllib.response",
    "asyncio.streams",
    "atlas.execution_lock.transport",
    "atlas.execution_lock.network",
    "atlas.execution_lock.audit",
    "atlas.connectors.engine",
    "atlas.billing.moyasar",
    "atlas.platform.oidc",
}
LOCK_MODULES = (
    "atlas/execution_lock/lock.py",
    "atlas/execution_lock/drafts.py",
    "atlas/execution_lock/templates.py",
    "atlas/execution_lock/services.py",
)


def is_network(module: str) -> bool:
    return any(module == n or module.startswith(n + ".") for n in NETWORK) or module.endswith(
        (".ReadOnlyHttp", ".GuardedTransport", ".NetworkPolicy")
    )


def module_path(module: str) -> Path | None:
    relative = Path(*module.split("."))
    for candidate in (ATLAS.parent / f"{relative}.py", ATLAS.parent / relative / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def reachable_imports(start: str) -> dict[str, set[str]]:
    """Every module the file imports, and what those atlas modules import in turn (the modules named in
    import statements; Python also runs each parent package's ``__init__``, which only re-exports)."""
    seen: dict[str, set[str]] = {}
    queue = [ATLAS.parent / start]
    while queue:
        path = queue.pop()
        key = path.relative_to(ATLAS.parent).as_posix()
        if key in seen:
            continue
        modules = imported_modules(path)
        seen[key] = modules
        for module in modules:
            if module.startswith("atlas."):
                target = module_path(module)
                if target is not None:
                    queue.append(target)
    return seen


def test_the_lock_and_its_drafts_reach_nothing_network_related():
    offenders = []
    for start in LOCK_MODULES:
        direct = sorted(m for m in imported_modules(ATLAS.parent / start) if is_network(m))
        if direct:
            offenders.append((start, direct))
        for path, modules in reachable_imports(start).items():
            bad = sorted(m for m in modules if is_network(m))
            if bad:
                offenders.append((f"{start} -> {path}", bad))
        text = (ATLAS.parent / start).read_text(encoding="utf-8")
        assert "ReadOnlyHttp" not in text and "GuardedTransport" not in text, start
    assert offenders == []


def test_the_network_checker_sees_a_transport_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import socket\nfrom atlas.execution_lock import ReadOnlyHttp\nfrom atlas.execution_lock.transport import x\n"
    )
    assert sorted(m for m in imported_modules(sample) if is_network(m)) == [
        "atlas.execution_lock.ReadOnlyHttp",
        "atlas.execution_lock.transport",
        "atlas.execution_lock.transport.x",
        "socket",
    ]


def test_no_file_in_atlas_names_the_event_that_never_happens():
    """SPEC 7.6 lists an "executed" event that never happens: no code, template, catalogue or script mentions it."""
    never = "action" + "_executed"
    offenders = [
        p.relative_to(ATLAS).as_posix()
        for p in ATLAS.rglob("*")
        if p.is_file()
        and p.suffix in {".py", ".html", ".toml", ".js", ".css", ".json", ".md", ".mako", ".txt", ".sql", ".ini"}
        and never in p.read_text(encoding="utf-8", errors="replace").lower()
    ]
    assert offenders == []


def test_there_is_no_executor_to_switch_on():
    """No setting turns execution on, and the lock has no function that sends anything."""
    from atlas.config import Settings
    from atlas.execution_lock import lock

    words = ("execute", "executor", "draft_only", "execution")
    assert [f for f in Settings.model_fields if any(w in f.lower() for w in words)] == []
    public = [name for name in dir(lock) if not name.startswith("_")]
    assert not [name for name in public if any(w in name.lower() for w in ("send", "execute", "apply", "push"))]


def test_every_route_that_could_execute_is_the_lock_s():
    """Static half of the route walk (the HTTP half, every method and role, is tests/execution_lock/test_execute.py)."""
    from atlas.web.app import create_app

    app = create_app()
    marked = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.opt.get("execution_lock"):
                marked.append(route.path)
                assert {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"} <= set(
                    handler.http_methods
                )
            elif "execute" in route.path:
                raise AssertionError(f"{route.path} could execute and is not the lock's")
    assert marked == ["/api/recommendations/{recommendation_id:uuid}/execute"]
