"""What the data pages show the same way on every component's lists and details: the pager, quantities and money
as people read them, and JSON as a person reads it.

In the web layer's lower half (``atlas/web/ui/``; issue 18, pages part). It was part of
``atlas/mapping/data_pages.py`` (the inventory browser's page), which the AI, approval and draft pages imported for
it: pages above mapping reached into mapping's page module, and mapping's page into the web app, a cycle. It is
plain functions over plain values, and imports nothing of Atlas.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

PAGE_SIZE = 50  # rows on a page of a paged list, unless the list says otherwise


def format_quantity(value: Decimal | int | float | None, *, signed: bool = False) -> str:
    """``1234.5000`` → ``1,234.5``; negatives with a true minus sign; ``+`` too when ``signed``."""
    if value is None:
        return "—"
    number = Decimal(value)
    text = f"{abs(number):,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if number < 0:
        return "\u2212" + text
    return ("+" + text) if signed and number > 0 else text


def format_money(value: Decimal | None) -> str | None:
    """Two decimals (``12.50``), more only when the source has them (``0.1275``)."""
    if value is None:
        return None
    number = Decimal(value)
    if number == number.quantize(Decimal("0.01")):
        return f"{number:,.2f}".replace("-", "\u2212")
    return format_quantity(number)


def pager(total: int, current: int, size: int = PAGE_SIZE) -> dict[str, Any]:
    """Where this page sits: the range shown and the page links (``None`` marks a gap)."""
    pages = max(1, math.ceil(total / size))
    current = min(current, pages)
    wanted = {1, pages, *range(current - 2, current + 3)}
    links: list[int | None] = []
    previous = 0
    for number in sorted(n for n in wanted if 1 <= n <= pages):
        if previous and number - previous > 1:
            links.append(None)  # a gap: "…"
        links.append(number)
        previous = number
    return {
        "page": current,
        "pages": pages,
        "total": total,
        "first": (current - 1) * size + 1 if total else 0,
        "last": min(current * size, total),
        "links": links,
        "prev": current - 1 if current > 1 else None,
        "next": current + 1 if current < pages else None,
    }


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)
