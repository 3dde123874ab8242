"""Evaluate a parsed claim side on a layer-level net: every unit index at once, with NumPy.

Names are Nielsen's (seed 004), with layers numbered as the student's handout numbers them: the
input is layer ``first`` (the handout style's ``first_layer``: 1 in Nielsen's a^1 = x, 0 in a^0 =
x), the layers above it first + 1 … L, ``w^l_{jk}`` the weight from unit k of layer l − 1 to unit j
of layer l, ``b^l_j``, ``z^l_j``, ``a^l_j``, ``\\delta^l_j``, ``x_k``, ``y_j`` (the target), ``C``
(the cost of one example, with the weight-decay term when the spec has one), ``\\lambda`` (the
decay), ``^L`` the last layer. A name with a layer and no unit (``\\delta^l``, ``w^{l+1}``) is the
column vector or the matrix of that layer. ``\\frac{\\partial C}{\\partial q}`` is C's gradient for
q among a, z, b, w, x; ``\\frac{\\partial z^l_i}{\\partial q}`` for q among w^l, b^l, a^{l−1},
z^{l−1} and ``\\frac{\\partial a^l_i}{\\partial z^l_j}`` are the local derivatives (Kronecker deltas
included). ``\\sigma`` is the sigmoid, ``\\tanh``, ``relu`` and the registry's names are themselves,
and ``f``, ``g`` are the activation of the layer their argument belongs to.

Written layer numbers are read once, in :meth:`LayerEvaluator.layer` (written − ``first`` is the
derivation's own number, input 0); bound layer letters and every message keep the written ones.

A value (:class:`T`) is an array whose leading axis runs over the random points, then one axis
per free or summed unit letter (``j``, ``k``), then, for vectors and matrices, two matrix axes.
Letters meeting with different ranges (``k`` over layer l in one name and layer l + 1 in another)
or matrix shapes that do not fit raise :class:`Mismatch` (the claim is wrong); a name that does
not exist for the current layer values raises ``InvalidInput`` (that instance does not fit).
"""

# ruff: noqa: E741 - l is the layer index, as in the maths (z^l, W^l, δ^l)

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from symbackprop.errors import InvalidInput, ResourceLimit
from symbackprop.rules import registry as rules
from symbackprop.rules.layer_losses import SOFTMAX
from symbackprop.verify import claimparse as cp
from symbackprop.verify.layer_values import LayerValues, activation_pair

_VECTORS = {"b": 1, "z": 1, "a": 0, "delta": 1}  # base -> first layer
_GREEK = {"delta", "lambda", "sigma", "eta", "mu", "epsilon", "varepsilon", "beta", "rho", "alpha"}
_FUNC_NAMES = {"sigma": "sigmoid", "tanh": "tanh", "relu": "relu"}


MAX_ELEMENTS = 20_000_000  # numbers in one intermediate array (all points): 160 MB


def _require_size(shape: tuple, what: str) -> None:
    size = int(np.prod(shape, dtype=np.float64))
    if size > MAX_ELEMENTS:
        raise ResourceLimit(
            f"{what} would hold {size:.3g} numbers, over the limit of {MAX_ELEMENTS:.3g}",
            hint="fewer free unit indices in one product, or a smaller network",
        )


class Mismatch(Exception):
    """Index ranges or array shapes that do not fit: the claim is wrong as written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class T:
    v: np.ndarray  # (P, *letter axes, *mat)
    m: np.ndarray  # magnitude bound, same shape
    axes: tuple[str, ...] = ()
    mat: tuple[int, ...] = ()  # () scalar per instance, (r, c) vector or matrix
    origin: tuple[tuple[str, str], ...] = ()  # (letter, written name fixing its range)
    layers: frozenset = frozenset()  # layers of the z, b, w in it (which f is meant)
    text: str = ""

    def size(self, letter: str) -> int:
        return self.v.shape[1 + self.axes.index(letter)]

    def where(self, letter: str) -> str:
        return dict(self.origin).get(letter, "?")


def tex_name(n: cp.Name, bind: dict | None = None) -> str:
    """A written name in the spec's notation, a bound layer letter replaced by its value."""
    base = "\\" + n.base if n.base in _GREEK else n.base
    out = base
    if n.sup is not None:
        sup = n.sup
        if bind:
            try:
                sup = str(layer_of(n.sup, bind, None))
            except (InvalidInput, KeyError):
                pass
        out += "^{" + sup + "}"
    if n.sub is not None:
        out += "_{" + n.sub + "}"
    return out


