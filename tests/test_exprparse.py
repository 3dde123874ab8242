"""The allow-listed expression parser: BAD_INPUTS.md rows 8-14 and the positive cases."""

from __future__ import annotations

import time

import pytest
import sympy

from symbackprop.errors import EXIT_INVALID, InvalidInput
from symbackprop.spec.exprparse import Limits, parse_expression

NAMES = "w w1 w2 i1 i2 b1 x y z t a b E I N S pi gamma beta".split()
SYMBOLS = {name: sympy.Symbol(name, real=True) for name in NAMES}
SIGMOID_CALLS: list[sympy.Expr] = []


def _sigmoid(z: sympy.Expr) -> sympy.Expr:
    SIGMOID_CALLS.append(z)
    return 1 / (1 + sympy.exp(-z))


FUNCTIONS = {"sigmoid": _sigmoid, "f": lambda *args: sympy.Add(*args), "exp": sympy.exp}


def parse(text: str, symbols=SYMBOLS, **kwargs) -> sympy.Expr:
    return parse_expression(text, symbols, FUNCTIONS, where="spec.toml:7", **kwargs)


def rejected(text: str, symbols=SYMBOLS, **kwargs) -> str:
    """Parse ``text``, require a clean InvalidInput in under a second, return its message."""
    start = time.perf_counter()
    with pytest.raises(InvalidInput) as info:
        parse(text, symbols, **kwargs)
    assert time.perf_counter() - start < 1.0
    assert info.value.exit_code == EXIT_INVALID
    message = str(info.value)
    assert message.startswith("spec.toml:7: ")
    return message


# --------------------------------------------------------------------------------------------
# positive cases

s = SYMBOLS

