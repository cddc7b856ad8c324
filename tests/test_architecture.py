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