def layer_of(sup: str, bind: dict, last: int | None) -> int:
    m = re.fullmatch(r"\(?([A-Za-z]|\d+)([+-]\d+)?\)?", sup)
    if m is None:
        raise InvalidInput(f"'{sup}' is not a layer (write l, l+1, l-1, L or a number)")
    head = m.group(1)
    if head.isdigit():
        base = int(head)
    elif head == "L":
        if last is None:
            raise KeyError(head)
        base = last
    else:
        base = bind[head]
    return base + int(m.group(2) or 0)


def _specs(sub: str, ndim: int, written: str) -> list:
    """The unit indices of a subscript: letters (free or summed) and 0-based integers."""
    if "," in sub:
        parts = sub.split(",")
    elif ndim == 1:
        parts = [sub]
    elif len(sub) == ndim:
        parts = list(sub)
    elif (m := re.fullmatch(r"([a-z])(\d+)|(\d+)([a-z])", sub)) is not None:
        parts = [g for g in m.groups() if g]
    else:
        raise InvalidInput(f"cannot split the subscript of {written}", hint="write w^l_{14,1}")
    if len(parts) != ndim:
        raise InvalidInput(f"{written} needs {ndim} unit ind{'ex' if ndim == 1 else 'ices'}")
    out = []
    for p in parts:
        if p.isdigit():
            out.append(int(p) - 1)
        elif re.fullmatch(r"[a-z]", p):
            out.append(p)
        else:
            raise InvalidInput(f"unsupported unit index '{p}' in {written}")
    return out


def _index(v: np.ndarray, m: np.ndarray, specs: list, written: str) -> tuple:
    """Select integer indices and keep letter axes (a repeated letter takes the diagonal)."""
    for pos in range(len(specs) - 1, -1, -1):  # integers first, from the back
        s = specs[pos]
        if isinstance(s, int):
            size = v.shape[1 + pos]
            if not 0 <= s < size:
                raise InvalidInput(f"{written} does not exist (that dimension has {size} units)")
            v, m = np.take(v, s, axis=1 + pos), np.take(m, s, axis=1 + pos)
    letters = [s for s in specs if not isinstance(s, int)]
    axes: list[str] = []
    for letter in letters:
        if letter in axes:  # w_{jj}, ∂z_j/∂w_{jk}: the diagonal
            first, second = 1 + axes.index(letter), 1 + len(axes)
            if v.shape[first] != v.shape[second]:
                raise Mismatch(f"index {letter} runs over two ranges in {written}")
            v = np.moveaxis(np.diagonal(v, axis1=first, axis2=second), -1, first)
            m = np.moveaxis(np.diagonal(m, axis1=first, axis2=second), -1, first)
        else:
            axes.append(letter)
    return v, m, tuple(axes)


