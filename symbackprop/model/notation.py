"""Notation presets: the one place that maps roles to symbol names.

A role is one of: input, pre-activation, activation, weight, bias, target, δ, loss, learning
rate. Each preset reproduces one course's symbols, and the symbol name *is* the rendering
(SymPy prints ``net_h1`` as ``net_{h1}``, ``w__h_11`` as ``w^{h}_{11}``, ``delta_o1`` as
``\\delta_{o1}``); the few symbols SymPy cannot render from a name (``y^{*}``, ``\\log L``) are
listed in ``latex``.

Layers are numbered 0 (inputs) to L (outputs); units within a layer from 1. ``Unit`` carries
both numberings and the preset turns them into names. Names stay unique at any depth and width:
Mazur/hmkcode's hidden letters (h k m p q r) are used while they last, then every hidden layer is
numbered (``net_h7_2`` prints ``net_{h7,2}``); Jacobs' ``h`` numbers its hidden layers when there
are several (``s^{2}_j``, ``h^{2}_j``, ``w^{2}_{jk}``); indices past 9 are separated
(``w__2_1_11`` prints ``w^{2}_{1,11}``). Nets of the seeds' size keep the seeds' names.

| preset  | source (../shared/seeds)   | example names                                         |
|---------|----------------------------|-------------------------------------------------------|
| mazur   | 000 Hull / Mazur           | i1, net_h1, out_h1, w5, b1, target_o1, δ_o1, E_total, η |
| essa    | 001 Fausett / Essa         | y_1, x_3, y_3, W_13, W_03, t_5, δ_5, E, α (Δw = −α…)   |
| hmkcode | 002 hmkcode                | i1, h1, prediction, w5, actual, Δ, Error, a            |
| jacobs  | 003 Jacobs                 | x_1, s^h_1, h_1, w^h_11, y^*_1, log L, ε (ascent)      |
| nielsen | 004 Nielsen / Ramalingam   | x_1, z^2_1, a^2_1, w^2_11, b^2_1, y_1, δ^2_1, C, η     |
| plain   | any graph given as nodes   | δ named delta_<node>                                   |

Each preset also declares its *index letters* and what they range over, for ``verify``'s
claims (``\\delta_j``, ``\\sum_o``): ``index_letters`` maps a letter to ``unit`` (any unit
number), ``layer`` (a layer number), or, when ``labelled_indices`` is set (Mazur, hmkcode, whose
units are named by labels), to ``input``, ``hidden`` or ``output``: the letter then stands for a
unit's label (``\\delta_o`` is ``\\delta_{o1}``, ``\\delta_{o2}``; ``w_{ho}`` the weight from
``h`` to ``o``). Mazur: i over inputs, h over hidden units, o over outputs; Fausett/Essa: i, j, k
over units; Nielsen: j, k over the units of a layer, l over layers (``L`` is the last layer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from symbackprop.errors import InvalidInput


@dataclass(frozen=True)
class Unit:
    """A neuron's position: layer ``layer`` (0 = inputs), index ``j`` (from 1) in that layer,
    ``number`` counting all units from 1 across layers, ``last`` True in the output layer and
    ``width`` the number of units in its layer."""

    layer: int
    j: int
    number: int
    last: bool
    width: int
    depth: int  # number of non-input layers (L)


_HIDDEN_LETTERS = "hkmpqr"


@dataclass(frozen=True)
class Notation:
    """A notation preset. Subclasses override the naming methods."""

    name: str = "plain"
    description: str = "names as given; the delta of node n is delta_n"
    loss_name: str = "E"
    rate_name: str = "eta"
    error_form: str = "target_minus_out"  # ∂E/∂y written −(t − y); or "out_minus_target"
    update_style: str = "plus"  # w⁺ = w − η ∂E/∂w; "delta": Δw = −α ∂E/∂w
    merge_linear: bool = False  # a linear unit is one node (hmkcode's h1 = w1 i1 + w2 i2)
    latex: dict[str, str] = field(default_factory=dict)
    # index letters of claims and what each ranges over (module docstring)
    index_letters: dict[str, str] = field(
        default_factory=lambda: {**dict.fromkeys("ijkm", "unit"), "l": "layer"}
    )
    labelled_indices: bool = False  # letters stand for unit labels (Mazur's o: o1, o2)

    # --- names of units (labels name δ's and figure nodes) -----------------------------
    def label(self, u: Unit) -> str:
        return f"u{u.number}"

    def input(self, u: Unit) -> str:
        return f"x_{u.j}"

    def pre(self, u: Unit) -> str:
        return f"net_{self.label(u)}"

    def act(self, u: Unit) -> str:
        return f"out_{self.label(u)}"

    def target(self, u: Unit) -> str:
        return f"t_{self.label(u)}"

    def weight(self, dst: Unit, src: Unit, count: int) -> str:
        return f"w{count}"

    def bias(self, u: Unit | None, layer: int) -> str:
        return f"b{layer}" if u is None else f"b_{self.label(u)}"

    def delta(self, label: str) -> str:
        return f"delta_{label}"


class Mazur(Notation):
    def label(self, u: Unit) -> str:
        if u.layer == 0:
            return f"i{u.j}"
        if u.last:
            return f"o{u.j}"
        if u.depth - 1 > len(_HIDDEN_LETTERS):  # letters run out: number every hidden layer
            return f"h{u.layer}_{u.j}"  # net_h7_2 prints net_{h7,2}
        return f"{_HIDDEN_LETTERS[u.layer - 1]}{u.j}"

    def input(self, u: Unit) -> str:
        return self.label(u)

    def target(self, u: Unit) -> str:
        return f"target_{self.label(u)}"


class Essa(Notation):
    def label(self, u: Unit) -> str:
        return str(u.number)

    def input(self, u: Unit) -> str:
        return f"y_{u.number}"

    def pre(self, u: Unit) -> str:
        return f"x_{u.number}"

    def act(self, u: Unit) -> str:
        return f"y_{u.number}"

    def target(self, u: Unit) -> str:
        return f"t_{u.number}"

    def weight(self, dst: Unit, src: Unit, count: int) -> str:
        sep = "_" if max(src.number, dst.number) > 9 else ""
        return f"W_{src.number}{sep}{dst.number}"

    def bias(self, u: Unit | None, layer: int) -> str:
        return f"W_0_l{layer}" if u is None else f"W_0{u.number}"


class Hmkcode(Mazur):
    def act(self, u: Unit) -> str:
        if u.last and u.width == 1:
            return "prediction"
        return self.label(u)

    def pre(self, u: Unit) -> str:
        return f"net_{self.label(u)}"

    def target(self, u: Unit) -> str:
        return "actual" if u.width == 1 else f"actual_{self.label(u)}"

    def delta(self, label: str) -> str:
        return "Delta" if label == "o1" else f"delta_{label}"


class Jacobs(Notation):
    """Jacobs' one hidden layer is ``h``; with several, each is numbered from 1 like the layers:
    ``s^{2}_j``, ``h^{2}_j``, ``w^{2}_{jk}``, ``b^{2}_j``, ``\\delta^{2}_j`` (outputs stay ``y``).
    """

    def _side(self, u: Unit) -> str:
        if u.last:
            return "y"
        return "h" if u.depth == 2 else str(u.layer)

    def label(self, u: Unit) -> str:
        if u.layer == 0:
            return f"x{u.j}"
        side = self._side(u)
        return f"{side}_{u.j}" if side.isdigit() else f"{side}{u.j}"

    def input(self, u: Unit) -> str:
        return f"x_{u.j}"

    def pre(self, u: Unit) -> str:
        return f"s__{self._side(u)}_{u.j}"

    def act(self, u: Unit) -> str:
        side = self._side(u)
        return f"h__{side}_{u.j}" if side.isdigit() else f"{side}_{u.j}"

    def target(self, u: Unit) -> str:
        return f"ystar_{u.j}"

    def weight(self, dst: Unit, src: Unit, count: int) -> str:
        sep = "_" if max(src.j, dst.j) > 9 else ""
        return f"w__{self._side(dst)}_{dst.j}{sep}{src.j}"

    def bias(self, u: Unit | None, layer: int) -> str:
        return f"b__l{layer}" if u is None else f"b__{self._side(u)}_{u.j}"

    def delta(self, label: str) -> str:
        side, sep, j = label.partition("_")  # "2_1" (a numbered layer) or "h1"
        return f"delta__{side}_{j}" if sep else f"delta__{label[0]}_{label[1:]}"


class Nielsen(Notation):
    def label(self, u: Unit) -> str:
        return f"{u.layer + 1}_{u.j}"

    def input(self, u: Unit) -> str:
        return f"x_{u.j}"

    def pre(self, u: Unit) -> str:
        return f"z__{u.layer + 1}_{u.j}"

    def act(self, u: Unit) -> str:
        return f"a__{u.layer + 1}_{u.j}"

    def target(self, u: Unit) -> str:
        return f"y_{u.j}"

    def weight(self, dst: Unit, src: Unit, count: int) -> str:
        sep = "_" if max(src.j, dst.j) > 9 else ""
        return f"w__{dst.layer + 1}_{dst.j}{sep}{src.j}"

    def bias(self, u: Unit | None, layer: int) -> str:
        return f"b__{layer + 1}" if u is None else f"b__{u.layer + 1}_{u.j}"

    def delta(self, label: str) -> str:
        return f"delta__{label}"


PRESETS: dict[str, Notation] = {
    "mazur": Mazur(
        name="mazur",
        description="Hull / Mazur tutorial (seed 000)",
        loss_name="E_total",
        rate_name="eta",
        index_letters={"i": "input", "h": "hidden", "o": "output"},
        labelled_indices=True,
    ),
    "essa": Essa(
        name="essa",
        description="Fausett / Essa lecture (seed 001)",
        loss_name="E",
        rate_name="alpha",
        error_form="out_minus_target",
        update_style="delta",
        index_letters=dict.fromkeys("ijk", "unit"),
    ),
    "hmkcode": Hmkcode(
        name="hmkcode",
        description="hmkcode step by step (seed 002)",
        loss_name="Error",
        rate_name="a",
        error_form="out_minus_target",
        merge_linear=True,
        index_letters={"i": "input", "h": "hidden", "o": "output"},
        labelled_indices=True,
    ),
    "jacobs": Jacobs(
        name="jacobs",
        description="Jacobs, Rochester (seed 003): log-likelihood, gradient ascent",
        loss_name="logL",
        rate_name="epsilon",
        latex={"logL": r"\log L", "ystar": r"y^{*}"},
    ),
    "nielsen": Nielsen(
        name="nielsen",
        description="Nielsen / Ramalingam (seed 004)",
        loss_name="C",
        rate_name="eta",
        error_form="out_minus_target",
        index_letters={**dict.fromkeys("ijkm", "unit"), "l": "layer"},
    ),
    "plain": Notation(),
}


def preset(name: str, *, where: str | None = None) -> Notation:
    """Look up a notation preset by name; unknown names list the known ones."""
    if name in PRESETS:
        return PRESETS[name]
    raise InvalidInput(
        f"unknown notation '{name}'", where=where, hint=f"known: {', '.join(sorted(PRESETS))}"
    )
