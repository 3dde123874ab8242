"""Numbers substituted into an activation print once bracketed: tanh(−0.0625), never
tanh((−0.0625)); an activation that is its own definition is not restated (handout and slides)."""

from __future__ import annotations

import re

import sympy as sp

import symbackprop as sbp
from symbackprop.printers.printing import NotationLatexPrinter

VALUES = dict(
    i1=0.05,
    i2=-2.1,
    w1=0.15,
    w2=0.2,
    w3=0.25,
    w4=0.3,
    w5=-0.4,
    w6=0.45,
    w7=0.5,
    w8=0.55,
    b1=0.35,
    b2=0.6,
    target_o1=0.01,
    target_o2=0.99,
)


def test_function_of_a_negative_number_has_one_pair_of_brackets():
    x = sp.Symbol("x")
    printer = NotationLatexPrinter(values={x: "-1.5"})
    assert printer.doprint(sp.tanh(x)) == r"\tanh{\left(-1.5 \right)}"
    assert printer.doprint(sp.tanh(2 * x)) == r"\tanh{\left(2 \times \left(-1.5\right) \right)}"
    assert printer.doprint(x + 1) in (r"\left(-1.5\right) + 1", r"1 + \left(-1.5\right)")


def test_tanh_net_handout_and_slides_print_no_doubled_brackets_or_restated_definition():
    net = sbp.layered(2, [2, 2], activation="tanh", notation="mazur", bias="shared", values=VALUES)
    d = sbp.derive(net)
    # net_h1 = 0.15 * 0.05 + 0.2 * (-2.1) + 0.35 = -0.0625 (by hand), so tanh of a negative number
    for text in (d.handout(), d.slides()):
        assert r"\tanh\left(-0.0625\right)" in text
        assert not re.search(r"\\left\(\s*\\left\(", text)
        for unit in ("h1", "h2", "o1", "o2"):
            same = rf"\tanh\left(net_{{{unit}}}\right)"
            assert f"{same} = {same}" not in text
            assert rf"{same} = \tanh{{\left(net_{{{unit}}} \right)}}" not in text
