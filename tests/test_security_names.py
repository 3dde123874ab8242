"""Issue 11: names that are LaTeX commands, names of deep presets, pasted Unicode in claims,
and claims that used to crash ``verify`` (ids ``row47-``, ``item10-``, ``row51-``, ``item8-``).

Oracles: SymPy's own LaTeX printer (a name part renders as SymPy renders it whenever that needs
no package), pdflatex (the handout compiles), the ASCII spelling of a claim (a claim with pasted
Unicode parses to the same tree), and ``casefold``/whitespace-free string comparison for the
uniqueness of names and of their renderings.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest
import sympy as sp
from clirun import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.printing.latex import (
    greek_letters_set,
    modifier_dict,
    other_symbols,
    tex_greek_dictionary,
)
from sympy.printing.latex import latex as sympy_latex

from symbackprop.derivation.unit import derive
from symbackprop.errors import InvalidInput, ResourceLimit
from symbackprop.handout.latexrun import compile_pdf
from symbackprop.model.layered import LayerSpec, build_layered
from symbackprop.model.notation import PRESETS, Unit
from symbackprop.printers.printing import SAFE_COMMANDS, NotationLatexPrinter
from symbackprop.spec.load import example_names, load_spec
from symbackprop.verify import claimparse as cp
from symbackprop.verify.claimcheck import Checker
from symbackprop.verify.resolve import NetworkResolver
from symbackprop.verify.run import _instances

COMMAND = re.compile(r"\\([A-Za-z]+)")


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ------------------------------------------------------------------------------------ row 47
def _table_names() -> list[str]:
    """A valid name for every entry of SymPy's Greek, symbol and modifier tables.

    Each entry gets a distinct number (``beth7``): SymPy splits trailing digits off as a
    subscript, so the entry itself is what gets translated, and the numbers keep ``Lamda``
    and ``lamda`` apart (names are unique ignoring case).
    """
    entries = [*sorted(greek_letters_set), *tex_greek_dictionary, *sorted(other_symbols)]
    entries += [f"w{m}" for m in modifier_dict] + [f"alpha{m}" for m in modifier_dict]
    entries += ["wscr", "wfrak", "varkappa", "beth"]  # the issue's four, as written
    return [f"{e}{i}" for i, e in enumerate(entries)]


TABLE_NAMES = _table_names()


def _table_spec() -> str:
    body = " + ".join(f"{n}*x" for n in TABLE_NAMES)
    return (
        f'[graph]\ninputs = ["x"]\ntargets = ["t"]\nparams = {json.dumps(TABLE_NAMES)}\n'
        f'loss = "E"\n[graph.nodes]\nz = "{body}"\nE = "(t - z)^2/2"\n'
    )


@pytest.mark.parametrize("name", TABLE_NAMES)
def test_row47_name_renders_with_safe_commands_only(name: str) -> None:
    ours = NotationLatexPrinter().doprint(sp.Symbol(name))
    theirs = sympy_latex(sp.Symbol(name))
    assert set(COMMAND.findall(ours)) <= SAFE_COMMANDS, ours
    if set(COMMAND.findall(theirs)) <= SAFE_COMMANDS:
        assert ours == theirs  # no package needed: rendered as SymPy renders it
    else:
        assert ours == f"{name.rstrip('0123456789')}_{{{name[len(name.rstrip('0123456789')):]}}}"


def test_row47_issue_names_print_as_text() -> None:
    printer = NotationLatexPrinter()
    for name in ("wscr", "wfrak", "varkappa", "beth"):
        assert printer.doprint(sp.Symbol(name)) == name
        assert printer.doprint(sp.Symbol(f"{name}_1")) == f"{name}_{{1}}"


def test_row47_handout_compiles(workdir, capsys, require_pdflatex) -> None:
    (workdir / "names.toml").write_text(_table_spec())
    code, out, err = run(capsys, "handout", "names.toml", "-o", "names.tex")
    assert code == 0, err
    assert (workdir / "names.pdf").read_bytes().startswith(b"%PDF")
    tex = (workdir / "names.tex").read_text()
    assert "\\mathscr" not in tex and "\\varkappa" not in tex and "\\beth" not in tex


def test_row47_layer_handout_prints_the_name_as_text(workdir, capsys, require_pdflatex) -> None:
    """At layer level the symbols are Nielsen's own; the one user name that reaches the
    handout, the network's, is escaped text in the title."""
    (workdir / "lay.toml").write_text(
        'name = "wscr_beth"\nlevel = "layer"\n[network]\ninputs = 2\n'
        "layers = [{units = 2}, {units = 1}]\n"
    )
    code, out, err = run(capsys, "handout", "lay.toml", "-o", "lay.tex")
    assert code == 0, err
    assert (workdir / "lay.pdf").read_bytes().startswith(b"%PDF")
    tex = (workdir / "lay.tex").read_text()
    assert "wscr\\_beth" in tex and "\\mathscr" not in tex and "\\beth" not in tex


