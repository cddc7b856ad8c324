"""Load the preset files and fill one in with what a person typed.

A preset is data (`docs/presets.md`): one TOML file per system under ``files/``. Loading checks its shape
strictly (an unknown key is an error, so a typo in a reviewed file cannot be silently ignored); filling it in
replaces ``${input}`` references and yields the body of ``POST /api/connectors`` and one mapping spec per
endpoint. Pure: no database, no network.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import msgspec

from atlas.errors import ValidationFailed

FILES = Path(__file__).resolve().parent / "files"
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
REFERENCE = re.compile(r"\$\{([^{}]*)\}")
MAX_INPUT = 2000


class PresetInput(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One value a person types: a credential, a database name, a region."""

    name: str
    label: str  # catalogue key
    help: str | None = None  # catalogue key: where to find the value in the system
    secret: bool = False
    required: bool = True
    default: str | None = None  # may reference earlier inputs
    advanced: bool = False  # folded under "More settings"
    choices: tuple[str, ...] = ()


class Preset(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    id: str
    version: int
    name: str
    summary: str  # catalogue key
    connector: dict[str, Any]
    order: int = 100
    docs_url: str | None = None
    base_url_example: str | None = None
    base_url_default: str | None = None
    base_path: str | None = None
    inputs: tuple[PresetInput, ...] = ()
    mappings: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)

    @property
    def ref(self) -> dict[str, Any]:
        """What a connector remembers of the preset it was laid down from."""
        return {"id": self.id, "version": self.version}

    def endpoint_resources(self) -> dict[str, str]:
        return {str(e.get("key")): str(e.get("resource")) for e in self.connector.get("endpoints", [])}


class PresetFileInvalid(ValueError):
    """A preset file that cannot be used: a reviewed file with a mistake in it (caught by the tests)."""


@dataclass(frozen=True)
class Rendered:
    """A preset filled in: the connector body (``POST /api/connectors``) and each endpoint's mapping spec."""

    connector: dict[str, Any]
    mappings: dict[str, dict[str, Any]]
    inputs: dict[str, str]  # every input's final value (secrets included: never log or return this)


