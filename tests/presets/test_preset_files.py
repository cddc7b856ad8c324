"""Every preset file is checked as code is: its shape, its references, its labels in both languages, its connector
through the same validation as the API's, and every mapping compiled strictly. And the loader's rules."""

from __future__ import annotations

import pytest

from atlas.connectors.services import validate_create
from atlas.errors import ValidationFailed
from atlas.i18n import catalogue
from atlas.mapping.services import validated
from atlas.presets.loader import PresetFileInvalid, load_presets, parse, render
from atlas.presets.services import connector_body

PRESETS = load_presets()


def sample_inputs(preset_id: str) -> dict[str, str]:
    preset = PRESETS[preset_id]
    return {i.name: (i.choices[0] if i.choices else f"sample-{i.name}") for i in preset.inputs if i.required}


def test_the_presets_the_issue_names_are_there() -> None:
    assert "inventree" in PRESETS
    assert all(p.version >= 1 for p in PRESETS.values())


@pytest.mark.parametrize("preset_id", sorted(PRESETS))
def test_every_label_and_help_exists_in_both_languages(preset_id: str) -> None:
    preset = PRESETS[preset_id]
    keys = [preset.summary, *(i.label for i in preset.inputs), *(i.help for i in preset.inputs if i.help)]
    entries = catalogue()
    missing = [k for k in keys if k not in entries or not entries[k].get("ar") or not entries[k].get("en")]
    assert missing == []


@pytest.mark.parametrize("preset_id", sorted(PRESETS))
def test_every_preset_fills_in_to_a_valid_connector_and_strict_mappings(preset_id: str) -> None:
    preset = PRESETS[preset_id]
    rendered = render(preset, None if preset.base_url_default else "https://erp.example.com", sample_inputs(preset_id))
    data = connector_body(rendered)
    validate_create(data)  # raises a 422 naming the field
    assert "${" not in str(rendered.connector) and "${" not in str(rendered.mappings)
    resources = preset.endpoint_resources()
    parents = {e.parent for e in data.endpoints if e.parent}
    for endpoint in data.endpoints:
        # every endpoint is mapped, except one read only to name its children's parent (a company)
        assert endpoint.key in rendered.mappings or endpoint.key in parents, endpoint.key
    for key, spec in rendered.mappings.items():
        validated(resources[key], spec, strict=True)


MINIMAL = """
id = "{id}"
version = 1
name = "Sample"
summary = "presets.inventree.summary"
{extra}
[[inputs]]
name = "key"
label = "presets.inputs.api_key"
secret = true
[[inputs]]
name = "region"
label = "presets.inputs.region"
required = false
[connector]
environment = "production"
[connector.auth]
kind = "api_key"
api_key = "${{key}}"
[connector.headers]
X-Region = "${{region}}"
[[connector.endpoints]]
key = "items"
resource = "items"
path = "/items"
"""


def test_a_reference_to_an_unknown_input_is_refused() -> None:
    text = MINIMAL.format(id="sample", extra="").replace("${region}", "${regoin}")
    with pytest.raises(PresetFileInvalid, match="regoin"):
        parse(text, "sample")


def test_an_unknown_key_and_a_wrong_id_are_refused() -> None:
    with pytest.raises(PresetFileInvalid):
        parse(MINIMAL.format(id="sample", extra='colour = "blue"'), "sample")
    with pytest.raises(PresetFileInvalid, match="file's name"):
        parse(MINIMAL.format(id="other", extra=""), "sample")


def test_an_optional_input_left_empty_drops_its_value_and_a_base_path_is_added_once() -> None:
    preset = parse(MINIMAL.format(id="sample", extra='base_path = "/b1s/v1"'), "sample")
    rendered = render(preset, "https://sap.example.com:50000/", {"key": "K"})
    assert rendered.connector["headers"] == {}
    assert rendered.connector["auth"]["api_key"] == "K"
    assert rendered.connector["base_url"] == "https://sap.example.com:50000/b1s/v1"
    again = render(preset, "https://sap.example.com:50000/b1s/v1", {"key": "K", "region": "eu"})
    assert again.connector["base_url"] == "https://sap.example.com:50000/b1s/v1"
    assert again.connector["headers"] == {"X-Region": "eu"}


def test_a_missing_or_unknown_input_is_a_422_naming_it() -> None:
    preset = parse(MINIMAL.format(id="sample", extra=""), "sample")
    with pytest.raises(ValidationFailed) as missing:
        render(preset, "https://erp.example.com", {})
    assert missing.value.message_key == "errors.preset_input_required"
    assert missing.value.extra["field"] == "inputs.key"
    with pytest.raises(ValidationFailed) as unknown:
        render(preset, "https://erp.example.com", {"key": "K", "colour": "blue"})
    assert unknown.value.extra["field"] == "inputs.colour"
    with pytest.raises(ValidationFailed) as no_url:
        render(preset, "", {"key": "K"})
    assert no_url.value.extra["field"] == "base_url"
