"""ARCHITECTURE rule 7, checked in the source: workflow code reads no clock, draws no randomness and does no I/O.

Temporal's sandbox would catch some of this at run time, but a workflow may run without it (the approval workflow
does, for speed), so every class decorated with ``@workflow.defn`` in ``atlas/workflows`` is read here: its methods
may not call the clock, random numbers, new UUIDs, files, the environment or the network; they use
``workflow.now()``, ``workflow.uuid4()`` and activities instead."""

from __future__ import annotations

import ast
from pathlib import Path

WORKFLOWS = Path(__file__).resolve().parents[2] / "atlas" / "workflows"

# Dotted call targets that would make a replay differ from the first run.
FORBIDDEN_CALLS = {
    "datetime.now",
    "datetime.utcnow",
    "datetime.today",
    "date.today",
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "time.time",
    "time.time_ns",
    "time.monotonic",
    "time.perf_counter",
    "time.sleep",
    "uuid.uuid1",
    "uuid.uuid4",
    "uuid4",
    "os.getenv",
    "os.urandom",
    "open",
    "input",
    "utcnow",
}
FORBIDDEN_ROOTS = {"random", "secrets", "httpx", "requests", "socket", "subprocess", "psycopg", "asyncpg"}
FORBIDDEN_ATTRIBUTES = {"os.environ"}


def dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def is_workflow_class(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if dotted(target) == "workflow.defn":
            return True
    return False


def violations(source: str, filename: str) -> list[str]:
    found: list[str] = []
    for cls in ast.walk(ast.parse(source, filename)):
        if not isinstance(cls, ast.ClassDef) or not is_workflow_class(cls):
            continue
        for node in ast.walk(cls):
            name = None
            if isinstance(node, ast.Call):
                name = dotted(node.func)
                if name and (name in FORBIDDEN_CALLS or name.split(".")[0] in FORBIDDEN_ROOTS):
                    found.append(f"{filename}:{node.lineno} {cls.name} calls {name}")
            elif isinstance(node, ast.Attribute):
                name = dotted(node)
                if name in FORBIDDEN_ATTRIBUTES:
                    found.append(f"{filename}:{node.lineno} {cls.name} reads {name}")
    return found


def test_workflow_classes_read_no_clock_randomness_or_io():
    files = sorted(WORKFLOWS.glob("*.py"))
    classes = [
        cls.name
        for path in files
        for cls in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(cls, ast.ClassDef) and is_workflow_class(cls)
    ]
    assert "RecommendationApprovalWorkflow" in classes and len(classes) >= 5, classes
    problems = [v for path in files for v in violations(path.read_text(), path.name)]
    assert problems == []


def test_the_check_finds_what_it_forbids():
    source = """
from temporalio import workflow
import datetime, random, os

@workflow.defn(name="Bad", sandboxed=False)
class Bad:
    @workflow.run
    async def run(self) -> None:
        a = datetime.datetime.now()
        b = random.random()
        c = os.environ["X"]
        d = workflow.now()

class NotAWorkflow:
    def fine(self) -> None:
        datetime.datetime.now()
"""
    found = violations(source, "bad.py")
    assert [f.split(" ", 1)[1] for f in found] == [
        "Bad calls datetime.datetime.now",
        "Bad calls random.random",
        "Bad reads os.environ",
    ]
