"""The proof's size guard (claimcheck._ops_within) agrees with SymPy's count_ops."""

from __future__ import annotations

import random

import sympy as sp

from symbackprop.verify.claimcheck import _ops_within


def _random_expr(rng: random.Random, depth: int) -> sp.Expr:
    x, y, z = sp.symbols("x y z")
    if depth == 0:
        return rng.choice([x, y, z, sp.Integer(rng.randint(-3, 3)), sp.Rational(-1, 2)])
    a, b = _random_expr(rng, depth - 1), _random_expr(rng, depth - 1)
    op = rng.choice(["add", "sub", "mul", "div", "pow", "exp", "neg", "sig"])
    return {
        "add": lambda: a + b,
        "sub": lambda: a - b,
        "mul": lambda: a * b,
        "div": lambda: a / b if b != 0 else a,
        "pow": lambda: a ** rng.randint(-3, 3),
        "exp": lambda: sp.exp(-a),
        "neg": lambda: -a / 2,
        "sig": lambda: 1 / (1 + sp.exp(-a)),
    }[op]()


def test_ops_within_is_count_ops():
    rng = random.Random(7)
    for _ in range(120):
        expr = _random_expr(rng, rng.randint(0, 5))
        ops = sp.count_ops(expr)
        for limit in (0, 1, 2, 5, 10, 20, 40, 79, 300):
            assert _ops_within(expr, limit) == (ops <= limit), (expr, ops, limit)
