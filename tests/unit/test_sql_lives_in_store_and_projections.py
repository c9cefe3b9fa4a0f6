"""SQL lives only in the store and the projections; everything else asks them.

Every string literal of the shipped packages outside `eventstore` and `projections`
(domain, config, export, api, cli) is read with `ast` (so a comment or a docstring that
talks about a SELECT in prose does not count) and refused when it holds a statement's
shape: `SELECT ... FROM` (or `SELECT fn(`), `INSERT INTO`, `UPDATE ... SET`,
`DELETE FROM`. An f-string counts with its placeholders. `bench/` and `tests/` are not
shipped and may hold SQL of their own (a benchmark's peer, a test's tampering).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE_THE_STORE = ["domain", "config", "export", "api", "cli"]

STATEMENT = re.compile(
    r"""\bselect\s+(?:[\s\S]*?\bfrom\b|\w+\s*\()
      | \binsert\s+into\b
      | \bupdate\s+\w+(?:\.\w+)?\s+set\b
      | \bdelete\s+from\b""",
    re.IGNORECASE | re.VERBOSE,
)


def docstrings(tree: ast.Module) -> set[int]:
    """The ids of the docstring nodes: documentation, not statements."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def literals(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Each string literal with its line; an f-string whole, `{}` for each placeholder."""
    skip = docstrings(tree)
    inside_fstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                inside_fstrings.add(id(value))
                parts.append(value.value if isinstance(value, ast.Constant) else "{}")
            yield node.lineno, "".join(str(p) for p in parts)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and id(node) not in inside_fstrings
        ):
            yield node.lineno, node.value


def sql_outside_the_store() -> list[str]:
    found = []
    for package in OUTSIDE_THE_STORE:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, text in literals(tree):
                match = STATEMENT.search(text)
                if match:
                    shown = " ".join(match.group(0).split())[:60]
                    found.append(f"{path.relative_to(ROOT)}:{line}: {shown}")
    return sorted(found)


def test_no_sql_statement_outside_the_store_and_the_projections() -> None:
    assert sql_outside_the_store() == []


def test_the_scan_sees_statements_and_not_prose() -> None:
    """The scan itself: a statement in code is found, a docstring's prose is not."""
    source = '''
"""A module that says: SELECT the agents FROM the tree, in prose."""
QUERY = "SELECT agent_id FROM agents WHERE tenant = $1"
def f(table):
    """UPDATE the notes SET aside, DELETE FROM memory: still prose."""
    return f"INSERT INTO {table} (a) VALUES ($1)", "update  tree set valid_to = $2"
LOCK = "select pg_try_advisory_lock($1)"
GONE = ("DELETE "
        "FROM stock WHERE tenant = $1")
WORDS = "selection from the menu; update settings"
'''
    tree = ast.parse(source)
    hits = sorted(line for line, text in literals(tree) if STATEMENT.search(text))
    assert hits == [3, 6, 6, 7, 8]
