"""Rules for the browser tests that a run does not always catch: Atlas's Content-Security-Policy has no
'unsafe-eval', so Playwright's ``wait_for_function`` must be given a function (``"() => expr"``), never a bare
expression, which Playwright evaluates with ``eval`` — blocked, but only when the condition is not already true at
the first poll, so such a test passes or fails by timing (docs/testing.md)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def leading_text(node: ast.expr) -> str | None:
    """The literal text a string argument starts with (f-strings and implicit concatenation included)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    return None


def bare_expressions(source: str) -> list[int]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "wait_for_function"
            and node.args
        ):
            text = leading_text(node.args[0])
            if text is not None and not text.lstrip().startswith(("(", "function", "async")):
                found.append(node.lineno)
    return found


def test_wait_for_function_is_always_given_a_function():
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        for line in bare_expressions(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_rule_sees_bare_expressions_and_lets_functions_pass():
    source = (
        "tab.wait_for_function(\"document.title === 'x'\")\n"
        "tab.wait_for_function(f\"document.lang === '{lang}'\")\n"
        "tab.wait_for_function(\"() => document.title === 'x'\")\n"
        'tab.wait_for_function(\n    "() => a"\n    " && b"\n)\n'
        "tab.wait_for_function(f\"() => document.lang === '{lang}'\")\n"
    )
    assert bare_expressions(source) == [1, 2]
