"""Reading a system's published description: OpenAPI 3, Swagger 2 and OData ``$metadata``.

What discovery takes from it, per list endpoint (a GET whose answer is an array, or an object wrapping one): the
path, where the records are in the answer, the record's fields (with their enums: every movement kind the API can
send, not only those on the first pages), the query parameters (paging, time filters, required ones) and the
answer's paging fields (a cursor, a total, a page count) and ``Link`` header. For OData: the entity sets.

A description is a claim: every endpoint taken from it is then read for real, and its pagination verified on a
second page, before anything is proposed. Documents are parsed with ``yaml.safe_load`` and, for XML, lxml with
entities, DTDs and network access all off.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

RESPONSE_CODES = ("200", "206", "2XX", "2xx", "default")
MAX_REF_DEPTH = 12


@dataclass
class Param:
    name: str
    type: str = "string"
    format: str | None = None
    required: bool = False
    maximum: int | None = None
    enum: list[Any] = field(default_factory=list)


@dataclass
class DescribedEndpoint:
    path: str  # absolute URL path, as the server serves it
    record_path: str  # "$" or "$.data" ...
    fields: dict[str, dict[str, Any]]  # record field path ("$.type") -> {"type", "format", "enum"}
    params: dict[str, Param]  # query parameters by name
    envelope: list[str]  # JSONPaths of the answer outside the records ("$.next_cursor", "$.meta.total_pages")
    link_header: bool = False  # the answer declares a Link header
    summary: str = ""
    templated: bool = False  # the path has a {parameter}


@dataclass
class Description:
    kind: str  # "openapi" | "swagger" | "odata"
    url: str
    title: str
    endpoints: list[DescribedEndpoint]
    api_key: dict[str, str] | None = None  # {"in": "header"|"query", "name": ...} from securitySchemes


def parse_document(body: bytes, content_type: str, url: str) -> Description | None:
    """A description from a fetched document, or None when it is not one (or not one Atlas can read)."""
    text = body.lstrip()[:1]
    if text == b"<" or "xml" in content_type:
        return parse_odata(body, url)
    document: Any
    try:
        document = json.loads(body)
    except ValueError:
        if not re.search(rb"^(openapi|swagger)\s*:", body[:4000], re.MULTILINE):
            return None
        import yaml  # type: ignore[import-untyped,unused-ignore]

        try:
            document = yaml.safe_load(body)
        except yaml.YAMLError:
            return None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        return None
    if str(document.get("openapi", "")).startswith("3"):
        return _openapi(document, url, swagger=False)
    if str(document.get("swagger", "")).startswith("2"):
        return _openapi(document, url, swagger=True)
    return None


# --- OpenAPI 3 and Swagger 2 -----------------------------------------------------------------------------------


class _Resolver:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """``$ref``s followed (local ones only), ``allOf`` merged; a cycle or a remote ref ends as ``{}``."""
        if depth > MAX_REF_DEPTH or not isinstance(node, dict):
            return node if isinstance(node, dict) else {}
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#/"):
                return {}
            target: Any = self.document
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, dict) else None
            return self.resolve(target, depth + 1)
        if isinstance(node.get("allOf"), list):
            merged: dict[str, Any] = {"type": "object", "properties": {}}
            for piece in node["allOf"]:
                resolved = self.resolve(piece, depth + 1)
                merged["properties"].update(resolved.get("properties") or {})
            return merged
        for key in ("oneOf", "anyOf"):
            options = node.get(key)
            if isinstance(options, list):
                concrete = [self.resolve(o, depth + 1) for o in options]
                concrete = [c for c in concrete if c.get("type") not in ("null", None) or c.get("properties")]
                if concrete:
                    return concrete[0]
        return node


def _kind(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if kinds else "null"
    if kind is None and "properties" in schema:
        return "object"
    if kind is None and "items" in schema:
        return "array"
    return str(kind or "")


def _records(resolver: _Resolver, schema: dict[str, Any]) -> tuple[str, dict[str, Any], list[str]] | None:
    """(record path, record schema, envelope paths) of an answer schema that is or wraps an array of objects."""
    schema = resolver.resolve(schema)
    if _kind(schema) == "array":
        item = resolver.resolve(schema.get("items") or {})
        return ("$", item, []) if _kind(item) == "object" else None
    if _kind(schema) != "object":
        return None
    properties = {k: resolver.resolve(v) for k, v in (schema.get("properties") or {}).items()}
    from atlas.mapping.discovery_fields import RECORD_KEYS

    ordered = sorted(properties, key=lambda k: 0 if k.lower() in RECORD_KEYS else 1)
    for name in ordered:
        value = properties[name]
        if _kind(value) == "array":
            item = resolver.resolve(value.get("items") or {})
            if _kind(item) == "object":
                envelope = _envelope(resolver, properties, "$", skip=name)
                return f"$.{name}", item, envelope
    for name in ordered:
        value = properties[name]
        if _kind(value) == "object":
            inner = _records(resolver, value)
            if inner is not None and inner[0] != "$":
                envelope = _envelope(resolver, properties, "$", skip=name)
                return f"$.{name}{inner[0][1:]}", inner[1], envelope + [f"$.{name}{p[1:]}" for p in inner[2]]
    return None


def _envelope(resolver: _Resolver, properties: dict[str, Any], prefix: str, *, skip: str) -> list[str]:
    paths: list[str] = []
    for name, value in properties.items():
        if name == skip:
            continue
        paths.append(f"{prefix}.{name}")
        if _kind(value) == "object":
            for inner in value.get("properties") or {}:
                paths.append(f"{prefix}.{name}.{inner}")
    return paths


def _fields(
    resolver: _Resolver, schema: dict[str, Any], prefix: str = "$", depth: int = 0
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, raw in (resolver.resolve(schema).get("properties") or {}).items():
        value = resolver.resolve(raw)
        path = f"{prefix}.{name}"
        if _kind(value) == "object" and depth < 2:
            found.update(_fields(resolver, value, path, depth + 1))
            continue
        found[path] = {"type": _kind(value), "format": value.get("format"), "enum": list(value.get("enum") or [])}
    return found


def _param(resolver: _Resolver, raw: Any) -> Param | None:
    spec = resolver.resolve(raw)
    if spec.get("in") != "query" or not isinstance(spec.get("name"), str):
        return None
    schema = resolver.resolve(spec.get("schema") or spec)  # Swagger 2 keeps type and format on the parameter
    maximum = schema.get("maximum")
    return Param(
        name=spec["name"],
        type=_kind(schema) or "string",
        format=schema.get("format"),
        required=bool(spec.get("required")),
        maximum=int(maximum) if isinstance(maximum, int | float) and not isinstance(maximum, bool) else None,
        enum=list(schema.get("enum") or []),
    )


def _server_path(document: dict[str, Any], url: str, *, swagger: bool) -> str:
    if swagger:
        return str(document.get("basePath") or "").rstrip("/")
    servers = document.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], dict):
        raw = str(servers[0].get("url") or "")
        if "{" not in raw:
            return urlsplit(raw).path.rstrip("/") if "://" in raw else raw.rstrip("/")
    return ""


def _openapi(document: dict[str, Any], url: str, *, swagger: bool) -> Description:
    resolver = _Resolver(document)
    prefix = _server_path(document, url, swagger=swagger)
    endpoints: list[DescribedEndpoint] = []
    for raw_path, item in document["paths"].items():
        if not isinstance(item, dict) or not isinstance(item.get("get"), dict):
            continue
        operation = item["get"]
        responses = operation.get("responses") or {}
        response = next((responses[c] for c in RESPONSE_CODES if c in responses), None)
        response = resolver.resolve(response)
        if swagger:
            schema = response.get("schema")
        else:
            content = response.get("content") or {}
            media = next((v for k, v in content.items() if "json" in k), None)
            schema = media.get("schema") if isinstance(media, dict) else None
        if not isinstance(schema, dict):
            continue
        found = _records(resolver, schema)
        if found is None:
            continue
        record_path, record_schema, envelope = found
        params: dict[str, Param] = {}
        for raw in [*(item.get("parameters") or []), *(operation.get("parameters") or [])]:
            param = _param(resolver, raw)
            if param is not None:
                params[param.name] = param
        headers = response.get("headers") or {}
        endpoints.append(
            DescribedEndpoint(
                path=(prefix + "/" + str(raw_path).lstrip("/")) if prefix else str(raw_path),
                record_path=record_path,
                fields=_fields(resolver, record_schema),
                params=params,
                envelope=envelope,
                link_header=any(str(h).lower() == "link" for h in headers),
                summary=str(operation.get("summary") or operation.get("operationId") or ""),
                templated="{" in str(raw_path),
            )
        )
    return Description(
        kind="swagger" if swagger else "openapi",
        url=url,
        title=str((document.get("info") or {}).get("title") or ""),
        endpoints=endpoints,
        api_key=_api_key(document, swagger=swagger),
    )


def _api_key(document: dict[str, Any], *, swagger: bool) -> dict[str, str] | None:
    schemes = (
        document.get("securityDefinitions") if swagger else (document.get("components") or {}).get("securitySchemes")
    )
    for scheme in (schemes or {}).values():
        if isinstance(scheme, dict) and scheme.get("type") == "apiKey" and scheme.get("in") in ("header", "query"):
            return {"in": str(scheme["in"]), "name": str(scheme.get("name") or "")}
    return None


# --- OData $metadata ---------------------------------------------------------------------------------------------


def parse_odata(body: bytes, url: str) -> Description | None:
    """The entity sets of an OData ``$metadata`` document (v2 or v4): each is a list endpoint paged with
    ``$top``/``$skip`` and ``@odata.nextLink``, records under ``value`` (v4) or ``d.results`` (v2)."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError:
        return None
    if not str(root.tag).endswith("Edmx"):
        return None
    version = str(root.get("Version") or "")
    types: dict[str, dict[str, dict[str, Any]]] = {}
    for entity in root.iter("{*}EntityType"):
        name = entity.get("Name") or ""
        fields: dict[str, dict[str, Any]] = {
            f"$.{p.get('Name')}": {"type": _edm(p.get("Type") or ""), "format": None, "enum": []}
            for p in entity.iter("{*}Property")
            if p.get("Name")
        }
        types[name] = fields
    base = urlsplit(url).path.rsplit("/$metadata", 1)[0]
    endpoints = []
    for entity_set in root.iter("{*}EntitySet"):
        name = entity_set.get("Name") or ""
        type_name = (entity_set.get("EntityType") or "").rsplit(".", 1)[-1]
        if not name:
            continue
        endpoints.append(
            DescribedEndpoint(
                path=f"{base}/{name}",
                record_path="$.value" if not version.startswith("1") else "$.d.results",
                fields=types.get(type_name, {}),
                params={p: Param(p, "integer") for p in ("$top", "$skip")} | {"$filter": Param("$filter")},
                envelope=["$['@odata.nextLink']", "$['@odata.count']"],
                summary=name,
            )
        )
    return Description(kind="odata", url=url, title="OData", endpoints=endpoints)


def _edm(kind: str) -> str:
    kind = kind.rsplit(".", 1)[-1]
    if kind in ("Int16", "Int32", "Int64", "Byte"):
        return "integer"
    if kind in ("Decimal", "Double", "Single"):
        return "number"
    if kind == "Boolean":
        return "boolean"
    return "string"
