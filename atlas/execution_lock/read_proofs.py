"""Proofs that a POST body is a read, one per declared read-RPC protocol (ARCHITECTURE rule 2).

Some systems read only over POST: Odoo's JSON-2 API and its older JSON-RPC, GraphQL, NetSuite's SuiteQL. The
execution lock lets such a POST leave only when one of these pure functions proves, from the exact URL and body
about to be sent, that it cannot change anything. Each one allows what it can prove and refuses everything else,
including whatever it does not understand; a refusal is a `NotARead` with a stable machine reason (audited
as ``action_blocked``) and a short detail that never carries a body or a secret.

The proofs are deliberately narrow: an allow-list of Odoo methods and their documented arguments (JSON-2, or
JSON-RPC's ``object.execute_kw``), GraphQL documents whose every operation is a query, and one SQL ``SELECT``
whose every function is one sqlglot knows and none has a side effect. Widening one is a change to this file and
its tests, nowhere else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlglot
from graphql import GraphQLError, OperationType, parse
from graphql.language import FragmentDefinitionNode, OperationDefinitionNode
from sqlglot import exp
from sqlglot.dialects.oracle import Oracle
from sqlglot.errors import ErrorLevel, ParseError, TokenError
from sqlglot.parser import Parser

# sqlglot warns on the logger when it falls back to an opaque ``Command`` (CALL, EXEC ...): the proof refuses
# those anyway, and a refusal is audited; the warning would only repeat the query text in the logs.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

MAX_QUERY_CHARS = 100_000  # a read query of any real use is far shorter; the parsers are not fed megabytes
MAX_GRAPHQL_TOKENS = 50_000


class NotARead(Exception):
    """The body is not provably a read. ``reason`` is stable (audit, tests, i18n); ``detail`` is short and safe:
    a method, an operation or a function name, never a body, a value or a credential."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail[:120]


@dataclass(frozen=True, slots=True)
class ProvenRead:
    """What a proof established, for the audit trail: the protocol, the read method (``search_read``,
    ``query``, ``select``) and what it reads (the Odoo model, the GraphQL operation name), when known."""

    protocol: str
    method: str
    subject: str | None = None


# --- Odoo JSON-2 ---------------------------------------------------------------------------------------------------

# POST [prefix]/json/2/<model>/<method>. The model is a technical name (``stock.quant``), the method a Python
# identifier. Checked on the decoded path the server will route on, so ``%77rite`` is seen as ``write``.
_ODOO_PATH = re.compile(r"^(?:/[^/]+)*/json/2/(?P<model>[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)/(?P<method>[A-Za-z_]\w*)/?$")

# The read methods of Odoo's ORM (odoo/models.py) and the named arguments each takes; JSON-2 passes the body's
# keys as keyword arguments, plus ``ids`` (the records) and ``context``. Anything else is refused: not only
# write/create/unlink/copy, but every action_*/button_*/message_post and every custom method, which can do
# anything. An argument outside the list would be refused by Odoo (422) anyway; refusing it here keeps a body
# that is not understood from leaving.
ODOO_READ_METHODS: Mapping[str, frozenset[str]] = {
    "search_read": frozenset({"domain", "fields", "offset", "limit", "order", "load"}),
    "read": frozenset({"fields", "load"}),
    "search": frozenset({"domain", "offset", "limit", "order"}),
    "search_count": frozenset({"domain", "limit"}),
    "fields_get": frozenset({"allfields", "attributes"}),
}
_ODOO_COMMON_ARGUMENTS = frozenset({"ids", "context"})


def odoo_json2(path: str, body: Any) -> ProvenRead:
    """An Odoo 19 JSON-2 call: an allow-listed read method of any model, with that method's arguments only."""
    match = _ODOO_PATH.fullmatch(path)
    if match is None:
        raise NotARead("rpc_url_not_protocol_endpoint", "odoo_json2")
    method = match["method"]
    allowed = ODOO_READ_METHODS.get(method)
    if allowed is None:
        raise NotARead("rpc_method_not_read", method)
    if not isinstance(body, dict):
        raise NotARead("rpc_body_not_an_object")
    unknown = sorted(set(body) - allowed - _ODOO_COMMON_ARGUMENTS)
    if unknown:
        raise NotARead("rpc_argument_not_allowed", f"{method}({unknown[0]})")
    return ProvenRead("odoo_json2", method, match["model"])