def _references(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(REFERENCE.findall(value))
    if isinstance(value, dict):
        return set().union(*(_references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_references(v) for v in value)) if value else set()
    return set()


def parse(text: str, file_id: str) -> Preset:
    """One preset file's text, checked: its shape, its names, and that every reference names an input."""
    try:
        preset = msgspec.convert(tomllib.loads(text), Preset)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise PresetFileInvalid(f"{file_id}: {exc}") from None
    if preset.id != file_id:
        raise PresetFileInvalid(f"{file_id}: id {preset.id!r} differs from the file's name")
    if preset.version < 1:
        raise PresetFileInvalid(f"{file_id}: version must be a whole number from 1")
    names = [i.name for i in preset.inputs]
    if len(set(names)) != len(names) or "base_url" in names or not all(NAME.match(n) for n in names):
        raise PresetFileInvalid(f"{file_id}: input names must be unique, [a-z][a-z0-9_]*, and not base_url")
    known: set[str] = set()
    for item in preset.inputs:
        unknown = _references(item.default) - known
        if unknown:
            raise PresetFileInvalid(f"{file_id}: input {item.name} refers to {sorted(unknown)} before they exist")
        if item.choices and item.default is not None and item.default not in item.choices:
            raise PresetFileInvalid(f"{file_id}: input {item.name}'s default is not one of its choices")
        known.add(item.name)
    # The connector and mappings may also name the connector's final base URL (SAP B1's absolute login URL).
    unknown = ((_references(preset.connector) | _references(preset.mappings)) - known - {"base_url"}) | (
        _references(preset.base_url_default) - known
    )
    if unknown:
        raise PresetFileInvalid(f"{file_id}: references to unknown inputs {sorted(unknown)}")
    for reserved in ("name", "base_url"):
        if reserved in preset.connector:
            raise PresetFileInvalid(f"{file_id}: connector.{reserved} comes from the person, not the preset")
    resources = preset.endpoint_resources()
    extra = set(preset.mappings) - set(resources)
    if extra:
        raise PresetFileInvalid(f"{file_id}: mappings for endpoints that do not exist: {sorted(extra)}")
    return preset


@cache
def load_presets() -> dict[str, Preset]:
    """Every preset file, in chooser order. Raises `PresetFileInvalid` on the first bad file."""
    presets = [parse(path.read_text(encoding="utf-8"), path.stem) for path in sorted(FILES.glob("*.toml"))]
    return {p.id: p for p in sorted(presets, key=lambda p: (p.order, p.name.lower()))}


def get_preset(preset_id: str) -> Preset:
    preset = load_presets().get(preset_id)
    if preset is None:
        raise ValidationFailed("errors.preset_unknown", field="preset", extra={"field": "preset"}, preset=preset_id)
    return preset


def _invalid_input(input_name: str, key: str, **params: Any) -> ValidationFailed:
    field = "base_url" if input_name == "base_url" else f"inputs.{input_name}"
    return ValidationFailed(key, field=field, extra={"field": field}, **params)


def _fill(text: str, values: dict[str, str]) -> str:
    return REFERENCE.sub(lambda m: values[m.group(1)], text)


def _substitute(value: Any, values: dict[str, str], optional_empty: set[str]) -> Any:
    """Replace references; a value that is exactly ``${x}`` for an optional input left empty is dropped."""
    if isinstance(value, str):
        return _fill(value, values)
    if isinstance(value, list):
        return [_substitute(v, values, optional_empty) for v in value]
    if isinstance(value, dict):
        result = {}
        for key, child in value.items():
            whole = REFERENCE.fullmatch(child) if isinstance(child, str) else None
            if whole and whole.group(1) in optional_empty:
                continue
            result[key] = _substitute(child, values, optional_empty)
        return result
    return value


def input_values(preset: Preset, given: dict[str, str]) -> dict[str, str]:
    """Each input's value: what the person typed, else its default (filled in from earlier inputs)."""
    unknown = sorted(set(given) - {i.name for i in preset.inputs})
    if unknown:
        raise _invalid_input(unknown[0], "errors.preset_input_unknown", name=unknown[0])
    values: dict[str, str] = {}
    for item in preset.inputs:
        raw = given.get(item.name)
        value = raw if item.secret else (raw or "").strip()
        if not value:
            value = _fill(item.default or "", values)
        if len(value) > MAX_INPUT or any(c in value for c in "\r\n\0"):
            raise _invalid_input(item.name, "errors.preset_input_invalid", name=item.name)
        if not value and item.required:
            raise _invalid_input(item.name, "errors.preset_input_required", name=item.name)
        if value and item.choices and value not in item.choices:
            raise _invalid_input(
                item.name, "errors.preset_input_choice", name=item.name, allowed=", ".join(item.choices)
            )
        values[item.name] = value
    return values


def base_url_of(preset: Preset, typed: str | None, values: dict[str, str]) -> str:
    """The connector's base URL: the one typed, else the preset's default; with the preset's base path."""
    url = (typed or "").strip() or _fill(preset.base_url_default or "", values)
    if not url:
        raise _invalid_input("base_url", "errors.preset_base_url_required")
    url = url.rstrip("/")
    if preset.base_path:
        path = "/" + preset.base_path.strip("/")
        if not url.endswith(path):
            url += path
    return url


def render(preset: Preset, base_url: str | None, inputs: dict[str, str], *, name: str | None = None) -> Rendered:
    """The preset filled in. Raises a 422 naming the input that is missing or wrong."""
    values = input_values(preset, inputs)
    empty = {i.name for i in preset.inputs if not values[i.name] and not i.required}
    url = base_url_of(preset, base_url, values)
    filled = {**values, "base_url": url}  # ``${base_url}``: the connector's base URL, base path included
    connector = _substitute(preset.connector, filled, empty)
    connector["name"] = (name or "").strip() or preset.name
    connector["base_url"] = url
    mappings = {key: _substitute(spec, filled, empty) for key, spec in preset.mappings.items()}
    return Rendered(connector=connector, mappings=mappings, inputs=values)
