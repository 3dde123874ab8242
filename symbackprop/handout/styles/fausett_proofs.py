"""The derivative of each activation a net uses, proved step by step (Fausett's lecture proves
σ'(x) = σ(x)(1 − σ(x)) this way).

A proof is data: a list of :class:`ProofStep`, each a SymPy expression equal to the one before
(the tests check every step with SymPy), with the reason for the step. The first expression is
the derivative to find (an unevaluated ``Derivative``), the last the registry's rule written in
the unit's output ``y = f(x)`` (σ' = y(1 − y), tanh' = 1 − y²). The sigmoid and tanh have the
textbook's steps; any other registry activation (or one a spec defines) gets its definition,
SymPy's derivative of it, and the registry's form; a linear unit's derivative is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbackprop.rules import registry as rules

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)

_u = sp.Add(1, sp.exp(-x), evaluate=False)  # 1 + e^{-x}


def _pow(base, exp):
    return sp.Pow(base, exp, evaluate=False)


def _mul(*args):
    return sp.Mul(*args, evaluate=False)


def _add(*args):
    return sp.Add(*args, evaluate=False)


@dataclass(frozen=True)
class ProofStep:
    """``= expr`` with the reason for the step (empty: plain algebra)."""

    expr: sp.Expr
    reason: str = ""


@dataclass(frozen=True)
class Proof:
    """The proof for one activation: its name, f(x), the steps, and f' in terms of y."""

    name: str
    latex: str  # the function's LaTeX name
    definition: sp.Expr
    steps: tuple[ProofStep, ...]
    in_output: sp.Expr  # f'(x) written with y = f(x)


def _sigmoid_steps() -> tuple[ProofStep, ...]:
    s = rules.activation("sigmoid").function(x)
    return (
        ProofStep(sp.Derivative(_pow(_u, -1), x)),
        ProofStep(
            _mul(-1, _pow(_u, -2), _mul(-1, sp.exp(-x))),
            r"chain rule: $\frac{d}{dx}u^{-1} = -u^{-2}\,u'$",
        ),
        ProofStep(_mul(sp.exp(-x), _pow(_pow(_u, 2), -1))),
        ProofStep(
            _mul(_add(_u, -1), _pow(_pow(_u, 2), -1)),
            r"$e^{-x} = (1 + e^{-x}) - 1$",
        ),
        ProofStep(_add(_mul(_u, _pow(_pow(_u, 2), -1)), _mul(-1, _pow(_pow(_u, -1), 2)))),
        ProofStep(_add(s, _mul(-1, _pow(s, 2))), r"$\sigma(x) = 1/(1 + e^{-x})$"),
        ProofStep(_mul(s, _add(1, _mul(-1, s)))),
    )


def _tanh_steps() -> tuple[ProofStep, ...]:
    sh, ch = sp.sinh(x), sp.cosh(x)
    return (
        ProofStep(sp.Derivative(_mul(sh, _pow(ch, -1)), x), r"$\tanh x = \sinh x / \cosh x$"),
        ProofStep(
            _mul(_add(_mul(ch, ch), _mul(-1, sh, sh)), _pow(_pow(ch, 2), -1)),
            r"quotient rule, $\sinh' = \cosh$, $\cosh' = \sinh$",
        ),
        ProofStep(
            _add(
                _mul(_pow(ch, 2), _pow(_pow(ch, 2), -1)),
                _mul(-1, _pow(sh, 2), _pow(_pow(ch, 2), -1)),
            )
        ),
        ProofStep(_add(1, _mul(-1, _pow(sp.tanh(x), 2)))),
    )


def _generic_steps(rule: rules.Activation) -> tuple[ProofStep, ...]:
    f = rule.definition(x)
    derived = sp.diff(f, x)
    steps = [ProofStep(sp.Derivative(f, x), "")]
    written = rule.derivative(x, rule.function(x))
    if derived.has(sp.Heaviside):  # SymPy's step function leaves f'(0) open: the rule's form
        return (*steps, ProofStep(written, "differentiating each piece"))
    steps.append(ProofStep(derived, "differentiating the definition"))
    if written != derived:
        in_output = rule.derivative(x, y).has(y)
        steps.append(ProofStep(written, "in terms of the output" if in_output else "rearranged"))
    return tuple(steps)


def activation_proof(name: str) -> Proof:
    """The proof for the registry activation ``name`` (or ``"linear"``)."""
    if name == rules.LINEAR:
        return Proof(name, "", x, (ProofStep(sp.Derivative(x, x)), ProofStep(sp.Integer(1))), 1)
    rule = rules.activation(name)
    steps = {"sigmoid": _sigmoid_steps, "tanh": _tanh_steps}.get(name)
    steps = steps() if steps is not None else _generic_steps(rule)
    return Proof(name, rule.latex, rule.definition(x), steps, rule.derivative(x, y))


def equal(a: sp.Expr, b: sp.Expr) -> bool:
    """Whether two steps are equal as functions of x (SymPy; registry functions rewritten to
    elementary ones first)."""
    a, b = (
        rules.to_elementary((sp.Integer(e) if isinstance(e, int) else e).doit()) for e in (a, b)
    )
    if sp.simplify((a - b).rewrite(sp.exp)) == 0:
        return True
    # a piecewise function SymPy cannot simplify: equal away from the kink at 0
    points = (-2.3, -0.7, -0.05, 0.05, 0.6, 1.9)
    return all(abs(complex(sp.N((a - b).subs(x, p), 30))) < 1e-20 for p in points)
