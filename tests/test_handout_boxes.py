"""Nothing runs off the page: pdflatex's log of a handout has no box warning over 1 pt.

Long sums are broken over aligned rows by :mod:`printers.latex_lines` from estimated widths;
these tests compile the kinds of line that grow with the net (a net input over six inputs and a
bias with nine-digit numbers, a hidden δ summed over six units, a shared bias's gradient over six
paths, the error over six outputs) and read the log. The built-in examples' compiles in
``test_handout.py`` read theirs too.
"""

from __future__ import annotations

import random

import pytest

from symbackprop.derivation.unit import derive
from symbackprop.handout import unit
from symbackprop.handout.latexrun import box_warnings, compile_with_log
from symbackprop.output.render import render
from symbackprop.printers.latex_lines import BREAK, pack, width
from symbackprop.spec.load import load_spec_text


def random_spec(sizes, activations, *, notation: str, bias: str, seed: int) -> str:
    """A unit-level spec with a random value (one to three decimals) for every name."""
    rng = random.Random(seed)
    layers = ", ".join(
        f'{{ units = {n}, activation = "{a}", bias = "{bias}" }}'
        for n, a in zip(sizes[1:], activations)
    )
    text = (
        f'name = "r{seed}"\nnotation = "{notation}"\nlevel = "unit"\n[network]\n'
        f'inputs = {sizes[0]}\nlayers = [{layers}]\nloss = "half_sse"\n'
        "[training]\nlearning_rate = 0.5\n"
    )
    net = load_spec_text(text, source="r", name="r", level="unit")
    values = {s.name: round(rng.uniform(-2, 2), rng.choice([1, 2, 3])) for s in net.params}
    values.update({s.name: round(rng.uniform(-2, 2), 3) for s in net.inputs})
    values.update({s.name: round(rng.uniform(0, 1), 2) for s in net.targets})
    return text + "[values]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())


def test_pack_breaks_a_long_sum_and_keeps_a_short_one():
    terms = [rf"\left(-0.12345678{k}\right) \times 0.98765432{k}" for k in range(8)]
    rows = pack([("net_{u9}", "= " + (BREAK + " + ").join(terms))])
    assert len(rows) > 1 and rows[0][0] == "net_{u9}" and rows[1][1].startswith(r"\quad + ")
    assert all(BREAK not in rhs for _, rhs in rows)
    assert "".join(r for _, r in rows).count(r"\times") == 8
    assert pack([("x", "= a" + BREAK + " + b")]) == (("x", "= a + b"),)
    assert width(r"\frac{\partial E}{\partial w_{1}}") < width(r"\partial E \partial w_{1}")


@pytest.mark.parametrize(
    "sizes, activations, notation, bias, seed",
    [
        ((3, 4, 2), ("tanh", "sigmoid"), "mazur", "unit", 1),  # the 3-4-2 net
        ((6, 6, 6), ("sigmoid", "tanh"), "plain", "shared", 2),  # six-term sums everywhere
    ],
)
def test_random_net_with_values_has_no_box_warning(
    sizes, activations, notation, bias, seed, monkeypatch, require_pdflatex
):
    # the training curve is not what overflows; running it would only cost time
    monkeypatch.setattr(unit, "loss_curve", lambda d: ([(0, 1.0), (1, 0.5)], None))
    text = random_spec(sizes, activations, notation=notation, bias=bias, seed=seed)
    net = load_spec_text(text, source="r", name="r", level="unit")
    tex = render("latex", "handout.tex.jinja", **unit.handout_context(derive(net), source="r"))
    _, log = compile_with_log(tex, runs=1)
    assert box_warnings(log) == []
