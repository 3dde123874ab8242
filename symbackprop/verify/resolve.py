"""Resolve hand-written names against a network: the :class:`claimparse.Resolver` for ``verify``.

Every quantity a claim can name is a SymPy symbol of the network or of its derivation:

- leaves (inputs, targets, parameters, the learning rate) and forward nodes (``net_h1``);
- derived quantities, each with a definition: the δ's, the gradients ``∂E/∂p``, the updated
  parameters ``p⁺`` (``w_5^+``), the steps ``Δp`` (Fausett's ``\\Delta w_{ij}``) and the loss
  terms of single outputs (``E_{o1}``);
- free variables: an undeclared single letter (``x`` in ``g'(x) = g(x)(1 - g(x))``).

Written names are tried against candidate symbol names: ``w_5``/``w_{5}`` -> ``w5``;
``out_{h1}`` -> ``out_h1``; ``w^{h}_{11}`` -> ``w__h_11``; ``y^*_1`` -> ``ystar_1``; ``\\log L`` ->
``logL``; ``E`` -> the loss ``E_total``; Nielsen's ``a^1_k`` -> the input ``x_k`` and ``^L`` -> the
last layer; a name with a layer superscript and no unit (``\\delta^l``, ``w^{l+1}``) -> the
column vector or matrix of that layer's units (rows j, columns k: ``W[j, k]`` is ``w^l_{jk}``).

``∂A/∂B`` is the network's derivative: ``∂loss/∂B`` is the adjoint in δ-form (a δ, a gradient
``δ × input``, or ``Σ_c δ_c ∂c/∂B``); any other ``∂A/∂B`` is the chain rule over the graph with
the textbook local derivatives (``∂out/∂net = out(1 − out)``). Only network symbols are ever
differentiated, never user text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import sympy as sp

from symbackprop.derivation.equations import Derivation, gradient_symbol
from symbackprop.derivation.unit import textbook_local
from symbackprop.errors import InvalidInput, ResourceLimit
from symbackprop.model.network import Node
from symbackprop.rules.registry import ACTIVATIONS, activation_of
from symbackprop.verify import claimparse as cp
from symbackprop.verify import induction, timesteps

LITERAL = "\x00lit"  # base of the placeholder names verify gives to printed numbers
MAX_SUM_TERMS = 100_000  # \sum_{k=1}^{n}: beyond this the claim is undecided, never cut


class NetworkResolver:
    """Maps written names to the symbols of one derivation (see the module docstring)."""

    def __init__(self, derivation: Derivation):
        self.derivation = d = derivation
        net = self.net = d.network
        self.nodes: dict[sp.Symbol, Node] = {n.symbol: n for n in net.nodes}
        self.names: dict[str, sp.Symbol] = {}
        self.kind: dict[sp.Symbol, str] = {}
        self.defs: dict[sp.Symbol, sp.Expr] = {}  # derived symbol -> definition
        for kind, syms in (
            ("input", net.inputs),
            ("target", net.targets),
            ("param", net.params),
            ("rate", (net.learning_rate,)),
            ("node", tuple(self.nodes)),
        ):
            for s in syms:
                self._add(s, kind)
        self.delta_of = {dl.of: dl.symbol for dl in d.deltas}
        # activation nodes out = f(net) (and identities): their δ is written into net's
        self.passthrough = {dl.through for dl in d.deltas if dl.through is not None}
        for dl in d.deltas:
            self._add(dl.symbol, "delta", dl.expr)
        self.plus: dict[sp.Symbol, sp.Symbol] = {}
        self.step: dict[sp.Symbol, sp.Symbol] = {}
        for g, u in zip(d.gradients, d.updates, strict=True):
            self._add(gradient_symbol(net.loss, g.param), "grad", g.expr)
            self.plus[g.param] = sp.Symbol(f"{g.param.name}+")
            self._add(self.plus[g.param], "plus", u.expr)
            self.step[g.param] = sp.Symbol(f"Delta {g.param.name}")
            self._add(self.step[g.param], "step", u.expr - g.param)
        self._loss_terms()
        self.consumers: dict[sp.Symbol, list[Node]] = {}
        for node in net.nodes:
            for s in sorted(node.expr.free_symbols, key=lambda s: s.name):
                self.consumers.setdefault(s, []).append(node)
        self.free: dict[str, sp.Symbol] = {}
        self.time_run = None  # the optimizer run an unrolled claim is read in (timesteps)
        self.time_symbolic = None  # an unrolled claim read for its proof (induction)
        self.time_hint = None  # which rule a time-indexed claim names (timesteps.hint)
        # what a claims file asks again and again, kept once computed
        self._timed: dict = {}  # time-tagged name, rule choice -> its expression or error
        self._locals: dict = {}  # (consumer, symbol) -> local derivative
        self._totals: dict = {}  # (of, wrt) -> total derivative over the graph's paths
        self._ranges: dict = {}  # a sum at given bindings -> the units it runs over
        self._adjoints: dict = {}  # symbol -> ∂loss/∂symbol in δ-form
        self._example_names: str | None = None  # for an unknown-name hint
        nonlinear = {r.name for n in net.nodes if (r := activation_of(n.expr)) is not None}
        self.activation = ACTIVATIONS[nonlinear.pop()] if len(nonlinear) == 1 else None
        layers = [int(m.group(1)) for s in self.names if (m := re.match(r"z__(\d+)_", s))]
        self.last_layer = str(max(layers)) if layers else None
        self.total_units = len(net.inputs) + sum(1 for n in net.nodes if n.symbol in self.delta_of)
        self.literals: dict[sp.Symbol, cp.Num] = {}
        notation = net.notation
        self.letters: dict[str, str] = dict(notation.index_letters)
        self.labelled = notation.labelled_indices
        columns = net.layout.columns if net.layout else ()
        self.labels = {
            "input": list(columns[0]) if columns else [],
            "hidden": [u for col in columns[1:-1] for u in col],
            "output": list(columns[-1]) if len(columns) > 1 else [],
        }
        # w_{ho}: the weight from unit h to unit o (labels joined, as Mazur writes it)
        self.edges = {
            src + dst: self.names[p]
            for src, dst, p in (net.layout.edges if net.layout else ())
            if p in self.names
        }
        self._seen: dict[tuple, sp.Basic | None] = {}
        self.positive: set[sp.Symbol] = set()  # free quantities that are sums of squares
        self.fractions: set[sp.Symbol] = set()  # decay rates (μ, ρ, β): in (0, 1)

    def _add(self, sym: sp.Symbol, kind: str, definition: sp.Expr | None = None) -> None:
        self.names.setdefault(sym.name, sym)
        self.kind[sym] = kind
        if definition is not None:
            self.defs[sym] = definition

    def _loss_terms(self) -> None:
        loss = self.nodes[self.net.loss]
        terms = loss.expr.args if isinstance(loss.expr, sp.Add) else (loss.expr,)
        base = self.net.loss.name.split("_")[0]
        for term in terms:
            outs = [o for o in self.net.outputs if o in term.free_symbols]
            unit = self.nodes[outs[0]].unit if len(outs) == 1 else None
            if unit and f"{base}_{unit}" not in self.names:
                self._add(sp.Symbol(f"{base}_{unit}"), "term", term)

    # ---------------------------------------------------------------------------- names
    def _candidates(self, base: str, sub: str | None, sup: str | None) -> list[str]:
        if sub and "," in sub:  # w_{j,k} is w_jk; w^{2}_{1,11} (as printed) is w__2_1_11
            return self._candidates(base, sub.replace(",", ""), sup) + self._candidates(
                base, sub.replace(",", "_"), sup
            )
        if sup == "*":
            base, sup = base + "star", None
        if sup == "L" and self.last_layer:
            sup = self.last_layer
        if sup is None:
            out = [f"{base}{sub}", f"{base}_{sub}"] if sub else [base]
        else:
            out = [f"{base}__{sup}_{sub}", f"{base}__{sup}{sub}"] if sub else [f"{base}__{sup}"]
        if base == "a" and sup == "1" and sub and self.last_layer:  # Nielsen: a^1 is the input
            out.append(f"x_{sub}")
        if base == self.net.loss.name.split("_")[0] and not sub and not sup:
            out.append(self.net.loss.name)  # E for E_total
        return out

    def _lookup(self, base: str, sub: str | None, sup: str | None) -> sp.Basic | None:
        key = (base, sub, sup)
        if key not in self._seen:
            self._seen[key] = self._find(base, sub, sup)
        return self._seen[key]

    def _find(self, base: str, sub: str | None, sup: str | None) -> sp.Basic | None:
        if self.labelled and sub in self.edges and base in ("w", "W"):
            return self.edges[sub]
        found = self._direct(base, sub, sup)
        if found is None and sub and sub.isdigit() and len(sub) > 2:
            # w^3_{141}: one reading of the digits as two unit numbers, or none when two fit
            fits = {
                f
                for i in range(1, len(sub))
                if sub[i] != "0"
                and (f := self._direct(base, f"{sub[:i]},{sub[i:]}", sup)) is not None
            }
            if len(fits) > 1:
                raise InvalidInput(
                    f"'{_written(base, sub, sup)}' is ambiguous",
                    hint="separate the unit numbers: w^{3}_{14,1}",
                )
            found = fits.pop() if fits else None
        return found

    def _direct(self, base: str, sub: str | None, sup: str | None) -> sp.Basic | None:
        for b in (base, base.swapcase()) if len(base) == 1 and sub else (base,):  # w_{j,k}: W_jk
            for name in self._candidates(b, sub, sup):
                if name in self.names:
                    return self.names[name]
        if sup and not sub and sup not in ("+", "*"):
            # ^L is the last layer only in Nielsen's layer-numbered names; elsewhere a letter
            return self._layer_array(
                base, self.last_layer if sup == "L" and self.last_layer else sup
            )
        return None

    def symbol(self, base: str, sub: str | None, sup: str | None) -> sp.Basic:
        if base == LITERAL:
            return self._literal(sub)
        if sup == "+":  # w_5^+ : the parameter after one step
            param = self._lookup(base, sub, None)
            if param in self.plus:
                return self.plus[param]
            raise InvalidInput(f"'{_written(base, sub)}^+' is not a parameter after an update")
        if induction.MARK in base:  # an unrolled sum read with the time symbolic
            return induction.resolve(self, base, sub, sup)
        if timesteps.ABS in base:  # \delta_j(2) in an unrolled sum: a step of a run
            return timesteps.resolve_run(self, base, sub, sup)
        if timesteps.STEP in base:  # \Delta w_{ij}(t+1), v_{ij}(t): an optimizer step
            # the rule composed once per name and choice of rule (instances test names often)
            cache = self._timed
            key = (base, sub, sup, self.time_hint)
            if key not in cache:
                try:
                    cache[key] = timesteps.resolve(self, base, sub, sup)
                except InvalidInput as err:
                    cache[key] = err
            if isinstance(cache[key], InvalidInput):
                raise cache[key]
            return cache[key]
        if not sup and (found := timesteps.setting(self, base, sub)) is not None:
            if self._lookup(base, sub, sup) is None:
                return found  # \mu, \beta_1: an optimizer setting (any value)
        if base.startswith("Delta:"):  # \Delta w_{ij}, joined by verify: the step of w_ij
            param = self._lookup(base[6:], sub, sup)
            if param in self.step:
                return self.step[param]
            raise InvalidInput(f"'\\Delta {_written(base[6:], sub, sup)}' is not a parameter step")
        found = self._lookup(base, sub, sup)
        if found is not None:
            return found
        letter = len(base) == 1 and base.islower() and base not in {*self.letters, "e"}
        if letter and not sub and not sup:  # e stays Euler's number
            return self.free.setdefault(base, sp.Symbol(f"{base}_free"))
        raise InvalidInput(
            f"unknown symbol '{_written(base, sub, sup)}'",
            hint=f"{self.net.notation.name} names: {self._examples()}",
        )

    def _examples(self) -> str:
        if self._example_names is None:  # asked on every name a claim cannot use
            kinds = ("input", "node", "param", "delta")
            names = [s.name for s in self.kind if self.kind[s] in kinds][:8]
            self._example_names = ", ".join(names) + ", ..."
        return self._example_names

    def _layer_array(self, base: str, layer: str) -> sp.Matrix | None:
        """The units of one layer as a column (a weight matrix, rows j, columns k), or None.

        Only a complete array is returned: a missing unit would otherwise enter the claim as 0.
        Weights are ``w__l_jk`` with one digit each, or ``w__l_j_k`` once an index passes 9.
        """
        if base == "a" and layer == "1" and self.last_layer:
            pattern, base = re.compile(r"x_([1-9]\d*)()$"), "x"
        else:
            pattern = re.compile(
                rf"{re.escape(base)}__{re.escape(layer)}_([1-9]\d*)(?:_([1-9]\d*))?$"
            )
        weight = base[0] in "wW"
        found: dict[tuple[int, ...], sp.Symbol] = {}
        for name, sym in self.names.items():
            m = pattern.match(name)
            if m is None or bool(m.group(2)) and not weight:
                continue
            if weight and not m.group(2):
                if len(m.group(1)) != 2 or "0" in m.group(1):
                    continue  # w__2_1 or w__2_123: not a (j, k) pair this reading can split
                found[(int(m.group(1)[0]), int(m.group(1)[1]))] = sym
            else:
                found[tuple(int(g) for g in m.groups() if g)] = sym
        if not found:
            return None
        if weight:
            rows, cols = max(j for j, _ in found), max(k for _, k in found)
            if len(found) != rows * cols:
                return None
            return sp.Matrix(rows, cols, lambda j, k: found[(j + 1, k + 1)])
        size = max(i for (i,) in found)
        return sp.Matrix([found[(i,)] for i in range(1, size + 1)]) if len(found) == size else None

    def _literal(self, sub: str | None) -> sp.Symbol:
        sym = sp.Symbol(f"{LITERAL}{sub}")
        if sym not in self.literals:
            raise InvalidInput("unknown literal placeholder")
        return sym

    # ------------------------------------------------------------------------- calculus
    def function(self, name: str, arg: sp.Expr, prime: bool) -> sp.Expr:
        if getattr(arg, "is_Matrix", False):
            return arg.applyfunc(lambda a: self.function(name, a, prime))
        rule = {"sigma": ACTIVATIONS["sigmoid"], "tanh": ACTIVATIONS["tanh"]}.get(name)
        rule = ACTIVATIONS["relu"] if name == "relu" else rule
        rule = ACTIVATIONS.get(name, rule) if name not in ("exp", "log") else rule
        if name in ("f", "g"):
            if self.activation is None:
                raise InvalidInput(f"'{name}' is ambiguous: the network has no single activation")
            rule = self.activation
        if rule is not None:
            value = rule.function(arg)
            return rule.derivative(arg, value) if prime else value
        if name == "sqrt":
            if prime:
                raise InvalidInput("\\sqrt takes no prime")
            return _power_half(arg)
        if name == "exp":
            return sp.exp(arg)
        if name == "log":
            if arg == 0:
                raise InvalidInput("log(0) is undefined")
            return 1 / arg if prime else sp.log(arg)
        raise InvalidInput(f"unknown function '{name}'")

    def partial(self, of: sp.Basic, wrt: sp.Basic) -> sp.Basic:
        if getattr(wrt, "is_Matrix", False):
            if getattr(of, "is_Matrix", False):
                if of.shape != wrt.shape:
                    raise InvalidInput("∂A/∂B of arrays needs equal shapes (elementwise)")
                return sp.Matrix(
                    of.shape[0], of.shape[1], lambda i, j: self.partial(of[i, j], wrt[i, j])
                )
            return wrt.applyfunc(lambda w: self.partial(of, w))
        if not isinstance(wrt, sp.Symbol) or wrt in self.literals:
            raise InvalidInput("∂A/∂B needs B to be one quantity of the network")
        if of == self.net.loss:
            return self.adjoint(wrt)
        return self.total(of, wrt)

    def local(self, consumer: Node, sym: sp.Symbol) -> sp.Expr:
        """``∂consumer/∂sym`` in textbook form, as the derivation writes it."""
        cache = self._locals
        key = (consumer.symbol, sym)
        if key not in cache:
            found = textbook_local(consumer, sym)
            cache[key] = found if found is not None else sp.diff(consumer.expr, sym)
        return cache[key]

    def adjoint(self, sym: sp.Symbol) -> sp.Expr:
        """``∂loss/∂sym`` in δ-form: the δ, the gradient, or Σ over the nodes ``sym`` feeds."""
        return _adjoint(self, sym)

    def total(self, of: sp.Expr, wrt: sp.Symbol) -> sp.Expr:
        """``∂of/∂wrt`` through the graph (forward chain rule with textbook local factors)."""
        if of == wrt:
            return sp.Integer(1)
        if isinstance(of, sp.Symbol):
            cache = self._totals  # the graph's paths, walked once
            if (of, wrt) not in cache:
                if of in self.nodes:
                    node = self.nodes[of]
                    terms = [self.local(node, s) * self.total(s, wrt) for s in _deps(node.expr)]
                    cache[(of, wrt)] = sp.Add(*terms)
                elif of in self.defs:
                    cache[(of, wrt)] = self.total(self.defs[of], wrt)
                else:
                    cache[(of, wrt)] = sp.Integer(0)
            return cache[(of, wrt)]
        return sp.Add(*(sp.diff(of, s) * self.total(s, wrt) for s in _deps(of)))

    def names_quantity(self, letter: str) -> bool:
        """Whether the plain letter names a quantity of the network (an input x, a target t)."""
        try:
            return self._lookup(letter, None, None) is not None
        except InvalidInput:
            return False

    # -------------------------------------------------------------------------- indices
    def is_index(self, letter: str) -> bool:
        return letter in self.letters

    def index_values(self, letter: str) -> list[str]:
        """Every value the index letter can take: the labels of its range (Mazur's o: o1, o2)
        or every unit number 1 … (all units). Claims keep the values their names fit."""
        if self.labelled:
            return list(self.labels.get(self.letters.get(letter, ""), []))
        return [str(v) for v in range(1, self.total_units + 1)]

    def index_range(self, index: str, where: cp.Sum, bindings: Mapping[str, str]) -> Sequence[str]:
        if where.lower and where.upper:
            lo, hi = where.lower, bindings.get(where.upper, where.upper)
            if not (lo.isdigit() and hi.isdigit()):
                raise InvalidInput(
                    f"\\sum_{{{index}={lo}}}^{{{hi}}}: the limits must be numbers or bound letters"
                )
            if int(hi) - int(lo) + 1 > MAX_SUM_TERMS:
                raise ResourceLimit(f"\\sum_{index} has more than {MAX_SUM_TERMS} terms")
            prefix = self._label_prefix(index)
            return [f"{prefix}{v}" for v in range(int(lo), int(hi) + 1)]
        # the same sum at the same bindings fits the same units (kept while no run of an
        # optimizer or induction gives time-tagged names their values)
        steady = self.time_run is None and self.time_symbolic is None
        key = (index, where, tuple(sorted(bindings.items())), self.time_hint)
        cache = self._ranges
        if steady and key in cache:
            values = cache[key]
        else:
            values = [
                v
                for v in self.index_values(index)
                if names_resolve(where.body, self, {**bindings, index: v}, inner={index})
            ]
            if steady:
                cache[key] = values
        if not values:
            raise InvalidInput(f"no unit of the network fits \\sum_{index} here")
        return values

    def _label_prefix(self, letter: str) -> str:
        """``o`` for Mazur's ``\\sum_{o=1}^{2}`` (the labels o1, o2), else nothing."""
        if not self.labelled:
            return ""
        labels = self.labels.get(self.letters.get(letter, ""), [])
        heads = {re.sub(r"\d+$", "", u) for u in labels}
        return heads.pop() if len(heads) == 1 else letter


def _power_half(arg: sp.Expr) -> sp.Expr:
    if arg.is_number and arg.is_negative:
        raise InvalidInput("the square root of a negative number")
    return sp.sqrt(arg)


def _written(base: str, sub: str | None = None, sup: str | None = None) -> str:
    base = base.replace("hat:", "\\hat ")
    return base + (f"_{{{sub}}}" if sub else "") + (f"^{{{sup}}}" if sup else "")


def _deps(expr: sp.Expr) -> list[sp.Symbol]:
    return sorted(expr.free_symbols, key=lambda s: s.name)


def _adjoint(r: NetworkResolver, sym: sp.Symbol) -> sp.Expr:
    cache = r._adjoints
    if sym in cache:
        return cache[sym]
    if sym == r.net.loss:
        out: sp.Expr = sp.Integer(1)
    elif sym in r.delta_of:
        out = r.delta_of[sym]
    elif r.kind.get(sym) == "param":
        out = next(g.expr for g in r.derivation.gradients if g.param == sym)
    else:
        out = sp.Add(*(_adjoint(r, c.symbol) * r.local(c, sym) for c in r.consumers.get(sym, [])))
    cache[sym] = out
    return out


def names_resolve(
    node: cp.Node,
    resolver: NetworkResolver,
    bindings: Mapping[str, str],
    inner: set[str],
    require: bool = True,
) -> bool:
    """Do the names of ``node`` that use a letter of ``inner`` resolve under ``bindings``?

    Cheap (no conversion): it decides which values a summation index or a free index takes.
    Names that mention an index bound further in (a nested ``\\sum``) are skipped; with
    ``require``, a node with no name to test does not fit either.
    """
    todo: list[tuple[cp.Node, frozenset[str]]] = [(node, frozenset())]
    tested = False
    while todo:
        n, nested = todo.pop()
        if isinstance(n, cp.Name):
            letters = set(re.findall(r"[a-z]", (n.sub or "") + (n.sup or "")))
            if letters & inner and not letters & nested:
                tested = True
                try:
                    found = cp.to_sympy(n, resolver, bindings=bindings)
                except InvalidInput:
                    return False
                letters = {v for k, v in resolver.free.items() if len(k) == 1}
                if isinstance(found, sp.Pow) or (isinstance(found, sp.Symbol) and found in letters):
                    return False  # z^1 read as a power of a free letter: no such unit
            continue
        if isinstance(n, cp.Sum):
            nested = nested | {n.index}
        for value in vars(n).values():
            for kid in value if isinstance(value, tuple) else (value,):
                if isinstance(kid, cp.NODE_TYPES):
                    todo.append((kid, nested))
    return tested or not require
