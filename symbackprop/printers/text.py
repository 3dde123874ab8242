"""Plain-text rendering of a derivation for the terminal (``symbackprop derive``).

One equation a line, with its label; with the spec's example, each line ends with its value.
"""

from __future__ import annotations

import sympy as sp

from symbackprop.derivation.equations import Derivation
from symbackprop.derivation.evaluate import evaluate, format_number


def _text(expr: sp.Expr) -> str:
    return sp.sstr(expr, order="none")


def derivation_text(derivation: Derivation, *, digits: int = 9) -> str:
    """The forward pass, δ's, gradients and updates as labelled lines."""
    net = derivation.network
    worked = evaluate(derivation) if net.has_example else None

    def value(symbol: sp.Symbol) -> str:
        if worked is None:
            return ""
        return "  = " + format_number(worked.all[symbol], digits).replace(r" \times 10^", "e")

    loss = net.loss.name
    lines = [
        f"network '{net.name}': {len(net.params)} parameters, loss {loss}"
        + (" (maximised)" if net.maximize else "")
    ]
    lines.append("\nforward")
    lines += [
        f"  {f.label:4s} {f.symbol.name} = {_text(f.expr)}{value(f.symbol)}"
        for f in derivation.forward
    ]
    lines.append(f"\ndeltas (delta_n = d{loss}/dn)")
    lines += [
        f"  {d.label:4s} {d.symbol.name} = {_text(d.expr)}{value(d.symbol)}"
        for d in derivation.deltas
    ]
    lines += _simplification_lines(derivation)
    lines.append("\ngradients")
    for g in derivation.gradients:
        gsym = derivation.gradient_symbol(g.param)
        lines.append(f"  {g.label:4s} {gsym.name} = {_text(g.expr)}{value(gsym)}")
    lines.append("\nupdates")
    for u in derivation.updates:
        after = ""
        if worked is not None:
            after = "  = " + format_number(worked.updated[u.param], digits)
        lines.append(f"  {u.label:4s} {u.param.name}+ = {_text(u.expr)}{after}")
    return "\n".join(lines)


def _simplification_lines(derivation: Derivation) -> list[str]:
    """The output δ's of a matched output layer, step by step down to ``a − y``."""
    if not derivation.simplifications:
        return []
    m = derivation.network.matched
    lines = [f"\noutput deltas: {m.activation} with {m.loss}, step by step"]
    for s in derivation.simplifications:
        for a_i, z_k, jac in s.jacobian:
            lines.append(f"  {s.label:4s} d{a_i.name}/d{z_k.name} = {_text(jac)}")
        pad = " " * (len(s.delta.name) + 7)
        lines.append(f"  {s.label:4s} {s.delta.name} = {_text(s.steps[0])}")
        lines += [f"{pad}= {_text(step)}" for step in s.steps[1:]]
        if s.condition is not None:
            lines[-1] += f"   (using {_text(s.condition.lhs)} = {_text(s.condition.rhs)})"
    return lines
