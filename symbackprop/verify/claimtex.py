"""A parsed claim back to LaTeX, in the claim's own notation.

A corrected claim (a diagnosis's rewrite substituted into the student's tree) is printed with
the student's letters and time index: a time-tagged name (``v@0``, ``Delta:w@1``, see
:mod:`verify.timesteps`) goes back to the form it was written in (``v_{t-1}`` for a subscript
time, ``m_{ij}(t)`` for a time argument), every step shifted back by the claim's
normalisation (``shift``: the claim's internal t is the written t plus ``shift``), and
printed numbers as written. The text is read again by ``verify`` (that is how a correction is
confirmed), so it only uses what the claim reader reads.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp

from symbackprop.verify import claimparse as cp

STEP = "@"  # as verify.timesteps.STEP (not imported: this module only prints)
_TIMEABLE = frozenset("m v s G hat:m hat:v hat:s theta w W g".split())
_FUNCS = {"sigma": "\\sigma", "exp": "\\exp", "log": "\\log", "tanh": "\\tanh", "sqrt": "\\sqrt"}


def _step(k: int) -> str:
    return "t" if k == 0 else f"t{k:+d}"


def _script(text: str | None) -> str:
    return "" if not text else (text if len(text) == 1 else "{" + text + "}")


class ClaimTex:
    """Print claim nodes; ``literal`` gives the written text of a number placeholder name."""

    def __init__(self, shift: int = 0, literal: Callable[[cp.Name], str | None] | None = None):
        self.shift = shift
        self.literal = literal or (lambda _n: None)

    # -------------------------------------------------------------------------- names
    def base(self, base: str) -> str:
        if base.startswith("hat:"):
            return "\\hat{" + self.base(base[4:]) + "}"
        if base.startswith("Delta:"):
            return "\\Delta " + self.base(base[6:])
        if base.startswith("log") and len(base) == 4 and base[3].isupper():
            return "\\log " + base[3]
        return "\\" + base if base in cp._GREEK else base

    def name(self, n: cp.Name) -> str:
        text = self.literal(n)
        if text is not None:
            return text
        if STEP in n.base:
            head, k = n.base.split(STEP)
            when = _step(int(k) + self.shift)
            if n.sub is None and head in _TIMEABLE:  # Kingma and Ba's m_t, \hat v_{t-1}
                return self.base(head) + "_{" + when + "}" + (f"^{{{n.sup}}}" if n.sup else "")
            out = self.base(head) + (f"_{{{n.sub}}}" if n.sub else "")
            return out + (f"^{{{n.sup}}}" if n.sup else "") + f"({when})"
        out = self.base(n.base)
        if n.sub:
            out += "_{" + n.sub + "}"
        if n.sup:
            out += "^{" + n.sup + "}"
        return out

    # -------------------------------------------------------------------------- nodes
    def time(self, n: cp.Node) -> str | None:
        """``t``, ``t + k`` (the claim's count, shifted back): ``t-1``; None for anything else."""
        terms = n.terms if isinstance(n, cp.Add) else (n,)
        if cp.Name("t") not in terms:
            return None
        k = self.shift
        for x in terms:
            if x == cp.Name("t"):
                continue
            neg = isinstance(x, cp.Neg)
            x = x.arg if neg else x
            if not (isinstance(x, cp.Num) and x.decimals == 0):
                return None
            k += -int(x.value) if neg else int(x.value)
        return _step(k) if k else "t"

    def node(self, n: cp.Node, outer: int = 0) -> str:
        """``n`` as LaTeX; ``outer`` the binding strength around it (parentheses when it binds
        less: 1 a sum's term, 2 a factor, 3 a power's base)."""
        text, level = self._node(n)
        return f"\\left({text}\\right)" if level < outer else text

    def _node(self, n: cp.Node) -> tuple[str, int]:  # noqa: C901 - one case per node type
        if isinstance(n, cp.Num):
            return f"{float(n.value):.{n.decimals}f}" if n.decimals else str(n.value), 4
        if isinstance(n, cp.Name):
            return self.name(n), 4
        if isinstance(n, cp.Partial):
            return f"\\frac{{\\partial {self.node(n.of)}}}{{\\partial {self.node(n.wrt)}}}", 4
        if isinstance(n, cp.Call):
            head = _FUNCS.get(n.func, n.func) + ("'" if n.prime else "")
            if n.func == "sqrt":
                return f"\\sqrt{{{self.node(n.arg)}}}", 4
            return f"{head}\\left({self.node(n.arg)}\\right)", 4
        if isinstance(n, cp.Add):
            t = self.time(n)
            if t is not None:
                return t, (4 if t == "t" else 1)
            out = self.node(n.terms[0], 1)
            for x in n.terms[1:]:
                if isinstance(x, cp.Neg):
                    out += " - " + self.node(x.arg, 2)
                else:
                    out += " + " + self.node(x, 1)
            return out, 1
        if isinstance(n, cp.Neg):
            return "-" + self.node(n.arg, 2), 1
        if isinstance(n, cp.Mul):
            parts = [self.node(f, 2) for f in n.factors]
            joined = parts[0]
            for p in parts[1:]:  # a number after another factor needs a visible product
                joined += (" \\cdot " if p[:1].isdigit() else " ") + p
            return joined, 2
        if isinstance(n, cp.Hadamard):
            return " \\odot ".join(self.node(f, 2) for f in n.factors), 2
        if isinstance(n, cp.Div) and cp._is_d(n.num) and cp._is_d(n.den):  # dE/dw5: ∂E/∂w5
            of, wrt = cp.Name(n.num.base[1:], n.num.sub), cp.Name(n.den.base[1:], n.den.sub)
            return self._node(cp.Partial(of, wrt))
        if isinstance(n, cp.Div):
            return f"\\frac{{{self.node(n.num)}}}{{{self.node(n.den)}}}", 4
        if isinstance(n, cp.Pow):
            exp = self.time(n.exp) or self.node(n.exp)
            return f"{self.node(n.base, 4)}^{{{exp}}}", 3
        if isinstance(n, cp.Transpose):
            return f"{self.node(n.arg, 4)}^T", 3
        if isinstance(n, cp.Sum):
            if n.over:
                lim = f"_{{{n.index} \\in {n.over}}}"
            elif n.lower:
                lim = f"_{{{n.index}={n.lower}}}" + (f"^{{{n.upper}}}" if n.upper else "")
            else:
                lim = f"_{{{n.index}}}" + (f"^{{{n.upper}}}" if n.upper else "")
            return f"\\sum{lim} {self.node(n.body, 2)}", 2
        raise TypeError(f"not a claim node: {n!r}")

    def claim(self, sides: tuple, relations: tuple = ()) -> str:
        rel = {"<=": "\\le", ">=": "\\ge"}
        out = self.node(sides[0])
        for i, side in enumerate(sides[1:]):
            op = relations[i] if relations else "="
            out += f" {rel.get(op, op)} {self.node(side)}"
        return out


def number_text(num: cp.Num) -> str:
    return f"{float(num.value):.{num.decimals}f}" if num.decimals else str(num.value)


def literal_names(literals: dict) -> Callable[[cp.Name], str | None]:
    """The ``literal`` callback for a resolver's placeholder table (symbol -> Num)."""
    from symbackprop.verify.resolve import LITERAL

    def text(n: cp.Name) -> str | None:
        if n.base != LITERAL:
            return None
        num = literals.get(sp.Symbol(f"{LITERAL}{n.sub}"))
        return None if num is None else number_text(num)

    return text
