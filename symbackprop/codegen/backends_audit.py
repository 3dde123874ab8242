"""Audit of a generated torch, JAX, CuPy or array-API module: the NumPy audit's rules, per library.

:mod:`codegen.audit` checks the NumPy module; this checks the others the same way, with each
library's allow-list in place of NumPy's:

* top level: the docstring, exactly the backend's imports (:data:`IMPORTS`), assignments to one
  plain name (``gradients = jax.jit(_gradients)`` included), function definitions without
  decorators — nothing else, so no text can run at import but the templates' own;
* inside functions: the statements and expressions of the NumPy audit (no ``with``, ``try``,
  ``lambda``, ``global``, class or import);
* a library's names only from its list in :data:`NAMESPACE_NAMES` (``torch.load``,
  ``torch.hub``, ``jax.device_get``, ``cp.asnumpy`` fail), a library name only as
  ``<library>.<name>``; any other attribute only from :data:`ATTRIBUTES` (so ``.item``,
  ``.cpu``, ``.numpy``, ``.tolist``, ``.get`` on an array — host round-trips — fail too);
* no identifier starting with an underscore pair; every name read is bound in the module or is an
  allowed builtin, and no other builtin's name is bound.

A failure is an internal error (exit 1): a bug in symbackprop, never a user mistake.
"""

from __future__ import annotations

import ast
import builtins
from typing import Iterable

from symbackprop.codegen.audit import _BUILTINS, _EXCEPTIONS, _NODES, AuditError, _chain, _walk

# Each backend's import statements, exactly: (module, alias) for `import module as alias`,
# ("from module", name) for `from module import name`.
IMPORTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "torch": (("torch", None),),
    "jax": (("jax", None), ("jax.numpy", "jnp")),
    "cupy": (("cupy", "cp"),),
    "array-api": (("from array_api_compat", "array_namespace"),),
}

_ELEMENTWISE = """abs exp expm1 log log1p sqrt tanh sin cos tan sinh cosh sign where maximum
    minimum square""".split()

# Names a module may use as <library>.<name>; for the array API, through the local name xp.
NAMESPACE_NAMES: dict[str, dict[str, frozenset[str]]] = {
    "torch": {
        "torch": frozenset(
            _ELEMENTWISE
            + """arcsin arccos arctan arcsinh arccosh arctanh addmm sum amax clamp sigmoid relu
            softmax log_softmax isfinite finfo promote_types zeros zeros_like randn Generator
            mm sub square empty ones addcmul
            Tensor float16 float32 float64""".split()
        )
    },
    "jax": {
        "jax": frozenset(
            """jit nn.sigmoid nn.log_softmax random.PRNGKey random.split random.normal
            lax.optimization_barrier""".split()
        ),
        "jnp": frozenset(
            _ELEMENTWISE
            + """arcsin arccos arctan arcsinh arccosh arctanh sum max finfo zeros zeros_like
            shape asarray all isfinite iscomplexobj float16 float32 float64""".split()
        ),
    },
    "cupy": {
        "cp": frozenset(
            _ELEMENTWISE
            + """arcsin arccos arctan arcsinh arccosh arctanh sum max finfo zeros zeros_like
            result_type dtype all isfinite ndarray random.default_rng float16 float32
            float64""".split()
        )
    },
    "array-api": {
        "xp": frozenset(
            _ELEMENTWISE
            + """asin acos atan asinh acosh atanh sum max clip finfo zeros_like asarray astype
            isdtype all isfinite float64""".split()
        )
    },
}

# Attribute names allowed on anything but a library's name (arrays, dtypes, dicts, finfo).
ATTRIBUTES = frozenset(
    """T dtype shape ndim device to astype bits is_floating_point is_complex kind manual_seed
    items values keys standard_normal all append join pop clear add_""".split()
)

# Builtins a module may read besides the NumPy audit's, and those it may not: float() of an array
# reads its value on the host (a device round-trip).
_MORE_BUILTINS = frozenset({"hasattr"})
_FEWER_BUILTINS = frozenset({"float"})


def _fail(node: ast.AST, what: str) -> None:
    line = getattr(node, "lineno", None)
    raise AuditError(f"generated code {what}" + (f" (line {line})" if line else ""))


def _imports(stmt: ast.stmt) -> list[tuple[str, str | None]]:
    if isinstance(stmt, ast.Import):
        return [(a.name, a.asname) for a in stmt.names]
    return [
        (f"from {stmt.module}", a.name) for a in stmt.names if a.asname is None and stmt.level == 0
    ]


