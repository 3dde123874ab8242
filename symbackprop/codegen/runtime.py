"""Placing runtime helpers into generated modules: only the definitions a module uses.

The helpers are real Python source in :mod:`runtime_unit` and :mod:`runtime_layer`, and those of
the update rules (both levels) in :mod:`runtime_optimizers`, tested and linted like the rest of
the package. A module's text is scanned for the helper names it reads;
those top-level definitions, the ones they read in turn, and the comment block right above each
are copied in source order, so a generated module still imports only NumPy and defines nothing
it does not use.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType

from symbackprop.codegen import runtime_layer, runtime_optimizers, runtime_unit

# Per level, the runtime modules its generated modules draw on, in the order they are placed.
MODULES: dict[str, tuple[ModuleType, ...]] = {
    "unit": (runtime_unit, runtime_optimizers),
    "layer": (runtime_layer, runtime_optimizers),
}
_NAME = re.compile(r"\b_[A-Za-z0-9_]+\b")


@dataclass(frozen=True)
class Definition:
    """One top-level statement of a runtime module: what it binds, reads, and its text."""

    binds: frozenset[str]
    reads: frozenset[str]
    text: str


@lru_cache(maxsize=None)
def definitions(level: str) -> tuple[Definition, ...]:
    """The top-level definitions of the runtime modules for ``level`` (imports left out)."""
    out = []
    for module in MODULES[level]:
        out += _module_definitions(module)
    return tuple(out)


def _module_definitions(module: ModuleType) -> list[Definition]:
    source = inspect.getsource(module)
    lines = source.splitlines()
    out = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)) or _is_docstring(node):
            continue
        if isinstance(node, ast.FunctionDef):
            binds = {node.name}
        else:
            binds = {t.id for t in ast.walk(node) if isinstance(t, ast.Name)}
            binds &= {t.id for t in getattr(node, "targets", [getattr(node, "target", None)]) if t}
        start = node.lineno - 1
        while start > 0 and lines[start - 1].startswith("#"):
            start -= 1  # the comment block that explains it
        reads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - binds
        text = "\n".join(lines[start : node.end_lineno])
        out.append(Definition(frozenset(binds), frozenset(reads), text))
    return out


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def helpers_for(text: str, level: str) -> str:
    """The source of every runtime definition ``text`` reads, with what those read, in source
    order, separated as black would (two blank lines); empty when none."""
    defs = definitions(level)
    wanted = set(_NAME.findall(text))
    chosen: set[int] = set()
    changed = True
    while changed:
        changed = False
        for i, d in enumerate(defs):
            if i not in chosen and d.binds & wanted:
                chosen.add(i)
                wanted |= d.reads
                changed = True
    return "\n\n\n".join(defs[i].text for i in sorted(chosen))


def render_with_runtime(level: str, context: dict) -> str:
    """``templates/numpy/<level>.py.jinja`` rendered with the runtime helpers it uses placed
    at ``{{ runtime }}``: rendered once without them to see which names the module reads."""
    from symbackprop.output.render import render

    template = f"{level}.py.jinja"
    bare = render("numpy", template, **context, runtime="")
    return render("numpy", template, **context, runtime=helpers_for(bare, level))
