"""Every registry rule against sympy.diff of its elementary definition."""

from __future__ import annotations

import pytest
import sympy as sp

from symbackprop.errors import InvalidInput
from symbackprop.rules import registry as rules

z = sp.Symbol("z", real=True)
y, t = sp.symbols("y t", real=True)


@pytest.mark.parametrize("name", sorted(rules.ACTIVATIONS))
def test_activation_derivative_matches_sympy_diff(name):
    rule = rules.ACTIVATIONS[name]
    f = rule.definition(z)
    expected = sp.diff(f, z)
    stated = rule.derivative(z, f).doit()
    # Compare at points away from kinks, exactly where possible.
    for point in (sp.Rational(-7, 3), sp.Rational(-1, 5), sp.Rational(1, 7), sp.Rational(5, 2)):
        a = sp.N(expected.subs(z, point), 30)
        b = sp.N(stated.subs(z, point), 30)
        assert abs(a - b) < 1e-25, (name, point, a, b)


@pytest.mark.parametrize("name", sorted(rules.ACTIVATIONS))
def test_function_class_differentiates_with_the_rule(name):
    rule = rules.ACTIVATIONS[name]
    expr = rule.function(z)
    via_class = sp.diff(expr, z)
    via_definition = sp.diff(rule.definition(z), z)
    for point in (sp.Rational(-3, 2), sp.Rational(2, 3)):
        assert abs(sp.N(via_class.subs(z, point) - via_definition.subs(z, point), 30)) < 1e-25


def test_relu_kink_convention_is_zero():
    rule = rules.ACTIVATIONS["relu"]
    assert rule.derivative(z, rule.function(z)).subs(z, 0) == 0


@pytest.mark.parametrize("name", sorted(rules.LOSSES))
@pytest.mark.parametrize("form", ["target_minus_out", "out_minus_target"])
def test_loss_textbook_derivative_matches_sympy_diff(name, form):
    rule = rules.LOSSES[name]
    expected = sp.diff(rule.term(y, t).doit(), y)
    assert sp.simplify(rule.dterm(y, t, form).doit() - expected) == 0


def test_unknown_names_list_the_known_ones():
    with pytest.raises(InvalidInput, match="known: .*sigmoid"):
        rules.activation("relu6x")
    with pytest.raises(InvalidInput, match="known: half_sse"):
        rules.loss("hinge")
