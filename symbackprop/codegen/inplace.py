"""In-place kernels for the layer module, chosen by the shape of the expression, never its text.

BP2 multiplies δ^l by f'(z^l). Where f' is written in the output ``a`` alone (σ' = a(1 − a),
tanh' = 1 − a²), the code needs no temporary array: by then a^l is dead (BP4 of layer l + 1 has
read it), so its buffer takes the intermediate values. The expression tree is compiled, node by
node, into ufunc calls with ``out=``:

- a factor that is the symbol ``a`` itself multiplies in directly: ``delta1 *= a1``;
- a factor built from ``a`` by a chain of ``X²`` and ``c − X`` (one array operand per step) is
  computed into the buffer, then multiplied in; at most one such factor, taken last, because it
  overwrites ``a``.

Anything else (f' in ``z``, two compound factors, other operations) returns None and the caller
prints the expression as one NumPy statement. Constants print as ``one`` (a 0-d array of the
dtype, which a ufunc takes faster than the Python float) when they are 1.
"""

from __future__ import annotations

import sympy as sp

from symbackprop.printers.printing import numpy_code


def difference(expr: sp.Expr) -> tuple[sp.Symbol, sp.Symbol] | None:
    """``(p, q)`` when ``expr`` is written ``p − q`` of two symbols (BP1's a − y), else None."""
    if not expr.is_Add or len(expr.args) != 2:
        return None
    first, second = expr.args
    coeff, rest = second.as_coeff_Mul()
    if first.is_Symbol and coeff == -1 and rest.is_Symbol:
        return first, rest
    return None


# The two calls the chains use, per library: NumPy's ufuncs, and torch's functions (whose
# ``torch.sub`` takes a tensor first: the constant must be 1, the caller's 0-d ``one``).
NUMPY_CALLS = {"square": "np.square", "subtract": "np.subtract", "any_constant": True}
TORCH_CALLS = {"square": "torch.square", "subtract": "torch.sub", "any_constant": False}


def _constant(value: sp.Expr) -> str:
    return "one" if value == 1 else numpy_code(value)


def _chain(
    expr: sp.Expr, src: sp.Symbol, buf: str, calls: dict = NUMPY_CALLS
) -> tuple[list[str], str] | None:
    """Lines computing ``expr`` (of ``src`` only) into ``buf``; and who holds the value."""
    if expr == src:
        return [], src.name
    if expr.is_Pow and expr.exp == 2:
        inner = _chain(expr.base, src, buf, calls)
        if inner is None:
            return None
        lines, holder = inner
        return [*lines, f"{calls['square']}({holder}, out={buf})"], buf
    if expr.is_Add and len(expr.args) == 2 and expr.args[0].is_Number:
        coeff, rest = expr.args[1].as_coeff_Mul()
        if coeff != -1 or (expr.args[0] != 1 and not calls["any_constant"]):
            return None
        inner = _chain(rest, src, buf, calls)
        if inner is None:
            return None
        lines, holder = inner
        constant = _constant(expr.args[0])
        return [*lines, f"{calls['subtract']}({constant}, {holder}, out={buf})"], buf
    return None


def _split(expr: sp.Expr, src: sp.Symbol) -> tuple[int, sp.Expr | None] | None:
    """(number of plain ``src`` factors, the one compound factor or None), or None."""
    if expr.free_symbols != {src}:
        return None
    factors = sp.Mul.make_args(expr)
    plain = sum(1 for f in factors if f == src)
    compound = [f for f in factors if f != src]
    if len(compound) > 1:
        return None
    return plain, (compound[0] if compound else None)


def multiply_in_place(
    fprime: sp.Expr, src: sp.Symbol, delta: str, calls: dict = NUMPY_CALLS
) -> list[str] | None:
    """``delta *= f'`` with f' in ``src`` alone, using ``src``'s (dead) buffer; or None.
    ``calls``: the library's (NumPy's by default, or :data:`TORCH_CALLS`)."""
    parts = _split(fprime, src)
    if parts is None:
        return None
    plain, compound = parts
    name = src.name
    lines = [f"{delta} *= {name}"] * plain
    if compound is not None:
        chain = _chain(compound, src, name, calls)
        if chain is None:
            return None
        lines += [*chain[0], f"{delta} *= {chain[1]}"]
    return lines


def compute_into(fprime: sp.Expr, src: sp.Symbol, buf: str) -> list[str] | None:
    """f' (in ``src`` alone, which stays intact) computed into the buffer ``buf``; or None."""
    parts = _split(fprime, src)
    if parts is None or parts[1] is None:
        return None
    plain, compound = parts
    chain = _chain(compound, src, buf)
    if chain is None or chain[1] != buf:
        return None
    return [*chain[0], *[f"{buf} *= {numpy_code(src)}"] * plain]
