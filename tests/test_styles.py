"""Document styles (handout.styles): chosen by spec, option or notation, checked, and laid out.

What each style adds is tested in its own file (tests/test_style_<name>.py); here: the choice
and its errors, and that each style's sections at each level are templates that exist.
"""

from __future__ import annotations

import re

import pytest

import symbackprop as sbp
from symbackprop.errors import InvalidInput
from symbackprop.handout import styles
from symbackprop.output.render import TEMPLATES_DIR
from tests.clirun import one_line_error, run


@pytest.mark.parametrize("name", styles.NAMES)
def test_each_style_is_its_module_and_its_sections_are_templates(name):
    style = styles.style_named(name)
    assert style.name == name
    for level in ("unit", "layer"):
        sections = style.sections(level)
        assert sections, (name, level)
        for section in sections:
            assert (TEMPLATES_DIR / "latex" / "sections" / f"{section}.tex.jinja").is_file()
    assert set(style.builders) <= set(style.unit) | set(style.layer)


@pytest.mark.parametrize(
    ("notation", "level", "expected"),
    [
        ("mazur", "unit", "mazur"),
        ("essa", "unit", "fausett"),
        ("hmkcode", "unit", "hmkcode"),
        ("jacobs", "unit", "jacobs"),
        ("nielsen", "unit", "nielsen"),
        ("plain", "unit", "mazur"),
        ("plain", "layer", "nielsen"),
    ],
)
def test_default_style_follows_the_notations_lecture(notation, level, expected):
    assert styles.choose_style(level, notation).name == expected
    assert styles.choose_style(level, notation, "jacobs").name == "jacobs"


def _section_titles(tex: str) -> list[str]:
    return re.findall(r"\\section\*\{([^}]*)\}", tex)


def test_spec_style_and_option_choose_the_document(tmp_path, capsys):
    """The same net in two styles: the spec's key, the option over it, the API the same."""
    spec = tmp_path / "net.toml"
    body = """name = "net"
notation = "mazur"
style = "STYLE"
[network]
inputs = 2
layers = [{ units = 2, activation = "sigmoid" }, { units = 1, activation = "sigmoid" }]
"""
    spec.write_text(body.replace("STYLE", "nielsen"))
    code, _, err = run(capsys, "handout", str(spec), "-o", str(tmp_path / "a.tex"), "--no-pdf")
    assert code == 0, err
    by_spec = (tmp_path / "a.tex").read_text()
    code, _, err = run(
        capsys,
        "handout",
        str(spec),
        "-o",
        str(tmp_path / "b.tex"),
        "--no-pdf",
        "--style",
        "nielsen",
    )
    assert code == 0, err
    assert (tmp_path / "b.tex").read_text() == by_spec
    d = sbp.derive(sbp.load(spec))
    assert d.handout(source=str(spec), style="nielsen") in by_spec
    assert _section_titles(d.handout(style="nielsen")) == _section_titles(by_spec)


def test_unknown_style_is_one_line_exit_2(tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text('style = "fancy"\n[network]\ninputs = 1\nlayers = [{ units = 1 }]\n')
    code, _, err = run(capsys, "derive", str(spec))
    assert code == 2
    line = one_line_error(err)
    assert "unknown style 'fancy'" in line and "mazur" in line and "nielsen" in line
    code, _, err = run(capsys, "handout", "mazur", "--style", "fancy", "--no-pdf")
    assert code == 2 and "fancy" in err and "Traceback" not in err
    with pytest.raises(InvalidInput, match="unknown style 'fancy'"):
        sbp.derive(sbp.example("mazur")).handout(style="fancy")


def test_a_6_6_6_net_fits_the_page_in_the_styles_with_the_largest_blocks(require_pdflatex):
    """The fausett style works momentum and Adagrad (a table of all 84 parameters, which must
    break across pages) and writes the error of 6 outputs (a long sum, broken across rows); a
    question handout's workspace for a 6-unit hidden δ is capped to fit a page."""
    from symbackprop.handout.latexrun import compile_with_log

    names = sbp.layered(6, [6, 6], notation="mazur", level="unit")
    leaves = list(names.inputs) + list(names.params) + list(names.targets)
    values = {str(s): round(((k * 37) % 19 - 9) / 10, 2) for k, s in enumerate(leaves)}
    d = sbp.derive(sbp.layered(6, [6, 6], notation="mazur", level="unit", values=values))
    for style, solutions in (("fausett", True), ("mazur", False)):
        tex = d.handout(style=style, show_solutions=solutions)
        assert (r"\begin{longtable}" in tex) == (style == "fausett")
        _, log = compile_with_log(tex)
        boxes = re.findall(r"(?:Overfull|Underfull) \\[hv]box \(([\d.]+)pt", log)
        assert [b for b in boxes if float(b) > 1] == [], (style, solutions)
