"""The output layer at layer level: a loss paired with the output activation gives BP1.

In-scope names (plain SymPy symbols, one output unit of one example, Nielsen's letters):
``a`` = a^L_j the output, ``z`` = z^L_j its pre-activation, ``y`` = y_j the target, ``logp`` =
log a^L_j as the code computes it for softmax (log-softmax with max subtraction).

For an elementwise output activation f, BP1 is δ^L_j = ∂C/∂a^L_j · f'(z^L_j). Some pairs
simplify together and the code uses the simplified (fused) form, because it is both shorter and
numerically stable:

- sigmoid + binary cross-entropy → δ^L_j = a^L_j − y_j (no assumption);
- softmax + categorical cross-entropy → δ^L_j = a^L_j − y_j, derived through the Kronecker
  δ_kj of the softmax Jacobian; it needs Σ_k y_k = 1 (one-hot targets or any probability vector);
- the log-likelihoods (seed 003) are the negatives: δ^L_j = y_j − a^L_j, and training ascends.

Softmax with any other loss uses the Jacobian form δ^L_j = a^L_j (g_j − Σ_k a^L_k g_k), where
g_k = ∂C/∂a^L_k. ``stable`` is the per-unit loss as the generated code computes it: from the
logits where a log of a probability would otherwise be taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbackprop.errors import InvalidInput
from symbackprop.rules import registry as rules

a, y, z, logp = sp.symbols("a y z logp", real=True)
SOFTMAX = rules.SOFTMAX
LINEAR = rules.LINEAR


def required_output(loss_name: str) -> str | None:
    """The output activation ``loss_name`` is defined on (the registry entry's ``output``: its
    logs need a probability), or None if any will do."""
    return rules.LOSSES[loss_name].output if loss_name in rules.LOSSES else None


ONE_HOT = r"\sum_k y_k = 1"
ONE_HOT_TEXT = "the targets of each example sum to one (one-hot class labels, or a distribution)"


@dataclass(frozen=True)
class OutputRule:
    """BP1 for one (loss, output activation) pair, per output unit.

    Attributes:
        loss: the loss registry key.
        activation: the output activation (``"softmax"``, ``"linear"`` or a registry name).
        dC_da: ∂ℓ/∂a^L_j in ``a``, ``y`` (∂ log L/∂a for a log-likelihood).
        fprime: f'(z^L_j) in ``z``, ``a`` (None for softmax, whose Jacobian is not diagonal).
        delta: δ^L_j in ``a``, ``y``, ``z`` — fused where the pair simplifies; None for softmax
            with a loss that does not simplify (the Jacobian form is used).
        fused: True when ``delta`` is a simplification of ∂C/∂a · f' (or of the Jacobian sum).
        assumption: what the fused form needs (empty when nothing).
        stable: the per-unit loss as the code computes it, in ``z``, ``a``, ``y``, ``logp``.
        maximize: True for log-likelihoods (gradient ascent).
    """

    loss: str
    activation: str
    dC_da: sp.Expr
    fprime: sp.Expr | None
    delta: sp.Expr | None
    fused: bool
    assumption: str
    stable: sp.Expr
    maximize: bool


def activation_derivative(name: str) -> sp.Expr:
    """f'(z) of an elementwise activation as the textbook writes it, in ``z`` and ``a``."""
    if name == LINEAR:
        return sp.Integer(1)
    return rules.activation(name).derivative(z, a)


def activation_value(name: str, arg: sp.Expr) -> sp.Expr:
    """f(arg) as a registry function application (``linear`` is the identity)."""
    if name == LINEAR:
        return arg
    return rules.activation(name).function(arg)


def output_rule(loss_name: str, activation: str) -> OutputRule:
    """The BP1 rule for ``loss_name`` on an output layer with ``activation``.

    Raises:
        InvalidInput: the loss needs another output activation (cross-entropy needs softmax).
    """
    rule = rules.loss(loss_name)
    needed = rule.output
    if needed is not None and activation != needed:
        raise InvalidInput(
            f"loss '{loss_name}' needs a {needed} output layer, got '{activation}'",
            hint=f'set the last layer\'s activation to "{needed}"',
        )
    dC_da = rule.dterm(a, y, "out_minus_target")
    sign = -1 if rule.maximize else 1  # δ = a − y, or y − a for a log-likelihood
    if sign == 1:
        fused_delta = sp.Add(a, sp.Mul(-1, y, evaluate=False), evaluate=False)
    else:
        fused_delta = sp.Add(y, sp.Mul(-1, a, evaluate=False), evaluate=False)
    if activation == SOFTMAX:
        if needed == SOFTMAX:
            return OutputRule(
                loss_name,
                activation,
                dC_da,
                None,
                fused_delta,
                True,
                ONE_HOT,
                sp.Mul(-sign, y, logp),
                rule.maximize,
            )
        return OutputRule(
            loss_name, activation, dC_da, None, None, False, "", rule.term(a, y), rule.maximize
        )
    fprime = activation_derivative(activation)
    if needed == "sigmoid":
        softplus = rules.activation("softplus").function(z)
        # −[y ln σ(z) + (1 − y) ln(1 − σ(z))] = softplus(z) − y z, finite for any z.
        stable = sp.Mul(sign, sp.Add(softplus, -y * z))
        return OutputRule(
            loss_name, activation, dC_da, fprime, fused_delta, True, "", stable, rule.maximize
        )
    delta = rules._mul(dC_da, fprime)
    return OutputRule(
        loss_name, activation, dC_da, fprime, delta, False, "", rule.term(a, y), rule.maximize
    )


def softmax_value(j: int, logits: list[sp.Expr]) -> sp.Expr:
    """a_j = exp(z_j) / Σ_k exp(z_k), elementary (the oracle's definition)."""
    return sp.exp(logits[j]) / sp.Add(*[sp.exp(zk) for zk in logits])
