"""The execution lock's read proofs: what each protocol lets through, every refusal reason, and properties that
hold for any input (hypothesis): a proof answers with a verdict, never a crash; a write hidden anywhere is found."""

from __future__ import annotations

import copy
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.execution_lock.read_proofs import (
    ODOO_READ_METHODS,
    SIDE_EFFECT_FUNCTIONS,
    NotARead,
    ProvenRead,
    graphql,
    odoo_json2,
    prove,
    sql,
)


def refusal(protocol: str, path: str, body: object) -> NotARead:
    with pytest.raises(NotARead) as caught:
        prove(protocol, path, body)
    return caught.value


# --- Odoo JSON-2 ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(ODOO_READ_METHODS))
def test_every_odoo_read_method_is_a_read(method):
    assert odoo_json2(f"/json/2/stock.quant/{method}", {"context": {"lang": "en_US"}}) == ProvenRead(
        "odoo_json2", method, "stock.quant"
    )


def test_an_odoo_search_read_with_its_documented_arguments_is_a_read():
    body = {
        "domain": [["write_date", ">=", "2025-01-01 00:00:00"], ["location_id.usage", "=", "internal"]],
        "fields": ["product_id", "location_id", "quantity", "reserved_quantity"],
        "offset": 200,
        "limit": 100,
        "order": "id asc",
        "context": {"lang": "en_US"},
    }
    assert prove("odoo_json2", "/json/2/stock.quant/search_read", body).method == "search_read"
    assert prove("odoo_json2", "/odoo/json/2/stock.quant/read", {"ids": [1, 2], "fields": ["quantity"]}).subject == (
        "stock.quant"
    )  # a path prefix (Odoo behind a reverse proxy) is fine


@pytest.mark.parametrize(
    "method",
    ["write", "create", "unlink", "copy", "action_apply_inventory", "button_validate", "message_post",
     "action_done", "toggle_active", "name_create", "_read_group_raw", "sudo", "SEARCH_READ", "Search_Read"],
)  # fmt: skip
def test_any_other_odoo_method_is_refused(method):
    error = refusal("odoo_json2", f"/json/2/stock.quant/{method}", {})
    assert error.reason == "rpc_method_not_read" and error.detail == method


def test_an_argument_the_method_does_not_take_is_refused():
    error = refusal("odoo_json2", "/json/2/stock.quant/search_read", {"domain": [], "vals": {"quantity": 0}})
    assert (error.reason, error.detail) == ("rpc_argument_not_allowed", "search_read(vals)")


@pytest.mark.parametrize(
    "path",
    ["/json/2/stock.quant", "/json/2/stock.quant/search_read/extra", "/jsonrpc", "/json/1/stock.quant/search_read",
     "/json/2/Stock.Quant/search_read", "/json/2/stock.quant/%77rite", "/api/v1/stock"],
)  # fmt: skip
def test_a_path_that_is_not_a_json2_call_is_refused(path):
    assert refusal("odoo_json2", path, {}).reason == "rpc_url_not_protocol_endpoint"


def test_an_odoo_body_must_be_an_object():
    assert refusal("odoo_json2", "/json/2/stock.quant/search_read", [1, 2]).reason == "rpc_body_not_an_object"


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,30}", fullmatch=True))
def test_exactly_the_allow_listed_odoo_methods_pass(method):
    path = f"/json/2/stock.move.line/{method}"
    if method in ODOO_READ_METHODS:
        assert prove("odoo_json2", path, {}).method == method
    else:
        assert refusal("odoo_json2", path, {}).reason == "rpc_method_not_read"


# --- GraphQL -------------------------------------------------------------------------------------------------------

QUERY = """
query Stock($first: Int, $after: String) {
  stockRows(first: $first, after: $after) { edges { node { ...Row } } pageInfo { hasNextPage endCursor } }
}
fragment Row on StockRow { id sku location quantity }
"""


def test_a_graphql_query_with_variables_and_fragments_is_a_read():
    body = {"query": QUERY, "variables": {"first": 50, "after": None}, "operationName": "Stock"}
    assert graphql(body) == ProvenRead("graphql", "query", "Stock")
    assert graphql({"query": "{ stockRows { totalCount } }"}) == ProvenRead("graphql", "query", None)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"query": "mutation { adjustStock(id: 1, quantity: 0) { id } }"}, "graphql_mutation"),
        ({"query": "subscription { stockChanged { id } }"}, "graphql_subscription"),
        # a mutation beside a query is refused even when operationName picks the query: the document is judged whole
        ({"query": "query A { a } mutation B { b }", "operationName": "A"}, "graphql_mutation"),
        ({"query": "query A { a } query B { b }"}, "graphql_operation_ambiguous"),
        ({"query": "query A { a }", "operationName": "B"}, "graphql_operation_unknown"),
        ({"query": "{ stockRows { "}, "graphql_not_parsed"),
        ({"query": "type Query { a: Int }"}, "graphql_not_executable"),
        ({"query": "fragment F on Query { a }"}, "graphql_no_operation"),
        ({"query": "{ a }", "extensions": {"persistedQuery": {}}}, "graphql_body_shape"),
        ({"query": ""}, "graphql_body_shape"),
        ({"query": "{ a }", "variables": [1]}, "graphql_body_shape"),
        ({"query": ["{ a }"]}, "graphql_body_shape"),
        ([{"query": "{ a }"}], "rpc_body_not_an_object"),  # batched operations
    ],
)
def test_anything_but_queries_is_refused(body, reason):
    assert refusal("graphql", "/graphql", body).reason == reason