class _Audit:
    def __init__(self, backend: str):
        self.namespaces = NAMESPACE_NAMES[backend]
        self.imports = IMPORTS[backend]
        self.bound: set[str] = set()
        self.reads: list[ast.Name] = []

    def attribute(self, node: ast.Attribute) -> None:
        root, names = _chain(node)
        if isinstance(root, ast.Name) and root.id in self.namespaces:
            if ".".join(names) not in self.namespaces[root.id]:
                _fail(node, f"uses {root.id}.{'.'.join(names)}, not an allowed name")
            return
        for name in names:
            if name not in ATTRIBUTES:
                _fail(node, f"uses the attribute .{name}")

    def body(self, root: ast.AST) -> None:
        parents = {child: node for node in ast.walk(root) for child in ast.iter_child_nodes(node)}
        for node in _walk(root):
            if node is not root and not isinstance(node, _NODES) or isinstance(node, ast.With):
                _fail(node, f"contains {type(node).__name__}, which the templates never emit")
            for ident in _identifiers(node):
                if ident.startswith("__"):
                    _fail(node, f"uses the name {ident}")
            if isinstance(node, ast.Attribute):
                self.attribute(node)
            elif isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Store):
                    if node.id in self.namespaces and node.id != "xp":
                        _fail(node, f"rebinds {node.id}")
                    self.bound.add(node.id)
                elif node.id in self.namespaces:
                    if not isinstance(parents.get(node), ast.Attribute):
                        _fail(node, f"uses {node.id} other than as {node.id}.<name>")
                else:
                    self.reads.append(node)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id == "type" and (len(node.args) != 1 or node.keywords):
                    _fail(node, "calls type() with other than one argument")
            elif isinstance(node, ast.arg):
                self.bound.add(node.arg)
            elif isinstance(node, ast.ExceptHandler):
                kinds = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                if node.name or not all(
                    isinstance(k, ast.Name) and k.id in _EXCEPTIONS for k in kinds
                ):
                    _fail(node, "has an except clause other than for arithmetic/value errors")

    def module(self, source: str) -> frozenset[str]:
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise AuditError(f"generated code does not parse: {exc}") from exc
        imported = []
        for index, stmt in enumerate(tree.body):
            if index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                if not isinstance(stmt.value.value, str):
                    _fail(stmt, "starts with a constant that is not a docstring")
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                imported += _imports(stmt)
            elif isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    _fail(stmt, "assigns at top level to something other than one name")
                self.body(stmt)
            elif isinstance(stmt, ast.FunctionDef):
                if stmt.decorator_list or stmt.returns or stmt.type_comment:
                    _fail(stmt, f"decorates or annotates {stmt.name}")
                self.bound.add(stmt.name)
                self.body(stmt)
            else:
                _fail(
                    stmt, f"has a top-level {type(stmt).__name__}, which the templates never emit"
                )
        if tuple(imported) != self.imports:
            _fail(tree, f"imports {imported}, not exactly {list(self.imports)}")
        self.bound |= {name for module, name in self.imports if module.startswith("from ")}
        allowed = (_BUILTINS | _MORE_BUILTINS) - _FEWER_BUILTINS
        for name in sorted(self.bound & set(dir(builtins)) - allowed):
            _fail(tree, f"binds the builtin name {name}")
        for node in self.reads:
            if node.id not in self.bound and node.id not in allowed:
                _fail(
                    node, f"reads {node.id}, neither defined in the module nor an allowed builtin"
                )
        return frozenset(n.name for n in tree.body if isinstance(n, ast.FunctionDef)) | frozenset(
            n.targets[0].id for n in tree.body if isinstance(n, ast.Assign)
        )


def _identifiers(node: ast.AST) -> Iterable[str]:
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Attribute):
        _, names = _chain(node)
        yield from names
    elif isinstance(node, ast.FunctionDef):
        yield node.name
    elif isinstance(node, ast.arg):
        yield node.arg
    elif isinstance(node, ast.keyword) and node.arg is not None:
        yield node.arg


def audit_backend_module(source: str, *, backend: str, expected: Iterable[str]) -> None:
    """Raise :class:`AuditError` unless ``source`` is a ``backend`` module of the allowed kinds
    defining (or assigning) the functions ``expected``."""
    defined = _Audit(backend).module(source)
    missing = sorted(set(expected) - defined)
    if missing:
        raise AuditError(f"generated code lacks {', '.join(missing)}")
