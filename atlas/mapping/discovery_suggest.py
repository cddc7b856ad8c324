"""Mappings suggested from sample records, each field with a confidence and the reasons for it.

Rules that real data needs (each one a mistake an earlier version made):

* A reference is checked against the records it should name. A balance's or movement's item reference must hold
  values found among the ids of the items endpoint's records; a field whose values are the ids of another
  endpoint's records (a tracking entry's ``item`` is a stock row's pk) is never proposed as the item reference,
  whatever its name says. The items' own external id is the id field those references use.
* Lookups (movement kinds, location types) are built from every value of several pages and from the values the
  published description lists, not from the first twenty records.
* A name is preferred to a numeric id for a category or a location type (``category_name``,
  ``location_type_detail.name``); a leaf name that repeats gives way to a full path (``pathstring``).
* Where the source has a text in Arabic and English (``{"ar", "en"}``, ``name_ar``/``name``), the language asked for
  (the tenant's, Arabic by default) is chosen.

Reasons are catalogue keys with parameters (``discovery.why.*``), so the page shows them in Arabic and English.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from atlas.mapping.canonical import CANONICAL_FIELDS, FieldType
from atlas.mapping.discovery_fields import (
    CANDIDATES,
    DIRECTION_NAMES,
    KIND_WORDS,
    LOCATION_TYPE_WORDS,
    FieldStats,
    norm,
    segments,
)
from atlas.mapping.engine import MappingInvalid, compile_mapping

OUT_WORDS = ("out", "outbound", "-", "-1", "issue", "صادر", "خروج")
NAME_PREFERRED = ("category", "type")  # canonical fields that want a name, never a numeric id
HIGH, MEDIUM = 0.8, 0.5


def why(key: str, **params: Any) -> dict[str, Any]:
    return {"key": f"discovery.why.{key}", "params": params}


@dataclass
class Sample:
    """One endpoint's records as discovery read them (up to a few pages), and what is known about them."""

    key: str
    resource: str
    records: list[dict[str, Any]]
    fields: list[FieldStats]
    record_path: str
    complete: bool = False  # every record of the endpoint was read
    total: int | None = None  # how many records the source declared
    enums: dict[str, list[Any]] = field(default_factory=dict)  # field path -> values the description lists

    def stats(self, path: str) -> FieldStats | None:
        return next((f for f in self.fields if f.path == path), None)

    @property
    def coverage(self) -> float:
        """The share of the endpoint's records the sample holds (1.0 when complete)."""
        if self.complete:
            return 1.0
        if self.total:
            return min(1.0, len(self.records) / self.total)
        return 0.5


@dataclass
class FieldChoice:
    rule: dict[str, Any] | None
    score: float
    reasons: list[dict[str, Any]]

    @property
    def level(self) -> str:
        return "high" if self.score >= HIGH else "medium" if self.score >= MEDIUM else "low"

    def report(self) -> dict[str, Any]:
        return {"level": self.level, "score": round(self.score, 2), "reasons": self.reasons}


@dataclass
class Suggestion:
    spec: dict[str, Any] | None
    confidence: dict[str, dict[str, Any]]
    missing: list[str]
    detail_wanted: list[str] = field(default_factory=list)  # reference fields worth asking ``<field>_detail=true``


def values_of(stats: FieldStats) -> set[str]:
    return {_key(v) for v in stats.values if v not in (None, "")}


