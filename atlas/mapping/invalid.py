"""The error a mapping version itself raises when it is wrong (not a record): its own module, so that the engine
and the rule compilers beside it (`atlas.mapping.conditions`) raise the same class without importing each other."""

from __future__ import annotations


class MappingInvalid(ValueError):
    """The mapping itself is wrong (not a record): ``field`` names where, ``code`` says what.

    The API turns it into a 422 whose message is the catalogue's ``errors.mapping_<code>``."""

    def __init__(self, code: str, field: str, detail: str = "") -> None:
        super().__init__(f"{code} at {field}: {detail}" if detail else f"{code} at {field}")
        self.code = code
        self.field = field
        self.detail = detail