@pytest.mark.parametrize("spec", ["names.toml", "jacobs", "mazur", "essa", "hmkcode"])
def test_row47_derive_latex_compiles(spec, workdir, capsys, require_pdflatex) -> None:
    """``derive --format latex`` compiles; jacobs' w^{h}_{11}^{+} used to be a double
    superscript, as was the update of a primed name."""
    (workdir / "names.toml").write_text(_table_spec())
    code, out, err = run(capsys, "derive", spec, "--format", "latex")
    assert code == 0, err
    if spec == "names.toml":
        assert "\\alpha_{" in out and "\\hat{w}_{" in out  # the safe commands are kept
    document = (
        "\\documentclass{article}\n\\usepackage{amsmath}\n\\allowdisplaybreaks\n"
        f"\\begin{{document}}\n{out}\n\\end{{document}}\n"
    )
    assert compile_pdf(document, runs=1).startswith(b"%PDF")  # no \label: one run is all


# ----------------------------------------------------------------------------------- item 10
def _net(preset: str, widths: list[int], bias: str = "unit"):
    layers = [LayerSpec(w, bias=bias) for w in widths[1:]]
    return build_layered(name="t", inputs=widths[0], layers=layers, notation=preset)


def _assert_unique_names_and_renderings(net) -> None:
    style = net.notation
    symbols = [*net.inputs, *net.targets, *net.params, *(n.symbol for n in net.nodes)]
    symbols += [net.learning_rate]
    labels = {n.unit for n in net.nodes if n.unit}
    symbols += [sp.Symbol(style.delta(label)) for label in sorted(labels)]
    names = [s.name for s in symbols]
    assert len({n.casefold() for n in names}) == len(names), "names clash ignoring case"
    printer = NotationLatexPrinter(style)
    # Without spaces: TeX ignores them in math, so "1 11" and "11 1" would look the same.
    shown = {printer.doprint(s).replace(" ", ""): s.name for s in symbols}
    assert len(shown) == len(symbols), "two symbols render alike"


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("hidden", range(0, 9))
@pytest.mark.parametrize("width", [1, 12])
def test_item10_every_preset_depth_and_width(preset: str, hidden: int, width: int) -> None:
    for bias in ("unit", "shared"):
        _assert_unique_names_and_renderings(_net(preset, [width] * (hidden + 2), bias))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(sorted(PRESETS)),
    widths=st.lists(st.integers(1, 12), min_size=2, max_size=10),
    bias=st.sampled_from(["unit", "shared", "none"]),
)
def test_item10_property_random_widths(preset: str, widths: list[int], bias: str) -> None:
    _assert_unique_names_and_renderings(_net(preset, widths, bias))


@pytest.mark.parametrize(
    ("preset", "hidden", "clash"), [("jacobs", 3, "w__h_11"), ("mazur", 7, "b_h1")]
)
def test_item10_reported_nets_derive(workdir, capsys, preset: str, hidden: int, clash: str):
    layers = ", ".join(["{units = 2}"] * hidden + ["{units = 1}"])
    (workdir / "deep.toml").write_text(
        f'notation = "{preset}"\nlevel = "unit"\n[network]\ninputs = 2\nlayers = [{layers}]\n'
    )
    code, out, err = run(capsys, "derive", "deep.toml")
    assert code == 0, err
    assert "duplicate" not in err


def test_item10_letters_kept_while_they_last() -> None:
    """Six hidden layers keep Mazur's letters; a seventh numbers them all."""
    six = _net("mazur", [2] * 8)
    assert [s.name for s in six.params if s.name.startswith("b_")][:2] == ["b_h1", "b_h2"]
    seven = _net("mazur", [2] * 9)
    assert "b_h7_2" in {s.name for s in seven.params}
    assert NotationLatexPrinter(seven.notation).doprint(sp.Symbol("net_h7_2")) == "net_{h7,2}"
    one = Unit(layer=1, j=1, number=3, last=False, width=2, depth=2)
    assert PRESETS["jacobs"].pre(one) == "s__h_1"  # one hidden layer: Jacobs' own h


