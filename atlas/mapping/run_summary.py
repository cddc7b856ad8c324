"""A finished sync run in words a person reads: what was written, what was set aside and why, what was skipped,
and, for a run that needs attention, what happened and how to fix it. Pure functions over a run's stats."""

from __future__ import annotations

from typing import Any

from atlas.i18n import translate

REASON_KEYS = "quarantine.reason."


def _number(value: Any) -> str:
    return f"{int(value or 0):,}"


def _percent(share: Any) -> str:
    return f"{float(share or 0) * 100:.1f}".rstrip("0").rstrip(".") + "%"


def summary_numbers(stats: dict[str, Any]) -> dict[str, Any]:
    """Totals over the run's resources: records read, written (distinct source records stored), set aside (with
    the count per reason), skipped by a skip rule, and read twice (counted once); and what was set aside grouped
    by cause, most frequent first (``top``: endpoint, field, code, offending value, count; ``groups``: how many
    causes in all), when the run's counts kept them."""
    reasons: dict[str, int] = {}
    top: list[dict[str, Any]] = []
    groups = 0
    totals = {"read": 0, "written": 0, "set_aside": 0, "skipped": 0, "duplicates": 0, "vanished": 0}
    for numbers in stats.values():
        if not isinstance(numbers, dict):
            continue
        totals["read"] += int(numbers.get("read", numbers.get("fetched", 0)) or 0)
        totals["written"] += int(numbers.get("written", 0) or 0)
        totals["set_aside"] += int(numbers.get("quarantined", 0) or 0)
        totals["skipped"] += int(numbers.get("skipped", 0) or 0)
        totals["duplicates"] += int(numbers.get("duplicates", 0) or 0)
        totals["vanished"] += int(numbers.get("vanished", 0) or 0)
        for code, count in (numbers.get("reasons") or {}).items():
            reasons[code] = reasons.get(code, 0) + int(count)
        top.extend(cause for cause in numbers.get("top") or [] if isinstance(cause, dict))
        groups += int(numbers.get("groups", 0) or 0)
    top.sort(key=lambda c: (-int(c.get("count") or 0), str(c.get("endpoint")), str(c.get("field")), str(c.get("code"))))
    return {
        **totals,
        "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "top": top,
        "groups": groups,
    }


def _reason_label(code: str, lang: str) -> str:
    if code == "plan_limit_records":  # its full sentence needs the plan's figures; the short form does not
        return translate("syncs.summary.plan_limit", lang)
    label = translate(REASON_KEYS + code, lang)
    return code if label == REASON_KEYS + code else label


def reasons_text(reasons: dict[str, int], lang: str) -> str:
    return translate("syncs.summary.separator", lang).join(
        f"{_reason_label(code, lang)}: {_number(count)}" for code, count in reasons.items()
    )


def summary_sentence(numbers: dict[str, Any], lang: str) -> str:
    """ "1,204 written, 3 set aside (unknown item: 3), 12 skipped" in the request's language."""
    parts = [translate("syncs.summary.written", lang, n=_number(numbers["written"]))]
    aside = translate("syncs.summary.set_aside", lang, n=_number(numbers["set_aside"]))
    if numbers["set_aside"]:
        aside += f" ({reasons_text(numbers['reasons'], lang)})"
    parts.append(aside)
    if numbers["skipped"]:
        parts.append(translate("syncs.summary.skipped", lang, n=_number(numbers["skipped"])))
    if numbers["duplicates"]:
        parts.append(translate("syncs.summary.duplicates", lang, n=_number(numbers["duplicates"])))
    if numbers["vanished"]:
        parts.append(translate("syncs.summary.vanished", lang, n=_number(numbers["vanished"])))
    return translate("syncs.summary.separator", lang).join(parts)


HEADLINE_CAUSES = 3  # the causes a run's one line names; the rest are counted ("and 2 more causes")


def _field_label(field: str, lang: str) -> str:
    label = translate(f"mappings.field.{field}", lang)
    return field if label == f"mappings.field.{field}" else label


