"""A student's own macros (``\\newcommand``, ``\\renewcommand``, ``\\def``,
``\\DeclareMathOperator``) are expanded before the document's claims are read; expansion is
bounded, so a recursive macro is one unreadable claim, never a hang."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from symbackprop.spec.load import load_spec
from symbackprop.verify.document import extract_claims, verify_document
from symbackprop.verify.macros import MAX_EXPANSIONS, MacroError, collect, expand

PREAMBLE = r"""\documentclass{article}
\usepackage{amsmath}
\newcommand{\dd}[2]{\frac{\partial #1}{\partial #2}}
\newcommand\w[2][l]{w^{#1}_{#2}}
\def\x{\delta}
\def\pair#1#2{#1_{#2}}
\DeclareMathOperator{\sigm}{sigm}
"""


def test_expansion_by_hand():
    macros, blanked = collect(PREAMBLE)
    assert blanked.count("\n") == PREAMBLE.count("\n")  # definitions blanked, lines kept
    assert "newcommand" not in blanked
    defs = macros.visible(len(PREAMBLE))
    assert (
        expand(r"\dd{C}{b^l_j} = \x^l_j", defs) == r"\frac{\partial C}{\partial b^l_j} = \delta^l_j"
    )
    assert expand(r"\w{jk}", defs) == "w^{l}_{jk}"  # the optional argument's default
    assert expand(r"\w[2]{jk}", defs) == "w^{2}_{jk}"
    assert expand(r"\pair\x j", defs) == r"\delta_{j}"  # unbraced arguments: one token each
    assert expand(r"\sigm(z)", defs) == r"\operatorname{sigm}(z)"
    assert expand(r"\xy", defs) == r"\xy"  # another control word, not \x
    assert expand(r"\x y", defs) == r"\delta y"


def test_a_claim_sees_the_definitions_before_it():
    text = r"\newcommand{\q}{a}" + "\n" + r"\renewcommand{\q}{b}"
    macros, _ = collect(text)
    assert macros.expand(r"\q", text.index("\n")) == "a"
    assert macros.expand(r"\q", len(text)) == "b"


@pytest.mark.parametrize(
    "definition",
    [r"\def\a{\a\a}", r"\newcommand{\a}{x\a}", r"\def\a{\b}\def\b{\a}"],
)
def test_recursive_macros_fail_fast(definition):
    macros, _ = collect(definition)
    start = time.perf_counter()
    with pytest.raises(MacroError, match="recursive macro"):
        macros.expand(r"\a = 1", len(definition))
    assert time.perf_counter() - start < 1.0


def test_missing_argument_is_an_error():
    macros, _ = collect(r"\newcommand{\f}[2]{#1#2}")
    with pytest.raises(MacroError, match="missing an argument"):
        macros.expand(r"\f{a}", 100)


def test_document_with_macros_is_graded():
    """Each claim as Nielsen's BP3/BP4 (checked at the layer level on a 2-3-4 net); the macro
    versions must get the verdicts the written-out versions get."""
    body = r"""\def\loop{\loop x}
\begin{document}
\begin{align}
\dd{C}{b^l_j} &= \x^l_j \label{bp3}\\
\dd{C}{\w{jk}} &= a^{l-1}_k \pair\x j^l \\
\dd{C}{\w{jk}} &= a^{l}_k \x^l_j \\
\loop &= 1
\end{align}
\renewcommand{\dd}[2]{\frac{\partial #2}{\partial #1}}
$\dd{b^l_j}{C} = \delta^l_j$
\end{document}
"""
    doc = PREAMBLE + body
    claims = extract_claims(doc)
    assert [c.line for c in claims] == [11, 12, 13, 14, 17]
    assert claims[0].text == r"\frac{\partial C}{\partial b^l_j} = \delta^l_j"
    spec = Path(__file__).resolve().parent.parent / "examples/claims/nielsen_2_3_4.toml"
    report = verify_document(load_spec(str(spec), level="layer"), doc)
    got = [(v.line, v.label, v.verdict) for v in report.verdicts]
    assert got == [
        (11, "bp3", "correct"),
        (12, None, "correct"),
        (13, None, "wrong"),  # a^l_k for a^{l-1}_k
        (14, None, "unreadable"),
        (17, None, "correct"),
    ]
    assert f"more than {MAX_EXPANSIONS} times" in report.verdicts[3].message


def test_hostile_definitions_stay_linear():
    from symbackprop.errors import InvalidInput
    from symbackprop.verify.document import extract_claims

    start = time.perf_counter()
    macros, _ = collect("\\def\\a{" * 50_000)  # every brace unclosed: one scan, then stop
    assert not macros
    assert time.perf_counter() - start < 2.0
    doc = (
        "\\documentclass{article}\n" + "\\def\\a{x}" * 10_001 + "\n\\begin{document}\\end{document}"
    )
    with pytest.raises(InvalidInput, match="more than 10000 macro definitions"):
        extract_claims(doc)