def _key(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def scalar(stats: FieldStats) -> bool:
    return not set(stats.types) <= {"object", "array", "null"}


def name_score(path: str, candidates: tuple[str, ...]) -> int:
    parts = segments(path)
    if not parts:
        return 0
    names = [norm(c) for c in candidates]
    last = norm(parts[-1])
    parent = norm(parts[-2]) if len(parts) > 1 else ""
    if last in names:
        score = 100 - names.index(last) - 5 * (len(parts) - 1)
        # "supplier.name" is the supplier's name, not the item's; "item_detail.quantity" is another record's.
        if parent and parent not in names:
            return score - (60 if parent.endswith("detail") else 40)
        return score
    # {"description": {"en": "...", "ar": "..."}}: the text of a name-like object.
    if last in ("en", "ar", "english", "arabic", "value", "name", "amount") and parent in names:
        return 80 - names.index(parent) - (0 if last in ("en", "ar", "amount") else 10)
    return 0


def fits(kind: FieldType, stats: FieldStats) -> bool:
    types = set(stats.types) - {"null"}
    example = stats.example
    if kind in (FieldType.DECIMAL, FieldType.INTEGER):
        if types <= {"integer", "number"} and types:
            return True
        return (
            types == {"string"}
            and isinstance(example, str)
            and re.fullmatch(r"-?[\d,٠-٩]+(\.\d+)?", example.strip()) is not None
        )
    if kind == FieldType.DATETIME:
        return types == {"string"} and isinstance(example, str) and re.match(r"\d{4}-\d{2}-\d{2}", example) is not None
    return bool(types) and types <= {"string", "integer"}


def unique_share(stats: FieldStats) -> float:
    present = [_key(v) for v in stats.values if v not in (None, "")]
    return len(set(present)) / len(present) if present else 0.0


def present_share(stats: FieldStats, total: int) -> float:
    return sum(1 for v in stats.values if v not in (None, "")) / total if total else 0.0


def id_fields(sample: Sample) -> list[FieldStats]:
    """Fields that could be the records' own id: present in (nearly) every record, (nearly) unique; top level first."""
    total = len(sample.records)
    found = [
        f
        for f in sample.fields
        if scalar(f)
        and set(f.types) - {"null"} <= {"string", "integer"}
        and present_share(f, total) >= 0.95
        and unique_share(f) >= 0.98
    ]
    return sorted(found, key=lambda f: (len(segments(f.path)), -name_score(f.path, CANDIDATES["external_id"])))


@dataclass
class RefMatch:
    stats: FieldStats
    target_field: str | None  # the id field of the target endpoint whose values it holds
    coverage: float  # share of its values found there
    other: tuple[str, float] | None  # (endpoint key, share) of another endpoint whose row ids it holds


def match_reference(candidate: FieldStats, target: Sample | None, others: list[Sample], *, own: Sample) -> RefMatch:
    values = values_of(candidate)
    best: tuple[str | None, float] = (None, 0.0)
    if target is not None and values:
        for id_field in id_fields(target) + [f for f in target.fields if f.path in ("$.sku", "$.code")]:
            share = len(values & values_of(id_field)) / len(values)
            if share > best[1]:
                best = (id_field.path, share)
    other: tuple[str, float] | None = None
    for sample in others:
        ids = id_fields(sample)
        if not ids or not values:
            continue
        share = len(values & values_of(ids[0])) / len(values)
        if share >= 0.9 * sample.coverage and (other is None or share > other[1]):
            other = (sample.key, share)
    return RefMatch(candidate, best[0], best[1], other)


def _prefer_language(path: str, fields: dict[str, FieldStats], language: str) -> tuple[str, list[dict[str, Any]]]:
    """The same text in the asked language when the source has both: ``$.name.en`` -> ``$.name.ar``, ``$.name`` ->
    ``$.name_ar`` (for Arabic), ``$.name_ar`` -> ``$.name_en`` or ``$.name`` (for English)."""
    other = "en" if language == "ar" else "ar"
    for sep in (".", "_"):
        if path.endswith(sep + other):
            swapped = path[: -len(other)] + language
            if swapped in fields:
                return swapped, [why("language", language=language)]
            if language == "en" and sep == "_" and path[:-3] in fields:
                return path[:-3], [why("language", language=language)]
    if language == "ar":
        for candidate in (path + "_ar", path + ".ar"):
            if candidate in fields:
                return candidate, [why("language", language=language)]
    return path, []


def _name_like(fields: list[FieldStats], bases: tuple[str, ...]) -> FieldStats | None:
    """``category_name``, ``category.name`` or ``category_detail.name`` for a base ``category``."""
    wanted = {norm(b) for b in bases}
    best: tuple[int, FieldStats] | None = None
    for stats in fields:
        if not scalar(stats) or "string" not in stats.types:
            continue
        parts = [norm(p) for p in segments(stats.path)]
        if not parts:
            continue
        rank = None
        if len(parts) == 1 and parts[0].endswith("name") and parts[0][:-4] in wanted:
            rank = 0
        elif (
            len(parts) == 2
            and parts[1] in ("name", "label", "title")
            and (parts[0] in wanted or (parts[0].endswith("detail") and parts[0][:-6] in wanted))
        ):
            rank = 1
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, stats)
    return best[1] if best else None