# --- Odoo JSON-RPC (17 and 18) ------------------------------------------------------------------------------------

# POST [prefix]/jsonrpc: Odoo's generic JSON-RPC route (odoo/addons/base/controllers/rpc.py), which hands
# ``params.service``, ``params.method`` and ``params.args`` to ``dispatch_rpc``. Only the ``object`` service's
# ``execute_kw`` is a model call; ``common`` and ``db`` are services of their own (``db`` creates, drops and
# restores databases) and every other service or method is refused.
_ODOO_JSONRPC_PATH = re.compile(r"^(?:/[^/]+)*/jsonrpc/?$")
_ODOO_MODEL = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*$")
_JSONRPC_KEYS = frozenset({"jsonrpc", "method", "params", "id"})
_JSONRPC_PARAMS = frozenset({"service", "method", "args"})
# How many positional arguments each read method takes through execute_kw (odoo/api.py ``call_kw``): the
# model-level methods bind them to their signature in order; ``read`` is called on records, so its first
# positional argument is the ids.
ODOO_POSITIONAL_LIMITS: Mapping[str, int] = {
    "search_read": 5,  # domain, fields, offset, limit, order
    "read": 3,  # ids, fields, load
    "search": 4,  # domain, offset, limit, order
    "search_count": 2,  # domain, limit
    "fields_get": 2,  # allfields, attributes
}


def odoo_jsonrpc(path: str, body: Any) -> ProvenRead:
    """An Odoo 17/18 JSON-RPC call ``{"jsonrpc": "2.0", "method": "call", "params": {"service": "object",
    "method": "execute_kw", "args": [db, uid, password, model, method, [positional], {keywords}]}}`` whose model
    method is an allow-listed read, with no more positional arguments than it takes and only its own keywords.

    The password (an API key) is ``args[2]``: it is never part of a refusal's detail."""
    if _ODOO_JSONRPC_PATH.fullmatch(path) is None:
        raise NotARead("rpc_url_not_protocol_endpoint", "odoo_jsonrpc")
    if not isinstance(body, dict):
        raise NotARead("rpc_body_not_an_object")
    unknown = sorted(set(body) - _JSONRPC_KEYS)
    if unknown or body.get("jsonrpc") != "2.0" or body.get("method") != "call":
        raise NotARead("odoo_jsonrpc_body_shape", unknown[0] if unknown else "jsonrpc/method")
    params = body.get("params")
    if not isinstance(params, dict) or sorted(set(params) - _JSONRPC_PARAMS):
        raise NotARead("odoo_jsonrpc_body_shape", "params")
    service, call = params.get("service"), params.get("method")
    if service != "object":
        raise NotARead("odoo_jsonrpc_service_not_object", str(service)[:40])
    if call != "execute_kw":
        raise NotARead("rpc_method_not_read", str(call)[:40])
    args = params.get("args")
    if not isinstance(args, list) or len(args) not in (6, 7):
        raise NotARead("odoo_jsonrpc_body_shape", "args")
    model, method, positional = args[3], args[4], args[5]
    keywords = args[6] if len(args) == 7 else {}
    if not isinstance(model, str) or _ODOO_MODEL.fullmatch(model) is None:
        raise NotARead("odoo_jsonrpc_body_shape", "model")
    allowed = ODOO_READ_METHODS.get(method) if isinstance(method, str) else None
    if allowed is None:
        raise NotARead("rpc_method_not_read", str(method)[:40])
    if not isinstance(positional, list) or len(positional) > ODOO_POSITIONAL_LIMITS[method]:
        raise NotARead("rpc_argument_not_allowed", f"{method}(positional)")
    if not isinstance(keywords, dict):
        raise NotARead("odoo_jsonrpc_body_shape", "kwargs")
    extra = sorted(set(keywords) - allowed - {"context"})
    if extra:
        raise NotARead("rpc_argument_not_allowed", f"{method}({extra[0]})")
    return ProvenRead("odoo_jsonrpc", method, model)


