"""Jacobs' starting point: the network as a probability model, its log-likelihood as data.

Jacobs (Backpropagation Algorithm, University of Rochester) first picks a log-likelihood fit for
the task, then ascends it: ``w(n+1) = w(n) + ε ∂log L(n)/∂w(n)``. Every loss of the registry is
(up to sign and a constant) such a log-likelihood:

- ``half_sse``, ``gaussian_loglik``: targets ``y* ~ N(y, 1)``, each with density
  ``e^{−(y* − y)²/2}/√(2π)``, so ``log p = −½(y* − y)² − ½ log 2π``: maximising the Gaussian
  log-likelihood is minimising half the sum of squared errors;
- ``bce``, ``bernoulli_loglik``: ``p = y^{y*}(1 − y)^{1−y*}`` per output;
- ``cross_entropy``, ``multinomial_loglik``: ``p = Π_k y_k^{y*_k}`` over the outputs.

:func:`likelihood` takes the density of one output (or of the whole output layer), lets SymPy take
its logarithm (``expand_log``), sums it over the outputs and finds the constant that separates it
from the net's own loss (``simplify(log p − (±loss))``), which must be free of every symbol: the
tests check that. :func:`loss_rule_of` recognises a unit-level net's loss by comparing its loss
node with each registry loss summed over the net's outputs (a graph spec's hand-written loss may
match one, or none).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symbackprop.rules import registry as rules
from symbackprop.rules.registry import _mul, _sub

# Which distribution each registry loss is the (negative) log-likelihood of.
KIND = {
    "half_sse": "gaussian",
    "gaussian_loglik": "gaussian",
    "bce": "bernoulli",
    "bernoulli_loglik": "bernoulli",
    "cross_entropy": "multinomial",
    "multinomial_loglik": "multinomial",
}


@dataclass(frozen=True)
class Likelihood:
    """The log-likelihood of one pattern against a net's loss.

    Attributes:
        kind: ``"gaussian"``, ``"bernoulli"`` or ``"multinomial"``.
        density: ``p(y*_1 | x)`` of the first output (the whole layer's for ``multinomial``).
        log_density: its logarithm, as SymPy expands it (the constant collected last).
        total: ``log p(y* | x)`` summed over the outputs (SymPy's, unsimplified).
        sign: ``+1`` when the loss is the log-likelihood (ascended), ``-1`` when it is
            ``−log L`` up to a constant (descended).
        constant: ``total − sign · loss``: free of every symbol (``−(K/2) log 2π`` for the
            Gaussian, ``0`` otherwise).
    """

    kind: str
    density: sp.Expr
    log_density: sp.Expr
    total: sp.Expr
    sign: int
    constant: sp.Expr


def log_2pi(factor: sp.Expr) -> sp.Expr:
    """``factor · log 2π`` as the page writes it (not log 2 + log π)."""
    return _mul(factor, sp.log(sp.Mul(2, sp.pi, evaluate=False), evaluate=False))


def density(kind: str, y: sp.Expr, t: sp.Expr) -> sp.Expr:
    """``p(t | x)`` of one output ``y`` with target ``t`` (Gaussian or Bernoulli), unevaluated."""
    if kind == "gaussian":
        root = sp.sqrt(sp.Mul(2, sp.pi, evaluate=False), evaluate=False)
        square = sp.Pow(_sub(t, y), 2, evaluate=False)
        return _mul(sp.Pow(root, -1, evaluate=False), sp.exp(_mul(-sp.Rational(1, 2), square)))
    one = sp.Integer(1)
    return _mul(sp.Pow(y, t, evaluate=False), sp.Pow(_sub(one, y), _sub(one, t), evaluate=False))


def _collected(log_p: sp.Expr, term: sp.Expr) -> sp.Expr:
    """``log_p`` written as ``term + c``, with ``c = log_p − term`` found by SymPy and shown as
    ``−½ log 2π`` when it is that."""
    c = sp.simplify(log_p - term)
    if c == 0:
        return term
    ratio = sp.nsimplify(sp.simplify(c / sp.log(2 * sp.pi)))
    shown = log_2pi(ratio) if ratio.is_Rational else c
    return sp.Add(term, shown, evaluate=False)


def likelihood(kind: str, outputs, targets, loss: sp.Expr, maximize: bool, term=None) -> Likelihood:
    """The log-likelihood of ``kind`` for ``outputs``/``targets`` against ``loss`` (the net's
    loss of one pattern; ``maximize``: it is the log-likelihood itself).

    ``term(y, t)``: the registry's per-output log-likelihood, used only to show each output's
    log-density in the textbook's shape; SymPy's expansion decides its value."""
    sign = 1 if maximize else -1
    if kind == "multinomial":
        p = sp.Mul(
            *[sp.Pow(y, t, evaluate=False) for y, t in zip(outputs, targets)], evaluate=False
        )
        log_p = sp.expand_log(sp.log(p), force=True)
        total = log_p
    else:
        p = density(kind, outputs[0], targets[0])
        log_p = sp.expand_log(sp.log(p), force=True)
        total = sp.Add(
            *[
                sp.expand_log(sp.log(density(kind, y, t)), force=True)
                for y, t in zip(outputs, targets)
            ]
        )
    shape = term(outputs[0], targets[0]) if term is not None and kind != "multinomial" else None
    shown = _collected(log_p, shape) if shape is not None else log_p
    constant = sp.simplify(total - sign * loss)
    return Likelihood(kind, p, shown, total, sign, constant)


def loss_rule_of(net) -> str | None:
    """The registry loss a unit-level net's loss node is (summed over its outputs), or None."""
    if net.matched is not None:
        return net.matched.loss
    expr = net.node(net.loss).expr
    pairs = list(zip(net.outputs, net.targets))
    if not pairs or len(net.outputs) != len(net.targets):
        return None
    for name in KIND:
        rule = rules.LOSSES[name]
        if rule.maximize != net.maximize:
            continue
        candidate = sp.Add(*[rule.term(y, t) for y, t in pairs])
        if sp.expand(sp.simplify(expr - candidate)) == 0:
            return name
    return None


# The log-likelihood each descended loss is the negative of (same registry shape, sign flipped).
LOGLIK = {
    "half_sse": "gaussian_loglik",
    "bce": "bernoulli_loglik",
    "cross_entropy": "multinomial_loglik",
}


def registry_term(name: str):
    """The registry's per-output log-likelihood term for loss ``name``: its own term for a
    log-likelihood, else that of the log-likelihood it is the negative of (the tests check
    that the two terms add up to zero)."""
    return rules.LOSSES[LOGLIK.get(name, name)].term