def test_item10_numbered_jacobs_names_verify(workdir, capsys) -> None:
    """The numbered names are what a student writes: s^{2}_1, h^{1}_1, w^{2}_{11}."""
    (workdir / "deep.toml").write_text(
        'notation = "jacobs"\nlevel = "unit"\n[network]\ninputs = 1\n'
        "layers = [{units = 1}, {units = 1}, {units = 1}]\n"
    )
    (workdir / "c.txt").write_text(
        "s^{2}_1 = w^{2}_{11} h^{1}_1 + b^{2}_1\nh^{2}_1 = \\sigma(s^{2}_1)\n"
        "\\delta^{1}_{1} = \\delta^{2}_{1} w^{2}_{11} h^{1}_1 (1 - h^{1}_1)\n"
    )
    code, out, err = run(capsys, "verify", "deep.toml", "c.txt")
    assert code == 0, out + err
    assert out.count("correct (symbolic)") == 3


# ------------------------------------------------------------------------------------ row 51
PASTED = [
    ("row51-minus", "delta_o1 = \u2212(target_o1 \u2212 out_o1) * out_o1 * (1 \u2212 out_o1)"),
    ("row51-en-dash", "delta_o1 = \u2013(target_o1 \u2013 out_o1) * out_o1 * (1 \u2013 out_o1)"),
    ("row51-times", "delta_o1 = -(target_o1 - out_o1) \u00d7 out_o1 \u00d7 (1 - out_o1)"),
    ("row51-middle-dot", "delta_o1 = -(target_o1 - out_o1) \u00b7 out_o1 \u00b7 (1 - out_o1)"),
    ("row51-dot-op", "\\delta_{o1} = -(target_{o1} - out_{o1}) \u22c5 out_{o1} (1 - out_{o1})"),
    ("row51-prime", "delta_o1 = -(target_o1 - out_o1) * sigma\u2032(net_o1)"),
    ("row51-nbsp", "delta_o1\u00a0=\u00a0-(target_o1 - out_o1)\u2009*\u202fout_o1 * (1 - out_o1)"),
    ("row51-bom", "\ufeffdelta_o1 = -(target_o1 - out_o1) * out_o1 * (1 - out_o1)"),
    ("row51-stray-bom", "delta_o1 = -(target_o1 - out_o1) *\ufeff out_o1 * (1 - out_o1)"),
]
ASCII = str.maketrans(
    {
        "\u2212": "-",
        "\u2013": "-",
        "\u00d7": "*",
        "\u00b7": "*",
        "\u22c5": "*",
        "\u2032": "'",
        "\u00a0": " ",
        "\u2009": " ",
        "\u202f": " ",
        "\ufeff": "",
    }
)


@pytest.mark.parametrize("text", [t for _, t in PASTED], ids=[i for i, _ in PASTED])
def test_row51_pasted_unicode_reads_as_ascii(text: str, workdir, capsys) -> None:
    plain = text.translate(ASCII)
    assert plain.isascii()
    assert cp.parse_claim_line(text).sides == cp.parse_claim_line(plain).sides
    (workdir / "c.txt").write_text(text + "\n", encoding="utf-8")
    code, out, err = run(capsys, "verify", "mazur", "c.txt")
    assert code == 0, out + err
    assert "correct" in out


def test_row51_bom_before_a_comment_is_a_comment() -> None:
    claims = cp.parse_claims("\ufeff# a comment\n\ufeff% another\nx = x\n")
    assert [c.line for c in claims] == [3]