# --- GraphQL -------------------------------------------------------------------------------------------------------

_GRAPHQL_KEYS = frozenset({"query", "variables", "operationName"})


def graphql(body: Any) -> ProvenRead:
    """A GraphQL request whose document parses and holds only queries (and fragments); with several operations,
    ``operationName`` must name one of them. A mutation or a subscription anywhere in the document refuses it,
    even when ``operationName`` picks a query: the document is judged whole."""
    if not isinstance(body, dict):
        raise NotARead("rpc_body_not_an_object")
    unknown = sorted(set(body) - _GRAPHQL_KEYS)
    if unknown:
        raise NotARead("graphql_body_shape", unknown[0])
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise NotARead("graphql_body_shape", "query")
    if len(query) > MAX_QUERY_CHARS:
        raise NotARead("rpc_body_too_large", "query")
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise NotARead("graphql_body_shape", "variables")
    name = body.get("operationName")
    if name is not None and not isinstance(name, str):
        raise NotARead("graphql_body_shape", "operationName")
    try:
        document = parse(query, no_location=True, max_tokens=MAX_GRAPHQL_TOKENS)
    except GraphQLError as exc:
        # The message names the unexpected token's kind, then quotes it: keep the kind, never the document's text.
        raise NotARead("graphql_not_parsed", exc.message.split('"', 1)[0].strip()) from None
    operations: list[OperationDefinitionNode] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            operations.append(definition)
        elif not isinstance(definition, FragmentDefinitionNode):
            raise NotARead("graphql_not_executable", definition.kind)  # type system definitions, extensions
    if not operations:
        raise NotARead("graphql_no_operation")
    for operation in operations:
        label = operation.name.value if operation.name else ""
        if operation.operation == OperationType.MUTATION:
            raise NotARead("graphql_mutation", label)
        if operation.operation == OperationType.SUBSCRIPTION:
            raise NotARead("graphql_subscription", label)
    named = {op.name.value: op for op in operations if op.name}
    if name:
        if name not in named:
            raise NotARead("graphql_operation_unknown", name)
        chosen = named[name]
    elif len(operations) > 1:
        raise NotARead("graphql_operation_ambiguous")
    else:
        chosen = operations[0]
    return ProvenRead("graphql", "query", chosen.name.value if chosen.name else None)


# --- SQL (NetSuite SuiteQL) ------------------------------------------------------------------------------------

# Functions with a side effect, or a reach beyond the rows they read, by lower-case name (or name prefix, for
# the families ending in ``*``). Most are also unknown to sqlglot, which refuses them on its own; the list is
# the second wall, and the record of why each one must never run.
SIDE_EFFECT_FUNCTIONS: Mapping[str, str] = {
    "nextval": "advances a sequence: a write that no rollback undoes",
    "setval": "sets a sequence: a write",
    "next_value_for": "advances a sequence (SQL Server, DB2): a write",
    "nextvaluefor": "advances a sequence (sqlglot's name for NEXT VALUE FOR): a write",
    "txid_current": "assigns a transaction id: a write",
    "pg_sleep*": "holds a connection and a snapshot for as long as asked: a denial of service",
    "sleep": "holds a connection (MySQL): a denial of service",
    "benchmark": "burns the server's CPU on purpose (MySQL): a denial of service",
    "pg_terminate_backend": "kills another session",
    "pg_cancel_backend": "cancels another session's query",
    "pg_reload_conf": "reloads the server's configuration",
    "pg_rotate_logfile": "rotates the server's log files",
    "pg_notify": "sends a notification to listening sessions: a side effect outside the result",
    "set_config": "changes a session or transaction setting (search_path, roles ...)",
    "pg_advisory*": "takes advisory locks that outlive the statement",
    "lo_import": "reads a server file into a large object: a write and a file read",
    "lo_export": "writes a large object to a server file",
    "lo_create": "creates a large object: a write",
    "lo_unlink": "deletes a large object: a write",
    "lo_put": "writes into a large object",
    "pg_read_file": "reads an arbitrary server file",
    "pg_read_binary_file": "reads an arbitrary server file",
    "pg_ls_dir": "lists server directories",
    "pg_stat_file": "inspects server files",
    "pg_file_write": "writes a server file (adminpack)",
    "pg_write_file": "writes a server file",
    "load_file": "reads an arbitrary server file (MySQL)",
    "read_csv": "reads a server file or URL (DuckDB)",
    "read_parquet": "reads a server file or URL (DuckDB)",
    "readcsv": "reads a server file or URL (sqlglot's name for READ_CSV)",
    "readparquet": "reads a server file or URL (sqlglot's name for READ_PARQUET)",
    "to_file": "references a staged file (Snowflake)",
    "tofile": "references a staged file (sqlglot's name for TO_FILE)",
    "query_to_xml*": "runs the SQL text it is given: any statement at all",
    "cursor_to_xml*": "reads through a cursor opened elsewhere",
    "dblink*": "opens another connection that can run any statement, writes included",
    "xp_cmdshell": "runs an operating-system command (SQL Server)",
    "sys_exec": "runs an operating-system command (MySQL UDF)",
    "sys_eval": "runs an operating-system command (MySQL UDF)",
    "utl_*": "Oracle's UTL packages reach the network and the file system (UTL_HTTP, UTL_FILE, UTL_SMTP)",
    "dbms_*": "Oracle's DBMS packages sleep, lock, pipe, schedule jobs and run SQL (DBMS_LOCK, DBMS_SQL ...)",
}

