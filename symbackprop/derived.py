"""One interface for a derived network, whatever its level.

A spec is read at one of two levels (decided once, in :func:`spec.layer.resolve_level`):

- **unit** — one SymPy symbol per neuron quantity (:class:`model.network.Network`), derived by
  :mod:`derivation.unit`;
- **layer** — BP1–BP4 over index letters (:class:`derivation.layer.LayerNet`), derived by
  :mod:`derivation.layer`.

:func:`derived` wraps either in a :class:`Derived`, and every command and the Python API use only
its methods: the text, the LaTeX lines, the NumPy module, the handout, the check, the claims'
verdicts and the operation count. Which stage's unit or layer variant does the work is chosen
here, in :data:`_VIEWS`, and nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from symbackprop.derivation.layer import LayerNet
from symbackprop.model.network import Network

LEVELS = ("unit", "layer")


@dataclass(frozen=True)
class _View:
    """How one level does each job: plain functions, looked up in one table."""

    derive: Any
    expressions: Any  # (network, derivation getter) → the expressions --max-ops counts
    text: Any  # (network, derivation, digits) → str
    latex: Any  # (network, derivation) → str, what `derive --format latex` prints
    latex_block: Any  # (network, derivation) → str, one $$\begin{aligned}…$$ block (notebook)
    module: Any  # (network, derivation, source, optimizers) → str
    handout: Any  # (network, derivation, source, digits, show_solutions, style) → str
    check: Any  # (network, points, seed) → check.unit.Report
    slides: Any  # (network, derivation, source, digits, show_solutions) → str


# --- the unit level ------------------------------------------------------------------------


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
        latex_block=lambda net, d: derivation_latex(d),
        module=lambda net, d, source, opts: generate_module(d, source=source, optimizers=opts),
        handout=lambda net, d, source, digits, show_solutions, style: generate_handout(
            d, source=source, digits=digits, show_solutions=show_solutions, style=style
        ),
        check=lambda net, points, seed: check_network(net, points=points, seed=seed),
        slides=lambda net, d, source, digits, show_solutions: render_deck(
            unit_deck(d, source=source, digits=digits, show_solutions=show_solutions)
        ),
    )


# --- the layer level -----------------------------------------------------------------------


def _layer_expressions(d) -> list[sp.Expr]:
    exprs = [e for f in d.forward for e in (f.z, f.a)] + [g.index for g in d.gradients]
    exprs += [e for delta in d.deltas for e in (delta.general, delta.specialised)]
    exprs.append(d.cost)
    return exprs


def _layer_rows(d) -> list[tuple[str, str]]:
    """BP1–BP4 of every layer, from the output down, as (left side, right side) LaTeX pairs;
    a specialised form follows its general one on the right (``general = special``)."""
    from symbackprop.printers.layer_latex import layer_equations

    rows = []
    for layer in layer_equations(d):
        rows += list(layer["forward"])
        rows += [
            (x["lhs"], x["general"] + (f" = {x['special']}" if x["special"] else ""))
            for x in layer["lines"]
        ]
    return rows


def _layer_latex(d) -> str:
    return "\n".join(f"{lhs} = {rhs}" for lhs, rhs in _layer_rows(d))


def _layer_latex_block(d) -> str:
    rows = " \\\\ ".join(f"{lhs} &= {rhs}" for lhs, rhs in _layer_rows(d))
    return "$$\\begin{aligned}" + rows + "\\end{aligned}$$"


def _layer_module(net: LayerNet, d, source: str, optimizers=None) -> str:
    """The matmul module; refused up front when clearly too deep for the time left."""
    from symbackprop.budget import require_layer_codegen
    from symbackprop.codegen.layer import generate_layer_module

    require_layer_codegen(f"code generation for '{net.name}'", net.sizes)
    return generate_layer_module(d, source=source, optimizers=optimizers)


def _layer_view() -> _View:
    from symbackprop.check.layer import check_layer_net
    from symbackprop.derivation.layer import derive_layers
    from symbackprop.handout.layer import generate_layer_handout
    from symbackprop.printers.text import layer_derivation_text
    from symbackprop.slides.deck import render_deck
    from symbackprop.slides.layer import layer_deck

    return _View(
        derive=derive_layers,
        expressions=lambda net, derivation: _layer_expressions(derivation()),
        text=lambda net, d, digits: layer_derivation_text(d),
        latex=lambda net, d: _layer_latex(d),
        latex_block=lambda net, d: _layer_latex_block(d),
        module=_layer_module,
        handout=lambda net, d, source, digits, show_solutions, style: generate_layer_handout(
            net, source=source, show_solutions=show_solutions, style=style
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


# --- the interface -------------------------------------------------------------------------


@dataclass
class Derived:
    """A network with its derivation, at its level; every output is a method.

    ``str(d)`` is the derivation as text; in a notebook ``d`` shows its equations typeset.
    Built by :func:`derived`; the derivation itself is computed once, on first use, and so is
    the module's text.
    ``source`` names the spec in the outputs' headers (a built-in example's name or a file);
    it defaults to the network's name.
    """

    network: Network | LayerNet
    level: str
    _view: _View = field(repr=False)
    _derivation: Any = field(default=None, repr=False)
    source: str | None = None
    _modules: dict = field(default_factory=dict, repr=False)  # (source, optimizers, backend) → text

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
        from symbackprop.budget import operations_refused

        count = 0
        for expr in self.expressions():
            for _ in sp.preorder_traversal(expr):
                count += 1
                if count > limit:
                    raise operations_refused(self.name, limit, level=self.level)

    def text(self, *, digits: int = 9) -> str:
        """The derivation in textbook notation, with the example's numbers where it has them."""
        return self._view.text(self.network, self.derivation, digits)

    def latex(self) -> str:
        """The derivation's equations as LaTeX (what ``derive --format latex`` prints)."""
        return self._view.latex(self.network, self.derivation)

    def module(
        self,
        path: str | os.PathLike | None = None,
        *,
        source: str | None = None,
        optimizers=None,
        backend: str = "numpy",
        force: bool = False,
    ):
        """The generated module: NumPy by default, or another backend's (``backend``, see
        :mod:`codegen.backends`; layer level only); the spec's update rules, and ``optimizers``
        (rule names, or ``["all"]``) besides.

        Without ``path``: its text (without the do-not-edit header). With ``path``: written
        there as ``symbackprop codegen`` writes it (stamped, atomically, a hand-edited file
        refused unless ``force``); returns a :class:`results.Written`.
        """
        source = self._source(source)
        key = (source, tuple(optimizers or ()), backend)
        if key not in self._modules:
            if backend != "numpy":
                from symbackprop.codegen.backends import backend_module

                made = backend_module(
                    self.network, self.level, backend, source=source, optimizers=optimizers
                )
            else:
                made = self._view.module(self.network, self.derivation, source, optimizers)
            self._modules[key] = made
        text = self._modules[key]
        if path is None:
            return text
        from symbackprop.output.save import save_module

        return save_module(path, text, source=source, force=force)

    def handout(
        self,
        path: str | os.PathLike | None = None,
        *,
        source: str | None = None,
        digits: int = 9,
        show_solutions: bool = True,
        style: str | None = None,
        pdf: bool = False,
        force: bool = False,
    ):
        """The LaTeX handout, in ``style`` (``mazur``, ``fausett``, ``hmkcode``, ``jacobs``,
        ``nielsen``; default: the spec's ``style``, else its notation's lecture's).

        Without ``path``: its text (without the do-not-edit header). With ``path`` (the
        ``.tex``): written as ``symbackprop handout`` writes it, and with ``pdf=True`` compiled
        to the PDF beside it (pdflatex needed); returns a :class:`results.Written`.
        """
        source = self._source(source)
        text = self._view.handout(
            self.network, self.derivation, source, digits, show_solutions, style
        )
        if path is None:
            return text
        from symbackprop.output.save import save_handout

        return save_handout(path, text, source=source, pdf=pdf, force=force)

    def slides(
        self,
        path: str | os.PathLike | None = None,
        *,
        source: str | None = None,
        digits: int = 6,
        show_solutions: bool = True,
        pdf: bool = False,
        force: bool = False,
    ):
        """The Beamer deck: the derivation revealed step by step; with ``show_solutions=False``
        a question deck. Without ``path``: its text (without the do-not-edit header); with
        ``path``: written (and compiled with ``pdf=True``) as :meth:`handout` writes."""
        source = self._source(source)
        text = self._view.slides(self.network, self.derivation, source, digits, show_solutions)
        if path is None:
            return text
        from symbackprop.output.save import save_handout

        return save_handout(path, text, source=source, pdf=pdf, force=force)

    def check(self, *, points: int = 3, seed: int = 0):
        """Derived = generated = finite differences at random points: a
        :class:`results.CheckReport` (``ok``; ``str()`` the table ``symbackprop check`` prints).
        """
        from symbackprop.results import CheckReport

        return CheckReport.of(self._view.check(self.network, points, seed))

    def verify(self, claims: str | os.PathLike, *, style: str | None = None):
        """Decide hand-written claims (the text of ``symbackprop verify``'s CLAIMS, or a path to
        such a file) against this network: :class:`results.Verdicts`, one per claim line. At the
        layer level, layer numbers are read as the handout in ``style`` numbers them (default:
        the spec's style, else ``nielsen``: the input is layer 1; ``mazur``: layer 0)."""
        from symbackprop.results import verify_claims

        return verify_claims(self.network, claims, source=self._source(None), style=style)

    def _source(self, given: str | None) -> str:
        return given or self.source or self.name

    def _repr_latex_(self) -> str:
        return self._view.latex_block(self.network, self.derivation)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Derived {self.name!r}, {self.level} level>"


def derived(network: Network | LayerNet, *, source: str | None = None) -> Derived:
    """The :class:`Derived` of a unit- or layer-level network."""
    level = level_of(network)
    return Derived(network=network, level=level, _view=_VIEWS[level](), source=source)
