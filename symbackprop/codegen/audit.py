"""Audit of generated Python before it is written or run: an allow-list, the last line of defence.

Names reaching generated code are validated identifiers and free text is printed as a string
literal (:mod:`printers.pystr`), but the audit checks the result rather than trusting the path. A
module
passes only if everything in it is of a kind the templates emit:

* top level: the docstring, ``import numpy as np`` (exactly), assignments to one plain name,
  and function definitions without decorators — no other statement, so text that escaped a
  literal cannot run at import;
* inside functions: the statements and expressions of :data:`_NODES`; ``with`` only around
  ``np.errstate(...)``; ``except`` only for the exceptions of :data:`_EXCEPTIONS`;
* attributes of ``np`` only from :data:`NUMPY_NAMES` (so ``np.ctypeslib``, ``np.lib``,
  ``np.load`` fail), ``np`` itself only as ``np.<name>``; any other attribute only from
  :data:`_ATTRIBUTES`, and ``.ctypes`` only as ``.ctypes.data`` (an array's address);
* no identifier or attribute starting with an underscore pair; every name read is bound in the
  module or is one of the builtins of :data:`_BUILTINS`, and no other builtin's name is bound
  (a module could otherwise read ``exec`` before shadowing it).

A failure is an internal error (exit 1): it means a bug in symbackprop, never a user mistake.
The lists were read off every module the built-in examples generate at both levels, plus the
NumPy names and exception types that input checks and dtype handling plainly need.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
from typing import Iterable

# NumPy names a module may use as np.<name> (and the two dotted ones).
NUMPY_NAMES = frozenset("""
    abs absolute add all amax amin any arange argmax argmin array asarray ascontiguousarray
    asanyarray atleast_1d atleast_2d bool bool_ broadcast_shapes broadcast_to can_cast clip
    complexfloating concatenate copy copyto divide dot dtype e einsum empty empty_like equal
    errstate exp expand_dims expm1 eye finfo float16 float32 float64 floating full full_like
    greater greater_equal heaviside iinfo inexact inf int32 int64 integer intp isdtype isfinite
    isinf isnan isscalar issubdtype left_shift less less_equal log log1p logaddexp longdouble
    matmul max maximum may_share_memory mean min minimum multiply nan ndarray ndim negative newaxis
    number ones ones_like outer pi power prod promote_types reciprocal reshape result_type shape
    shares_memory show_config sign signedinteger size sqrt square squeeze stack subtract sum
    take_along_axis tanh transpose true_divide uint8 unsignedinteger where zeros zeros_like
    random.default_rng add.reduce maximum.reduce
    """.split())

# Attribute names allowed on anything but np (arrays, dtypes, dicts, generators, finfo).
_ATTRIBUTES = frozenset("""
    T all any append argmax astype base c_contiguous clear clip copy ctypes data dot dtype eps
    fill flags f_contiguous get item items itemsize keys kind max mean min name nbytes ndim
    normal pop ravel reduce reshape setdefault setflags shape size squeeze standard_normal
    strides sum tiny tolist transpose type uniform update values view writeable
    """.split())

_BUILTINS = frozenset("""
    abs all any bool dict enumerate float int isinstance iter len list max min next range repr
    reversed set slice sorted str sum tuple type zip
    ArithmeticError FloatingPointError IndexError KeyError NotImplementedError OverflowError
    RuntimeError StopIteration TypeError ValueError ZeroDivisionError
    """.split())

_EXCEPTIONS = frozenset(
    "ArithmeticError FloatingPointError IndexError KeyError OverflowError StopIteration "
    "TypeError ValueError ZeroDivisionError".split()
)

# Node types allowed below a function definition (statements and expressions alike).
_NODES = tuple(getattr(ast, name) for name in """
    Assign AugAssign Expr For While If Return Raise Try ExceptHandler With withitem Pass Break
    Continue Assert
    BinOp UnaryOp BoolOp Compare IfExp Call keyword Attribute Subscript Slice Starred Name
    Constant Tuple List Dict Set ListComp DictComp SetComp GeneratorExp comprehension
    JoinedStr FormattedValue arguments arg
    Load Store
    Add Sub Mult Div FloorDiv Mod Pow MatMult USub UAdd Not And Or
    Eq NotEq Lt LtE Gt GtE Is IsNot In NotIn
    """.split())


class AuditError(RuntimeError):
    """Generated code failed the audit (a bug in symbackprop)."""


def _fail(node: ast.AST, what: str) -> None:
    line = getattr(node, "lineno", None)
    raise AuditError(f"generated code {what}" + (f" (line {line})" if line else ""))


def _chain(node: ast.Attribute) -> tuple[ast.AST, list[str]]:
    """The root and the attribute names of ``a.b.c``: (Name a, ['b', 'c'])."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    return node, names[::-1]


def _check_attribute(node: ast.Attribute) -> None:
    root, names = _chain(node)
    if isinstance(root, ast.Name) and root.id == "np":
        if ".".join(names) not in NUMPY_NAMES:
            _fail(node, f"uses np.{'.'.join(names)}, not an allowed NumPy name")
        return
    for i, name in enumerate(names):
        if name not in _ATTRIBUTES:
            _fail(node, f"uses the attribute .{name}")
        if name == "ctypes" and names[i + 1 : i + 2] != ["data"]:
            _fail(node, "uses .ctypes other than .ctypes.data")