def test_a_graphql_parse_error_never_quotes_the_document():
    error = refusal("graphql", "/graphql", {"query": '{ a(secret: "hunter2" }'})
    assert error.reason == "graphql_not_parsed" and "hunter2" not in error.detail


def test_graphql_goes_only_to_a_graphql_path():
    # A body that is a read in GraphQL proves nothing about what a REST endpoint would do with it.
    assert refusal("graphql", "/api/purchase-orders", {"query": "{ a }"}).reason == "rpc_url_not_protocol_endpoint"
    assert prove("graphql", "/admin/api/2025-01/graphql.json", {"query": "{ a }"}).method == "query"


names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True)
operation_types = st.sampled_from(["query", "mutation", "subscription"])


@given(st.lists(st.tuples(operation_types, names), min_size=1, max_size=5, unique_by=lambda t: t[1]), st.data())
def test_a_graphql_document_passes_exactly_when_every_operation_is_a_query(operations, data):
    document = " ".join(f"{kind} {name} {{ a }}" for kind, name in operations)
    chosen = data.draw(st.sampled_from([name for _, name in operations]))
    body = {"query": document, "operationName": chosen}
    if all(kind == "query" for kind, _ in operations):
        assert graphql(body) == ProvenRead("graphql", "query", chosen)
    else:
        assert refusal("graphql", "/graphql", body).reason in ("graphql_mutation", "graphql_subscription")


# --- SQL -----------------------------------------------------------------------------------------------------------

SUITEQL = "/services/rest/query/v1/suiteql"


@pytest.mark.parametrize(
    "query",
    [
        "SELECT id, itemid, displayname FROM item WHERE lastmodifieddate >= TO_DATE('2025-01-01', 'YYYY-MM-DD')",
        "SELECT item, location, SUM(quantityonhand) AS onhand FROM inventorybalance GROUP BY item, location",
        "SELECT BUILTIN.DF(status) AS status, NVL(memo, '-') FROM transaction WHERE ROWNUM <= 10",
        "SELECT a FROM t UNION ALL SELECT b FROM u",
        "SELECT a FROM t INTERSECT SELECT b FROM u",
        "WITH recent AS (SELECT id FROM item WHERE id > 5) SELECT COUNT(*) FROM recent",
        "SELECT * FROM item ORDER BY id OFFSET 10 ROWS FETCH NEXT 10 ROWS ONLY",
        "SELECT 1 /* ; DROP TABLE item */ FROM dual",
        "select id from item;",
    ],
)
def test_a_single_select_is_a_read(query):
    assert sql({"q": query}) == ProvenRead("sql", "select")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("UPDATE item SET displayname = 'x'", "sql_not_a_select"),
        ("DELETE FROM item", "sql_not_a_select"),
        ("INSERT INTO item (id) VALUES (1)", "sql_not_a_select"),
        ("MERGE INTO t USING u ON (t.id = u.id) WHEN MATCHED THEN UPDATE SET t.a = 1", "sql_not_a_select"),
        ("DROP TABLE item", "sql_not_a_select"),
        ("CREATE TABLE x (a INT)", "sql_not_a_select"),
        ("TRUNCATE TABLE item", "sql_not_a_select"),
        ("CALL do_something()", "sql_not_a_select"),
        ("WITH gone AS (DELETE FROM item RETURNING id) SELECT * FROM gone", "sql_not_a_select"),
        ("SELECT 1; DELETE FROM item", "sql_several_statements"),
        ("SELECT 1 -- just a comment\n; DELETE FROM item", "sql_several_statements"),
        ("SELECT 1 /* x */; SELECT 2", "sql_several_statements"),
        ("SELECT * INTO backup FROM item", "sql_select_into"),
        ("SELECT * FROM item FOR UPDATE", "sql_locking_read"),
        ("SELECT * FROM item FOR SHARE", "sql_locking_read"),
        ("SELECT nextval('item_id_seq')", "sql_side_effect_function"),
        ("SELECT NEXT VALUE FOR item_seq", "sql_side_effect_function"),
        ("SELECT pg_sleep(30)", "sql_side_effect_function"),
        ("SELECT set_config('role', 'admin', false)", "sql_side_effect_function"),
        ("SELECT * FROM dblink('host=x', 'DELETE FROM item') AS t(a int)", "sql_side_effect_function"),
        ("SELECT dbms_lock.sleep(10) FROM dual", "sql_side_effect_function"),
        ("SELECT utl_http.request('http://evil') FROM dual", "sql_side_effect_function"),
        ("SELECT lo_import('/etc/passwd')", "sql_side_effect_function"),
        ("SELECT pg_read_file('/etc/passwd')", "sql_side_effect_function"),
        ("SELECT my_custom_function(id) FROM item", "sql_unknown_function"),
        ("SELECT BUILTIN.EXECUTE('x') FROM dual", "sql_unknown_function"),
        ("SELECT 'unterminated", "sql_not_parsed"),
        ("SELECT FROM WHERE", "sql_not_parsed"),
        ("", "sql_empty"),
        ("  ;  ", "sql_empty"),
    ],
)
def test_anything_but_one_side_effect_free_select_is_refused(query, reason):
    assert refusal("sql", SUITEQL, {"q": query}).reason == reason


