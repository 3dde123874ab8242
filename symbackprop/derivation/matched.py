"""The output δ of a matched output layer, simplified step by step to ``a − y``.

Softmax with cross-entropy (seed 003 appendix B, in Nielsen's sign), for output unit k of K::

    ∂a_i/∂z_k = a_i (δ_ik − a_k)                                   (δ_ik: the Kronecker δ)
    δ_k = ∂C/∂z_k = Σ_i ∂C/∂a_i · ∂a_i/∂z_k = −Σ_i (y_i / a_i) · a_i (δ_ik − a_k)
        = −Σ_i y_i (δ_ik − a_k) = a_k Σ_i y_i − y_k = a_k − y_k      (Σ_i y_i = 1)

The multinomial log-likelihood (Jacobs' eq. 40) is the same with the sign flipped:
``δ_k = y_k − a_k``, ascended. A sigmoid output with binary cross-entropy gives
``∂C/∂a · a(1 − a) = (a − y)/(a(1 − a)) · a(1 − a) = a − y`` (Bernoulli: ``y − a``), with no
condition on the targets.

Pure: a derivation's δ's in, the same δ's with the output ones simplified and the steps as
:class:`Simplification` data out. The Kronecker δ stays an unevaluated ``KroneckerDelta(i, k)``
so the handout prints it; ``.doit()`` evaluates it, which is how the tests check each step.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from symbackprop.derivation.equations import Delta, Simplification
from symbackprop.model.network import MatchedOutput, Network
from symbackprop.rules.registry import _mul, _neg, _sub
from symbackprop.rules.registry import loss as loss_rule


def _sum(terms: list[sp.Expr]) -> sp.Expr:
    return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)


def _softmax_steps(net: Network, m: MatchedOutput, k: int):
    """The steps of δ_k for a softmax output (module docstring), and the Jacobian column k."""
    rule = loss_rule(m.loss)
    # ∂ℓ/∂a_i · a_i = y_i for the log-likelihood, −y_i for cross-entropy
    a, y = m.out, m.targets
    jacobian, chain, cancelled = [], [], []
    for i in range(len(a)):
        kron = sp.KroneckerDelta(i + 1, k + 1, evaluate=False)
        jac = _mul(a[i], _sub(kron, a[k]))
        jacobian.append((a[i], m.pre[k], jac))
        # ∂ℓ/∂a_i from the registry; cross-entropy's −y_i/a_i has its sign taken out of the sum
        dterm = rule.dterm(a[i], y[i], net.notation.error_form)
        chain.append(_mul(dterm if rule.maximize else -dterm, jac))
        cancelled.append(_mul(y[i], _sub(kron, a[k])))
    total = _sum(list(y))
    if rule.maximize:
        split, simple = _sub(y[k], _mul(a[k], total)), _sub(y[k], a[k])
    else:
        split, simple = _sub(_mul(a[k], total), y[k]), _sub(a[k], y[k])
    if rule.maximize:
        steps = (_sum(chain), _sum(cancelled), split, simple)
    else:
        steps = (_neg(_sum(chain)), _neg(_sum(cancelled)), split, simple)
    return steps, sp.Eq(total, 1, evaluate=False), tuple(jacobian)


def _sigmoid_steps(delta: Delta, m: MatchedOutput, k: int):
    maximize = loss_rule(m.loss).maximize
    simple = _sub(m.targets[k], m.out[k]) if maximize else _sub(m.out[k], m.targets[k])
    return (delta.expr, simple), None, ()


def simplify_outputs(
    net: Network, deltas: tuple[Delta, ...]
) -> tuple[tuple[Delta, ...], tuple[Simplification, ...]]:
    """``deltas`` with each output δ of a matched layer replaced by ``a − y`` (or ``y − a``),
    and the steps that show why, in output-unit order (labels ``S1`` …)."""
    m = net.matched
    if m is None:
        return deltas, ()
    position = {z: k for k, z in enumerate(m.pre)}
    out, found = [], {}
    for delta in deltas:
        k = position.get(delta.of)
        if k is None:
            out.append(delta)
            continue
        if m.targets_sum_to_one:
            steps, condition, jacobian = _softmax_steps(net, m, k)
        else:
            steps, condition, jacobian = _sigmoid_steps(delta, m, k)
        found[k] = (delta.symbol, delta.of, steps, condition, jacobian)
        out.append(replace(delta, expr=steps[-1]))
    simplifications = tuple(
        Simplification(f"S{n}", *found[k]) for n, k in enumerate(sorted(found), start=1)
    )
    return tuple(out), simplifications
