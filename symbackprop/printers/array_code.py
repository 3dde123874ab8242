"""Array code for the torch, JAX, CuPy and array-API backends: one printer, a namespace table.

The NumPy printer (:class:`printing.NumpyCodePrinter`) prints every per-unit rule of the layer
derivation for the NumPy module; this printer prints the same SymPy expressions for another array
library by renaming what the NumPy printer would call (``numpy.tanh`` → ``torch.tanh``,
``jnp.tanh``, ``xp.tanh``, ``cp.tanh``) and by writing the few forms that differ between
libraries from the table: a Heaviside step as a comparison cast to the array's dtype (no
library but NumPy has ``heaviside`` in the same form), ``max(z, c)`` with a number ``c`` as a
clamp (``torch.maximum`` takes tensors only), and the dtype cast itself. A function the library
does not have is refused with one line (exit 2) that names the NumPy backend, which prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbackprop.errors import InvalidInput
from symbackprop.printers.printing import NumpyCodePrinter


@dataclass(frozen=True)
class Namespace:
    """How one array library spells what the printer needs.

    Attributes:
        backend: the backend's name on the command line (``torch``).
        prefix: the name the generated module calls the library by (``torch``, ``jnp``).
        functions: NumPy function name → the library's, for every name the printer may emit.
        cast: a boolean array ``{0}`` as an array of the dtype of ``{1}``.
        clamp_min: ``{0}`` with values below the number ``{1}`` raised to it.
        clamp_max: ``{0}`` with values above the number ``{1}`` lowered to it.
    """

    backend: str
    prefix: str
    functions: dict[str, str]
    cast: str
    clamp_min: str
    clamp_max: str


# Elementwise functions the NumPy printer emits for the registry's rules and custom activations,
# all spelled alike in the four libraries (and in the array API standard).
_SAME = tuple(
    """abs exp expm1 log log1p sqrt tanh sin cos tan sinh cosh arcsin arccos arctan arcsinh
    arccosh arctanh sign where maximum minimum square""".split()
)
# NumPy names the array API standard spells otherwise.
_ARRAY_API_NAMES = dict(
    arcsin="asin", arccos="acos", arctan="atan", arcsinh="asinh", arccosh="acosh", arctanh="atanh"
)

NAMESPACES: dict[str, Namespace] = {
    ns.backend: ns
    for ns in (
        Namespace(
            "torch",
            "torch",
            {**{f: f for f in _SAME}, "absolute": "abs"},
            "({0}).to({1}.dtype)",
            "torch.clamp({0}, min={1})",
            "torch.clamp({0}, max={1})",
        ),
        Namespace(
            "jax",
            "jnp",
            {**{f: f for f in _SAME}, "absolute": "abs"},
            "({0}).astype({1}.dtype)",
            "jnp.maximum({0}, {1})",
            "jnp.minimum({0}, {1})",
        ),
        Namespace(
            "cupy",
            "cp",
            {**{f: f for f in _SAME}, "absolute": "abs"},
            "({0}).astype({1}.dtype)",
            "cp.maximum({0}, {1})",
            "cp.minimum({0}, {1})",
        ),
        Namespace(
            "array-api",
            "xp",
            {**{f: _ARRAY_API_NAMES.get(f, f) for f in _SAME}, "absolute": "abs"},
            "xp.astype({0}, {1}.dtype)",
            "xp.clip({0}, min={1})",
            "xp.clip({0}, max={1})",
        ),
    )
}
BACKEND_NAMES = tuple(NAMESPACES)


class ArrayCodePrinter(NumpyCodePrinter):
    """The NumPy printer with the library's names and forms from a :class:`Namespace`."""

    def __init__(self, namespace: Namespace, settings=None):
        super().__init__({"order": "none", **(settings or {})})
        self.namespace = namespace

    def _module_format(self, fqn: str, register: bool = True) -> str:
        if not fqn.startswith("numpy."):
            return super()._module_format(fqn, register)
        name = fqn[len("numpy.") :]
        spelled = self.namespace.functions.get(name)
        if spelled is None:
            raise InvalidInput(
                f"the {self.namespace.backend} backend has no counterpart of numpy.{name}",
                hint="generate with --backend numpy",
            )
        return f"{self.namespace.prefix}.{spelled}"

    def _print(self, expr, **kwargs) -> str:
        if isinstance(expr, sp.Expr) and expr.is_number and not expr.is_Rational:
            # sqrt(2) as one Python float: torch.sqrt(2) is an error (it takes tensors only),
            # and a Python float adapts to the array's dtype in every library
            return repr(float(expr))
        return super()._print(expr, **kwargs)

    def _print_Piecewise(self, expr) -> str:
        """Nested ``where`` (the last piece must hold everywhere, as in the registry)."""
        if expr.args[-1].cond != sp.true:
            raise InvalidInput(
                f"the {self.namespace.backend} backend needs a piecewise function whose last "
                "piece holds everywhere",
                hint="generate with --backend numpy",
            )
        where = self._module_format("numpy.where")
        text = self._print(expr.args[-1].expr)
        for piece in reversed(expr.args[:-1]):
            cond, value = self._print(piece.cond), self._print(piece.expr)
            text = f"{where}({cond}, {value}, {text})"
        return text

    def _array_symbol(self, expr: sp.Expr) -> str:
        """An array the expression reads (the dtype a cast follows): its first symbol by name."""
        symbols = sorted(expr.free_symbols, key=lambda s: s.name)
        if not symbols:
            raise InvalidInput("a step function of a constant cannot be generated")
        return self._print(symbols[0])

    def _print_Heaviside(self, expr) -> str:
        at_zero = expr.args[1] if len(expr.args) > 1 else sp.Rational(1, 2)
        arg = expr.args[0]
        if at_zero not in (0, 1):
            # H(u) = ([u > 0] + [u >= 0]) / 2 for the half-maximum convention
            gt = self.namespace.cast.format(f"{self._print(arg)} > 0", self._array_symbol(arg))
            ge = self.namespace.cast.format(f"{self._print(arg)} >= 0", self._array_symbol(arg))
            return f"(0.5 * ({gt} + {ge}))"
        relation = ">" if at_zero == 0 else ">="
        cond = f"{self._print(arg)} {relation} 0"
        return self.namespace.cast.format(cond, self._array_symbol(arg))

    def _clamp(self, expr, form: str) -> str | None:
        if len(expr.args) != 2:
            return None
        numbers = [a for a in expr.args if a.is_number]
        if len(numbers) != 1:
            return None
        (number,) = numbers
        (other,) = [a for a in expr.args if a is not number]
        return form.format(self._print(other), self._print(number))

    def _print_Max(self, expr) -> str:
        return self._clamp(expr, self.namespace.clamp_min) or super()._print_Max(expr)

    def _print_Min(self, expr) -> str:
        return self._clamp(expr, self.namespace.clamp_max) or super()._print_Min(expr)


def array_code(expr: sp.Expr, backend: str) -> str:
    """One expression of ``backend``'s library for ``expr`` (names are valid identifiers)."""
    return ArrayCodePrinter(NAMESPACES[backend]).doprint(expr)
