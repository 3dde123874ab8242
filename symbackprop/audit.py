"""Audit of generated Python before it is written: the last line of defence.

Names reaching generated code are validated identifiers, but the audit checks the result
rather than trusting the path: the module must parse, import nothing but ``numpy``, call no
``eval``/``exec``/``compile``/``open``/``getattr``/``__import__``, touch no dunder attribute,
and define the expected top-level functions. A failure is an internal error (exit 1): it means
a bug in symbackprop, never a user mistake.
"""

from __future__ import annotations

import ast
from typing import Iterable

_FORBIDDEN_CALLS = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "delattr",
        "__import__",
        "input",
        "globals",
        "locals",
        "vars",
        "breakpoint",
    }
)


class AuditError(RuntimeError):
    """Generated code failed the audit (a bug in symbackprop)."""


def audit_module(source: str, *, expected: Iterable[str]) -> None:
    """Raise :class:`AuditError` unless ``source`` is a safe module defining ``expected``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:  # pragma: no cover - would be a template bug
        raise AuditError(f"generated code does not parse: {exc}") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
            if names != ["numpy"]:
                raise AuditError(f"generated code imports {names}")
        elif isinstance(node, ast.ImportFrom):
            raise AuditError(f"generated code imports from {node.module}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in _FORBIDDEN_CALLS:
                raise AuditError(f"generated code calls {node.func.id}")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            raise AuditError(f"generated code accesses {node.attr}")
        elif isinstance(node, ast.Name) and node.id.startswith("__") and node.id != "__doc__":
            raise AuditError(f"generated code uses {node.id}")
    for index, stmt in enumerate(tree.body):
        # At top level only the docstring may be a bare expression: anything else would run
        # at import time (text that escaped the docstring, say).
        if isinstance(stmt, ast.Expr) and not (index == 0 and isinstance(stmt.value, ast.Constant)):
            raise AuditError(f"generated code runs an expression at import (line {stmt.lineno})")
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    missing = sorted(set(expected) - defined)
    if missing:
        raise AuditError(f"generated code lacks {', '.join(missing)}")
