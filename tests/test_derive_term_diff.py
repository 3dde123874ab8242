"""derive's shortcut for differentiating net-input terms builds exactly what sympy.diff builds.

The generated code and handouts print these expressions, so equal is not enough: the trees
(``srepr``) must be identical, including argument order and evaluation.
"""

from __future__ import annotations

import pytest
import sympy as sp

from symbackprop.derivation.unit import _term_diff
from symbackprop.rules.registry import ACTIVATIONS

w, x, y, b = sp.symbols("w x y b")
TERMS = [
    b,
    sp.Mul(w, x, evaluate=False),  # as build_layered writes a weighted input
    sp.Mul(x, w, evaluate=False),
    w * x,
    2 * w * x,
    sp.Mul(-1, w, x, evaluate=False),
    sp.Mul(sp.Float(0.5), w, x, evaluate=False),
    sp.Rational(1, 3) * w * x * y,
    sp.Mul(w, w, evaluate=False),  # a repeated factor: not the shortcut's case
    w**2 * x,
    ACTIVATIONS["sigmoid"].function(w) * x,
]


@pytest.mark.parametrize("term", TERMS, ids=str)
def test_term_diff_is_sympy_diff(term):
    for sym in sorted(term.free_symbols, key=lambda s: s.name):
        assert sp.srepr(_term_diff(term, sym)) == sp.srepr(sp.diff(term, sym))