# SuiteQL's own read-only built-ins (NetSuite's "SuiteQL Supported Built-in Functions"): display values,
# currency conversion, hierarchy and period helpers. sqlglot cannot know them; they are named here one by one.
SUITEQL_BUILTINS = frozenset(
    {
        "cf",
        "consolidate",
        "currency",
        "currency_convert",
        "df",
        "hierarchy",
        "mnfilter",
        "named_group",
        "period",
        "relative_ranges",
    }
)

_STATEMENT_NODES: tuple[type[exp.Expression], ...] = tuple(
    getattr(exp, name)
    for name in (
        "DML",  # INSERT, UPDATE, DELETE, MERGE, also inside a CTE (WITH x AS (DELETE ... RETURNING *))
        "DDL",  # CREATE, DROP, ALTER ...
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Create",
        "Drop",
        "Alter",
        "TruncateTable",
        "Command",  # what sqlglot could not parse (CALL, EXEC, GRANT ... on some dialects): not understood
        "Transaction",
        "Commit",
        "Rollback",
        "Set",
        "Use",
        "Copy",
        "Grant",
        "Revoke",
        "Pragma",
        "LoadData",
        "Kill",
        "Execute",
        "Cache",
        "Uncache",
        "Refresh",
        "Comment",
        "Declare",
        "Export",
        "Attach",
        "Detach",
        "Install",
        "Analyze",
    )
    if hasattr(exp, name)
)


def _denied(name: str) -> str | None:
    lowered = name.lower()
    for pattern in SIDE_EFFECT_FUNCTIONS:
        if lowered == pattern or (pattern.endswith("*") and lowered.startswith(pattern[:-1])):
            return pattern
    return None


def _qualifier(node: exp.Func) -> str | None:
    """``BUILTIN`` for ``BUILTIN.DF(x)``, ``dbms_lock`` for ``dbms_lock.sleep(1)``: sqlglot parses a qualified call
    as a ``Dot`` whose right-hand side is the call."""
    parent = node.parent
    if isinstance(parent, exp.Dot) and parent.expression is node:
        return str(parent.this.sql()).lower()
    return None


# SuiteQL is Oracle-flavoured SQL: statements are parsed with sqlglot's Oracle dialect, and a function counts as
# known when sqlglot's generic parser or its Oracle parser knows its name (TRUNC is generic, TO_DATE Oracle's).
SQL_DIALECT = "oracle"
KNOWN_FUNCTIONS = frozenset(name.lower() for name in (*Parser.FUNCTIONS, *Oracle.Parser.FUNCTIONS))


