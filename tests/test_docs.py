"""The documentation stays true to the code it describes (issue 18: the README split into docs/).

- every setting Atlas reads is in docs/configuration.md, and every setting listed there is read by something;
- every `atlas` command is in the command-line table of docs/operations.md, and every API route in docs/api.md;
- every relative link in the README, docs/ and benchmarks/README.md reaches a file, and a heading when it names one.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from atlas.cli import main
from atlas.config import Settings

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api.md"
CONFIGURATION = ROOT / "docs" / "configuration.md"
OPERATIONS = ROOT / "docs" / "operations.md"
SETTING = re.compile(r"\b(?:ATLAS|MOYASAR|OIDC|TEMPORAL)_[A-Z0-9_]+\b|\bDATABASE_URL\b")
# Names that look like settings but are not: a token pattern (atlas/observability.py) and the test script's paths.
NOT_SETTINGS = {"ATLAS_TOKEN", "OIDC_NODE"}


def settings_read_by_the_code() -> set[str]:
    names = {str(field.validation_alias) for field in Settings.model_fields.values() if field.validation_alias}
    for path in [*ROOT.joinpath("atlas").rglob("*.py"), *ROOT.joinpath("scripts").glob("*.sh")]:
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r"environ(?:\.get)?\(\s*[\"']([A-Z][A-Z0-9_]+)[\"']", text))
        names.update(re.findall(r"\$\{((?:ATLAS|MOYASAR|OIDC|TEMPORAL)_[A-Z0-9_]+)", text))
    return {name for name in names if SETTING.fullmatch(name)} - NOT_SETTINGS


def test_every_setting_the_code_reads_is_documented():
    documented = set(SETTING.findall(CONFIGURATION.read_text(encoding="utf-8")))
    assert "ATLAS_AUDIT_SIGNING_KEY_FILE" in settings_read_by_the_code()  # the scan sees the settings model
    assert "ATLAS_DEMO_ERP_PORT" in settings_read_by_the_code()  # … os.environ in atlas/demo.py
    assert "ATLAS_PORT" in settings_read_by_the_code()  # … and ${…} in scripts/
    assert sorted(settings_read_by_the_code() - documented) == []


def test_every_documented_setting_is_read_by_the_code():
    documented = set(SETTING.findall(CONFIGURATION.read_text(encoding="utf-8")))
    assert sorted(documented - settings_read_by_the_code()) == []


def commands(group: click.Group, prefix: str = "atlas") -> list[str]:
    """Every command as the command line offers it (``list_commands``/``get_command``: a lazily loaded command, such
    as ``atlas forecast``, counts too)."""
    found = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found.extend(commands(command, f"{prefix} {name}"))
        else:
            found.append(f"{prefix} {name}")
    return found


def test_every_cli_command_is_in_the_operations_guide():
    text = OPERATIONS.read_text(encoding="utf-8")
    table = text[text.index("## The command line") :]
    listed = commands(main)
    assert "atlas audit verify-export" in listed and "atlas forecast" in listed
    assert [command for command in listed if f"`{command}" not in table] == []


def api_paths() -> set[str]:
    """Every path the app serves under /api, plus the operations endpoints, with parameters as ``{…}``."""
    from atlas.web.app import create_app

    app = create_app(Settings())
    paths = {route.path for route in app.routes if route.path.startswith("/api/")}
    return paths | {"/health", "/ready", "/metrics"}


def test_every_api_route_is_in_the_api_guide():
    text = API.read_text(encoding="utf-8")
    table = text[text.index("## Areas and endpoints") : text.index("## Paging")]
    documented = {
        re.sub(r"\{[^}]+\}", "{}", path) for path in re.findall(r"(/(?:api/|health|ready|metrics)[^\s`?|]*)", table)
    }
    served = {re.sub(r"\{[^}]+\}", "{}", path) for path in api_paths()}
    assert "/api/recommendations/{}/execute" in served  # parameters are matched whatever their names and types
    assert sorted(served - documented) == []


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def without_code_blocks(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted(ROOT.joinpath("docs").rglob("*.md"))]


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", without_code_blocks(path.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / file_part).resolve() if file_part else path
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", without_code_blocks(destination.read_text(encoding="utf-8")), re.M)
            if anchor not in {slug(heading) for heading in headings}:
                broken.append(f"{target}: no such heading")
    return broken


def test_every_relative_link_in_the_docs_resolves():
    broken = {str(path.relative_to(ROOT)): broken_links(path) for path in markdown_files()}
    assert {path: links for path, links in broken.items() if links} == {}


def test_the_link_checker_sees_a_broken_link(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n[ok](a.md#title) [gone](b.md) [bad](a.md#nowhere)\n", encoding="utf-8")
    assert broken_links(tmp_path / "a.md") == ["b.md: no such file", "a.md#nowhere: no such heading"]