@pytest.mark.parametrize(
    ("text", "col", "what"),
    [
        ("a = b\u00e9", 6, "U+00E9 LATIN SMALL LETTER E WITH ACUTE"),
        ("a = \u0663", 5, "U+0663 ARABIC-INDIC DIGIT THREE"),
        ("a\u202e = b", 2, "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("[\u00e9q] a = b", 2, "U+00E9"),
        ("x = \u200b1", 5, "U+200B ZERO WIDTH SPACE"),
        ("\\delta_{o1} = \u03b4", 15, "U+03B4 GREEK SMALL LETTER DELTA"),
        ("a = b\x1b[31m", 6, "U+001B (a control character)"),
    ],
    ids=[
        *("row51-accent", "row51-arabic-digit", "row51-bidi", "row51-label", "row51-zwsp"),
        *("row51-greek", "row51-escape"),
    ],
)
def test_row51_other_non_ascii_is_unreadable_with_column(text, col, what, workdir, capsys):
    with pytest.raises(InvalidInput) as info:
        cp.parse_claim_line(text)
    assert f"col {col}: unexpected character {what}" in info.value.message
    (workdir / "c.txt").write_text(text + "\n", encoding="utf-8")
    code, out, err = run(capsys, "verify", "mazur", "c.txt")
    assert code == 2 and "Traceback" not in err
    assert f"UNREADABLE: col {col}: unexpected character" in out


# ------------------------------------------------------------------------------------ item 8
CRASHED = [
    ("item8-label-jacobs", "jacobs", "[eq1^L2] h_i = \\sigma(s^h_i)"),
    ("item8-label-sum", "hmkcode", "[eq1^L2] h_i = \\sigma(\\sum_j w^h_{ij} x_j)"),
    ("item8-aL-essa", "essa", "\\delta_j = (y_j - a^L)"),
    ("item8-aL-jacobs", "jacobs", "\\delta^y_j = (y_j - a^L)"),
    ("item8-aL-alone", "mazur", "(y_j - a^L)"),
    ("item8-nielsen", "nielsen", "(y_j - a^L) = 1"),
    ("item8-digits", "digits", "[eq1^L2] h_i = 1"),
]


@pytest.mark.parametrize(("spec", "claim"), [c[1:] for c in CRASHED], ids=[c[0] for c in CRASHED])
def test_item8_claims_get_a_verdict_or_unreadable(spec, claim, workdir, capsys) -> None:
    (workdir / "c.txt").write_text(claim + "\n")
    code, out, err = run(capsys, "verify", spec, "c.txt")
    assert code in (0, 2, 3), err
    assert "internal error" not in err and "Traceback" not in err
    assert "UNREADABLE" in out or "correct" in out or "wrong" in out or "error:" in err


NIELSEN_UNIT = (
    'notation = "nielsen"\nlevel = "unit"\n[network]\ninputs = 2\n'
    "layers = [{units = 3}, {units = 2}]\n"
)
UNDEFINED = [
    (
        "item8-relu-of-1-over-0",
        "hmkcode",
        "i2 = relu(\\frac{\\frac{w_{4}}{0}}{Error} 0)",
        "division by zero",
    ),
    ("item8-zero-power", "mazur", "w_5 = 0^{-1}", "division by zero"),
    ("item8-log-0", "mazur", "w_5 = \\log(1 - 1)", "log(0) is undefined"),
    ("item8-array-plus-number", "n.toml", "z^{2} + 1 = 0", "an array and a number cannot be added"),
    ("item8-over-array", "n.toml", "x / w^{2} = 1", "division by an array is not supported"),
    ("item8-array-power", "n.toml", "(z^{2})^2 = 1", "a power of an array is not supported"),
]


@pytest.mark.parametrize(
    ("spec", "claim", "message"), [u[1:] for u in UNDEFINED], ids=[u[0] for u in UNDEFINED]
)
def test_item8_undefined_values_and_array_mixups_are_unreadable(
    spec, claim, message, workdir, capsys
):
    (workdir / "n.toml").write_text(NIELSEN_UNIT)
    (workdir / "c.txt").write_text(claim + "\n")
    code, out, err = run(capsys, "verify", spec, "c.txt")
    assert code == 2 and "Traceback" not in err, err
    assert f"line 1: UNREADABLE: {message}" in out


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        pytest.param("z^{2} \\odot z^{3} = 1", "\\odot needs arrays of one shape", id="odot"),
        pytest.param("w^{2} z^{2} = 1", "array shapes do not fit: 3×2 times 3×1", id="matmul"),
    ],
)
def test_item8_arrays_that_cannot_fit_make_the_claim_wrong(claim, message, workdir, capsys):
    """Shapes that cannot multiply are a slip in the claim (a missing transpose, a wrong
    layer), so the claim is wrong, with the shapes named, never a crash or unreadable."""
    (workdir / "n.toml").write_text(NIELSEN_UNIT)
    (workdir / "c.txt").write_text(claim + "\n")
    code, out, err = run(capsys, "verify", "n.toml", "c.txt")
    assert code == 3 and "Traceback" not in err, err
    assert "line 1: WRONG: " + message in out