@pytest.mark.parametrize("body", [{"query": "SELECT 1"}, {"q": "SELECT 1", "params": []}, {"q": 1}, ["SELECT 1"]])
def test_an_sql_body_is_exactly_one_q(body):
    assert refusal("sql", SUITEQL, body).reason in ("sql_body_shape", "rpc_body_not_an_object")


@pytest.mark.parametrize("pattern", sorted(SIDE_EFFECT_FUNCTIONS))
def test_every_deny_listed_function_is_refused_when_called(pattern):
    name = pattern.replace("*", "_open") if pattern.endswith("*") else pattern
    error = refusal("sql", SUITEQL, {"q": f"SELECT {name}(1) FROM dual"})
    assert (error.reason, error.detail) == ("sql_side_effect_function", name)


def test_sql_goes_only_to_an_sql_path():
    assert refusal("sql", "/api/v1/items", {"q": "SELECT 1"}).reason == "rpc_url_not_protocol_endpoint"


def test_an_unknown_protocol_is_refused():
    assert refusal("soap", "/ws", {}).reason == "rpc_protocol_unknown"


SELECTS = [
    "SELECT id FROM item",
    "SELECT COUNT(*) FROM inventorybalance WHERE location = 2",
    "SELECT a FROM t UNION SELECT b FROM u",
]
WRITES = [
    "DELETE FROM item",
    "UPDATE item SET itemid = 'x'",
    "INSERT INTO item (id) VALUES (99)",
    "DROP TABLE item",
    "TRUNCATE TABLE item",
]
separators = st.sampled_from([";", " ; ", ";\n", " -- note\n;", " /* ; */ ;", ";;"])


def random_case(draw_bools: list[bool], text: str) -> str:
    return (
        "".join(c.upper() if flip else c.lower() for c, flip in zip(text, draw_bools, strict=False))
        + text[len(draw_bools) :]
    )


@settings(max_examples=150)
@given(st.sampled_from(SELECTS), separators, st.sampled_from(WRITES), st.lists(st.booleans(), max_size=60))
def test_a_write_smuggled_after_a_select_is_always_refused(select, separator, write, flips):
    query = random_case(flips, f"{select}{separator}{write}")
    assert refusal("sql", SUITEQL, {"q": query}).reason == "sql_several_statements"


@settings(max_examples=150)
@given(st.sampled_from(WRITES), st.lists(st.booleans(), max_size=40), st.sampled_from(["", " ", "\n", "/* x */ "]))
def test_a_write_on_its_own_is_always_refused(write, flips, lead):
    assert refusal("sql", SUITEQL, {"q": lead + random_case(flips, write)}).reason == "sql_not_a_select"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
texts = st.text(alphabet=string.printable + "ءاب؛", max_size=120)


@settings(max_examples=300)
@given(
    st.sampled_from(["odoo_json2", "graphql", "sql"]),
    st.sampled_from(["/json/2/stock.quant/search_read", "/graphql", SUITEQL, "/x"]),
    st.one_of(json_values, st.fixed_dictionaries({"q": texts}), st.fixed_dictionaries({"query": texts})),
)
def test_any_body_gets_a_verdict_and_is_left_untouched(protocol, path, body):
    before = copy.deepcopy(body)
    verdict: ProvenRead | NotARead
    try:
        verdict = prove(protocol, path, body)
    except NotARead as refused:
        verdict = refused
    if isinstance(verdict, NotARead):
        assert verdict.reason and len(verdict.detail) <= 120
    else:
        assert verdict.protocol == protocol
    assert body == before
