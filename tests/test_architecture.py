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
    # ZATCA's e-invoicing gateway (the tax authority, never a customer system).
    "atlas/billing/zatca_gateway.py",
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


# --- The lock's declared read kinds (issue 14) ----------------------------------------------------------------------

# What code outside the lock may do with a ReadOnlyHttp: read, send one of the declared kinds, declare a token URL,
# drop its cookies, report a failed token or login answer (for the audit trail), close it. Nothing that takes an
# HTTP method: the generic request() is gone, and must not come back under another name.
READ_ONLY_HTTP_API = {
    "get",
    "head",
    "token_request",
    "session_login",
    "read_rpc",
    "clear_cookies",
    "declare_token_url",
    "record_declared_failure",
    "aclose",
}
PROVIDER_CLIENTS = {path for path in ALLOWED if not path.startswith("atlas/execution_lock/")}


def read_only_http_uses(source: str) -> list[tuple[int, str]]:
    """Every ``<a ReadOnlyHttp>.<name>`` in ``source``: names bound to ``ReadOnlyHttp(...)`` or annotated with it
    (parameters, attributes), their ``self.`` copies, and the ``http`` of a connector session."""
    tree = ast.parse(source)
    holders: set[str] = set()  # plain names and "self.<attr>" that hold a ReadOnlyHttp

    def is_read_only_http(node: ast.AST | None) -> bool:
        if isinstance(node, ast.Call):
            node = node.func
        return (isinstance(node, ast.Name) and node.id == "ReadOnlyHttp") or (
            isinstance(node, ast.Attribute) and node.attr == "ReadOnlyHttp"
        )

    def key(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            return f"self.{node.attr}"
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and is_read_only_http(node.annotation):
            holders.add(node.arg)
        elif isinstance(node, ast.AnnAssign) and is_read_only_http(node.annotation) and key(node.target):
            holders.add(str(key(node.target)))
        elif isinstance(node, ast.Assign) and is_read_only_http(node.value):
            holders.update(str(key(t)) for t in node.targets if key(t))
    for node in ast.walk(tree):  # copies: self._http = http
        if isinstance(node, ast.Assign) and key(node.value) in holders:
            holders.update(str(key(t)) for t in node.targets if key(t))
    uses = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        holder = key(node.value)
        session_http = isinstance(node.value, ast.Attribute) and node.value.attr == "http"
        if holder in holders or session_http:
            uses.append((node.lineno, node.attr))
    return uses


def test_outside_the_lock_a_read_only_http_is_used_only_through_its_declared_kinds():
    offenders = []
    for path in ATLAS.rglob("*.py"):
        relative = path.relative_to(ATLAS.parent).as_posix()
        if relative.startswith("atlas/execution_lock/") or relative in PROVIDER_CLIENTS:
            continue
        for line, name in read_only_http_uses(path.read_text(encoding="utf-8")):
            if name not in READ_ONLY_HTTP_API:
                offenders.append(f"{relative}:{line} .{name}")
    assert offenders == []
    # the checker sees the calls it must see
    engine = (ATLAS / "connectors" / "engine" / "fetch.py").read_text(encoding="utf-8")
    assert {name for _, name in read_only_http_uses(engine)} >= {"get", "read_rpc"}


def test_the_read_only_http_checker_catches_a_generic_call():
    sample = """
class Client:
    def __init__(self, http: ReadOnlyHttp) -> None:
        self._http = http

    async def go(self, session):
        await self._http.request("DELETE", "/x")
        await session.http.send(None)
        own = ReadOnlyHttp(network=None)
        await own._exchange("PUT", "/y")
        await self._http.get("/ok")
"""
    assert sorted(name for _, name in read_only_http_uses(sample)) == ["_exchange", "get", "request", "send"]


def test_the_transport_lets_through_exactly_the_declared_kinds():
    """Every method x URL x body x claimed protocol through the guarded transport, against a local server: exactly
    the reads and the declared kinds arrive, and everything else is blocked (reported once, nothing on the wire)."""
    import asyncio
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlencode

    import httpx

    from atlas.execution_lock import BlockedAttempt, DeclaredRequest, ExecutionBlocked, NetworkPolicy
    from atlas.execution_lock.transport import Declarations, GuardedTransport
    from tests.services import free_port

    arrived: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def handle_one(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived.append((self.command, self.path, body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(b"{}")

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = handle_one

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    urls = {
        "data": "/api/items",
        "token": "/oauth/token",
        "login": "/b1s/v1/Login",
        "odoo_read": "/json/2/stock.quant/search_read",
        "odoo_write": "/json/2/stock.quant/write",
        "graphql": "/graphql",
        "sql": "/services/rest/query/v1/suiteql",
    }
    form = "application/x-www-form-urlencoded"
    bodies = {
        "none": (None, b""),
        "form_client_credentials": (form, urlencode({"grant_type": "client_credentials", "client_id": "a"}).encode()),
        "form_password": (form, urlencode({"grant_type": "password", "username": "u", "password": "p"}).encode()),
        "form_refresh_token": (form, urlencode({"grant_type": "refresh_token", "refresh_token": "r"}).encode()),
        "form_authorization_code": (form, urlencode({"grant_type": "authorization_code", "code": "c"}).encode()),
        "odoo_read": ("application/json", json.dumps({"domain": [], "fields": ["quantity"]}).encode()),
        "odoo_write": ("application/json", json.dumps({"ids": [1], "vals": {"quantity": 0}}).encode()),
        "graphql_query": ("application/json", json.dumps({"query": "{ stockRows { totalCount } }"}).encode()),
        "graphql_mutation": ("application/json", json.dumps({"query": "mutation { adjust(id: 1) { id } }"}).encode()),
        "sql_select": ("application/json", json.dumps({"q": "SELECT id FROM item"}).encode()),
        "sql_update": ("application/json", json.dumps({"q": "UPDATE item SET id = 1"}).encode()),
        "json_array": ("application/json", b"[1, 2]"),
    }
    claims = [None, "odoo_json2", "graphql", "sql"]
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
    proven = {
        ("odoo_json2", "odoo_read", "odoo_read"),
        ("graphql", "graphql", "graphql_query"),
        ("sql", "sql", "sql_select"),
    }

    def allowed(method: str, url: str, body: str, claim: str | None) -> bool:
        """The rule, spelled out apart from the transport's code."""
        if method in ("GET", "HEAD"):
            return True
        if method != "POST":
            return False
        if url == "token":  # the three grants that ask for a token and nothing else
            return body in ("form_client_credentials", "form_password", "form_refresh_token")
        if url == "login":
            return body in ("odoo_read", "odoo_write", "graphql_query", "graphql_mutation", "sql_select", "sql_update")
        return (claim, url, body) in proven

    blocked: list[BlockedAttempt] = []
    sent: list[DeclaredRequest] = []

    async def on_blocked(attempt: BlockedAttempt) -> None:
        blocked.append(attempt)

    async def on_sent(request: DeclaredRequest) -> None:
        sent.append(request)

    async def walk() -> tuple[set[tuple[str, str, str, str | None]], int]:
        declarations = Declarations(
            token_urls={base + urls["token"]},
            login_urls={base + urls["login"]},
            protocols=frozenset({"odoo_json2", "graphql", "sql"}),
        )
        transport = GuardedTransport(
            network=NetworkPolicy(allow_private=True), declarations=declarations, on_blocked=on_blocked, on_sent=on_sent
        )
        passed: set[tuple[str, str, str, str | None]] = set()
        refusals = 0
        async with httpx.AsyncClient(transport=transport) as client:
            for method in methods:
                for url_name, path in urls.items():
                    for body_name, (content_type, content) in bodies.items():
                        for claim in claims:
                            headers = {"Content-Type": content_type} if content_type else {}
                            extensions = {"atlas_read_protocol": claim} if claim else {}
                            request = client.build_request(
                                method, base + path, content=content or None, headers=headers, extensions=extensions
                            )
                            try:
                                await client.send(request)
                            except ExecutionBlocked:
                                refusals += 1
                            else:
                                passed.add((method, url_name, body_name, claim))
        return passed, refusals

    try:
        passed, refusals = asyncio.run(walk())
    finally:
        server.shutdown()
        server.server_close()
    combinations = {(m, u, b, c) for m in methods for u in urls for b in bodies for c in claims}
    assert passed == {combo for combo in combinations if allowed(*combo)}
    assert len(arrived) == len(passed) and refusals == len(blocked) == len(combinations) - len(passed)
    written = {a.method for a in blocked if a.reason == "method_not_allowed"}
    assert written == {"PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}
    # every non-GET/HEAD request that arrived was reported as sent first, with its kind
    assert len(sent) == sum(1 for method, *_ in passed if method == "POST")
    assert {str(s.kind) for s in sent} == {"token_request", "session_login", "read_rpc"}


# --- The execution lock at the bottom of the trusted base (issue 18) ------------------------------------------------

# What a module under atlas/execution_lock/ may import: the standard library, these libraries, and these parts of
# Atlas (a name and everything under it). Nothing else: not the AI engine, mapping, connectors, policy, approvals,
# billing, workflows or web; the layer above builds the lock's canonical action and serves its routes and pages.
LOCK_MAY_IMPORT_LIBRARIES = {
    "httpx",  # its HTTP client, only inside the guarded transport
    "httpcore",  # the connection backend that pins the checked address
    "sqlalchemy",  # the drafts' table and queries (the database layer's toolkit)
    "structlog",  # logging
    "sqlglot",  # the read proofs' SQL parser
    "graphql",  # the read proofs' GraphQL parser
}
LOCK_MAY_IMPORT_ATLAS = (
    "atlas.execution_lock",  # itself
    "atlas.db",  # the database: engine, tenant sessions, base classes, paging
    "atlas.platform.audit",  # the audit trail: action_blocked, dry_run_completed, the declared requests
    "atlas.platform.tenancy",  # the tenant-scoped repository its drafts are read and written through
    "atlas.config",  # settings
    "atlas.errors",  # foundation below the platform: problem-details exceptions, no atlas import of its own
    "atlas.i18n",  # foundation below the platform: the catalogue that words the drafts' summaries
)
# What those reach in turn may be anywhere in the base and the platform, never above them.
LOCK_MAY_REACH_ATLAS = (
    *LOCK_MAY_IMPORT_ATLAS,
    "atlas.platform",
    "atlas.moyasar_keys",
    "atlas.invoice_party",
    "atlas.bounds",
)


def lock_imports(root: Path, path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file: module level, in functions, under ``if TYPE_CHECKING:``,
    relative (resolved), ``importlib.import_module`` and ``__import__`` (``<dynamic import>`` when the name is not
    a literal). ``from a import b`` names ``a.b`` when that is a module, else ``a``."""

    def is_module(name: str) -> bool:
        relative = Path(*name.split("."))
        return (root / f"{relative}.py").exists() or (root / relative / "__init__.py").exists()

    package = list(path.relative_to(root).parts[:-1])  # a module's package; an __init__'s own package
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: from the file's package, one level up per extra dot
                module = ".".join([*package[: len(package) - node.level + 1], *([module] if module else [])])
            for alias in node.names:
                child = f"{module}.{alias.name}"
                found.append((node.lineno, child if is_module(child) else module))
        elif isinstance(node, ast.Call) and (
            getattr(node.func, "id", None) == "__import__" or getattr(node.func, "attr", None) == "import_module"
        ):
            first = node.args[0] if node.args else None
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            found.append((node.lineno, first.value if literal else "<dynamic import>"))
    return found


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def lock_import_violations(root: Path, package: str) -> list[str]:
    """Every import under ``root/<package>`` that names something outside the lock's allowed set, as
    ``file:line module`` in file and line order."""
    import sys

    libraries = set(sys.stdlib_module_names) | LOCK_MAY_IMPORT_LIBRARIES
    found = set()
    for path in (root / Path(*package.split("."))).rglob("*.py"):
        for line, name in lock_imports(root, path):
            top = name.split(".")[0]
            if not (_under(name, LOCK_MAY_IMPORT_ATLAS) if top == "atlas" else top in libraries):
                found.add((path.relative_to(root).as_posix(), line, name))
    return [f"{file}:{line} {name}" for file, line, name in sorted(found)]


def lock_reach(root: Path, package: str) -> set[str]:
    """Every atlas module outside the package that its modules import, and what those import in turn, with the
    parent packages Python runs on the way (their ``__init__``)."""

    def file_of(name: str) -> Path | None:
        relative = Path(*name.split("."))
        for candidate in (root / f"{relative}.py", root / relative / "__init__.py"):
            if candidate.exists():
                return candidate
        return None

    reached: set[str] = set()
    queue = list((root / Path(*package.split("."))).rglob("*.py"))
    seen: set[Path] = set()
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for _, name in lock_imports(root, path):
            parts = name.split(".")
            if parts[0] != "atlas":
                continue
            for depth in range(1, len(parts) + 1):
                module = ".".join(parts[:depth])
                target = file_of(module)
                if target is not None:
                    queue.append(target)
                    if not _under(module, (package,)):
                        reached.add(module)
    return reached


def test_the_execution_lock_imports_nothing_above_the_platform(tmp_path):
    """ARCHITECTURE rule 2 and issue 18: the lock stands on the standard library, its HTTP client and parsers, the
    database, the platform's audit and tenancy, config, errors and i18n; everything else sits above it, and nothing
    those import reaches above the platform either."""
    assert lock_import_violations(ATLAS.parent, "atlas.execution_lock") == []
    reach = lock_reach(ATLAS.parent, "atlas.execution_lock")
    assert "atlas.platform.audit" in reach and "atlas.db.engine" in reach  # the walk follows the imports
    assert sorted(m for m in reach if m != "atlas" and not _under(m, LOCK_MAY_REACH_ATLAS)) == []  # atlas: empty

    # The checker sees every kind of import it must refuse, and lets the allowed ones through.
    atlas = tmp_path / "atlas"
    lock = atlas / "execution_lock"
    for folder in (lock, atlas / "platform", atlas / "ai_engine"):
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
    (atlas / "__init__.py").write_text("")
    (atlas / "web.py").write_text("")
    (atlas / "ai_engine" / "models.py").write_text("")
    (atlas / "platform" / "audit.py").write_text("from atlas.ai_engine.models import Recommendation\n")
    (lock / "fine.py").write_text(
        "from __future__ import annotations\nimport uuid\nimport httpx\nfrom sqlalchemy import select\n"
        "from atlas.db import paging\nfrom atlas.platform.audit import record\nfrom atlas.i18n import translate\n"
        "from . import fine\nfrom .fine import x\nfrom atlas.execution_lock.fine import y\n"
    )
    assert lock_import_violations(tmp_path, "atlas.execution_lock") == []
    # ... but what the platform's audit imports is above the platform: the reach says so.
    assert sorted(lock_reach(tmp_path, "atlas.execution_lock")) == [
        "atlas",
        "atlas.ai_engine",
        "atlas.ai_engine.models",
        "atlas.platform",
        "atlas.platform.audit",
    ]
    (lock / "bad.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from atlas.ai_engine.models import Recommendation\n"  # 2: module level
        "if TYPE_CHECKING:\n    from atlas.mapping.models import Item\n"  # 4: only for types
        "def f():\n    from atlas.web.guards import SAFE_METHODS\n"  # 6: in a function
        "import litestar\n"  # 7: a library the lock may not use
        "from .. import web\n"  # 8: relative, up and out of the lock
        "from atlas import web\n"  # 9: a module named by a from-import
        "from atlas.platform import principal\n"  # 10: the platform beyond audit and tenancy
        "import importlib\nm = importlib.import_module('atlas.platform.rbac')\n"  # 12
        "n = __import__(name)\n"  # 13: a name nobody can read
    )
    assert lock_import_violations(tmp_path, "atlas.execution_lock") == [
        "atlas/execution_lock/bad.py:2 atlas.ai_engine.models",
        "atlas/execution_lock/bad.py:4 atlas.mapping.models",
        "atlas/execution_lock/bad.py:6 atlas.web.guards",
        "atlas/execution_lock/bad.py:7 litestar",
        "atlas/execution_lock/bad.py:8 atlas.web",
        "atlas/execution_lock/bad.py:9 atlas.web",
        "atlas/execution_lock/bad.py:10 atlas.platform",
        "atlas/execution_lock/bad.py:12 atlas.platform.rbac",
        "atlas/execution_lock/bad.py:13 <dynamic import>",
    ]