def _classify(values: list[str], words: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[dict[str, str], list[str]]:
    table: dict[str, str] = {}
    unknown: list[str] = []
    for value in sorted(set(values)):
        lowered = value.lower()
        tokens = set(re.split(r"[\W_]+", lowered))
        for kind, names in words:
            # A short word ("pos", "dc") must be a word of its own: "deposit" is no point-of-sale sale.
            if any((word in tokens) if len(word) <= 3 else (word in lowered) for word in names):
                table[value] = kind
                break
        else:
            unknown.append(value)
    return table, unknown


class Suggester:
    """Suggestions for the endpoints of one discovery, which check each other's references."""

    def __init__(self, samples: list[Sample], language: str = "ar") -> None:
        self.samples = samples
        self.language = language if language in ("ar", "en") else "ar"
        self.by_resource: dict[str, Sample] = {}
        for sample in samples:
            self.by_resource.setdefault(sample.resource, sample)
        self.refs: dict[tuple[str, str], FieldChoice] = {}
        self.ref_targets: dict[str, Counter[str]] = {"items": Counter(), "locations": Counter()}
        self.detail_wanted: dict[str, list[str]] = {}
        for sample in samples:
            if sample.resource in ("stock_balances", "stock_movements"):
                self._references(sample)

    # --- references ------------------------------------------------------------------------------------------
    def _references(self, sample: Sample) -> None:
        for canonical, target_resource in (("item_ref", "items"), ("location_ref", "locations")):
            target = self.by_resource.get(target_resource)
            others = [s for s in self.samples if s.resource not in (target_resource,) and s is not sample]
            if sample.resource == "stock_movements":
                others = [s for s in others if s.resource == "stock_balances"]
            else:
                others = []
            choice = self._reference(sample, canonical, target, others)
            self.refs[(sample.key, canonical)] = choice

    def _reference(self, sample: Sample, canonical: str, target: Sample | None, others: list[Sample]) -> FieldChoice:
        candidates = CANDIDATES[canonical]
        ranked: list[tuple[float, FieldStats, list[dict[str, Any]], str | None]] = []
        rejected: list[dict[str, Any]] = []
        for stats in sample.fields:
            if not scalar(stats) or not fits(FieldType.TEXT, stats):
                continue
            named = name_score(stats.path, candidates)
            match = match_reference(stats, target, others, own=sample)
            reasons: list[dict[str, Any]] = []
            threshold = 0.95 * (target.coverage if target is not None else 1.0)
            if target is not None and match.coverage >= threshold and match.coverage > 0:
                # A field present in few records (``deltas.location`` on moves only) is a weaker reference.
                present = present_share(stats, len(sample.records))
                score = (0.75 + 0.25 * min(1.0, named / 100)) * (0.5 + 0.5 * present)
                reasons.append(
                    why("refs_match", share=round(match.coverage * 100), endpoint=target.key, field=match.target_field)
                )
                if named:
                    reasons.append(why("name_match", name=segments(stats.path)[-1]))
                ranked.append((score, stats, reasons, match.target_field))
                continue
            if named <= 0:
                continue
            if match.other is not None and (target is None or match.coverage < threshold):
                rejected.append(why("other_entity", path=stats.path, endpoint=match.other[0]))
                if canonical == "item_ref" and len(segments(stats.path)) == 1:
                    self.detail_wanted.setdefault(sample.key, []).append(segments(stats.path)[0])
                continue
            if target is not None and values_of(stats):
                rejected.append(
                    why("refs_unmatched", path=stats.path, endpoint=target.key, share=round(match.coverage * 100))
                )
                continue
            # No endpoint to check against: the name alone, and a low confidence.
            ranked.append(
                (0.45 * named / 100, stats, [why("name_match", name=segments(stats.path)[-1]), why("unchecked")], None)
            )
        if not ranked:
            return FieldChoice(None, 0.0, rejected or [why("not_found")])
        ranked.sort(key=lambda r: (-r[0], len(segments(r[1].path))))
        score, stats, reasons, target_field = ranked[0]
        if target_field and target is not None:
            self.ref_targets[target.resource][target_field] += 1
        return FieldChoice({"path": stats.path}, score, reasons + rejected)

    # --- one endpoint ----------------------------------------------------------------------------------------
    def suggest(self, sample: Sample) -> Suggestion:
        resource = sample.resource
        if resource not in CANONICAL_FIELDS:
            return Suggestion(None, {}, [])
        fields = {f.path: f for f in sample.fields}
        scalars = [f for f in sample.fields if scalar(f)]
        total = len(sample.records)
        choices: dict[str, FieldChoice] = {}
        used: set[str] = set()

        for canonical in CANONICAL_FIELDS[resource]:
            name = canonical.name
            if (sample.key, name) in self.refs:
                choice = self.refs[(sample.key, name)]
                if choice.rule is not None:
                    choices[name] = choice
                    used.add(choice.rule["path"])
                elif canonical.required:
                    choices[name] = choice
                continue
            if name == "external_id" and resource in ("items", "locations"):
                choices[name] = self._own_id(sample, resource)
                continue
            if name == "code" and resource == "locations":
                continue  # after the external id, which it may share
            best = self._best(sample, canonical.name, canonical.type, scalars, used, total)
            if best is None:
                continue
            choice = best
            path = choice.rule["path"] if choice.rule else None
            if path and canonical.type == FieldType.TEXT and name in ("name", "category", "address"):
                swapped, reasons = _prefer_language(path, fields, self.language)
                if swapped != path:
                    choice.rule = {**choice.rule, "path": swapped} if choice.rule else None
                    choice.reasons += reasons
                    path = swapped
            if path and (name != "sku" or resource != "items"):
                used.add(path)
            choices[name] = choice

        if resource == "locations":
            choices["code"] = self._location_code(sample, choices, scalars)
            self._location_name(sample, choices, fields)
        if resource == "items":
            self._item_sku(sample, choices)
        if resource == "stock_movements":
            self._movement_rules(sample, choices, scalars)
        if resource == "stock_balances" and "source_id" in choices and choices["source_id"].rule is not None:
            own = choices["source_id"].rule["path"]
            if unique_share(fields[own]) < 0.98:
                del choices["source_id"]

        rules = {n: c.rule for n, c in choices.items() if c.rule is not None}
        spec: dict[str, Any] = {"record_path": sample.record_path or "$", "fields": rules}
        if resource == "stock_balances" and "source_id" not in rules:
            # No row id to sum by: the source must have one row per item and location (the preview shows it).
            spec["combine"] = "last"
        missing: list[str] = []
        try:
            compile_mapping(resource, spec, strict=True)
        except MappingInvalid as exc:
            missing = [exc.detail] if exc.code == "required_field_unmapped" else [exc.field]
        return Suggestion(
            spec,
            {n: c.report() for n, c in choices.items()},
            missing,
            self.detail_wanted.get(sample.key, []),
        )

    def _best(
        self, sample: Sample, name: str, kind: FieldType, scalars: list[FieldStats], used: set[str], total: int
    ) -> FieldChoice | None:
        candidates = CANDIDATES.get(name, ())
        if name in NAME_PREFERRED:
            bases = ("category", "group", "family") if name == "category" else ("location_type", "type", "kind")
            named = _name_like(scalars, bases)
            if named is not None and named.path not in used:
                reasons = [why("name_over_id", path=named.path)]
                return self._with_lookup(sample, name, FieldChoice({"path": named.path}, 0.85, reasons), named)
        ranked = sorted(
            ((name_score(f.path, candidates), f) for f in scalars if f.path not in used), key=lambda p: -p[0]
        )
        ranked = [(s, f) for s, f in ranked if s > 0 and fits(kind, f)]
        if name in NAME_PREFERRED:
            # A numeric id (``category: 7``) is not a category: leave it for a person rather than store numbers.
            ranked = [(s, f) for s, f in ranked if set(f.types) - {"null"} == {"string"}]
        if not ranked:
            return None
        score, chosen = ranked[0]
        reasons = [why("name_match", name=segments(chosen.path)[-1])]
        confidence = min(1.0, score / 100)
        present = present_share(chosen, total)
        if present < 0.2 and not any(f.name == name and f.required for f in CANONICAL_FIELDS[sample.resource]):
            return None  # an optional field found in a few records only is noise, not a mapping
        if present < 0.9:
            reasons.append(why("sometimes_empty", share=round(present * 100)))
            confidence *= 0.8
        rule: dict[str, Any] = {"path": chosen.path}
        if kind in (FieldType.DECIMAL, FieldType.INTEGER) and "string" in chosen.types:
            rule["transforms"] = [{"op": "to_number"}]
            reasons.append(why("converted"))
        choice = FieldChoice(rule, confidence, reasons)
        if name in ("kind", "type"):
            return self._with_lookup(sample, name, choice, chosen)
        return choice

    def _with_lookup(self, sample: Sample, name: str, choice: FieldChoice, stats: FieldStats) -> FieldChoice:
        """A lookup table from every value seen on the pages read, and every value the description lists."""
        seen = [_key(v) for v in stats.values if v not in (None, "")]
        listed = [_key(v) for v in sample.enums.get(stats.path, []) if v not in (None, "")]
        values = sorted(set(seen) | set(listed))
        if name == "kind":
            table, unknown = _classify(values, KIND_WORDS)
            if listed:
                choice.reasons.append(why("lookup_enum", count=len(set(listed))))
            choice.reasons.append(why("lookup_pages", values=len(set(seen)), records=len(sample.records)))
            if unknown:
                choice.reasons.append(why("unclassified", values=", ".join(unknown[:10])))
                choice.score = min(choice.score, 0.4)
            if not table:
                return FieldChoice(None, 0.0, [*choice.reasons, why("not_found")])
            assert choice.rule is not None
            choice.rule = {**choice.rule, "transforms": [{"op": "lookup", "table": table}]}
            return choice
        table, unknown = _classify(values, LOCATION_TYPE_WORDS)
        if table and any(k.lower() != v for k, v in table.items()):
            assert choice.rule is not None
            choice.rule = {**choice.rule, "transforms": [{"op": "lookup", "table": table, "default": "other"}]}
            choice.reasons.append(why("lookup_pages", values=len(values), records=len(sample.records)))
        if unknown:
            choice.reasons.append(why("other_type", values=", ".join(unknown[:10])))
        return choice

    def _own_id(self, sample: Sample, resource: str) -> FieldChoice:
        """The records' own id: the id field the other endpoints' references use, else a named unique id."""
        referenced = self.ref_targets.get(resource, Counter())
        ids = id_fields(sample)
        if referenced:
            path, count = referenced.most_common(1)[0]
            return FieldChoice(
                {"path": path}, 0.95, [why("referenced", count=count), why("unique", count=len(sample.records))]
            )
        for stats in ids:
            score = name_score(stats.path, CANDIDATES["external_id"])
            if score > 0:
                return FieldChoice(
                    {"path": stats.path},
                    0.8,
                    [why("name_match", name=segments(stats.path)[-1]), why("unique", count=len(sample.records))],
                )
        if ids:
            return FieldChoice({"path": ids[0].path}, 0.5, [why("unique", count=len(sample.records))])
        return FieldChoice(None, 0.0, [why("not_found")])

    def _item_sku(self, sample: Sample, choices: dict[str, FieldChoice]) -> None:
        """A SKU that is sometimes empty (InvenTree's IPN) falls back to the item's own id."""
        sku = choices.get("sku")
        own = choices.get("external_id")
        own_path = own.rule["path"] if own and own.rule else None
        if sku is None or sku.rule is None:
            if own_path:
                choices["sku"] = FieldChoice({"path": own_path}, 0.6, [why("sku_is_id")])
            return
        stats = sample.stats(sku.rule["path"])
        if (
            stats is not None
            and present_share(stats, len(sample.records)) < 1.0
            and own_path
            and own_path != stats.path
        ):
            choices["sku"] = FieldChoice(
                {"paths": [stats.path, own_path]},
                max(0.6, sku.score * 0.9),
                [*sku.reasons, why("sku_fallback", path=own_path)],
            )

    def _location_code(self, sample: Sample, choices: dict[str, FieldChoice], scalars: list[FieldStats]) -> FieldChoice:
        ranked = sorted(
            ((name_score(f.path, CANDIDATES["code"]), f) for f in scalars if fits(FieldType.TEXT, f)),
            key=lambda p: -p[0],
        )
        ranked = [(s, f) for s, f in ranked if s > 0]
        if ranked:
            return FieldChoice(
                {"path": ranked[0][1].path},
                min(1.0, ranked[0][0] / 100),
                [why("name_match", name=segments(ranked[0][1].path)[-1])],
            )
        own = choices.get("external_id")
        if own is not None and own.rule is not None:
            return FieldChoice(dict(own.rule), 0.6, [why("code_is_id")])
        return FieldChoice(None, 0.0, [why("not_found")])

    def _location_name(self, sample: Sample, choices: dict[str, FieldChoice], fields: dict[str, FieldStats]) -> None:
        """A leaf name that repeats (``Shelf 1`` in two rooms) gives way to the full path when the source has one."""
        name = choices.get("name")
        if name is None or name.rule is None:
            return
        stats = fields.get(name.rule["path"])
        if stats is None or unique_share(stats) >= 1.0:
            return
        for candidate in ("$.pathstring", "$.path", "$.full_path", "$.full_name", "$.complete_name"):
            full = fields.get(candidate)
            if full is not None and unique_share(full) > unique_share(stats):
                choices["name"] = FieldChoice({"path": candidate}, 0.85, [why("path_unique", path=candidate)])
                return

    def _movement_rules(self, sample: Sample, choices: dict[str, FieldChoice], scalars: list[FieldStats]) -> None:
        quantity = choices.get("quantity")
        if quantity is None or quantity.rule is None:
            return
        names = {norm(d) for d in DIRECTION_NAMES}
        direction = next((f for f in scalars if norm(segments(f.path)[-1]) in names), None)
        if direction is None:
            return
        values = sorted(
            {_key(v) for v in direction.values if v not in (None, "")}
            | {_key(v) for v in sample.enums.get(direction.path, [])}
        )
        outgoing = [v for v in values if v.strip().lower() in OUT_WORDS]
        if outgoing:
            transforms = [
                *quantity.rule.get("transforms", []),
                {"op": "negate_when", "path": direction.path, "values": outgoing},
            ]
            quantity.rule = {**quantity.rule, "transforms": transforms}
            quantity.reasons.append(why("direction", path=direction.path, values=", ".join(outgoing)))
