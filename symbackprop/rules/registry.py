"""The registry of activation functions and losses: one entry per function, rules as data.

In-scope names, used by every rule below:

- ``z`` — the pre-activation (net input) of a unit, a SymPy expression;
- ``a`` — the unit's output ``f(z)``; derivatives are written in terms of ``a`` where the
  textbook does (σ' = a(1 − a), tanh' = 1 − a²), in terms of ``z`` otherwise;
- ``y`` — a network output, ``t`` — its target (loss rules).

Each activation carries: its elementary definition ``f(z)`` (the oracle: tests compare every
derivative rule with ``sympy.diff`` of it), its derivative rule, its LaTeX name, the name of the
helper the generated NumPy code calls, and its convention at kinks (ReLU'(0) = 0, as PyTorch).

Each loss is written per output unit, ``E = Σ_k ℓ(y_k, t_k)``, with the textbook form of
``∂ℓ/∂y`` in both sign conventions the lecture notes use: ``−(t − y)`` (Mazur) and ``(y − t)``
(Fausett, hmkcode). A loss with ``maximize=True`` is a log-likelihood: training ascends it.

To add an activation: append one :class:`Activation` to ``_ACTIVATIONS``; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp
from sympy.codegen.cfunctions import expm1

from symbackprop.errors import InvalidInput

Expr = sp.Expr


def _mul(*factors: Expr) -> Expr:
    """A product kept in the order written (textbook shape); ones are dropped."""
    kept = [f for f in factors if f != 1]
    if not kept:
        return sp.Integer(1)
    if len(kept) == 1:
        return kept[0]
    return sp.Mul(*kept, evaluate=False)


def _sub(a: Expr, b: Expr) -> Expr:
    """``a − b`` kept in the order written."""
    return sp.Add(a, sp.Mul(-1, b, evaluate=False), evaluate=False)


def _neg(a: Expr) -> Expr:
    return sp.Mul(-1, a, evaluate=False)


class ActivationBase(sp.Function):
    """Base of the SymPy function classes made for each registry activation.

    ``fdiff`` returns the registry's derivative rule, so SymPy's own differentiation of a graph
    that uses these functions agrees with the rule (the tests check the rule independently).
    """

    rule: Activation

    @classmethod
    def eval(cls, z):  # noqa: D102 - SymPy hook; numbers evaluate through the definition
        if z.is_Number:
            return cls.rule.definition(z)
        return None

    def fdiff(self, argindex=1):  # noqa: D102 - SymPy hook
        return self.rule.derivative(self.args[0], self).doit()

    def _eval_evalf(self, prec):  # noqa: D102 - SymPy hook
        # relu(exp(1/4)): the argument is a number but not a Number, so eval left it alone
        z = self.args[0]._eval_evalf(prec)
        return self.rule.definition(z)._eval_evalf(prec) if z is not None and z.is_Number else None

    def _eval_rewrite_as_elementary(self, z, **kwargs):
        return self.rule.definition(z)


@dataclass(frozen=True)
class Activation:
    """One activation rule.

    Attributes:
        name: registry key, also the function name in specs (``sigmoid(net_h1)``).
        latex: LaTeX of the function name (``\\sigma``).
        definition: f(z) in elementary functions — the oracle for the derivative rule.
        derivative: f'(z) as the textbook writes it, from ``(z, a)``.
        numpy_helper: helper function the generated module defines and calls.
        kink: the convention at points of non-differentiability, for docs and handouts.
    """

    name: str
    latex: str
    definition: Callable[[Expr], Expr]
    derivative: Callable[[Expr, Expr], Expr]
    numpy_helper: str
    kink: str = ""

    @property
    def function(self) -> type[ActivationBase]:
        return _FUNCTIONS[self.name]


LEAKY_SLOPE = sp.Rational(1, 100)  # PyTorch's default negative_slope


def _relu_definition(z: Expr) -> Expr:
    return sp.Max(0, z)


_ACTIVATIONS: tuple[Activation, ...] = (
    Activation(
        name="sigmoid",
        latex=r"\sigma",
        definition=lambda z: 1 / (1 + sp.exp(-z)),
        derivative=lambda z, a: _mul(a, _sub(sp.Integer(1), a)),
        numpy_helper="_sigmoid",
    ),
    Activation(
        name="tanh",
        latex=r"\tanh",
        definition=sp.tanh,
        derivative=lambda z, a: _sub(sp.Integer(1), sp.Pow(a, 2, evaluate=False)),
        numpy_helper="np.tanh",
    ),
    Activation(
        name="relu",
        latex=r"\operatorname{ReLU}",
        definition=_relu_definition,
        derivative=lambda z, a: sp.Heaviside(z, 0),
        numpy_helper="_relu",
        kink="ReLU'(0) = 0 (the minimum-norm subgradient, as PyTorch)",
    ),
    Activation(
        name="softplus",
        latex=r"\operatorname{softplus}",
        definition=lambda z: sp.log(1 + sp.exp(z)),
        derivative=lambda z, a: _sub(sp.Integer(1), sp.exp(_neg(a))),
        numpy_helper="_softplus",
    ),
    Activation(
        name="leaky_relu",
        latex=r"\operatorname{LReLU}",
        definition=lambda z: sp.Max(z, LEAKY_SLOPE * z),
        derivative=lambda z, a: sp.Add(
            sp.Heaviside(z, 0),
            _mul(LEAKY_SLOPE, _sub(sp.Integer(1), sp.Heaviside(z, 0))),
            evaluate=False,
        ),
        numpy_helper="_leaky_relu",
        kink="LReLU'(0) = 0.01, the negative slope (as PyTorch)",
    ),
)


def _minus_exp_argument(term: Expr) -> Expr | None:
    """u when ``term`` is −exp(u), else None."""
    coeff, rest = term.as_coeff_Mul()
    if coeff == -1 and isinstance(rest, sp.exp):
        return rest.args[0]
    return None


def _expm1_form(expr: Expr) -> Expr:
    """1 − exp(u) + rest → −expm1(u) + rest, for one sum (unchanged when it has no such pair)."""
    args = list(expr.args)
    if sp.Integer(1) not in args:
        return expr
    for i, term in enumerate(args):
        u = _minus_exp_argument(term)
        if u is not None:
            rest = [arg for k, arg in enumerate(args) if k != i]
            rest.remove(sp.Integer(1))
            kernel = sp.Mul(-1, expm1(u), evaluate=False)
            return sp.Add(*rest, kernel, evaluate=False) if rest else kernel
    return expr


def numeric_kernels(expr: Expr) -> Expr:
    """``expr`` as generated code computes it: every 1 − exp(u) becomes −expm1(u).

    The textbook forms stay in the derivation and the handouts; this is for code only. Softplus'
    derivative 1 − e^{−a} (a = softplus(z)) is σ(z): for z = −30, a = 9.4e-14 and 1 − e^{−a} keeps
    about 3 of 16 digits (for z < −37 it is 0), where −expm1(−a) is correct to the last bit.
    """
    if not expr.has(sp.exp):
        return expr
    return expr.replace(lambda e: isinstance(e, sp.Add), _expm1_form)


_FUNCTIONS: dict[str, type[ActivationBase]] = {}
for _rule in _ACTIVATIONS:
    _FUNCTIONS[_rule.name] = type(_rule.name, (ActivationBase,), {"rule": _rule})

ACTIVATIONS: dict[str, Activation] = {rule.name: rule for rule in _ACTIVATIONS}
LINEAR = "linear"  # identity: the unit has no separate activation node


def activation(name: str, *, where: str | None = None) -> Activation:
    """Look up an activation rule by name; unknown names list the known ones."""
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    known = ", ".join(sorted([*ACTIVATIONS, LINEAR]))
    raise InvalidInput(f"unknown activation '{name}'", where=where, hint=f"known: {known}")


def activation_of(expr: Expr) -> Activation | None:
    """The rule of ``expr`` when it is a registry activation applied to one argument."""
    if isinstance(expr, ActivationBase):
        return expr.rule
    return None


def to_elementary(expr: Expr) -> Expr:
    """Replace every registry activation by its elementary definition (for the oracle)."""
    return expr.replace(
        lambda e: isinstance(e, ActivationBase), lambda e: e.rule.definition(e.args[0])
    )


@dataclass(frozen=True)
class Loss:
    """One loss rule, per output unit: ``E = Σ_k term(y_k, t_k)``.

    Attributes:
        name: registry key used in specs.
        term: ℓ(y, t) for one output unit.
        dterm: ∂ℓ/∂y as the textbook writes it, given ``(y, t, error_form)``.
        maximize: True for log-likelihoods (gradient ascent).
        description: one line for docs and handouts.
    """

    name: str
    term: Callable[[Expr, Expr], Expr]
    dterm: Callable[[Expr, Expr, str], Expr]
    maximize: bool = False
    description: str = ""


def _half_sse_dterm(y: Expr, t: Expr, error_form: str) -> Expr:
    if error_form == "out_minus_target":
        return _sub(y, t)
    return _neg(_sub(t, y))


def _gaussian_dterm(y: Expr, t: Expr, error_form: str) -> Expr:
    return _sub(t, y)


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss(
            name="half_sse",
            term=lambda y, t: _mul(sp.Rational(1, 2), sp.Pow(_sub(t, y), 2, evaluate=False)),
            dterm=_half_sse_dterm,
            description="half the sum of squared errors, E = Σ ½(t − y)²",
        ),
        Loss(
            name="gaussian_loglik",
            term=lambda y, t: _mul(-sp.Rational(1, 2), sp.Pow(_sub(t, y), 2, evaluate=False)),
            dterm=_gaussian_dterm,
            maximize=True,
            description="Gaussian log-likelihood with unit variance, log L = Σ −½(y* − y)²",
        ),
        # The classification losses below are written per output unit as well; their
        # layer-level pairing with a sigmoid or softmax output (δ^L = a^L − y) lives in
        # layer_losses.py.
        Loss(
            name="bce",
            term=lambda y, t: _neg(
                sp.Add(
                    _mul(t, sp.log(y)),
                    _mul(_sub(sp.Integer(1), t), sp.log(_sub(sp.Integer(1), y))),
                    evaluate=False,
                )
            ),
            dterm=lambda y, t, form: _mul(_sub(y, t), sp.Pow(_mul(y, _sub(1, y)), -1)),
            description="binary cross-entropy, C = −Σ [y ln a + (1 − y) ln(1 − a)]",
        ),
        Loss(
            name="bernoulli_loglik",
            term=lambda y, t: sp.Add(
                _mul(t, sp.log(y)),
                _mul(_sub(sp.Integer(1), t), sp.log(_sub(sp.Integer(1), y))),
                evaluate=False,
            ),
            dterm=lambda y, t, form: _mul(_sub(t, y), sp.Pow(_mul(y, _sub(1, y)), -1)),
            maximize=True,
            description="Bernoulli log-likelihood, log L = Σ [y* log y + (1 − y*) log(1 − y)]",
        ),
        Loss(
            name="cross_entropy",
            term=lambda y, t: _neg(_mul(t, sp.log(y))),
            dterm=lambda y, t, form: _neg(_mul(t, sp.Pow(y, -1))),
            description="categorical cross-entropy, C = −Σ_k y_k ln a_k",
        ),
        Loss(
            name="multinomial_loglik",
            term=lambda y, t: _mul(t, sp.log(y)),
            dterm=lambda y, t, form: _mul(t, sp.Pow(y, -1)),
            maximize=True,
            description="multinomial log-likelihood, log L = Σ_k y*_k log y_k",
        ),
    )
}


def loss(name: str, *, where: str | None = None) -> Loss:
    """Look up a loss rule by name; unknown names list the known ones."""
    if name in LOSSES:
        return LOSSES[name]
    raise InvalidInput(f"unknown loss '{name}'", where=where, hint=f"known: {', '.join(LOSSES)}")
