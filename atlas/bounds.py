"""Integer bounds for what reaches the database's int4 columns, shared by every component.

A value past a column's range is a 422 that names the field, decided where the request is read (Litestar parameters,
msgspec fields), never an error from PostgreSQL.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import Parameter

INT4_MIN = -(2**31)
INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1

# Path and query parameters (Litestar): a version, revision or other number stored in an int4 column.
PositiveInt32 = Annotated[int, Parameter(ge=1, le=INT4_MAX)]
NonNegativeInt32 = Annotated[int, Parameter(ge=0, le=INT4_MAX)]  # a policy version: 0 is the defaults

# Body fields (msgspec).
Int32Field = Annotated[int, msgspec.Meta(ge=INT4_MIN, le=INT4_MAX)]
NonNegativeInt32Field = Annotated[int, msgspec.Meta(ge=0, le=INT4_MAX)]
PositiveInt32Field = Annotated[int, msgspec.Meta(ge=1, le=INT4_MAX)]


def int4_or_none(value: str | None, *, low: int = 1) -> int | None:
    """A page's hand-read integer parameter: the number, or None when absent, not a number or out of range."""
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    if number is None or not low <= number <= INT4_MAX:
        return None
    return number
