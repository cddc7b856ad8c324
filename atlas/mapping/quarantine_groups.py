"""Quarantined records grouped by what is wrong with them: (connector, endpoint, field, error code, offending value).

A person fixes causes, not records: 573 movements set aside for one unknown kind are one problem with one fix.
A record that is wrong in two ways (two fields) belongs to two groups, and a group's count is the number of
records with that error, so every group's count is exact; their sum can then exceed the number of records, which
is counted apart. A record has at most one error per field (the engine maps field by field, the writer gives one
reason), so counting (record, error) pairs counts records: ``count(DISTINCT id)`` gave the same numbers several
times slower on 60,000 records (its sorts), and so did taking the oldest record as the sample; the sample is the
record with the smallest id (``min`` needs no sort, and the same record comes back whatever the filters, where the
first of an unordered ``array_agg`` did not), docs/quarantine.md has the figures. The offending value is the
error's ``detail`` (the engine puts the value there, cut to 60 characters; the writer's reasons have none). A
record with no error at all still lands in one group (code ``unknown``), so grouping never hides a record.

Plain SQL over the caller's tenant transaction: the tenant filter is explicit and row-level security is the
second wall. Used by the quarantine API and page (`atlas.mapping.quarantine`) and by a run's counts
(`atlas.mapping.writer.run_counts`), which keep each run's most frequent groups with its stats.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import TextClause

from atlas.db.engine import tenant_context

# Every error of a record, or one empty error for a record that has none (it must still be counted somewhere).
_ERRORS = (
    "jsonb_array_elements(CASE WHEN jsonb_typeof({errors}) = 'array' AND jsonb_array_length({errors}) > 0 "
    "THEN {errors} ELSE '[{{}}]'::jsonb END)"
)
FIELD = "coalesce(e.value->>'field', '')"
CODE = "coalesce(e.value->>'code', 'unknown')"
VALUE = "coalesce(e.value->>'detail', '')"
TOP = 5  # the groups a run keeps with its stats, per resource


@dataclass(frozen=True, slots=True)
class Group:
    """What identifies a group within one connector's endpoint."""

    field: str
    code: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "value": self.value}


def _errors(table: str) -> str:
    return _ERRORS.format(errors=f"{table}.errors")


def in_group(group: Group) -> TextClause:
    """A WHERE clause over ``quarantined_records``: the record has this group's error."""
    return text(
        f"EXISTS (SELECT 1 FROM {_errors('quarantined_records')} AS e "
        f"WHERE {FIELD} = :group_field AND {CODE} = :group_code AND {VALUE} = :group_value)"
    ).bindparams(group_field=group.field, group_code=group.code, group_value=group.value)


