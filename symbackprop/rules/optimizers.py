"""Update rules as data: SymPy assignments, printed as code at both levels and evaluated by
the unit handout, and LaTeX equations for the layer handout.

Every rule follows PyTorch's ``torch.optim`` conventions (names, defaults, where ε goes), with
g the gradient of the loss *to minimise*; for a log-likelihood the generated code passes
g = −∂ log L/∂θ, which is PyTorch's ``maximize=True``. State is explicit: ``<name>_init(params)``
returns it, ``<name>_update(params, grads, state, …)`` changes params and state in place.

Where we differ from PyTorch, or from the lecture notes:

- momentum keeps PyTorch's velocity v ← μ v + g, θ ← θ − η v (dampening 0). Seed 001 writes the
  step itself, Δw(t+1) = −η g + μ Δw(t) with θ ← θ + Δw; the two agree step for step with
  Δw = −η v while η is constant;
- Adagrad adds ε = 1e-10 to the root as PyTorch does; seed 001's η/√(Σ g²) has none;
- L2 weight decay is part of the loss (λ/2 Σ w², weights only, seed 001; taken into the mean
  under ``reduction = "mean"``, so λ/(2n) Σ w² with gradient λ w / n, and subtracted from a
  log-likelihood), not PyTorch's ``weight_decay`` argument, which also decays biases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import sympy as sp

from symbackprop.errors import InvalidInput

# The in-scope names of a rule's updates, for one scalar entry of one parameter array: ``p`` the
# parameter θ, ``g`` its gradient, ``lr`` the learning rate η, ``step`` the 1-based step count t;
# besides these, a rule reads its settings and its state arrays by their own names.
p, g, lr, step = sp.symbols("p g lr step", real=True)


def _names(text: str) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(name, real=True) for name in text.split())


momentum, alpha, eps, beta1, beta2 = _names("momentum alpha eps beta1 beta2")
v, G, s, m, m_hat, s_hat = _names("v G s m m_hat s_hat")


@dataclass(frozen=True)
class Optimizer:
    """One update rule.

    Attributes:
        name: registry key (``adam``), also the prefix of the generated functions.
        title: its name in prose.
        settings: (name, PyTorch default) of each hyperparameter besides the learning rate.
        state: names of the per-parameter state arrays (zeros at the start).
        equations: LaTeX lines of the update, in order (θ, g, η in Nielsen's letters), for the
            layer handout's display.
        updates: the rule itself, ``(target, expression)`` assignments run in order on one entry
            of one parameter: the target is ``p``, a state array (changed in place) or a
            temporary; each expression reads the names above and the targets assigned before it.
            Generated code prints these (see :mod:`codegen.optimizers`) and the unit handout
            evaluates them.
        note: the sign convention or difference from PyTorch, one sentence.
    """

    name: str
    title: str
    settings: tuple[tuple[str, float], ...]
    state: tuple[str, ...]
    equations: tuple[str, ...]
    updates: tuple[tuple[sp.Symbol, sp.Expr], ...]
    note: str = ""


OPTIMIZERS: dict[str, Optimizer] = {
    o.name: o
    for o in (
        Optimizer(
            "sgd",
            "stochastic gradient descent",
            (),
            (),
            (r"\theta \leftarrow \theta - \eta\, g",),
            ((p, p - lr * g),),
            "one step against the gradient of the batch",
        ),
        Optimizer(
            "momentum",
            "gradient descent with momentum",
            (("momentum", 0.9),),
            ("v",),
            (r"v \leftarrow \mu v + g", r"\theta \leftarrow \theta - \eta\, v"),
            ((v, momentum * v), (v, v + g), (p, p - lr * v)),
            "v is PyTorch's momentum buffer; seed 001's step Delta w (theta += Delta w) is -lr v",
        ),
        Optimizer(
            "nesterov",
            "Nesterov momentum",
            (("momentum", 0.9),),
            ("v",),
            (r"v \leftarrow \mu v + g", r"\theta \leftarrow \theta - \eta\,(g + \mu v)"),
            ((v, momentum * v), (v, v + g), (p, p - lr * (g + momentum * v))),
            "PyTorch's form: the gradient is taken at θ, the look-ahead folded into the step",
        ),
        Optimizer(
            "adagrad",
            "Adagrad",
            (("eps", 1e-10),),
            ("G",),
            (
                r"G \leftarrow G + g \odot g",
                r"\theta \leftarrow \theta - \frac{\eta}{\sqrt{G} + \epsilon} \odot g",
            ),
            ((G, G + g * g), (p, p - lr * g / (sp.sqrt(G) + eps))),
            "G sums the squares of all gradients so far (seed 001); ε as PyTorch",
        ),
        Optimizer(
            "rmsprop",
            "RMSprop",
            (("alpha", 0.99), ("eps", 1e-8)),
            ("s",),
            (
                r"s \leftarrow \alpha s + (1 - \alpha)\, g \odot g",
                r"\theta \leftarrow \theta - \frac{\eta}{\sqrt{s} + \epsilon} \odot g",
            ),
            (
                (s, alpha * s),
                (s, s + (1 - alpha) * g * g),
                (p, p - lr * g / (sp.sqrt(s) + eps)),
            ),
            "PyTorch's defaults: α = 0.99, ε outside the root",
        ),
        Optimizer(
            "adam",
            "Adam",
            (("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8)),
            ("m", "s"),
            (
                r"m \leftarrow \beta_1 m + (1 - \beta_1)\, g",
                r"s \leftarrow \beta_2 s + (1 - \beta_2)\, g \odot g",
                r"\hat m = m / (1 - \beta_1^{t}), \quad \hat s = s / (1 - \beta_2^{t})",
                r"\theta \leftarrow \theta - \eta\, \hat m \oslash (\sqrt{\hat s} + \epsilon)",
            ),
            (
                (m, beta1 * m),
                (m, m + (1 - beta1) * g),
                (s, beta2 * s),
                (s, s + (1 - beta2) * g * g),
                (m_hat, m / (1 - beta1**step)),
                (s_hat, s / (1 - beta2**step)),
                (p, p - lr * m_hat / (sp.sqrt(s_hat) + eps)),
            ),
            "bias-corrected moments, t the 1-based step count; ε outside the root, as PyTorch",
        ),
    )
}


@dataclass(frozen=True)
class OptimizerSpec:
    """The optimizer a spec asks for: a name from :data:`OPTIMIZERS` and its settings."""

    name: str = "sgd"
    settings: tuple[tuple[str, float], ...] = ()


def run_updates(rule: Optimizer, env: Mapping[sp.Symbol, sp.Expr]) -> dict[sp.Symbol, sp.Expr]:
    """``env`` after one run of ``rule``'s updates, each expression substituted in order.

    ``env`` gives ``p``, ``g``, ``lr``, ``step``, the settings and the state by their symbols;
    with numbers it evaluates one step (exactly, for rationals), with symbols it composes the
    rule into one expression per target (``v ← μ v + g``).
    """
    out = dict(env)
    for target, expr in rule.updates:
        out[target] = expr.xreplace(out)
    return out


def optimizer(name: str, *, where: str | None = None) -> Optimizer:
    """Look up an update rule by name; unknown names list the known ones."""
    if name in OPTIMIZERS:
        return OPTIMIZERS[name]
    raise InvalidInput(
        f"unknown optimizer '{name}'", where=where, hint=f"known: {', '.join(OPTIMIZERS)}"
    )


def settings_for(name: str, given: dict[str, float], *, where: str | None = None) -> dict:
    """The hyperparameters of ``name``: PyTorch's defaults overridden by ``given``."""
    rule = optimizer(name, where=where)
    known = dict(rule.settings)
    for key in given:
        if key not in known:
            hint = f"known: {', '.join(known)}" if known else f"{name} takes only learning_rate"
            raise InvalidInput(f"unknown setting '{key}' for {name}", where=where, hint=hint)
    known.update(given)
    return known