def test_item8_incomplete_layer_arrays_are_not_padded(workdir, capsys) -> None:
    """w^{2} over names that do not fill a matrix (w__2_1, w__2_13) is unknown, never a matrix
    with zeros where units are missing; z^{2} with a gap (z__2_1, z__2_3) likewise."""
    spec = (
        '[graph]\ninputs = ["x"]\ntargets = ["t"]\nparams = ["w__2_1", "w__2_13", "b"]\n'
        'loss = "E"\n[graph.nodes]\nz__2_1 = "w__2_1*x + b"\nz__2_3 = "w__2_13*x"\n'
        'E = "(t - z__2_1 - z__2_3)^2/2"\n'
    )
    (workdir / "g.toml").write_text(spec)
    resolver = NetworkResolver(derive(load_spec("g.toml")))
    assert resolver._layer_array("w", "2") is None
    assert resolver._layer_array("z", "2") is None
    assert resolver._layer_array("z", "1") is None  # no such layer
    (workdir / "c.txt").write_text("z^{2}_{1} = w^{2}_{1} x + b\n")
    code, out, err = run(capsys, "verify", "g.toml", "c.txt")
    assert code == 0 and "line 1: correct" in out, out + err


def test_item8_wide_layer_weight_matrix_is_complete() -> None:
    """Past 9 units Nielsen's weights are w__l_j_k; w^{2} must hold all of them."""
    d = derive(_net("nielsen", [2, 10, 1]))
    matrix = NetworkResolver(d).symbol("w", None, "2")
    assert matrix.shape == (10, 2)
    assert matrix[9, 1] == sp.Symbol("w__2_10_2") and matrix[0, 0] == sp.Symbol("w__2_11")


# A fuzz of the claim parser and the resolver: random strings of the grammar's tokens and of
# each network's names (plain and as printed in LaTeX); anything but InvalidInput/ResourceLimit
# is a bug. Parse, free indices, instances and conversion of every side (what verify does
# before its checker), so each example takes milliseconds.
TOKENS = r"""= = + - * / ^ ' ( ) [ ] { } \{ \} \frac \partial \sum_k \sum_{k=1}^{2} \sum_{k\in K}
\odot \times \cdot ^T ^{T} ^\top \sigma \exp \log \ln \tanh sigmoid relu f g e 0 1 0.5 2 1e3 _
_j _{jk} _k ^L ^l ^{l+1} ^+ ^* ^2 \log\ L \Delta \delta % , [eq1] [eq1^L2] dE/dw5 \left( \right)
x y z a^L_j y_j a^{L-1}_k W^{2} \delta^l \text{a} \mathrm""".split()
TOKENS += ["\u2212", "\u00d7", "\u00b7", "\u2032", "\u00a0", "\ufeff", "\u00e9", "\u2013"]
UNIT_EXAMPLES = [n for n in example_names() if not hasattr(load_spec(n), "sizes")]


@pytest.fixture(scope="module")
def fuzz_targets() -> list[tuple[NetworkResolver, tuple[st.SearchStrategy[str], ...]]]:
    nets = [load_spec(n) for n in UNIT_EXAMPLES] + [_net("nielsen", [2, 3, 2])]
    out = []
    for net in nets:
        printer = NotationLatexPrinter(net.notation)
        symbols = [*net.inputs, *net.targets, *net.params, *(n.symbol for n in net.nodes)]
        words = [s.name for s in symbols] + [printer.doprint(s) for s in symbols]
        out.append((NetworkResolver(derive(net)), (tokens(words), claims(words))))
    return out


def test_item8_fuzz_targets_cover_every_unit_example(fuzz_targets) -> None:
    assert {"mazur", "essa", "hmkcode", "jacobs"} <= set(UNIT_EXAMPLES)
    assert len(fuzz_targets) == len(UNIT_EXAMPLES) + 1