def _walk(node: ast.AST) -> Iterable[ast.AST]:
    """Every node below ``node``, but a dotted chain ``a.b.c`` as its outermost Attribute."""
    yield node
    if isinstance(node, ast.Attribute):
        root, _ = _chain(node)
        yield from _walk(root)
        return
    for child in ast.iter_child_nodes(node):
        yield from _walk(child)


def _identifiers(node: ast.AST) -> Iterable[tuple[ast.AST, str]]:
    if isinstance(node, ast.Name):
        yield node, node.id
    elif isinstance(node, ast.Attribute):
        yield node, node.attr
    elif isinstance(node, (ast.FunctionDef, ast.arg)):
        yield node, node.name if isinstance(node, ast.FunctionDef) else node.arg
    elif isinstance(node, ast.keyword) and node.arg is not None:
        yield node, node.arg


def _check_body(root: ast.AST, bound: set[str], reads: list[ast.Name]) -> None:
    """Check one function or one top-level assignment; collect bound names and reads."""
    parents = {child: node for node in ast.walk(root) for child in ast.iter_child_nodes(node)}
    for node in _walk(root):
        if node is not root and not isinstance(node, _NODES):
            _fail(node, f"contains {type(node).__name__}, which the templates never emit")
        for where, ident in _identifiers(node):
            if ident.startswith("__"):
                _fail(where, f"uses the name {ident}")
            if ident == "np" and not isinstance(node, (ast.Name, ast.Attribute)):
                _fail(where, "rebinds np")
        if isinstance(node, ast.Attribute):
            _check_attribute(node)
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                if node.id == "np":
                    _fail(node, "rebinds np")
                bound.add(node.id)
            elif node.id == "np":
                if not isinstance(parents.get(node), ast.Attribute):
                    _fail(node, "uses np other than as np.<name>")
            else:
                reads.append(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "type" and (len(node.args) != 1 or node.keywords):
                _fail(node, "calls type() with other than one argument (it would make a class)")
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.withitem):
            expr = node.context_expr
            errstate = (
                isinstance(expr, ast.Call)
                and isinstance(expr.func, ast.Attribute)
                and _chain(expr.func) == (expr.func.value, ["errstate"])
                and isinstance(expr.func.value, ast.Name)
                and expr.func.value.id == "np"
            )
            if not errstate or node.optional_vars is not None:
                _fail(node, "has a with statement other than `with np.errstate(...)`")
        elif isinstance(node, ast.ExceptHandler):
            kinds = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            if node.name or not all(isinstance(k, ast.Name) and k.id in _EXCEPTIONS for k in kinds):
                _fail(node, "has an except clause other than for arithmetic/value/type errors")


# Digest of each module text that passed, with the functions it defines (most recent last):
# code generation audits a module and the child-process runner audits it again before running
# it, and the walk is the slow part of both. The audit is a pure function of the text.
_PASSED: dict[bytes, frozenset[str]] = {}
_REMEMBERED = 64


def audit_module(source: str, *, expected: Iterable[str]) -> None:
    """Raise :class:`AuditError` unless ``source`` is a module of the allowed kinds defining
    the functions ``expected``."""
    key = hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest()
    defined = _PASSED.get(key)
    if defined is None:
        defined = _audit(source)
        _PASSED[key] = defined
        if len(_PASSED) > _REMEMBERED:
            del _PASSED[next(iter(_PASSED))]
    missing = sorted(set(expected) - defined)
    if missing:
        raise AuditError(f"generated code lacks {', '.join(missing)}")


def _audit(source: str) -> frozenset[str]:
    """The audit proper; returns the names of the module's top-level functions."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:  # would be a template bug
        raise AuditError(f"generated code does not parse: {exc}") from exc
    bound = {"np"}
    reads: list[ast.Name] = []
    imported = False
    for index, stmt in enumerate(tree.body):
        if index == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            if not isinstance(stmt.value.value, str):
                _fail(stmt, "starts with a constant that is not a docstring")
        elif isinstance(stmt, ast.Import):
            names = [(a.name, a.asname) for a in stmt.names]
            if names != [("numpy", "np")] or imported:
                _fail(stmt, f"imports {', '.join(n for n, _ in names)} (only `import numpy as np`)")
            imported = True
        elif isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                _fail(stmt, "assigns at top level to something other than one name")
            _check_body(stmt, bound, reads)
        elif isinstance(stmt, ast.FunctionDef):
            if stmt.decorator_list or stmt.returns or stmt.type_comment:
                _fail(stmt, f"decorates or annotates {stmt.name}")
            bound.add(stmt.name)
            _check_body(stmt, bound, reads)
        else:
            _fail(stmt, f"has a top-level {type(stmt).__name__}, which the templates never emit")
    for name in sorted(bound & set(dir(builtins)) - _BUILTINS):
        _fail(tree, f"binds the builtin name {name}")
    for node in reads:
        if node.id not in bound and node.id not in _BUILTINS:
            _fail(node, f"reads {node.id}, neither defined in the module nor an allowed builtin")
    return frozenset(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