def _expand(t: T, order: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    n = len(t.axes)
    missing = [a for a in order if a not in t.axes]
    cur = list(t.axes) + missing
    shape = t.v.shape[: 1 + n] + (1,) * len(missing) + t.v.shape[1 + n :]
    perm = [0] + [1 + cur.index(a) for a in order] + [1 + len(cur) + i for i in range(len(t.mat))]
    return t.v.reshape(shape).transpose(perm), t.m.reshape(shape).transpose(perm)


def align(x: T, y: T) -> tuple:
    """Both values over the union of their letter axes (ranges must agree), matrix axes last."""
    for letter in set(x.axes) & set(y.axes):
        if x.size(letter) != y.size(letter):
            raise Mismatch(
                f"index {letter} runs over 1..{x.size(letter)} in {x.where(letter)} but "
                f"1..{y.size(letter)} in {y.where(letter)}"
            )
    order = x.axes + tuple(a for a in y.axes if a not in x.axes)
    sizes = {a: x.size(a) for a in x.axes} | {a: y.size(a) for a in y.axes}
    mat = max(int(np.prod(x.mat)) if x.mat else 1, int(np.prod(y.mat)) if y.mat else 1)
    _require_size((x.v.shape[0], mat, *sizes.values()), f"{x.text} with {y.text}")
    (xv, xm), (yv, ym) = _expand(x, order), _expand(y, order)
    origin = dict(y.origin)
    origin.update(dict(x.origin))
    return xv, xm, yv, ym, order, tuple(origin.items())


def _shape_text(t: T) -> str:
    return f"{t.text} ({t.mat[0]}×{t.mat[1]})" if t.mat else t.text


def combine(x: T, y: T, op: str) -> T:
    """x + y, x · y (a matrix product between two arrays), or x ⊙ y."""
    xv, xm, yv, ym, order, origin = align(x, y)
    layers = x.layers | y.layers
    text = f"{x.text} {'+' if op == 'add' else '⊙' if op == 'had' else ''} {y.text}".strip()
    if x.mat and y.mat and op == "mul":
        if x.mat[1] != y.mat[0]:
            raise Mismatch(
                f"{_shape_text(x)} times {_shape_text(y)}: the shapes do not fit "
                "(a missing transpose?)"
            )
        v, m = np.matmul(xv, yv), np.matmul(xm, ym)
        return T(v, m, order, (x.mat[0], y.mat[1]), origin, layers, text)
    if x.mat and y.mat and x.mat != y.mat:
        what = "added to" if op == "add" else "⊙"
        raise Mismatch(f"{_shape_text(x)} and {_shape_text(y)} have different shapes ({what})")
    if op == "add" and bool(x.mat) != bool(y.mat):
        raise Mismatch(f"an array and a number cannot be added: {x.text} + {y.text}")
    mat = x.mat or y.mat
    if not x.mat and mat:
        xv, xm = xv[..., None, None], xm[..., None, None]
    if not y.mat and mat:
        yv, ym = yv[..., None, None], ym[..., None, None]
    if op == "add":
        return T(xv + yv, xm + ym, order, mat, origin, layers, text)
    return T(xv * yv, xm * ym, order, mat, origin, layers, text)


class LayerEvaluator:
    """Evaluates claim nodes against :class:`LayerValues` for one binding of layer letters."""

    def __init__(self, values: LayerValues, first: int = 0):
        self.values = values
        self.net = values.net
        self.first = first  # the input layer's written number (the handout style's)
        self.L = self.net.depth
        self.top = self.net.depth + first  # L as written: the output layer's number
        self.P = values.y.shape[0]
        self.free: dict[str, np.ndarray] = {}
        self.rng = np.random.default_rng(1)
        self.settings: dict[tuple[str, str | None], float] = {}  # comparisons: η, μ, β_1 ...

    # --------------------------------------------------------------------------- names
    def layer(self, sup: str, bind: dict) -> int:
        """The derivation's layer number (input 0) of a written superscript (``2``, ``l+1``,
        ``L``), whose numbers and bound letters are the handout's (input ``first``)."""
        return layer_of(sup, bind, self.top) - self.first

    def _layer(self, n: cp.Name, bind: dict, lowest: int) -> int:
        try:
            l = self.layer(n.sup, bind)
        except KeyError:
            raise InvalidInput(f"layer letter of {tex_name(n)} is not bound") from None
        if not lowest <= l <= self.L:
            first = self.first
            note = f"a^{first} = x is the input"
            if lowest > 0 and l < lowest:  # w^1 read in a handout whose first weights are w^2
                note += f", the first weights are w^{first + 1}"
            raise InvalidInput(
                f"{tex_name(n, bind)}: the net has layers {lowest + first}..{self.top}"
                + (f" ({note})" if lowest == 0 or l < lowest else "")
            )
        return l

    def quantity(self, n: cp.Name, bind: dict) -> tuple:
        """(values, magnitudes, layers tag) of a name before indexing: (P, *unit dims)."""
        v, base = self.values, n.base
        if base in ("w", "W") and n.sup is not None:
            l = self._layer(n, bind, 1)
            return v.W[l], v.mag["w", l], frozenset({l})
        if base in _VECTORS and n.sup is not None:
            l = self._layer(n, bind, _VECTORS[base])
            if base == "a":
                return v.a[l], v.mag["a", l], frozenset()
            store = {"b": v.b, "z": v.z, "delta": v.delta}[base]
            tag = frozenset({l}) if base in "bz" else frozenset()
            return store[l], v.mag[base, l], tag
        if base == "x" and n.sup is None:
            return v.a[0], v.mag["a", 0], frozenset()
        if base == "y" and n.sup is None:
            return v.y, v.mag["y", 0], frozenset()
        if base == "C" and not n.sub and not n.sup:
            return v.C, v.mag["C", 0], frozenset()
        if base == "lambda" and not n.sub and not n.sup and self.net.weight_decay:
            lam = np.full(self.P, self.net.weight_decay)
            return lam, lam, frozenset()
        if len(base) == 1 and base.islower() and not n.sub and not n.sup and base not in "ewzab":
            if base not in self.free:  # a free variable: x in σ'(x) = σ(x)(1 − σ(x))
                self.free[base] = self.rng.uniform(-2, 2, self.P)
            return self.free[base], np.abs(self.free[base]), frozenset()
        raise InvalidInput(
            f"unknown symbol '{tex_name(n)}'",
            hint=f"layer-level names: w^l_{{jk}}, b^l_j, z^l_j, a^l_j (a^{self.first} = x), "
            f"\\delta^l_j, x_k, y_j, C, \\lambda; l = {self.first + 1}..L",
        )

    def name(self, n: cp.Name, bind: dict) -> T:
        if not n.sup and (n.base, n.sub) in self.settings:  # \eta, \beta_1: the spec's value
            val = np.full(self.P, self.settings[n.base, n.sub])
            return T(val, np.abs(val), text=tex_name(n, bind))
        arr, mag, tag = self.quantity(n, bind)
        text = tex_name(n, bind)
        return self.indexed(arr, mag, n.sub, text, tag)

    def indexed(self, arr, mag, sub, text, tag) -> T:  # noqa: ANN001
        ndim = arr.ndim - 1
        if sub is None or ndim == 0:
            if sub is not None:
                raise InvalidInput(f"{text} is a number, it takes no unit index")
            if ndim == 0:
                return T(arr, mag, (), (), (), tag, text)
            if ndim == 1:
                return T(arr[..., None], mag[..., None], (), (arr.shape[1], 1), (), tag, text)
            return T(arr, mag, (), arr.shape[1:], (), tag, text)
        v, m, axes = _index(arr, mag, _specs(sub, ndim, text), text)
        return T(v, m, axes, (), tuple((a, text) for a in axes), tag, text)

    # ------------------------------------------------------------------------ partials
    def partial(self, of: cp.Node, wrt: cp.Node, bind: dict) -> T:
        if not isinstance(of, cp.Name) or not isinstance(wrt, cp.Name):
            raise InvalidInput("at the layer level, ∂A/∂B needs A and B to be single names")
        text = f"\\frac{{\\partial {tex_name(of, bind)}}}{{\\partial {tex_name(wrt, bind)}}}"
        v = self.values
        wv, wm, _ = self.quantity(wrt, bind)
        kind, lw = _kind(wrt), None
        if kind in ("w", "b", "z", "a", "delta") and wrt.sup is not None:
            lw = self.layer(wrt.sup, bind)
        if of.base == "C" and not of.sub and not of.sup:
            grads = {"w": (v.gW, "gw"), "b": (v.gb, "gb"), "z": (v.delta, "delta")}
            grads["a"] = (v.dCda, "dCda")
            if kind == "x":
                kind, lw = "a", 0
            if kind not in grads:
                raise InvalidInput(f"∂C/∂{tex_name(wrt)} is not a layer-level gradient")
            store, key = grads[kind]
            return self.indexed(store[lw], v.mag[key, lw], wrt.sub, text, frozenset())
        okind = _kind(of)
        if okind not in ("z", "a") or of.sup is None:
            raise InvalidInput(f"{text}: only ∂C/∂q, ∂z/∂q and ∂a/∂z are layer-level derivatives")
        lo = self._layer(of, bind, 1)
        jac = self._jacobian(okind, lo, kind, lw, text)
        if of.sub is None and wrt.sub is None:  # vectors: elementwise (∂a^L/∂z^L)
            if jac[0].ndim != 3 or jac[0].shape[1] != jac[0].shape[2]:
                raise InvalidInput(f"{text} of arrays is elementwise: it needs equal shapes")
            d, dm = np.diagonal(jac[0], axis1=1, axis2=2), np.diagonal(jac[1], axis1=1, axis2=2)
            return T(d[..., None], dm[..., None], (), (d.shape[1], 1), (), frozenset(), text)
        if of.sub is None or wrt.sub is None:
            raise InvalidInput(f"{text}: write both with unit indices, or both as arrays")
        nof = 1
        specs = _specs(of.sub, nof, text) + _specs(wrt.sub, jac[0].ndim - 1 - nof, text)
        vals, mags, axes = _index(jac[0], jac[1], specs, text)
        return T(vals, mags, axes, (), tuple((a, text) for a in axes), frozenset(), text)

    def _jacobian(self, okind: str, lo: int, kind: str, lw: int | None, text: str) -> tuple:
        v, P = self.values, self.P
        n = v.z[lo].shape[1]
        _require_size((P, n, n, v.a[lo - 1].shape[1]), text)
        eye = np.broadcast_to(np.eye(n), (P, n, n))
        if okind == "a" and kind == "z" and lw == lo:
            if self.net.activations[lo - 1] == SOFTMAX:  # a_i (δ_ij − a_j)
                a = v.a[lo]
                jac = a[:, :, None] * (eye - a[:, None, :])
                return jac, np.abs(a[:, :, None]) * (eye + np.abs(a[:, None, :]))
            return eye * v.fprime[lo][:, None, :], eye * v.mag["fp", lo][:, None, :]
        if okind == "z" and kind == "w" and lw == lo:
            a, am = v.a[lo - 1], v.mag["a", lo - 1]
            return eye[..., None] * a[:, None, None, :], eye[..., None] * am[:, None, None, :]
        if okind == "z" and kind == "b" and lw == lo:
            return eye, eye
        if okind == "z" and kind == "a" and lw == lo - 1:
            return v.W[lo], v.mag["w", lo]
        if okind == "z" and kind == "z" and lw == lo - 1 and lw >= 1:
            if lw not in v.fprime:
                raise InvalidInput(f"{text}: layer {lw + self.first} is not elementwise")
            fp, fm = v.fprime[lw][:, None, :], v.mag["fp", lw][:, None, :]
            return v.W[lo] * fp, v.mag["w", lo] * fm
        raise InvalidInput(f"{text} is not a local derivative the layer level knows")

    # ----------------------------------------------------------------------- functions
    def call(self, func: str, arg: T, prime: bool) -> T:
        name = _FUNC_NAMES.get(func, func)
        if func in ("f", "g"):
            if len(arg.layers) != 1:
                raise InvalidInput(
                    f"'{func}' is ambiguous here: write the activation (\\sigma, \\tanh, relu)"
                )
            name = self.net.activations[next(iter(arg.layers)) - 1]
            if name == SOFTMAX:
                raise InvalidInput(f"'{func}' of the softmax layer is not elementwise")
        text = f"{func}{chr(39) if prime else ''}({arg.text})"
        u, um = arg.v, arg.m
        if func == "exp":
            val = np.exp(u)
            return replace(arg, v=val, m=np.abs(val) * (1 + um), text=text)
        if func == "log":
            if np.any(u <= 0):
                raise InvalidInput("log of a number <= 0 at a random point")
            val = 1 / u if prime else np.log(u)
            return replace(arg, v=val, m=um / np.abs(u) ** (2 if prime else 1) + np.abs(val))
        if name not in rules.ACTIVATIONS and name != rules.LINEAR:
            raise InvalidInput(f"unknown function '{func}'")
        f, fp = activation_pair(name)
        val = fp(u) if prime else f(u)
        return replace(arg, v=val, m=np.abs(val) + (1 + np.abs(fp(u))) * um, text=text)


def _kind(n: cp.Name) -> str:
    return "w" if n.base in ("w", "W") else n.base
