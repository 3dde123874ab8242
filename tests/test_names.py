"""Name validation: BAD_INPUTS.md rows 15-18 and the naming rule of DESIGN.md."""

from __future__ import annotations

import keyword

import pytest

from symbackprop.errors import EXIT_INVALID, InvalidInput
from symbackprop.model.names import MAX_NAME_LENGTH, RESERVED, check_unique, validate_name

# --------------------------------------------------------------------------------------------
# accepted names

GOOD = [
    "w1",
    "x",
    "t",
    "lr",
    "loss",
    "net_h1",
    "out_o2",
    "delta_2",
    "w__h_11",  # SymPy superscript form: w^{h}_{11}
    "delta__2_j",
    "E",
    "I",
    "N",
    "S",
    "pi",
    "gamma",
    "beta",
    "Print",  # reserved names are case-sensitive, like Python itself
    "a" * MAX_NAME_LENGTH,
    "W1",
]


@pytest.mark.parametrize("name", GOOD)
def test_valid_names_are_returned_unchanged(name):
    assert validate_name(name) == name


# --------------------------------------------------------------------------------------------
# row 15: reserved names

RESERVED_EXAMPLES = [
    "class",
    "lambda",
    "match",
    "print",
    "np",
    "numpy",
    "self",
    "grads",
    "None",
    "True",
    "case",
    "eval",
    "exec",
    "open",
    "__import__",
    "math",
    "cls",
    "params",
    "state",
    "forward",
    "gradients",
    "sgd_step",
    "init_params",
    "loss_value",
    "check_inputs",
    "EXAMPLE_X",
    "EXAMPLE_T",
    "license",  # added by site; reserved even under `python -S`
]


@pytest.mark.parametrize("name", [n for n in RESERVED_EXAMPLES if not n.startswith("_")])
def test_reserved_names_are_rejected(name):
    assert name in RESERVED
    with pytest.raises(InvalidInput) as info:
        validate_name(name, where="spec.toml:4")
    assert f"'{name}' is a reserved name" in str(info.value)
    assert str(info.value).startswith("spec.toml:4: ")
    assert info.value.exit_code == EXIT_INVALID


def test_reserved_contains_all_keywords_and_soft_keywords():
    assert set(keyword.kwlist) <= RESERVED
    assert set(keyword.softkwlist) <= RESERVED


@pytest.mark.parametrize("name", ["x", "t", "lr", "loss", "batch", "n", "dtype"])
def test_template_names_with_prefixes_are_not_reserved(name):
    assert name not in RESERVED


# --------------------------------------------------------------------------------------------
# row 16: not an identifier, underscores, length

BAD_SHAPE = [
    ("x-y", "names are ASCII identifiers"),
    ("a.b", "names are ASCII identifiers"),
    ("1abc", "names are ASCII identifiers"),
    ("w 1", "names are ASCII identifiers"),
    ("", "names are ASCII identifiers"),
    ("a" * 200, "(200 characters)"),
    ("a" * (MAX_NAME_LENGTH + 1), "at most 64"),
    ("__init__", "may not start with '_'"),
    ("_w", "may not start with '_'"),
    ("_", "may not start with '_'"),
    ("w__", "'__' may appear once"),
    ("w__h__1", "'__' may appear once"),
    ("w___h", "'__' may appear once"),
    ("x\n", "names are ASCII identifiers"),
    ("x\x00", "names are ASCII identifiers"),
    ("$x", "names are ASCII identifiers"),
]


@pytest.mark.parametrize(("name", "expected"), BAD_SHAPE)
def test_malformed_names_state_the_rule(name, expected):
    with pytest.raises(InvalidInput) as info:
        validate_name(name, what="parameter name")
    assert expected in str(info.value)
    assert info.value.exit_code == EXIT_INVALID


def test_rule_message_for_x_minus_y():
    with pytest.raises(InvalidInput) as info:
        validate_name("x-y")
    assert str(info.value) == (
        "invalid name 'x-y': names are ASCII identifiers: a letter, then letters, digits or '_' "
        "(at most 64)"
    )


def test_control_characters_are_escaped_in_the_message():
    with pytest.raises(InvalidInput) as info:
        validate_name("x\n\x1b[31m")
    assert "\n" not in str(info.value) and "\x1b" not in str(info.value)


@pytest.mark.parametrize("value", [None, 1, 1.5, b"w1", ["w1"]])
def test_non_strings_are_rejected(value):
    with pytest.raises(InvalidInput, match="must be a string"):
        validate_name(value)


# --------------------------------------------------------------------------------------------
# row 17: non-ASCII, NFKC look-alikes, bidi controls

NON_ASCII = [
    "\ufb01le",  # 'ﬁle': NFKC turns the ligature into 'fi'
    "\uff21\uff22",  # 'ＡＢ': fullwidth letters
    "\u03b4",  # 'δ'
    "w\u202e1",  # RTL override
    "w1\u200b",  # zero-width space
    "x\u2212y",  # minus sign
]


@pytest.mark.parametrize("name", NON_ASCII)
def test_non_ascii_names_are_rejected(name):
    with pytest.raises(InvalidInput) as info:
        validate_name(name)
    message = str(info.value)
    assert "names must be ASCII" in message
    assert "\u202e" not in message and "\u200b" not in message  # never echo invisible text


def test_greek_letter_message_names_the_character():
    with pytest.raises(InvalidInput) as info:
        validate_name("\u03b4")
    assert "names must be ASCII: '\u03b4'" in str(info.value)
    assert "GREEK SMALL LETTER DELTA" in str(info.value)


# --------------------------------------------------------------------------------------------
# row 18: duplicates


def test_case_folded_duplicates_name_both_definitions():
    entries = [
        ("W1", "input 'W1' (spec.toml line 3)"),
        ("w2", "parameter 'w2' (spec.toml line 5)"),
        ("w1", "parameter 'w1' (spec.toml line 4)"),
    ]
    with pytest.raises(InvalidInput) as info:
        check_unique(entries)
    message = str(info.value)
    assert message.startswith("duplicate name 'W1': ")
    assert "input 'W1' (spec.toml line 3)" in message
    assert "parameter 'w1' (spec.toml line 4)" in message
    assert "ignoring case" in message
    assert info.value.exit_code == EXIT_INVALID


@pytest.mark.parametrize(
    "entries",
    [
        [("h1", "node 'h1' (line 3)"), ("h1", "node 'h1' (line 7)")],
        [("hidden", "layer 'hidden' (line 2)"), ("hidden", "parameter 'hidden' (line 9)")],
        [("con", "node 'con' (line 2)"), ("CON", "input 'CON' (line 4)")],
    ],
)
def test_exact_duplicates_name_both_definitions(entries):
    with pytest.raises(InvalidInput) as info:
        check_unique(entries)
    assert entries[0][1] in str(info.value) and entries[1][1] in str(info.value)


def test_unique_names_pass_and_generators_are_accepted():
    check_unique([])
    check_unique((name, f"node '{name}'") for name in ["w1", "w2", "w__h_11", "w_h_11"])
