"""One interface for a derived network, whatever its level.

A spec is read at one of two levels (decided once, in :func:`spec.layer.resolve_level`):

- **unit** — one SymPy symbol per neuron quantity (:class:`model.network.Network`), derived by
  :mod:`derivation.unit`;
- **layer** — BP1–BP4 over index letters (:class:`derivation.layer.LayerNet`), derived by
  :mod:`derivation.layer`.

:func:`derived` wraps either in a :class:`Derived`, and every command and the Python API use only
its methods: the text, the LaTeX lines, the NumPy module, the handout, the check and the operation
count. Which stage's unit or layer variant does the work is chosen here, in :data:`_VIEWS`, and
nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from symbackprop.derivation.layer import LayerNet
from symbackprop.errors import ResourceLimit
from symbackprop.model.network import Network

LEVELS = ("unit", "layer")


@dataclass(frozen=True)
class _View:
    """How one level does each job: plain functions, looked up in one table."""

    derive: Any
    expressions: Any  # (network, derivation getter) → the expressions --max-ops counts
    text: Any  # (network, derivation, digits) → str
    latex: Any  # (network, derivation) → str
    module: Any  # (network, derivation, source) → str
    handout: Any  # (network, derivation, source, digits, show_solutions) → str
    check: Any  # (network, points, seed) → check.unit.CheckReport
    slides: Any  # (network, derivation, source, digits, show_solutions) → str


def _unit_view() -> _View:
    from symbackprop.check.unit import check_network
    from symbackprop.codegen.unit import generate_module
    from symbackprop.derivation.unit import derive
    from symbackprop.handout.unit import generate_handout
    from symbackprop.printers.printing import derivation_latex
    from symbackprop.printers.text import derivation_text
    from symbackprop.slides.deck import render_deck
    from symbackprop.slides.unit import unit_deck

    return _View(
        derive=derive,
        # counted before deriving: the derivation is what may be too big
        expressions=lambda net, derivation: [node.expr for node in net.nodes],
        text=lambda net, d, digits: derivation_text(d, digits=digits),
        latex=lambda net, d: derivation_latex(d),
        module=lambda net, d, source: generate_module(d, source=source),
        handout=lambda net, d, source, digits, show_solutions: generate_handout(
            d, source=source, digits=digits, show_solutions=show_solutions
        ),
        check=lambda net, points, seed: check_network(net, points=points, seed=seed),
        slides=lambda net, d, source, digits, show_solutions: render_deck(
            unit_deck(d, source=source, digits=digits, show_solutions=show_solutions)
        ),
    )


def _layer_expressions(d) -> list[sp.Expr]:
    exprs = [e for f in d.forward for e in (f.z, f.a)] + [g.index for g in d.gradients]
    exprs += [e for delta in d.deltas for e in (delta.general, delta.specialised)]
    exprs.append(d.cost)
    return exprs


def _layer_view() -> _View:
    from symbackprop.check.layer import check_layer_net
    from symbackprop.cli.layer import derivation_text, handout_text, module_text
    from symbackprop.derivation.layer import derive_layers
    from symbackprop.slides.deck import render_deck
    from symbackprop.slides.layer import layer_deck

    return _View(
        derive=derive_layers,
        expressions=lambda net, derivation: _layer_expressions(derivation()),
        text=lambda net, d, digits: derivation_text(net),
        latex=lambda net, d: derivation_text(net, latex=True),
        module=lambda net, d, source: module_text(net, source=source),
        handout=lambda net, d, source, digits, show_solutions: handout_text(
            net, source=source, show_solutions=show_solutions
        ),
        check=lambda net, points, seed: check_layer_net(net, points=points, seed=seed),
        slides=lambda net, d, source, digits, show_solutions: render_deck(
            layer_deck(net, source=source, show_solutions=show_solutions)
        ),
    )


_VIEWS = {"unit": _unit_view, "layer": _layer_view}


def level_of(network: Network | LayerNet) -> str:
    """``"unit"`` or ``"layer"``: the one place that tells the two kinds of network apart."""
    if isinstance(network, LayerNet):
        return "layer"
    if isinstance(network, Network):
        return "unit"
    raise TypeError(f"expected a Network or a LayerNet, got {type(network).__name__}")


@dataclass
class Derived:
    """A network with its derivation, at its level; every output is a method.

    ``str(d)`` is the derivation as text. Built by :func:`derived`; the derivation itself is
    computed once, on first use.
    """

    network: Network | LayerNet
    level: str
    _view: _View = field(repr=False)
    _derivation: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def derivation(self):
        """The equations as data: a unit :class:`Derivation` or a :class:`LayerDerivation`."""
        if self._derivation is None:
            self._derivation = self._view.derive(self.network)
        return self._derivation

    def expressions(self) -> Iterable[sp.Expr]:
        """The expressions whose size ``--max-ops`` bounds: the unit nodes' definitions, or the
        layer equations (forward, BP1–BP4, cost)."""
        return self._view.expressions(self.network, lambda: self.derivation)

    def require_operations(self, limit: int) -> None:
        """Refuse (exit 5) a network with more than ``limit`` SymPy nodes in :meth:`expressions`;
        stops counting at the limit, so the check costs at most ``limit`` steps."""
        count = 0
        for expr in self.expressions():
            for _ in sp.preorder_traversal(expr):
                count += 1
                if count > limit:
                    hint = "raise --max-ops; derivation time grows faster than the network"
                    if self.level == "unit":
                        hint += ', or read it at level = "layer" (BP1-BP4 per layer)'
                    raise ResourceLimit(
                        f"network '{self.name}' has more than {limit} operations", hint=hint
                    )

    def text(self, *, digits: int = 9) -> str:
        """The derivation in textbook notation, with the example's numbers where it has them."""
        return self._view.text(self.network, self.derivation, digits)

    def latex(self) -> str:
        """The derivation's equations as LaTeX lines."""
        return self._view.latex(self.network, self.derivation)

    def module(self, *, source: str) -> str:
        """The generated NumPy module's text (without the do-not-edit header)."""
        return self._view.module(self.network, self.derivation, source)

    def handout(self, *, source: str, digits: int = 9, show_solutions: bool = True) -> str:
        """The LaTeX handout's text (without the do-not-edit header)."""
        return self._view.handout(self.network, self.derivation, source, digits, show_solutions)

    def slides(self, *, source: str, digits: int = 6, show_solutions: bool = True) -> str:
        """The Beamer deck's text (without the do-not-edit header): the derivation revealed
        step by step; with ``show_solutions=False`` a question deck."""
        return self._view.slides(self.network, self.derivation, source, digits, show_solutions)

    def check(self, *, points: int = 3, seed: int = 0):
        """Derived = generated = finite differences; a report with ``ok`` and a text form."""
        return self._view.check(self.network, points, seed)

    def __str__(self) -> str:
        return self.text()


def derived(network: Network | LayerNet) -> Derived:
    """The :class:`Derived` of a unit- or layer-level network."""
    level = level_of(network)
    return Derived(network=network, level=level, _view=_VIEWS[level]())
