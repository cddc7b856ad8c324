"""A GraphQL inventory API built with graphql-core, over real HTTP on 127.0.0.1.

It follows the GraphQL-over-HTTP conventions and the cursor connections most commerce APIs use (Shopify, Saleor):

* ``POST /graphql`` with ``Content-Type: application/json`` and ``{"query", "variables", "operationName"}``, and
  ``Authorization: Bearer <token>``; the answer is ``{"data": ...}``, with ``{"errors": [{"message"}]}`` when the
  document does not parse or validate, or a resolver fails (then ``data`` may be partial or null).
* ``stockRows(first: Int, after: String)`` is a connection: ``edges { cursor node { ... } }`` and
  ``pageInfo { hasNextPage endCursor }``, plus ``totalCount``. Several rows per (sku, location): lots.
* ``adjustStock(id, quantity)`` is a real mutation: it changes the row, as a real server would.

Every request is reported to the canary with the kind the server actually received: ``write`` when the document
holds a mutation or a subscription, or when it does not parse (nothing proves it a read); ``rpc_read`` otherwise.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlparse

from graphql import GraphQLError, OperationType, build_schema, graphql_sync, parse
from graphql.language import OperationDefinitionNode

from tests.services import free_port
from tests.sims.canary import CANARY
from tests.sims.serving import QuietHandler, serving

SYSTEM = "graphql"
TOKEN = "gql-read-token-123"
SCHEMA = build_schema(
    """
    type StockRow { id: ID!, sku: String!, location: String!, lot: String, quantity: Float!, reserved: Float! }
    type StockRowEdge { cursor: String!, node: StockRow! }
    type PageInfo { hasNextPage: Boolean!, endCursor: String }
    type StockRowConnection { edges: [StockRowEdge!]!, pageInfo: PageInfo!, totalCount: Int! }
    type Query { stockRows(first: Int = 50, after: String): StockRowConnection! }
    type Mutation { adjustStock(id: ID!, quantity: Float!): StockRow }
    """
)


def _rows() -> list[dict[str, Any]]:
    rows = []
    for n in range(1, 38):
        rows.append(
            {
                "id": f"SR{n:03d}",
                "sku": f"SKU-{1 + n % 9:03d}",
                "location": ["MAIN", "STORE-1", "STORE-2"][n % 3],
                "lot": f"L{n % 4}",
                "quantity": float(n % 11 + 1),
                "reserved": float(n % 2),
            }
        )
    return rows


def _cursor(index: int) -> str:
    return base64.b64encode(f"arrayconnection:{index}".encode()).decode()


def _index(cursor: str) -> int:
    return int(base64.b64decode(cursor).decode().split(":")[1])


@dataclass
class GraphqlSim:
    base: str
    rows: list[dict[str, Any]] = field(default_factory=_rows)
    operations: Counter[str] = field(default_factory=Counter)  # "query", "mutation", "unparsed"
    bodies: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"{self.base}/graphql"

    def requests(self) -> int:
        return sum(self.operations.values())

    def root(self) -> dict[str, Any]:
        def stock_rows(_info: Any, first: int = 50, after: str | None = None) -> dict[str, Any]:
            start = _index(after) + 1 if after else 0
            chunk = self.rows[start : start + first]
            edges = [{"cursor": _cursor(start + i), "node": row} for i, row in enumerate(chunk)]
            return {
                "edges": edges,
                "pageInfo": {
                    "hasNextPage": start + first < len(self.rows),
                    "endCursor": edges[-1]["cursor"] if edges else None,
                },
                "totalCount": len(self.rows),
            }

        def adjust_stock(_info: Any, id: str, quantity: float) -> dict[str, Any] | None:  # noqa: A002 - GraphQL's name
            for row in self.rows:
                if row["id"] == id:
                    row["quantity"] = quantity
                    return row
            return None

        return {"stockRows": stock_rows, "adjustStock": adjust_stock}


def kind_of(query: Any) -> str:
    """What the server received: a mutation or subscription (or a document that does not parse) is a write."""
    try:
        document = parse(str(query))
    except GraphQLError:
        return "write"
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.operation != OperationType.QUERY:
            return "write"
    return "rpc_read"


def _handler(sim: GraphqlSim) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            CANARY.record(SYSTEM, "GET", urlparse(self.path).path, "read")
            self.answer(405, {"errors": [{"message": "GET is not supported: POST the query"}]})

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            query = body.get("query") if isinstance(body, dict) else None
            kind = kind_of(query) if isinstance(query, str) else "write"
            CANARY.record(SYSTEM, "POST", urlparse(self.path).path, kind)
            with sim.lock:
                sim.operations["mutation" if kind == "write" else "query"] += 1
                if isinstance(body, dict):
                    sim.bodies.append(body)
            if urlparse(self.path).path != "/graphql":
                self.answer(404, {"errors": [{"message": "not found"}]})
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.answer(401, {"errors": [{"message": "unauthenticated"}]})
                return
            if not isinstance(query, str):
                self.answer(400, {"errors": [{"message": "a JSON body with a query is required"}]})
                return
            with sim.lock:
                result = graphql_sync(
                    SCHEMA,
                    query,
                    root_value=sim.root(),
                    variable_values=body.get("variables") if isinstance(body, dict) else None,
                    operation_name=body.get("operationName") if isinstance(body, dict) else None,
                )
            answer: dict[str, Any] = {"data": result.data}
            if result.errors:
                answer["errors"] = [{"message": e.message} for e in result.errors]
            self.answer(200, answer)

    return Handler


@contextmanager
def graphql_server(host: str = "127.0.0.1") -> Iterator[GraphqlSim]:
    port = free_port()
    sim = GraphqlSim(base=f"http://{host}:{port}")
    with serving(_handler(sim), port, host):
        yield sim