BASES = r"a z w W b x y h s delta \delta \Delta \sigma E C e o t net out i L d dE".split()
SCRIPTS = [
    *("", "_j", "_k", "_{jk}", "_1", "_{11}", "_{1,11}", "_{o1}", "_{h1}", "_{0}", "_{j,k}"),
    *("^L", "^l", "^{l+1}", "^L_j", "^{L-1}_k", "^2", "^+", "^*", "^{h}_{11}", "^T", "^1_j"),
    *("^2_1", "^{2}_{11}", "^h_i", "^y_j", "^{(1)}", "^0_1", "^3_{21}", "^{y}", "^{h}", "^{2}"),
]
FUNCS = ["\\sigma", "f", "g", "\\exp", "\\log", "\\tanh", "relu", "\\sigma'", "f'", "sigmoid"]
SUMS = ["\\sum_k ", "\\sum_j ", "\\sum_{k=1}^{3} ", "\\sum_{k\\in K} ", "\\sum_i "]


def claims(words: list[str]) -> st.SearchStrategy[str]:
    """Claims built like the grammar: names (the network's and made-up ones with scripts),
    numbers, sums, differences, products, calls, fractions, partials and \\sum."""
    made_up = st.builds(str.__add__, st.sampled_from(BASES), st.sampled_from(SCRIPTS))
    atom = st.one_of(st.sampled_from(words), made_up, st.sampled_from(["0", "1", "2", "0.5"]))

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        ops = [" ", " * ", " \\cdot ", " / ", "^", " \\odot ", " - ", " + "]
        return st.one_of(
            st.builds("({}{}{})".format, inner, st.sampled_from([" - ", " + "]), inner),
            st.builds("{}{}{}".format, inner, st.sampled_from(ops), inner),
            st.builds("{}({})".format, st.sampled_from(FUNCS), inner),
            st.builds("\\frac{{{}}}{{{}}}".format, inner, inner),
            st.builds("\\frac{{\\partial {}}}{{\\partial {}}}".format, atom, atom),
            st.builds(str.__add__, st.sampled_from(SUMS), inner),
        )

    side = st.recursive(atom, extend, max_leaves=6)
    label = st.sampled_from(["", "[eq1^L2] ", "[a] "])
    return st.builds(str.__add__, label, st.lists(side, min_size=1, max_size=3).map(" = ".join))


def tokens(words: list[str]) -> st.SearchStrategy[str]:
    """Any sequence of the grammar's tokens and the network's names."""
    parts = st.lists(st.sampled_from(TOKENS + words), min_size=1, max_size=12)
    return st.builds(str.join, st.sampled_from(["", " "]), parts)


def parse_and_resolve(resolver: NetworkResolver, text: str) -> None:
    """What verify does before its checker: parse, instantiate free indices, convert."""
    try:
        claim = cp.parse_claim_line(text)
        for bindings in _instances(Checker(resolver), claim):
            for side in claim.sides:
                cp.to_sympy(side, resolver, bindings=bindings)
    except (InvalidInput, ResourceLimit):
        pass


FUZZ_EXAMPLES = int(os.environ.get("SYMBACKPROP_FUZZ_EXAMPLES", "120"))  # a few seconds


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_item8_fuzz_parse_and_resolve(fuzz_targets, data) -> None:
    for resolver, strategies in fuzz_targets:
        for strategy in strategies:
            text = data.draw(strategy)
            started = time.perf_counter()
            parse_and_resolve(resolver, text)
            assert time.perf_counter() - started < 2.0, text


def test_item10_printed_commas_read_back(workdir, capsys) -> None:
    """Names as the handout prints them (net_{h7,1}, w^{2}_{1,10}) are read back by verify."""
    deep = ", ".join(["{units = 1}"] * 8)
    (workdir / "deep.toml").write_text(
        f'notation = "mazur"\nlevel = "unit"\n[network]\ninputs = 1\nlayers = [{deep}]\n'
    )
    (workdir / "c.txt").write_text("out_{h7,1} = \\sigma(net_{h7,1})\n")
    code, out, err = run(capsys, "verify", "deep.toml", "c.txt")
    assert code == 0 and "correct" in out, out + err
    (workdir / "wide.toml").write_text(
        'notation = "nielsen"\nlevel = "unit"\n[network]\ninputs = 1\n'
        "layers = [{units = 10}, {units = 1}]\n"
    )
    (workdir / "c.txt").write_text("z^{2}_{10} = w^{2}_{10,1} x_1 + b^{2}_{10}\n")
    code, out, err = run(capsys, "verify", "wide.toml", "c.txt")
    assert code == 0 and "correct" in out, out + err