def _code_label(code: str, lang: str) -> str:
    label = translate(f"outcomes.code.{code}", lang)
    return code if label == f"outcomes.code.{code}" else label


def cause_text(cause: dict[str, Any], lang: str) -> str:
    """ "Movement kind: unknown value “ADJUSTMENT” (573)" in ``lang``."""
    params = {  # field, reason, value, count (short placeholders: the catalogue's Arabic check reads words)
        "f": _field_label(str(cause.get("field") or ""), lang),
        "r": _code_label(str(cause.get("code") or ""), lang),
        "v": str(cause.get("value") or ""),
        "n": _number(cause.get("count")),
    }
    if not params["f"]:
        key = "outcomes.cause.no_field"
    else:
        key = "outcomes.cause.with_value" if params["v"] else "outcomes.cause.plain"
    return translate(key, lang, **params)


def outcome_sentence(status: str, numbers: dict[str, Any], lang: str) -> str:
    """The run's outcome, honest about what it set aside: "Succeeded" only when nothing was; else "Succeeded,
    573 set aside: Movement kind: unknown value “ADJUSTMENT” (573)", naming the most frequent causes (or, for a
    run counted before causes were kept, the reasons)."""
    set_aside = int(numbers.get("set_aside") or 0)
    if not set_aside:
        return translate(f"syncs.status.{status}", lang)
    head = translate(f"outcomes.headline.{status}", lang, n=_number(set_aside))
    if head == f"outcomes.headline.{status}":
        head = translate("outcomes.headline.other", lang, n=_number(set_aside))
    top = numbers.get("top") or []
    if top:
        shown = top[:HEADLINE_CAUSES]
        parts = [cause_text(cause, lang) for cause in shown]
        more = int(numbers.get("groups") or len(top)) - len(shown)
        if more > 0:
            parts.append(translate("outcomes.headline.more", lang, n=_number(more)))
        causes = translate("syncs.summary.separator", lang).join(parts)
    else:
        causes = reasons_text(numbers.get("reasons") or {}, lang)
    return translate("outcomes.headline.line", lang, h=head, c=causes) if causes else head


def attention_sentence(cause: dict[str, Any], lang: str) -> str:
    """What a cause of ``needs_attention`` means and what to do about it."""
    reason = cause.get("reason")
    if reason == "set_aside_share":
        text = translate("syncs.attention.set_aside_share", lang, **attention_params(cause))
        reasons = reasons_text(cause.get("reasons") or {}, lang)
        return f"{text} ({reasons})" if reasons else text
    if reason == "vanish_refused":
        return translate("syncs.attention.vanish_refused", lang, **attention_params(cause))
    return str(reason)


def attention_params(cause: dict[str, Any]) -> dict[str, str]:
    """The figures of a cause, formatted, as its catalogue sentence takes them (pages pass them to ``i18n``)."""
    return {
        "set_aside": _number(cause.get("set_aside")),
        "read": _number(cause.get("read")),
        "endpoint": str(cause.get("endpoint") or ""),
        "would_zero": _number(cause.get("would_zero")),
        "balances": _number(cause.get("balances")),
        "share": _percent(cause.get("share")),
        "limit": _percent(cause.get("limit")),
    }


def run_summary(
    stats: dict[str, Any], attention: list[dict[str, Any]] | None, lang: str, *, status: str | None = None
) -> dict[str, Any]:
    """The numbers, the sentence in ``lang``, the outcome in one honest line (``headline``, given the run's
    ``status``), and each cause of ``needs_attention`` as a sentence and as the catalogue key and figures a page
    renders (so the language switch can translate it again)."""
    numbers = summary_numbers(stats or {})
    return {
        **numbers,
        "text": summary_sentence(numbers, lang),
        "headline": outcome_sentence(status, numbers, lang) if status else None,
        "attention": [attention_sentence(cause, lang) for cause in attention or []],
        "causes": [
            {
                "key": f"syncs.attention.{cause.get('reason')}",
                "params": attention_params(cause),
                "reasons": cause.get("reasons") or {},
            }
            for cause in attention or []
        ],
    }
