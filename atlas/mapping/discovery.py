"""Discovery: from a base URL and credentials to a connector and its mappings, proposed for one click.

1. The published description first: OpenAPI 3 / Swagger 2 / OData ``$metadata`` at the usual places under the
   base path and under the root (`discovery_openapi`). Its list endpoints, paging parameters, record schemas and
   enums are claims to verify.
2. Otherwise, probing: the base and its usual prefixes (``/api``, ``/api/v1``) first, which tells whether the server
   ends its paths with ``/``; then the usual resource paths under the prefixes that answered, each resource until
   one answers with records of its kind (`discovery_paths`; a segment already in the base is never repeated).
3. Every endpoint found is read as the engine would read it, up to 5 pages or 1,000 records, with each pagination
   the answer suggests until one is verified on a second page (`discovery_probe`); a time filter is taken from the
   description or found by asking with a future date (a filter the server ignores changes nothing).
4. Each endpoint's records are classified (items, locations, balances, movements), and mappings are suggested with a
   confidence per field, their references checked against the other endpoints' records (`discovery_suggest`). A
   reference that holds another entity's ids is replaced by the same field's details where the server offers them
   (``item_detail=true``), or left for a person.

Everything is a read: GETs through the execution lock's client, and, for read-RPC endpoints of a connector, their
own declared read call (never a GET). The report never holds a credential.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from atlas.connectors.engine import (
    ConnectorConfig,
    ConnectorSession,
    EndpointConfig,
    FetchError,
    ResourceKind,
    TimeWindowConfig,
)
from atlas.db.base import utcnow
from atlas.errors import ValidationFailed
from atlas.execution_lock import NetworkPolicy
from atlas.execution_lock.transport import BlockedHandler
from atlas.mapping.discovery_fields import (
    FieldStats,
    find_records,
    flatten,
    list_of_objects,
    norm,
    segments,
)
from atlas.mapping.discovery_openapi import DescribedEndpoint, Description, parse_document
from atlas.mapping.discovery_paths import (
    RESOURCE_NAMES,
    base_path,
    description_paths,
    join,
    prefixes_under,
    relative_to,
)
from atlas.mapping.discovery_probe import (
    PROBE_SIZE,
    WINDOW_PAIRS,
    Answer,
    Prober,
    Sampled,
    pagination_candidates,
    pagination_config,
    style_of,
    window_params,
)
from atlas.mapping.discovery_suggest import Sample, Suggester, Suggestion, why

__all__ = ["discover", "discover_base", "find_records", "flatten", "suggest_mapping"]

SAMPLE_SIZE = 200
MAX_PROBES = 120
SHOWN_RECORDS = 3
KEYS = {"items": "items", "locations": "locations", "stock_balances": "stock", "stock_movements": "movements"}
RESOURCE_WORDS = {
    "items": ("item", "product", "part", "article", "material", "sku"),
    "locations": ("location", "warehouse", "store", "site", "bin"),
    "stock_balances": ("stock", "inventory", "balance", "level", "quant", "onhand"),
    "stock_movements": ("movement", "transaction", "track", "history", "ledger", "move", "journal"),
}


@dataclass
class Found:
    """An endpoint discovery read: where, from what source, and what it read there."""

    path: str  # absolute URL path
    source: str  # "description" | "probe" | "configured"
    described: DescribedEndpoint | None = None
    configured: EndpointConfig | None = None
    hint: str | None = None  # the resource whose candidate list found it
    first: Answer | None = None
    record_path: str | None = None
    sampled: Sampled | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # the verified pagination (PaginationIn)
    evidence: list[str] = field(default_factory=list)
    tried: list[dict[str, Any]] = field(default_factory=list)  # paginations that failed verification
    params: dict[str, str] = field(default_factory=dict)
    window: dict[str, Any] | None = None  # a time filter, applied or not
    resource: str | None = None
    scores: dict[str, float] = field(default_factory=dict)
    error: dict[str, Any] | None = None


def classify(records: list[Any], path: str, hint: str | None = None) -> dict[str, float]:
    """How much the records (and the path) look like each resource."""
    fields = {norm(segments(f.path)[-1]) for f in flatten(records[:50], depth=2) if segments(f.path)}
    top = {norm(k) for r in records[:50] if isinstance(r, dict) for k in r}

    def has(*names: str, where: set[str] = fields) -> bool:
        return any(norm(n) in where for n in names)

    quantity = has("quantity", "qty", "on_hand", "onhand", "quantity_on_hand", "available", "in_stock_qty")
    item = has("part", "item", "sku", "product", "item_code", "product_id", "item_id", "part_id", where=top)
    location = has("location", "warehouse", "warehouse_id", "location_id", "store_id", "bin", where=top)
    moment = has("occurred_at", "transaction_date", "posting_date", "date", "timestamp", "moved_at", where=top)
    kind = has(
        "type", "kind", "movement_type", "transaction_type", "tracking_type", "voucher_type", "direction", where=top
    )
    named = has("name", "title", "description", "item_name", "product_name", where=top)
    scores = {
        "stock_movements": 2.0 * moment
        + 1.5 * kind
        + quantity
        + item
        + 0.5 * has("movement_id", "deltas", "reference", where=top),
        "stock_balances": 1.5 * quantity
        + item
        + location
        + has("reserved", "allocated", "available", "as_of", "on_hand", where=top),
        "locations": named
        + has("parent", "pathstring", "address", "location_type", "city", "code", where=top)
        - 2.0 * quantity
        - 1.0 * item,
        "items": named
        + has(
            "sku", "ipn", "item_code", "category", "category_name", "uom", "units", "unit", "cost", "price", where=top
        )
        - 1.0 * (quantity and location),
    }
    words = norm(path)
    for resource, names in RESOURCE_WORDS.items():
        if any(w in words for w in names):
            scores[resource] += 1.0
        if hint == resource:
            scores[resource] += 0.5
    return scores


class Discovery:
    def __init__(self, session: ConnectorSession, *, language: str = "ar") -> None:
        self.session = session
        self.config = session.config
        self.language = language
        self.prober = Prober(session)
        self.base = base_path(self.config.base_url)
        self.description: Description | None = None
        self.found: dict[str, Found] = {}
        self._answers: dict[tuple[str, str], asyncio.Task[Answer | None]] = {}
        self.slash: bool | None = None
        self.unreachable = False
        self.budget = MAX_PROBES  # candidate paths asked for, all resources together

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Answer | None:
        """One GET per path and parameters for the whole discovery (resources searching at once share it)."""
        key = (path, repr(sorted((params or {}).items())))
        if key not in self._answers:
            self._answers[key] = asyncio.ensure_future(self.prober.get(path, params))
        return await self._answers[key]

    # --- 1. the published description ---------------------------------------------------------------------------
    async def read_description(self) -> None:
        paths = description_paths(self.base)
        answers = await asyncio.gather(*(self._get(p) for p in paths))
        for path, answer in zip(paths, answers, strict=True):
            if answer is None or not 200 <= answer.status < 300:
                continue
            parsed = parse_document(answer.raw, answer.headers.get("content-type", ""), path)
            if parsed is not None and parsed.endpoints:
                self.description = parsed
                for described in parsed.endpoints:
                    if described.templated:
                        continue  # needs a value per parent record: not proposed from the base URL alone
                    self.found.setdefault(described.path, Found(described.path, "description", described=described))
                return

    # --- 2. probing ---------------------------------------------------------------------------------------------
    async def probe(self, wanted: list[str]) -> None:
        prefixes = prefixes_under(self.base)
        roots: list[tuple[str, bool]] = []
        for prefix in prefixes:
            roots.append((prefix, False))
            if prefix != "/":
                roots.append((prefix + "/", True))
        answers = await asyncio.gather(*(self._get(path) for path, _ in roots))
        if all(a is None for a in answers) and all(t.done() and t.result() is None for t in self._answers.values()):
            self.unreachable = True  # nothing answered at all: no point in asking for hundreds of paths
            return
        ok = {path: a is not None and 200 <= a.status < 300 for (path, _), a in zip(roots, answers, strict=True)}
        answering: list[str] = []
        for prefix in prefixes:
            bare, slashed = ok.get(prefix, False), ok.get(prefix + "/", False)
            if bare or slashed:
                answering.append(prefix)
            if prefix != "/" and bare != slashed:
                self.slash = slashed if self.slash is None else self.slash
        ordered = answering + [p for p in prefixes if p not in answering]
        await asyncio.gather(*(self._search(resource, ordered) for resource in wanted))

    def _forms(self, path: str) -> list[str]:
        bare = path.rstrip("/") or "/"
        if self.slash is True:
            return [bare + "/"]
        if self.slash is False:
            return [bare]
        return [bare, bare + "/"]

    async def _search(self, resource: str, prefixes: list[str]) -> None:
        for prefix in prefixes:
            for name in RESOURCE_NAMES[resource]:
                for path in self._forms(join(prefix, name, slash=False)):
                    if path in self.found:
                        found = self.found[path]
                        if found.first is not None and self._is(resource, found):
                            return
                        continue
                    if self.budget <= 0 or self.prober.refused is not None:
                        return  # out of budget, or the credentials were refused: every other path would be too
                    self.budget -= 1
                    answer = await self._get(path, {"limit": str(PROBE_SIZE)})
                    if answer is not None and answer.status == 400:
                        answer = await self._get(path)  # a server that refuses an unknown parameter
                    if answer is None or not 200 <= answer.status < 300 or answer.body is None:
                        continue
                    record_path, records = find_records(answer.body)
                    if record_path is None or not list_of_objects(records):
                        continue
                    found = self.found.setdefault(path, Found(path, "probe", hint=resource))
                    found.first, found.record_path = answer, record_path
                    if self._is(resource, found):
                        return

    def _is(self, resource: str, found: Found) -> bool:
        if found.first is None:
            return False
        _, records = find_records(found.first.body)
        if not records:
            return found.hint == resource
        scores = classify(records, found.path, found.hint)
        return max(scores, key=lambda r: scores[r]) == resource

    # --- 3. reading each endpoint -------------------------------------------------------------------------------
    async def read(self, found: Found) -> None:
        if found.configured is not None:
            await self._read_configured(found)
            return
        described = found.described
        window = window_params(described)
        found.window = window
        record_path = described.record_path if described else found.record_path or "$"
        first = found.first
        candidates = pagination_candidates(
            first.body if first else None, first.headers if first else {}, record_path, described, SAMPLE_SIZE
        )
        params: dict[str, str] = {}
        if described is not None:
            for name, param in described.params.items():
                outside_window = window is None or name not in (window["start_param"], window["end_param"])
                if param.required and outside_window and param.enum:
                    params[name] = str(param.enum[0])
        for settings, evidence in candidates:
            endpoint = self._endpoint(found, record_path, settings, params, window)
            sampled = await self.prober.sample(endpoint)
            if sampled.error is None and sampled.verified == "single_page" and settings["kind"] != "none":
                sampled.verified = await self._verify_small(endpoint, sampled)
            if sampled.error is None and (sampled.verified != "unverified" or settings["kind"] == "none"):
                found.sampled, found.settings, found.evidence = sampled, settings, evidence
                found.record_path, found.params = record_path, dict(endpoint.params)
                return
            found.tried.append({"settings": settings, "error": sampled.error.as_dict() if sampled.error else None})
            if sampled.error is not None and sampled.error.status in (401, 403):
                self._refused(sampled.error)
                break
        last = found.tried[-1]["error"] if found.tried else None
        found.error = last or {"reason": "no_page", "url": found.path}

    def _refused(self, error: FetchError) -> None:
        """The credentials were refused: said once for the whole discovery, with the server's hint."""
        self.prober.refused = error.status
        self.prober.hint = error.hint or self.prober.hint

    async def _verify_small(self, endpoint: EndpointConfig, sampled: Sampled) -> str:
        """Everything fit on one page: read two pages of a smaller size, to see that the paging parameters work."""
        count = len(sampled.records)
        if count < 2:
            return "single_page"
        size = max(1, min(50, count // 2))
        small = dataclasses.replace(endpoint, pagination=dataclasses.replace(endpoint.pagination, page_size=size))
        if small.pagination.cursor_source == "link_header":
            small = dataclasses.replace(
                small,
                params={
                    **small.params,
                    **dict.fromkeys(
                        [k for k in small.params if k in ("page_size", "per_page", "limit", "pageSize", "size")],
                        str(size),
                    ),
                },
            )
        check = await self.prober.sample(small, max_pages=2)
        return "second_page" if check.error is None and check.verified == "second_page" else "unverified"

    def _endpoint(
        self,
        found: Found,
        record_path: str,
        settings: dict[str, Any],
        params: dict[str, str],
        window: dict[str, Any] | None,
    ) -> EndpointConfig:
        params = dict(params)
        pagination = pagination_config(settings)
        if settings.get("cursor_source") == "link_header":
            size = self._link_size(found)
            if size:
                params[size] = str(pagination.page_size)
        time_window = None
        if window is not None and (
            window["required"] or found.resource == "stock_movements" or found.hint == "stock_movements"
        ):
            time_window = self._time_window(window)
        relative = relative_to(self.base, found.path) or found.path
        return EndpointConfig(
            key="probe",
            resource=ResourceKind.ITEMS,
            path=relative,
            params=params,
            record_path=record_path,
            pagination=pagination,
            time_window=time_window,
        )

    def _link_size(self, found: Found) -> str | None:
        described = found.described
        if described is None:
            return None
        for name in ("page_size", "per_page", "limit", "pageSize", "size"):
            if name in described.params:
                return name
        return None

    @staticmethod
    def _time_window(window: dict[str, Any]) -> TimeWindowConfig:
        return TimeWindowConfig(
            start_param=window["start_param"],
            end_param=window["end_param"],
            format=window["format"],
            window_hours=24 * 30,
            lookback_days=180,
        )

    async def _read_configured(self, found: Found) -> None:
        endpoint = found.configured
        assert endpoint is not None
        found.record_path = endpoint.record_path
        found.settings = _pagination_dict(endpoint)
        found.params = dict(endpoint.params)
        if endpoint.parent:
            try:
                parent = self.config.endpoint(endpoint.parent)
                parents = (await self.session.reader.first_page(parent)).records
                page = await self.session.reader.first_page(endpoint, parents=parents)
            except (FetchError, KeyError) as exc:
                found.error = exc.as_dict() if isinstance(exc, FetchError) else {"reason": "no_parent_records"}
                return
            found.sampled = Sampled(endpoint, page.records, 1, False, "unverified", None)
            return
        sampled = await self.prober.sample(endpoint)
        if sampled.error is not None and sampled.error.reason == "record_path_matched_nothing":
            found.error = sampled.error.as_dict()
            return
        found.sampled = sampled
        if sampled.error is not None:
            found.error = sampled.error.as_dict()
            if sampled.error.status in (401, 403):
                self._refused(sampled.error)
        records = sampled.records
        if records and not all(isinstance(r, dict) for r in records):
            found.error = {"reason": "records_not_objects", "url": found.path}
        elif len(records) == 1 and sampled.first_body is not None:
            # "$" on {"data": [...]}: the one "record" is the envelope.
            suggested, inner = find_records(records[0])
            if suggested not in (None, "$") and inner:
                fixed = _join_paths(endpoint.record_path, suggested)
                found.record_path = fixed
                retry = dataclasses.replace(endpoint, record_path=fixed)
                again = await self.prober.sample(retry)
                if again.error is None:
                    found.sampled = again
        checked = found.sampled
        if (
            checked is not None
            and checked.error is None
            and checked.verified == "single_page"
            and endpoint.pagination.kind != "none"
            and endpoint.rpc is None
        ):
            checked.verified = await self._verify_small(
                dataclasses.replace(endpoint, record_path=found.record_path or endpoint.record_path), checked
            )

    # --- 4. incremental filters found by asking -------------------------------------------------------------------
    async def find_filter(self, found: Found) -> None:
        """A modified-date filter the server honours: with a date in the future, the answer is empty."""
        sampled = found.sampled
        if sampled is None or not sampled.records or found.window is not None or found.configured is not None:
            return
        endpoint = sampled.endpoint
        reader = self.session.reader
        slot = reader.slots(endpoint, parents=None, window_start=None, now=datetime.now(UTC))[-1]
        base_params = (
            reader.page_params(endpoint, slot, 0)
            if endpoint.pagination.kind in ("offset", "page")
            else dict(slot.params)
        )
        for start, end in WINDOW_PAIRS[:6]:
            if not await self._empties(found, endpoint, {**base_params, start: "2999-01-01"}):
                continue
            end_param = (
                end if end and await self._empties(found, endpoint, {**base_params, end: "1970-01-02"}) else None
            )
            found.window = {
                "start_param": start,
                "end_param": end_param,
                "format": "date",
                "required": False,
                "modified": True,
                "found_by": "probe",
            }
            return

    async def _empties(self, found: Found, endpoint: EndpointConfig, params: dict[str, str]) -> bool:
        answer = await self.prober.get(found.path, params)
        if answer is None or answer.status != 200 or answer.body is None:
            return False
        path = endpoint.record_path
        from atlas.connectors.engine.jsonpath import compile_path

        matched = compile_path(path).find(answer.body)
        return bool(matched) and matched[0] == []

    # --- 5. references that hold another entity's ids: ask for their details ---------------------------------------
    async def expand(self, found: Found, name: str) -> bool:
        sampled = found.sampled
        if sampled is None:
            return False
        param = f"{name}_detail"
        endpoint = dataclasses.replace(sampled.endpoint, params={**sampled.endpoint.params, param: "true"})
        again = await self.prober.sample(endpoint)
        if again.error is not None or not again.records:
            return False
        if not any(isinstance(r, dict) and isinstance(r.get(param), dict) for r in again.records):
            return False
        found.sampled = again
        found.params = dict(endpoint.params)
        found.evidence.append(f"{param}=true adds {param}")
        return True


def _join_paths(base: str, inner: str) -> str:
    if base in ("", "$"):
        return inner
    return base + inner[1:]


def _pagination_dict(endpoint: EndpointConfig) -> dict[str, Any]:
    values = dataclasses.asdict(endpoint.pagination)
    values["kind"] = str(endpoint.pagination.kind)
    return {k: v for k, v in values.items() if v is not None and k != "max_pages"}


# --- running it ---------------------------------------------------------------------------------------------------


async def _run(discovery: Discovery, configured: tuple[EndpointConfig, ...]) -> dict[str, Any]:
    for endpoint in configured:
        path = join(discovery.base, endpoint.path) if not endpoint.path.startswith("http") else endpoint.path
        discovery.found[path] = Found(path, "configured", configured=endpoint, resource=str(endpoint.resource))
    covered = {str(e.resource) for e in configured}
    await discovery.read_description()
    refuse_token_failure(discovery.prober.auth_error)
    wanted = [r for r in RESOURCE_NAMES if r not in covered]
    described_resources: set[str] = set()
    if discovery.description is not None:
        for found in discovery.found.values():
            if found.described is not None:
                found.hint = _described_hint(found)
        described_resources = {f.hint for f in discovery.found.values() if f.described is not None and f.hint}
    missing = [r for r in wanted if r not in described_resources]
    # A system read by read-RPC calls (Odoo JSON-2, GraphQL, SuiteQL) has no REST paths to find by GETs.
    rpc_system = any(e.rpc is not None for e in configured)
    if missing and discovery.prober.refused is None and not rpc_system:
        await discovery.probe(missing)
    candidates = [
        f
        for f in discovery.found.values()
        if f.configured is not None or f.described is not None or f.first is not None
    ]
    await asyncio.gather(*(discovery.read(f) for f in candidates))
    for found in candidates:
        if found.configured is not None:
            continue
        records = found.sampled.records if found.sampled else []
        found.scores = classify(records, found.path, found.hint)
    chosen = _choose(candidates, covered)
    for resource, found in chosen.items():
        found.resource = resource
        if resource in ("stock_movements", "stock_balances"):
            await discovery.find_filter(found)
    samples = _samples(chosen)
    suggester = Suggester(list(samples.values()), discovery.language)
    for key, wanted_fields in list(suggester.detail_wanted.items()):
        target = next((f for r, f in chosen.items() if samples[r].key == key), None)
        if target is not None and wanted_fields and await discovery.expand(target, wanted_fields[0]):
            samples = _samples(chosen)
            suggester = Suggester(list(samples.values()), discovery.language)
            break
    suggestions = {resource: suggester.suggest(samples[resource]) for resource in chosen}
    return _report(discovery, candidates, chosen, samples, suggestions)


def refuse_token_failure(error: FetchError | None) -> None:
    """A token endpoint that refused the client or answered without an access token: nothing can be read, and the
    person must hear which endpoint, not a report of an unreachable system (a 422 naming ``auth.token_url``)."""
    if error is None or not error.reason.startswith("oauth2_token"):
        return
    invalid = error.reason == "oauth2_token_invalid"
    key = "errors.discovery_token_invalid" if invalid else "errors.discovery_token_refused"
    raise ValidationFailed(
        key,
        field="auth.token_url",
        url=error.url,
        http_status=error.status,  # not ``status``: that would be the problem's own
        extra={"field": "auth.token_url", "token_url": error.url, "reason": error.reason, "token_status": error.status},
    )


def _described_hint(found: Found) -> str | None:
    described = found.described
    assert described is not None
    fake = [{segments(p)[-1]: None for p in described.fields if segments(p)}]
    scores = classify(fake, found.path + " " + described.summary)
    best = max(scores, key=lambda r: scores[r])
    return best if scores[best] >= 1.5 else None


def _choose(candidates: list[Found], covered: set[str]) -> dict[str, Found]:
    chosen: dict[str, Found] = {}
    for found in candidates:
        if found.configured is not None:
            chosen.setdefault(str(found.configured.resource), found)
    ranked = sorted(
        (f for f in candidates if f.configured is None and f.sampled is not None and f.error is None),
        key=lambda f: (-max(f.scores.values(), default=0), len(f.path)),
    )
    for found in ranked:
        resource = max(found.scores, key=lambda r: found.scores[r])
        if found.scores[resource] < 1.5 or resource in chosen:
            continue
        chosen[resource] = found
    return chosen


def _samples(chosen: dict[str, Found]) -> dict[str, Sample]:
    samples: dict[str, Sample] = {}
    taken = {f.configured.key for f in chosen.values() if f.configured is not None}
    for resource, found in chosen.items():
        sampled = found.sampled
        records = [r for r in (sampled.records if sampled else []) if isinstance(r, dict)]
        key = found.configured.key if found.configured is not None else KEYS[resource]
        if found.configured is None and key in taken:
            key = f"{key}_{resource}"  # a connector's own endpoint already has the usual key
        enums = {
            p: list(spec.get("enum") or []) for p, spec in (found.described.fields if found.described else {}).items()
        }
        samples[resource] = Sample(
            key=key,
            resource=resource,
            records=records,
            fields=flatten(records),
            record_path=found.record_path or "$",
            complete=bool(sampled and sampled.complete),
            total=sampled.total if sampled else None,
            enums=enums,
        )
    return samples


def _incremental(found: Found, resource: str, applied: bool) -> dict[str, Any] | None:
    window = found.window
    if window is None:
        return None
    reasons = [
        why(
            "incremental_described" if window.get("found_by") != "probe" else "incremental_probed",
            param=window["start_param"],
        )
    ]
    if not applied:
        reasons.append(why("incremental_full_read"))
    return {
        "start_param": window["start_param"],
        "end_param": window["end_param"],
        "format": window["format"],
        "applied": applied,
        "reasons": reasons,
    }


def _report(
    discovery: Discovery,
    candidates: list[Found],
    chosen: dict[str, Found],
    samples: dict[str, Sample],
    suggestions: dict[str, Suggestion],
) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    endpoints: list[dict[str, Any]] = []
    mappings: dict[str, dict[str, Any]] = {}
    by_found = {id(f): r for r, f in chosen.items()}
    for found in candidates:
        resource = by_found.get(id(found))
        sampled = found.sampled
        relative = relative_to(discovery.base, found.path) or found.path
        entry: dict[str, Any] = {
            "path": relative,
            "url_path": found.path,
            "source": found.source,
            "endpoint_key": samples[resource].key if resource else (found.configured.key if found.configured else None),
            "resource": resource or (max(found.scores, key=lambda r: found.scores[r]) if found.scores else None),
            "chosen": resource is not None,
            "reachable": sampled is not None and found.error is None,
            "status": found.error.get("status") if found.error else 200 if sampled else None,
            "error": found.error.get("reason") if found.error else None,
            "methods": ["POST"] if found.configured is not None and found.configured.rpc is not None else ["GET"],
            "record_path": found.record_path,
            "record_count": len(sampled.records) if sampled else 0,
            "pages_read": sampled.pages if sampled else 0,
            "complete": bool(sampled and sampled.complete),
            "pagination": {
                "style": style_of(found.settings) if found.settings else "unknown",
                "settings": found.settings or None,
                "evidence": found.evidence,
                "verified": sampled.verified if sampled else "unverified",
                "tried": found.tried,
            },
            "params": found.params,
            "samples": [r for r in (sampled.records if sampled else [])[:SHOWN_RECORDS]],
            "fields": [],
            "suggested_mapping": None,
            "confidence": {},
            "unmapped_required": [],
            "incremental": None,
            "proposed": False,
        }
        if resource is not None:
            sample = samples[resource]
            suggestion = suggestions[resource]
            total = len(sample.records)
            entry["fields"] = [_field_report(f, total) for f in sample.fields[:200]]
            entry["suggested_mapping"] = suggestion.spec
            entry["confidence"] = suggestion.confidence
            entry["unmapped_required"] = suggestion.missing
            apply_window = bool(
                found.window
                and found.configured is None
                and (found.window.get("required") or resource == "stock_movements")
            )
            entry["incremental"] = _incremental(found, resource, apply_window)
            if suggestion.spec is not None and not suggestion.missing and sampled is not None and found.error is None:
                entry["proposed"] = True
                endpoints.append(_endpoint_in(sample.key, resource, relative, found, apply_window))
                mappings[sample.key] = suggestion.spec
        resources.append(entry)
    resources.sort(key=lambda r: (not r["chosen"], list(KEYS).index(r["resource"]) if r["resource"] in KEYS else 9))
    description = discovery.description
    return {
        "base_url": discovery.config.base_url,
        "probed_at": utcnow(),
        "language": discovery.language,
        "description": {"kind": description.kind, "url": description.url, "title": description.title}
        if description
        else None,
        "auth_hint": discovery.prober.hint,
        "refused": discovery.prober.refused,
        "unreachable": discovery.unreachable,
        "requests": discovery.prober.total_requests,
        "resources": resources,
        "proposal": {"endpoints": endpoints, "mappings": mappings},
        "auth_key": description.api_key if description else None,
    }


def _endpoint_in(key: str, resource: str, path: str, found: Found, apply_window: bool) -> dict[str, Any]:
    """The endpoint as ``POST /api/connectors`` takes it."""
    if found.configured is not None:
        endpoint = found.configured
        body: dict[str, Any] = {
            "key": endpoint.key,
            "resource": str(endpoint.resource),
            "path": endpoint.path,
            "record_path": found.record_path or endpoint.record_path,
            "params": dict(endpoint.params),
            "pagination": _pagination_dict(endpoint),
        }
        if endpoint.time_window is not None:
            body["time_window"] = dataclasses.asdict(endpoint.time_window)
        if endpoint.parent:
            body["parent"] = endpoint.parent
        if endpoint.rpc is not None:
            body["rpc"] = {"protocol": str(endpoint.rpc.protocol), "body": endpoint.rpc.body}
        return body
    body = {
        "key": key,
        "resource": resource,
        "path": path,
        "record_path": found.record_path or "$",
        "params": dict(found.params),
        "pagination": {k: v for k, v in found.settings.items() if v is not None},
    }
    if apply_window and found.window is not None:
        body["time_window"] = dataclasses.asdict(Discovery._time_window(found.window))
    return body


def _field_report(stats: FieldStats, total: int) -> dict[str, Any]:
    return {
        "path": stats.path,
        "types": sorted(stats.types),
        "example": stats.example,
        "present": round(stats.seen / total, 2) if total else 0.0,
    }


async def discover_base(
    config: ConnectorConfig,
    *,
    network: NetworkPolicy,
    on_blocked: BlockedHandler | None = None,
    language: str = "ar",
) -> dict[str, Any]:
    """Discover from the base URL and authentication alone (no saved connector)."""
    async with ConnectorSession(config, network=network, on_blocked=on_blocked) as session:
        return await _run(Discovery(session, language=language), ())


async def discover(
    config: ConnectorConfig,
    *,
    network: NetworkPolicy,
    on_blocked: BlockedHandler | None = None,
    language: str = "ar",
) -> dict[str, Any]:
    """Discover for a saved connector: its endpoints are read with their own settings (a read-RPC endpoint with its
    own read call), and resources it has no endpoint for are looked for as from the base URL."""
    async with ConnectorSession(config, network=network, on_blocked=on_blocked) as session:
        report = await _run(Discovery(session, language=language), config.endpoints)
    report["connector_id"] = str(config.id)
    return report


def suggest_mapping(
    resource: str, records_path: str | None, fields: list[FieldStats], records: list[Any]
) -> tuple[dict[str, Any] | None, list[str]]:
    """A mapping for one endpoint's records on their own (no other endpoint to check references against)."""
    sample = Sample("endpoint", resource, [r for r in records if isinstance(r, dict)], fields, records_path or "$")
    suggestion = Suggester([sample]).suggest(sample)
    return suggestion.spec, suggestion.missing