def _check_function(node: exp.Func) -> None:
    qualifier = _qualifier(node)
    if isinstance(node, exp.Anonymous):
        name = str(node.name)
        full = f"{qualifier}.{name}" if qualifier else name
        if _denied(full) or (qualifier and _denied(qualifier)) or _denied(name):
            raise NotARead("sql_side_effect_function", full.lower())
        if qualifier == "builtin" and name.lower() in SUITEQL_BUILTINS:
            return
        if qualifier is None and name.lower() in KNOWN_FUNCTIONS:
            return
        raise NotARead("sql_unknown_function", full.lower())
    names = {node.key.lower(), *(n.lower() for n in node.sql_names())}
    for name in sorted(names):
        if _denied(name):
            raise NotARead("sql_side_effect_function", name)
    if qualifier and _denied(qualifier):
        raise NotARead("sql_side_effect_function", qualifier)


def sql(body: Any) -> ProvenRead:
    """One SQL statement, ``{"q": "SELECT ..."}`` (NetSuite SuiteQL): a SELECT, or a UNION/INTERSECT/EXCEPT of
    SELECTs, with or without WITH; no SELECT INTO, no FOR UPDATE/SHARE, no statement nested anywhere, and only
    functions sqlglot knows (or SuiteQL's named built-ins) of which none has a side effect."""
    if not isinstance(body, dict):
        raise NotARead("rpc_body_not_an_object")
    if set(body) != {"q"} or not isinstance(body["q"], str):
        raise NotARead("sql_body_shape", "q")
    text = body["q"]
    if len(text) > MAX_QUERY_CHARS:
        raise NotARead("rpc_body_too_large", "q")
    try:
        statements = [s for s in sqlglot.parse(text, read=SQL_DIALECT, error_level=ErrorLevel.RAISE) if s is not None]
    except ParseError as exc:
        where = exc.errors[0] if exc.errors else {}
        raise NotARead("sql_not_parsed", f"line {where.get('line')}, column {where.get('col')}") from None
    except TokenError:
        raise NotARead("sql_not_parsed") from None
    if not statements:
        raise NotARead("sql_empty")
    if len(statements) > 1:
        raise NotARead("sql_several_statements", str(len(statements)))
    root = statements[0]
    if not isinstance(root, exp.Select | exp.SetOperation):
        raise NotARead("sql_not_a_select", root.key)
    for node in root.walk():
        if isinstance(node, _STATEMENT_NODES):
            raise NotARead("sql_not_a_select", node.key)
        if isinstance(node, exp.Into):
            raise NotARead("sql_select_into")
        if isinstance(node, exp.Lock):
            raise NotARead("sql_locking_read")
        if isinstance(node, exp.Func):
            _check_function(node)
    return ProvenRead("sql", "select")


# --- the table the lock uses ------------------------------------------------------------------------------------

Proof = Callable[[str, Any], ProvenRead]

# Each protocol's proof, given the decoded URL path and the decoded JSON body. GraphQL and SQL requests must go
# to a URL that names their protocol (a path segment containing ``graphql``; ``sql`` or ``suiteql``): a body that
# is a read in one protocol proves nothing about what a REST endpoint (``/purchase-orders``) would do with it.
_PATH_MARKERS = {"graphql": ("graphql",), "sql": ("sql", "suiteql")}


def _graphql_at(path: str, body: Any) -> ProvenRead:
    _require_marker(path, "graphql")
    return graphql(body)


def _sql_at(path: str, body: Any) -> ProvenRead:
    _require_marker(path, "sql")
    return sql(body)


def _require_marker(path: str, protocol: str) -> None:
    markers = _PATH_MARKERS[protocol]
    if not any(marker in segment.lower() for segment in path.split("/") for marker in markers):
        raise NotARead("rpc_url_not_protocol_endpoint", protocol)


PROOFS: Mapping[str, Proof] = {
    "odoo_json2": odoo_json2,
    "odoo_jsonrpc": odoo_jsonrpc,
    "graphql": _graphql_at,
    "sql": _sql_at,
}


def prove(protocol: str, path: str, body: Any) -> ProvenRead:
    """The proof for ``protocol``, applied to the decoded URL path and body about to be sent."""
    proof = PROOFS.get(protocol)
    if proof is None:
        raise NotARead("rpc_protocol_unknown", protocol)
    return proof(path, body)