GOOD = [
    ("w1*i1 + w2*i2 + b1", s["w1"] * s["i1"] + s["w2"] * s["i2"] + s["b1"]),
    ("0.15", sympy.Rational(3, 20)),
    ("1e-3", sympy.Rational(1, 1000)),
    ("1_000.5", sympy.Rational(2001, 2)),
    ("x^2", s["x"] ** 2),
    ("x^2/2", s["x"] ** 2 / 2),  # '^' binds like '**', not like Python's XOR
    ("(t - a)^2/2", (s["t"] - s["a"]) ** 2 / 2),
    ("2^3^2", sympy.Integer(2) ** 9),  # right-associative
    ("-x^2", -(s["x"] ** 2)),
    ("x^-1 * 2^x", 2 ** s["x"] / s["x"]),
    ("x**2", s["x"] ** 2),
    ("-(t - y)**2/2", -((s["t"] - s["y"]) ** 2) / 2),
    ("+x - -y", s["x"] + s["y"]),
    ("a / b / x", s["a"] / (s["b"] * s["x"])),
    ("2**-1", sympy.Rational(1, 2)),
    ("x**(1/2)", sympy.sqrt(s["x"])),
    ("9**9", sympy.Integer(387420489)),
    ("2**64", sympy.Integer(2) ** 64),
    ("  x + 1", s["x"] + 1),  # leading indentation is not a syntax error
    ("(x +\n y)", s["x"] + s["y"]),
    ("f(x, y, 1)", s["x"] + s["y"] + 1),
    ("exp(-x)", sympy.exp(-s["x"])),
    (" + ".join(["x"] * 2000), 2000 * s["x"]),  # long chains are not "deep"
    ("(" * 150 + "x" + ")" * 150, s["x"]),
    ("x**(1/3) * (1 + x)**(y/3)", s["x"] ** sympy.Rational(1, 3) * (1 + s["x"]) ** (s["y"] / 3)),
    ("2**(x + 3)", 2 ** (s["x"] + 3)),
    ("exp(1/2) * sigmoid(0)", sympy.exp(sympy.Rational(1, 2)) / 2),
    ("(2*x)**64", 2**64 * s["x"] ** 64),
    ("10**(64/3)", 10**21 * sympy.Integer(10) ** sympy.Rational(1, 3)),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_parses_to_the_expected_expression(text, expected):
    result = parse(text)
    assert result == expected
    assert sympy.simplify(result - expected) == 0


def test_float_literal_is_exact_rational():
    result = parse("0.15")
    assert isinstance(result, sympy.Rational) and result == sympy.Rational(3, 20)
    assert not result.atoms(sympy.Float)


def test_sigmoid_calls_the_supplied_function():
    SIGMOID_CALLS.clear()
    result = parse("sigmoid(z)")
    assert SIGMOID_CALLS == [s["z"]]
    assert result == 1 / (1 + sympy.exp(-s["z"]))


# row 14: names with a special meaning in SymPy are plain symbols here
@pytest.mark.parametrize("name", ["E", "I", "N", "S", "gamma", "pi", "beta"])
def test_sympy_special_names_are_plain_symbols(name):
    assert parse(name) is SYMBOLS[name]


def test_sympy_special_names_together_stay_symbols():
    result = parse("E**x + I*N + S - gamma*pi/beta")
    for constant in (sympy.E, sympy.I, sympy.pi, sympy.EulerGamma):
        assert constant not in result.atoms()
    assert not result.has(sympy.I) and not result.has(sympy.exp(1))
    assert {SYMBOLS[n] for n in ["E", "I", "N", "S", "gamma", "pi", "beta", "x"]} == (
        result.free_symbols
    )


def test_undeclared_special_name_is_unknown():
    assert "unknown symbol 'pi'" in rejected("2*pi", symbols={"x": s["x"], "y": s["y"]})


# --------------------------------------------------------------------------------------------
# rows 8-10: code injection and forbidden syntax


def test_import_call_is_rejected_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = rejected("__import__('os').system('touch PWNED')")
    assert "col 1: call to '__import__' not allowed" in message
    assert "allowed functions: exp, f, sigmoid" in message
    assert not (tmp_path / "PWNED").exists()
    assert list(tmp_path.iterdir()) == []


FORBIDDEN = [
    # row 9
    ("().__class__.__bases__[0].__subclasses__()", "col 3: attribute access not allowed"),
    ("x.real", "col 2: attribute access not allowed"),
    ("a[0]", "col 2: subscript access not allowed"),
    ("sigmoid(x).func", "col 11: attribute access not allowed"),
    # row 10
    ("lambda x: x", "col 1: Lambda not allowed in expressions"),
    ("[x for x in y]", "col 1: ListComp"),
    ("(x for x in y)", "col 1: GeneratorExp"),
    ("f'{x}'", "col 1: JoinedStr (f-string) not allowed"),
    ("x if y else z", "col 1: IfExp (conditional expression) not allowed"),
    ("x; y", "col 4: Expr statement not allowed"),
    ("x = 1", "col 1: Assign statement not allowed"),
    ("import os", "col 1: Import statement not allowed"),
    ("f(x=1)", "col 3: keyword arguments not allowed"),
    ("f(**x)", "keyword arguments not allowed"),
    ("f(*x)", "col 3: Starred"),
    ("(y := 1)", "col 2: NamedExpr"),
    ("x < y", "col 1: Compare not allowed"),
    ("x and y", "col 1: BoolOp not allowed"),
    ("(x, y)", "col 1: Tuple not allowed"),
    ("{x: y}", "col 1: Dict not allowed"),
    ("x % 2", "col 3: operator '%' not allowed"),
    ("x // 2", "col 3: operator '//' not allowed"),
    ("x @ y", "col 3: operator '@' not allowed"),
    ("not x", "col 1: operator 'not' not allowed"),
    ("~x", "col 1: operator '~' not allowed"),
    ("'x'", "col 1: str literal not allowed"),
    ("b'x'", "col 1: bytes literal not allowed"),
    ("True", "col 1: bool literal not allowed"),
    ("None", "col 1: NoneType literal not allowed"),
    ("1j", "col 1: complex literal not allowed"),
    ("exit(1)", "call to 'exit' not allowed"),
    ("sigmoid(x)(y)", "only named functions can be called"),
    ("x +\n y.real", "syntax error at line 1, col 4"),
    ("x +* y", "syntax error at col"),
    ("x\0", "syntax error"),
    ("", "empty expression"),
    ("   ", "empty expression"),
]


@pytest.mark.parametrize(("text", "expected"), FORBIDDEN)
def test_forbidden_syntax_is_named_with_its_column(text, expected):
    assert expected in rejected(text)


@pytest.mark.parametrize("value", [None, 1.5, b"x", ["x"]])
def test_non_string_expression_is_rejected(value):
    with pytest.raises(InvalidInput, match="expression must be a string"):
        parse(value)


def test_function_without_call_is_an_error():
    assert "'sigmoid' is a function: call it as sigmoid(...)" in rejected("2*sigmoid")


def test_wrong_number_of_arguments_is_clean():
    assert "bad arguments to 'sigmoid'" in rejected("sigmoid(x, y)")


def test_non_ascii_expression_is_rejected():
    assert "col 3: expressions must be ASCII: U+03B4" in rejected("x*\u03b4")
    assert "expressions must be ASCII" in rejected("\ufb01le")  # would NFKC-normalise to 'file'


# --------------------------------------------------------------------------------------------
# row 13: unknown symbols


def test_unknown_symbol_suggests_the_unused_declared_symbol():
    symbols = {name: s[name] for name in ["w", "x", "b"]}
    message = rejected("w*x + c", symbols=symbols)
    assert "col 7: unknown symbol 'c' (did you mean 'b'?)" in message


def test_unknown_symbol_suggests_a_close_name():
    assert "did you mean 'w1'?" in rejected("w11*i1 + w2*i2 + b1")


def test_unknown_symbol_lists_declared_symbols_otherwise():
    message = rejected("q", symbols={"x": s["x"], "y": s["y"]})
    assert "unknown symbol 'q' (declared symbols: x, y)" in message


def test_suggest_narrows_the_did_you_mean_candidates():
    # b and w are unused in this expression, but the spec says only b is unused anywhere.
    message = rejected("x*y + c", suggest=["b"])
    assert "unknown symbol 'c' (did you mean 'b'?)" in message


# --------------------------------------------------------------------------------------------
# rows 11-12: size, depth and number limits, each failing fast

LIMITS = [
    ("9**9**9", "exponent 387420489 too large (limit 64)"),
    ("10**1000000", "exponent 1000000 too large"),
    ("x**(2**100)", "exponent 100 too large"),
    ("(9**x)**(9**9)", "exponent 387420489 too large"),
    ("2**65", "exponent 65 too large"),
    ("10**30", "power too large: more than 30 digits"),
    ("(10**20*x)**3", "power too large"),
    ("(123456789012345678901234567891*100)**(1/2)", "power too large"),
    ("1" * 31, "integer literal too long (limit 30 digits)"),
    ("0x" + "f" * 5000, "integer literal too long"),
    ("1" * 5000, "integer literal too long"),  # Python refuses it first (4300 digits)
    ("1e999", "too large an exponent"),
    ("0." + "1" * 40, "too many digits"),
    ("factorial(10**6)", "call to 'factorial' not allowed"),
    ("x**0.01", "exponent 1/100: denominator over 64"),
    ("(x - 0.5)**(2 + 1e-30)", "denominator over 64"),
    ("2**(x + 100)", "exponent 100 too large"),  # SymPy may multiply out 2**100
    ("0.5**(9**9 + y)", "exponent 387420489 too large"),
    ("10**(x + 30)", "power too large"),
    ("exp(exp(123456789012345678901234567890))", "numeric argument 1 of 'exp' must be a rational"),
    ("x**(2**(1/2))", "numeric exponent must be a rational number"),
    ("(" * 100000, "expression too long: 100000 characters (limit 10000)"),
    ("-" * 100000 + "4", "expression too long: 100001 characters"),
    ("x+" * 500000 + "x", "expression too long: 1000001 characters"),
    ("(" * 5000 + "x" + ")" * 4999, "too deeply nested"),
    ("-" * 5000 + "4", "too deeply nested"),
    ("-" * 101 + "4", "expression too deeply nested"),
    ("x**" * 101 + "x", "expression too deeply nested"),
    ("f(" * 101 + "x" + ")" * 101, "expression too deeply nested"),
    ("+".join(["x"] * 4999), "too deeply nested or too long"),
    ("*".join(["x"] * 4000), "too deeply nested or too long"),
]


@pytest.mark.parametrize(("text", "expected"), LIMITS)
def test_limits_fail_fast_and_cleanly(text, expected):
    assert expected in rejected(text)


@pytest.mark.parametrize(
    "text",
    ["-" * 9000 + "4", "(" * 9000 + "x" + ")" * 9000, "x+" * 9000 + "x", "x**" * 9000 + "x"],
)
def test_parser_stack_limits_are_clean_even_with_a_larger_length_limit(text):
    message = rejected(text, limits=Limits(max_length=100_000))
    assert "too deeply nested" in message or "too large" in message


def test_node_limit():
    text = " + ".join(f"x*{i}" for i in range(100))
    assert "more than 50 nodes" in rejected(text, limits=Limits(max_nodes=50))


def test_many_terms_within_limits_are_fast():
    symbols = {f"v{i}": sympy.Symbol(f"v{i}", real=True) for i in range(600)}
    text = " + ".join(f"{i}*v{i}" for i in range(600))
    start = time.perf_counter()
    result = parse_expression(text, symbols, {})
    assert time.perf_counter() - start < 1.0
    assert len(result.args) == 599  # 0*v0 vanishes


# --------------------------------------------------------------------------------------------
# values that are undefined, infinite or not real

UNDEFINED = [
    ("1/0", "col 2: division by zero"),
    ("x/(y - y)", "division by zero"),
    ("0**-1", "division by zero"),
    ("(-1)**0.5", "is not real"),
    ("(-8)**(1/3)", "is not real"),
    ("2**sigmoid(1)", "numeric exponent must be a rational number"),
]


@pytest.mark.parametrize(("text", "expected"), UNDEFINED)
def test_undefined_values_are_rejected(text, expected):
    assert expected in rejected(text)


def test_function_results_are_checked():
    functions = {"log": sympy.log}
    with pytest.raises(InvalidInput, match="undefined or infinite"):
        parse_expression("log(0)", {}, functions)
    with pytest.raises(InvalidInput, match="not real"):
        parse_expression("log(-1)", {}, functions)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x ^^ 2", "syntax error at col 4"),  # columns count the user's '^', not '**'
        ("x^2 + y^2 + a.real", "col 14: attribute access not allowed"),
        ("x^2 + 9^60", "col 8: power too large"),
        ("y^2 + x^(1/0)", "col 11: division by zero"),
    ],
)
def test_caret_keeps_columns_of_the_original_text(text, expected):
    assert expected in rejected(text)


def test_messages_never_print_huge_numbers():
    # str() of a huge int raises in Python >= 3.11, and printing SymPy sums evaluates them.
    text = "*".join(["123456789012345678901234567890"] * 300)
    message = rejected(f"x**({text})")
    assert "exponent (huge) too large" in message and len(message) < 300
