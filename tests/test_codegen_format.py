"""Generated modules are black-stable, and pyformat's fast path writes exactly black's bytes.

``pyformat.format_module`` formats a module by shapes, skeleton and cut-down long lists; these
tests hold it to ``black.format_str`` byte for byte, on modules that exercise each of those
(wide layers give long sums and lists, small nets the unrolled scalar path, hand-written
snippets the corners), and check that the fast path is really taken: a silent fallback to
plain black would pass the equality tests while losing the speed.
"""

from __future__ import annotations

import black
import pytest
import sympy as sp
from oracle import small_net

import symbackprop.codegen.pyformat as pyformat
from symbackprop.codegen.runtime import render_with_runtime
from symbackprop.codegen.unit import BLACK_MODE, generate_module, unit_context
from symbackprop.derivation.unit import derive
from symbackprop.model.layered import LayerSpec, build_layered
from symbackprop.model.network import build_network
from symbackprop.rules.registry import ACTIVATIONS
from symbackprop.spec.load import load_spec

UNIT_EXAMPLES = ["mazur", "hmkcode", "jacobs", "essa"]


def black_format(text: str) -> str:
    return black.format_str(text, mode=BLACK_MODE)


def raw_module(network) -> str:
    """The rendered module before formatting."""
    return render_with_runtime("unit", unit_context(derive(network), source=network.name))


def layered(sizes, activation, *, bias="unit", loss="half_sse", notation="mazur"):
    layers = [LayerSpec(n, activation, bias) for n in sizes[1:]]
    return build_layered(name="t", inputs=sizes[0], layers=layers, loss=loss, notation=notation)


def graph_net():
    """A graph-form spec: a 24-term net input, a square, two outputs."""
    xs, ws = sp.symbols("x0:24"), sp.symbols("p0:24")
    t, u, w, v, z, a, c = sp.symbols("t u w v z a c")
    sigmoid, tanh = ACTIVATIONS["sigmoid"].function, ACTIVATIONS["tanh"].function
    return build_network(
        name="g",
        inputs=list(xs),
        targets=[t, u],
        params=[*ws, w, v],
        nodes=[
            (z, sum(p * x for p, x in zip(ws, xs)) + w),
            (a, sigmoid(z)),
            (c, tanh(v * a + z**2)),
        ],
        loss=("E", (t - a) ** 2 / 2 + (u - c) ** 2 / 2),
    )


@pytest.mark.parametrize("name", UNIT_EXAMPLES)
def test_example_modules_are_black_stable(name):
    text = generate_module(derive(load_spec(name)), source=name)
    assert black_format(text) == text


@pytest.mark.parametrize(
    "sizes,activation",
    [
        ((12, 12, 12), "sigmoid"),
        ((10, 10, 10), "tanh"),
        ((8, 8, 8), "relu"),
        ((8, 8, 8), "softplus"),
    ],
    ids=str,
)
def test_unit_net_modules_are_black_stable(sizes, activation):
    text = generate_module(derive(small_net(sizes, activation)), source="t")
    assert black_format(text) == text


# Wide layers: net inputs, δ sums and the loss longer than a line (cut down to their ends),
# parameter tuples of a hundred names and more; the others cover losses, bias modes, notations,
# a graph-form spec, and both sides of the scalar path's 200-parameter limit.
FAST_CASES = {
    "40-2-2 sigmoid": lambda: layered((40, 2, 2), "sigmoid"),
    "3-2-40 sigmoid": lambda: layered((3, 2, 40), "sigmoid"),
    "20-3-20 cross-entropy": lambda: layered((20, 3, 20), "sigmoid", loss="cross_entropy"),
    "30-6-6 relu": lambda: layered((30, 6, 6), "relu"),
    "24-4-4 shared tanh": lambda: layered((24, 4, 4), "tanh", bias="shared"),
    "24-4-4 no-bias softplus gaussian": lambda: layered(
        (24, 4, 4), "softplus", bias="none", loss="gaussian_loglik"
    ),
    "6-6-6 leaky essa": lambda: layered((6, 6, 6), "leaky_relu", notation="essa"),
    "graph": graph_net,
}


def assert_fast_path_writes_blacks_bytes(source: str, monkeypatch) -> None:
    expected = black_format(source)
    sizes = []
    real = black.format_str

    def spy(text: str, *, mode: black.Mode) -> str:
        sizes.append(len(text))
        return real(text, mode=mode)

    monkeypatch.setattr(pyformat.black, "format_str", spy)
    assert pyformat.format_module(source, BLACK_MODE) == expected
    # The fast path was taken: black never saw the whole module (its fallback does).
    assert max(sizes) < len(source), "pyformat fell back to black on the whole module"


@pytest.mark.parametrize("case", list(FAST_CASES))
def test_fast_path_writes_blacks_bytes(case, monkeypatch):
    assert_fast_path_writes_blacks_bytes(raw_module(FAST_CASES[case]()), monkeypatch)


SNIPPETS = {
    "docstring and brackets": '''"""Doc.

x = a+b
    y = c*d
"""

z = (
    a+b,
    c
)
w = a+b  # trailing comment
''',
    "long list and sum": "P = ("
    + ", ".join(f"'n{i}'" for i in range(300))
    + ")  # the order\n"
    + "def f(x):\n    s = "
    + " + ".join(f"(0.5)*(t{i} - o{i})**2" for i in range(40))
    + "\n    d = ("
    + " - ".join(f"d{i}*w{i * 7}" for i in range(60))
    + ")*(o*(1 - o))\n    return s, d\n",
    "depth two and dicts": "def f():\n    if True:\n"
    + "        _g['a'] = np.sum(np.broadcast_to(x*y, (_n,)))\n"
    + "        D = {"
    + ", ".join(f"'k{i}': {i}.{i % 7}" for i in range(80))
    + "}\n        return D\n",
    "power and unary": "a = -x**2 + (-y)**-z - x.b**c + f(x)**2 + x[0]**2 + 1e-05*y\n"
    + "b = -u**3 + (-v)**-w - u.c**d + g(u)**3 + u[1]**3 + 2e-07*v\n",
    # Items of two shapes, both at the ends: cut down; a shape only in the middle: not cut.
    "mixed shapes": "s = "
    + " + ".join(f"a{i}*b{i} - c{i}" for i in range(40))
    + "\nt = "
    + " + ".join(f"a{i}*b{i}" if i != 20 else "(q - r)**2" for i in range(40))
    + "\nu = ["
    + ", ".join(f"x{i}, y{i}.z" for i in range(60))
    + "]\n",
}


@pytest.mark.parametrize("name", list(SNIPPETS))
def test_snippets_match_black(name, monkeypatch):
    assert_fast_path_writes_blacks_bytes(SNIPPETS[name], monkeypatch)


def test_fmt_directives_go_to_black_whole():
    source = "# fmt: off\nx = [1,2,\n  3]\n# fmt: on\ny = a+b\n"
    assert pyformat.format_module(source, BLACK_MODE) == black_format(source)


def test_other_black_modes_go_to_black_whole():
    source = SNIPPETS["long list and sum"]
    for mode in (
        black.Mode(line_length=100, preview=True),
        black.Mode(line_length=100, magic_trailing_comma=False),
        black.Mode(line_length=60, is_pyi=True),
    ):
        assert pyformat.format_module(source, mode) == black.format_str(source, mode=mode)


def test_invalid_source_raises_blacks_error():
    with pytest.raises(black.InvalidInput):
        pyformat.format_module("x = (a +\n", BLACK_MODE)
