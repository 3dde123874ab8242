"""The registry of activation functions and losses: one entry per function, rules as data.

In-scope names, used by every rule below:

- ``z`` — the pre-activation (net input) of a unit, a SymPy expression;
- ``a`` — the unit's output ``f(z)``; derivatives are written in terms of ``a`` where the
  textbook does (σ' = a(1 − a), tanh' = 1 − a²), in terms of ``z`` otherwise;
- ``y`` — a network output, ``t`` — its target (loss rules).

Each activation carries everything every stage needs, so an entry is the only place to edit:

- ``definition`` f(z) in elementary functions — the oracle: tests compare the derivative rule
  with ``sympy.diff`` of it, ``check`` evaluates it at 30 digits;
- ``derivative`` f'(z) as the textbook writes it, from ``(z, a)``;
- ``latex`` its name in handouts, ``kink`` its convention where it has no derivative;
- ``claim_names`` the words a hand-written claim may call it by (``sigma(z)``, ``elu(z)``);
- its NumPy kernels: either ``kernel`` (an expression of ``z`` the code printer prints, on
  arrays and on Python floats, in place with ``out=`` where it is one ufunc call) or, for the
  numerically delicate ones, ``helper``/``scalar_helper``: the names of runtime functions
  (:mod:`codegen.runtime_unit`, :mod:`codegen.runtime_layer`) that take ``out=`` at layer level.

To add an activation: :func:`register` one :class:`Activation` (or append it to
``_ACTIVATIONS``); nothing else changes. A spec may define one as an expression of ``z``
(:func:`custom_activation`): its derivative is then derived by SymPy, not looked up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """One activation rule (see the module docstring for the in-scope names).

    Attributes:
        name: registry key, also the function name in specs (``sigmoid(net_h1)``).
        latex: LaTeX of the function name (``\\sigma``).
        definition: f(z) in elementary functions — the oracle for the derivative rule.
        derivative: f'(z) as the textbook writes it, from ``(z, a)``.
        kink: the convention at points of non-differentiability, for docs and handouts.
        claim_names: words a hand-written claim may call the function by (``elu(z)``).
        kernel: f(z) as the generated code computes it (registry functions allowed, so that
            they print as their stable helpers); None: the definition.
        helper: runtime function the generated NumPy code calls instead of printing a kernel
            (``_sigmoid``); at layer level it takes ``out=``.
        scalar_helper: runtime function on one Python float (unit level's unrolled path);
            None: the kernel printed on floats, or ``float(helper(z))``.
        custom: True for an activation a spec defined (its derivative derived, not written).
    """

    name: str
    latex: str
    definition: Callable[[Expr], Expr]
    derivative: Callable[[Expr, Expr], Expr]
    kink: str = ""
    claim_names: tuple[str, ...] = ()
    kernel: Callable[[Expr], Expr] | None = None
    helper: str | None = None
    scalar_helper: str | None = None
    custom: bool = field(default=False, compare=False)

    @property
    def function(self) -> type[ActivationBase]:
        return _FUNCTIONS[self.name]

    def code_form(self, z: Expr) -> Expr:
        """f(z) as the generated code computes it (the kernel, else the definition)."""
        return (self.kernel or self.definition)(z)


LEAKY_SLOPE = sp.Rational(1, 100)  # PyTorch's default negative_slope
ELU_ALPHA = sp.Integer(1)  # PyTorch's default alpha
GELU_C = sp.Rational(44715, 1_000_000)  # the cubic coefficient of GELU's tanh approximation


def _relu_definition(z: Expr) -> Expr:
    return sp.Max(0, z)


def _sigmoid_of(z: Expr) -> Expr:
    """σ(z) as the registry function (prints as the stable helper in code)."""
    return _FUNCTIONS["sigmoid"](z)


def _gelu_inner(z: Expr) -> Expr:
    """u = √(2/π) (z + c z³), the argument of tanh in GELU's approximation."""
    return _mul(sp.sqrt(2 / sp.pi), sp.Add(z, _mul(GELU_C, sp.Pow(z, 3)), evaluate=False))


def _gelu_derivative(z: Expr, a: Expr) -> Expr:
    """½(1 + tanh u) + ½ z (1 − tanh² u) u', u' = √(2/π)(1 + 3c z²)."""
    th = sp.tanh(_gelu_inner(z))
    du = _mul(sp.sqrt(2 / sp.pi), sp.Add(1, _mul(3 * GELU_C, sp.Pow(z, 2)), evaluate=False))
    return sp.Add(
        _mul(sp.Rational(1, 2), sp.Add(1, th, evaluate=False)),
        _mul(sp.Rational(1, 2), z, _sub(sp.Integer(1), sp.Pow(th, 2, evaluate=False)), du),
        evaluate=False,
    )


_ACTIVATIONS: tuple[Activation, ...] = (
    Activation(
        name="sigmoid",
        latex=r"\sigma",
        definition=lambda z: 1 / (1 + sp.exp(-z)),
        derivative=lambda z, a: _mul(a, _sub(sp.Integer(1), a)),
        claim_names=("sigmoid", "sigma", r"\sigma"),
        helper="_sigmoid",
        scalar_helper="_sigmoid1",
    ),
    Activation(
        name="tanh",
        latex=r"\tanh",
        definition=sp.tanh,
        derivative=lambda z, a: _sub(sp.Integer(1), sp.Pow(a, 2, evaluate=False)),
        claim_names=("tanh", r"\tanh"),
    ),
    Activation(
        name="relu",
        latex=r"\operatorname{ReLU}",
        definition=_relu_definition,
        derivative=lambda z, a: sp.Heaviside(z, 0),
        kink="ReLU'(0) = 0 (the minimum-norm subgradient, as PyTorch)",
        claim_names=("relu", "ReLU"),
        helper="_relu",
        scalar_helper="_relu1",
    ),
    Activation(
        name="softplus",
        latex=r"\operatorname{softplus}",
        definition=lambda z: sp.log(1 + sp.exp(z)),
        derivative=lambda z, a: _sub(sp.Integer(1), sp.exp(_neg(a))),
        claim_names=("softplus",),
        helper="_softplus",
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
        kink="LReLU'(0) = 0.01, the negative slope (as PyTorch)",
        claim_names=("leaky_relu", "LReLU"),
        helper="_leaky_relu",
        scalar_helper="_leaky_relu1",
    ),
    Activation(
        # PyTorch's ELU with alpha = 1: z for z > 0, exp(z) − 1 otherwise; f' = 1, or a + 1.
        name="elu",
        latex=r"\operatorname{ELU}",
        definition=lambda z: sp.Piecewise((z, z > 0), (ELU_ALPHA * (sp.exp(z) - 1), True)),
        derivative=lambda z, a: sp.Piecewise(
            (sp.Integer(1), z > 0), (sp.Add(a, ELU_ALPHA, evaluate=False), True)
        ),
        kink="ELU'(0) = 1 (both one-sided derivatives are 1 for alpha = 1, as PyTorch)",
        claim_names=("elu", "ELU"),
        # expm1 of min(z, 0): the branch np.where discards cannot overflow for large z
        kernel=lambda z: sp.Piecewise((z, z > 0), (expm1(sp.Min(z, 0)), True)),
    ),
    Activation(
        # SiLU = swish: z σ(z); f' = σ(z) (1 + z (1 − σ(z))).
        name="silu",
        latex=r"\operatorname{SiLU}",
        definition=lambda z: z / (1 + sp.exp(-z)),
        derivative=lambda z, a: _mul(
            _sigmoid_of(z),
            sp.Add(1, _mul(z, _sub(sp.Integer(1), _sigmoid_of(z))), evaluate=False),
        ),
        claim_names=("silu", "SiLU"),
        kernel=lambda z: _mul(z, _sigmoid_of(z)),
    ),
    Activation(
        # PyTorch's GELU(approximate="tanh"): ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))).
        name="gelu",
        latex=r"\operatorname{GELU}",
        definition=lambda z: sp.Rational(1, 2) * z * (1 + sp.tanh(_gelu_inner(z))),
        derivative=_gelu_derivative,
        claim_names=("gelu", "GELU"),
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
ACTIVATIONS: dict[str, Activation] = {}
LINEAR = "linear"  # identity: the unit has no separate activation node
SOFTMAX = "softmax"  # the layer level's output-only activation (rules.layer_losses)
# Names an activation may not take: the other things a spec or a claim can call or name.
_TAKEN = frozenset({LINEAR, SOFTMAX, "exp", "log", "ln", "f", "g", "z", "sigma"})


def claim_words() -> dict[str, str]:
    """Each word a claim may call an activation by → the registry name."""
    return {word: rule.name for rule in ACTIVATIONS.values() for word in rule.claim_names}


def register(rule: Activation, *, replace: bool = False) -> Activation:
    """Add ``rule`` to the registry: every stage (derive, handout, codegen, check, verify) then
    knows it by name. This is the one way to add an activation.

    Raises:
        InvalidInput: the name is not a valid identifier, or is taken (by a registry entry,
            unless ``replace`` and that entry is one a spec defined; or by ``linear``,
            ``softmax``, ``exp``, ``log`` and the claim grammar's words).
    """
    from symbackprop.model.names import validate_name

    validate_name(rule.name, what="activation name")
    old = ACTIVATIONS.get(rule.name)
    taken = rule.name in _TAKEN or rule.name in claim_words() and old is None
    if taken or old is not None and not (replace and old.custom):
        raise InvalidInput(
            f"activation name '{rule.name}' is taken by the registry",
            hint="choose another name, e.g. " + repr(f"my_{rule.name}"),
        )
    _FUNCTIONS[rule.name] = type(rule.name, (ActivationBase,), {"rule": rule})
    ACTIVATIONS[rule.name] = rule
    return rule


def unregister(name: str) -> None:
    """Remove an activation :func:`register` added (for tests and notebooks)."""
    ACTIVATIONS.pop(name, None)
    _FUNCTIONS.pop(name, None)


for _rule in _ACTIVATIONS:
    register(_rule)


def _z_symbol() -> sp.Symbol:
    return sp.Symbol("z", real=True)


def custom_activation(name: str, f: Expr, z: sp.Symbol, *, latex: str | None = None) -> Activation:
    """An activation defined by an expression ``f`` of ``z`` (as a spec writes it).

    Its definition is ``f`` with registry functions made elementary (the oracle); its derivative
    is ``sympy.diff`` of ``f``, simplified — derived, not looked up; the code computes ``f`` as
    written (registry functions in it print as their stable helpers). Registered with
    ``replace=True`` over an earlier spec's activation of the same name, never over a built-in.
    """
    zs = _z_symbol()
    body = f.xreplace({z: zs})
    if body.free_symbols - {zs}:
        extra = ", ".join(sorted(s.name for s in body.free_symbols - {zs}))
        raise InvalidInput(f"activation '{name}' may depend on z only, not on {extra}")
    derived = sp.simplify(sp.diff(body, zs))
    elementary = to_elementary(body)

    def at(expr: Expr) -> Callable[[Expr], Expr]:
        return lambda arg: expr.xreplace({zs: arg})

    rule = Activation(
        name=name,
        latex=latex or rf"\operatorname{{{name}}}".replace("_", r"\_"),
        definition=at(elementary),
        derivative=lambda arg, a: derived.xreplace({zs: arg}),
        claim_names=(name,),
        kernel=at(body),
        custom=True,
    )
    existing = ACTIVATIONS.get(name)
    if existing is not None and existing.custom and _same(existing, rule):
        return existing  # the same spec loaded again: keep its function class
    return register(rule, replace=True)


def _same(old: Activation, new: Activation) -> bool:
    zs = _z_symbol()
    return old.code_form(zs) == new.code_form(zs)


def activation(name: str, *, where: str | None = None) -> Activation:
    """Look up an activation rule by name; unknown names list the known ones."""
    if name in ACTIVATIONS:
        return ACTIVATIONS[name]
    known = ", ".join(sorted([*ACTIVATIONS, LINEAR]))
    raise InvalidInput(f"unknown activation '{name}'", where=where, hint=f"known: {known}")


def activation_names(*, with_linear: bool = True) -> tuple[str, ...]:
    """The names of every registry activation (and ``linear``), in registry order."""
    return (*ACTIVATIONS, LINEAR) if with_linear else tuple(ACTIVATIONS)


def activation_of(expr: Expr) -> Activation | None:
    """The rule of ``expr`` when it is a registry activation applied to one argument."""
    if isinstance(expr, ActivationBase):
        return expr.rule
    return None


def shown_definition(expr: Expr) -> Expr | None:
    """The definition a derivation shows after an activation ``f(z)``: ``1/(1 + e^{-z})`` for
    the sigmoid; ``None`` where it would say nothing (``tanh(z) = tanh(z)``, linear's ``z``)."""
    rule = activation_of(expr)
    if rule is None:
        return None
    definition = rule.definition(expr.args[0])
    # a definition that is one function of the same argument is the activation itself
    named = isinstance(definition, sp.Function) and definition.args == expr.args
    return None if named or definition == expr.args[0] else definition


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
        output: the output activation the loss is defined on (its logs need a probability),
            or None when any will do.
    """

    name: str
    term: Callable[[Expr, Expr], Expr]
    dterm: Callable[[Expr, Expr, str], Expr]
    maximize: bool = False
    description: str = ""
    output: str | None = None


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
        # rules/layer_losses.py.
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
            output="sigmoid",
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
            output="sigmoid",
        ),
        Loss(
            name="cross_entropy",
            term=lambda y, t: _neg(_mul(t, sp.log(y))),
            dterm=lambda y, t, form: _neg(_mul(t, sp.Pow(y, -1))),
            description="categorical cross-entropy, C = −Σ_k y_k ln a_k",
            output=SOFTMAX,
        ),
        Loss(
            name="multinomial_loglik",
            term=lambda y, t: _mul(t, sp.log(y)),
            dterm=lambda y, t, form: _mul(t, sp.Pow(y, -1)),
            maximize=True,
            description="multinomial log-likelihood, log L = Σ_k y*_k log y_k",
            output=SOFTMAX,
        ),
    )
}


def loss(name: str, *, where: str | None = None) -> Loss:
    """Look up a loss rule by name; unknown names list the known ones."""
    if name in LOSSES:
        return LOSSES[name]
    raise InvalidInput(f"unknown loss '{name}'", where=where, hint=f"known: {', '.join(LOSSES)}")