@dataclass(frozen=True, slots=True)
class Filters:
    connector_id: uuid.UUID | None = None
    status: str | None = "open"  # None: every status
    sync_run_id: uuid.UUID | None = None
    endpoint_key: str | None = None

    def where(self, tenant_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
        clauses = ["q.tenant_id = :tenant_id"]
        params: dict[str, Any] = {"tenant_id": tenant_id}
        for name in ("connector_id", "status", "sync_run_id", "endpoint_key"):
            value = getattr(self, name)
            if value is not None and value != "":
                clauses.append(f"q.{name} = :{name}")
                params[name] = value
        return " AND ".join(clauses), params


async def group_rows(
    session: AsyncSession, filters: Filters, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int, int]:
    """One page of groups, most frequent first, each with a sample (the record with the smallest id: the same one
    whatever the filters that include it, at no cost of a sort); the number of groups
    and of distinct records that match the filters."""
    tenant_id = tenant_context(session).tenant_id
    assert tenant_id is not None
    where, params = filters.where(tenant_id)
    rows = (
        await session.execute(
            text(
                f"""
                SELECT q.connector_id, q.endpoint_key, q.resource, {FIELD} AS field, {CODE} AS code,
                       {VALUE} AS value, count(*) AS n, min(q.id::text)::uuid AS sample_id,
                       count(*) OVER () AS groups
                FROM quarantined_records q CROSS JOIN LATERAL {_errors("q")} AS e
                WHERE {where}
                GROUP BY q.connector_id, q.endpoint_key, q.resource, 4, 5, 6
                ORDER BY n DESC, q.endpoint_key, field, code, value, q.connector_id, q.resource
                LIMIT :limit OFFSET :offset
                """
            ),
            {**params, "limit": limit, "offset": offset},
        )
    ).mappings()
    found = [dict(row) for row in rows]
    records = (
        await session.execute(text(f"SELECT count(*) FROM quarantined_records q WHERE {where}"), params)
    ).scalar_one()
    if found:
        groups = int(found[0]["groups"])
    elif offset:  # past the last page: count the groups on their own
        groups = int(
            (
                await session.execute(
                    text(
                        f"SELECT count(*) FROM (SELECT 1 FROM quarantined_records q CROSS JOIN LATERAL "
                        f"{_errors('q')} AS e WHERE {where} "
                        f"GROUP BY q.connector_id, q.endpoint_key, q.resource, {FIELD}, {CODE}, {VALUE}) g"
                    ),
                    params,
                )
            ).scalar_one()
        )
    else:
        groups = 0
    return found, groups, int(records)


async def count_in_group(
    session: AsyncSession, *, connector_id: uuid.UUID, endpoint_key: str, group: Group, status: str | None = "open"
) -> int:
    """How many records of one connector's endpoint have this group's error (open ones by default)."""
    tenant_id = tenant_context(session).tenant_id
    assert tenant_id is not None
    where, params = Filters(connector_id=connector_id, status=status, endpoint_key=endpoint_key).where(tenant_id)
    return int(
        (
            await session.execute(
                text(
                    f"SELECT count(*) FROM quarantined_records q WHERE {where} AND EXISTS (SELECT 1 FROM "
                    f"{_errors('q')} AS e WHERE {FIELD} = :group_field AND {CODE} = :group_code "
                    f"AND {VALUE} = :group_value)"
                ),
                {**params, "group_field": group.field, "group_code": group.code, "group_value": group.value},
            )
        ).scalar_one()
    )


async def run_top(session: AsyncSession, *, connector_id: uuid.UUID, run_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Per resource, what one run set aside, grouped: its ``TOP`` most frequent groups (endpoint, field, code,
    value, count) and how many groups there were. What the run did, whatever became of the records since."""
    tenant_id = tenant_context(session).tenant_id
    assert tenant_id is not None
    rows = (
        await session.execute(
            text(
                f"""
                SELECT resource, endpoint_key, field, code, value, n, groups FROM (
                    SELECT g.*, count(*) OVER (PARTITION BY resource) AS groups,
                           row_number() OVER (
                               PARTITION BY resource ORDER BY n DESC, endpoint_key, field, code, value
                           ) AS rank
                    FROM (
                        SELECT q.resource, q.endpoint_key, {FIELD} AS field, {CODE} AS code, {VALUE} AS value,
                               count(*) AS n
                        FROM quarantined_records q CROSS JOIN LATERAL {_errors("q")} AS e
                        WHERE q.tenant_id = :tenant_id AND q.connector_id = :connector_id
                          AND q.sync_run_id = :run_id
                        GROUP BY 1, 2, 3, 4, 5
                    ) g
                ) ranked
                WHERE rank <= :top
                ORDER BY resource, rank
                """
            ),
            {"tenant_id": tenant_id, "connector_id": connector_id, "run_id": run_id, "top": TOP},
        )
    ).mappings()
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = found.setdefault(row["resource"], {"top": [], "groups": int(row["groups"])})
        entry["top"].append(
            {
                "endpoint": row["endpoint_key"],
                "field": row["field"],
                "code": row["code"],
                "value": row["value"],
                "count": int(row["n"]),
            }
        )
    return found
