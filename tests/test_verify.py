"""Tests for ``symbackprop verify``: the seeds' own derivations, rewritten and broken claims,
independent re-evaluation of every counterexample, and hostile input."""

from __future__ import annotations

import importlib
import json
import os
import re
import time
from pathlib import Path

import pytest
import sympy as sp

from symbackprop.cli.commands import main
from symbackprop.derivation.evaluate import evaluate
from symbackprop.derivation.unit import derive
from symbackprop.printers.printing import latex
from symbackprop.spec.load import load_spec
from symbackprop.verify import claimparse as cp
from symbackprop.verify.diagnose import notation_name
from symbackprop.verify.resolve import NetworkResolver

CLAIMS = Path(__file__).resolve().parent.parent / "examples" / "claims"
NIELSEN = str(CLAIMS / "nielsen_2_3_4.toml")
SEED_FILES = [
    ("mazur", "seed000_mazur.txt"),
    ("essa", "seed001_essa.txt"),
    ("jacobs", "seed003_jacobs.txt"),
    (NIELSEN, "seed004_nielsen.txt"),
]
_DERIVATIONS: dict[str, object] = {}


def derivation_of(spec: str):  # noqa: ANN201 - a Derivation, cached across tests
    if spec not in _DERIVATIONS:
        _DERIVATIONS[spec] = derive(load_spec(spec))
    return _DERIVATIONS[spec]


def run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001 - pytest fixture
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def verify_json(capsys, spec: str, path: str) -> tuple[int, list[dict]]:  # noqa: ANN001
    code, out, _ = run(capsys, "verify", spec, path, "--format", "json")
    return code, json.loads(out)


def expectations(path: Path) -> dict[int, str]:
    """``# expect: VERDICT`` comments: line number of the claim that follows -> verdict."""
    out, pending = {}, None
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = re.match(r"#\s*expect:\s*(\w+)", line)
        if m:
            pending = m.group(1)
        elif line.strip() and not line.lstrip().startswith(("#", "%")):
            assert pending, f"{path.name}:{n} has no '# expect:' line"
            out[n], pending = pending, None
    return out


# ----------------------------------------------------------------- independent evaluation
def oracle_values(spec: str, point: dict[str, str]) -> dict[sp.Symbol, sp.Expr]:
    """Every network quantity at ``point`` through derivation.evaluate (not verify's code);
    updated parameters and steps from the update rule written out here."""
    d = derivation_of(spec)
    net = d.network
    leaves = {s.name: s for s in (*net.inputs, *net.targets, *net.params, net.learning_rate)}
    values = {leaves[k]: sp.Rational(v) for k, v in point.items() if k in leaves}
    for s in leaves.values():
        values.setdefault(s, net.value_map.get(s, sp.Rational(1, 3)))
    worked = evaluate(d, values)
    env = dict(worked.all)
    sign = 1 if net.maximize else -1
    for p, g in worked.gradients.items():
        env[sp.Symbol(f"{p.name}+")] = values[p] + sign * values[net.learning_rate] * g
        env[sp.Symbol(f"Delta {p.name}")] = sign * values[net.learning_rate] * g
    return env


def side_value(spec: str, text: str, index: int, bindings: dict, point: dict) -> sp.Expr:
    claim = cp.parse_claim_line(text)
    resolver = NetworkResolver(derivation_of(spec))
    frees = {s: sp.Rational(point[k]) for k, s in resolver.free.items() if k in point}
    expr = cp.to_sympy(_joined(claim.sides[index]), resolver, bindings=bindings)
    frees.update({s: sp.Rational(point[k]) for k, s in resolver.free.items() if k in point})
    env = {**oracle_values(spec, point), **frees}
    return sp.N(expr.xreplace(env), 30)


def _joined(node: cp.Node) -> cp.Node:
    """``\\Delta w`` as one name, as verify reads it (a product Delta × w otherwise)."""
    if isinstance(node, cp.Mul) and node.factors[0] == cp.Name("Delta"):
        rest = node.factors[1]
        joined = cp.Name("Delta:" + rest.base, rest.sub, rest.sup)
        return joined if len(node.factors) == 2 else cp.Mul((joined, *node.factors[2:]))
    return node


def assert_counterexample(spec: str, verdict: dict) -> None:
    """Re-evaluate both sides of the reported link at the reported point: they must have the
    reported values, and they must differ."""
    c = verdict["counterexample"]
    net = derivation_of(spec).network
    leaves = (*net.inputs, *net.targets, *net.params, net.learning_rate)
    internal = {notation_name(s.name): s.name for s in leaves}
    internal.update({latex(s, net.notation): s.name for s in leaves})  # reported in the notation
    point = {internal.get(k, k): v for k, v in c["point"].items()}
    if c["at"] == "example":
        point = {s.name: str(v) for s, v in derivation_of(spec).network.value_map.items()}
    text = verdict["text"]
    text = re.sub(r"^\s*\[[^\]]*\]\s*", "", text)
    k = c["link"]
    lhs = side_value(spec, text, k - 1, c["bindings"], point)
    rhs = side_value(spec, text, k, c["bindings"], point)
    assert abs(lhs - sp.Float(c["lhs"])) <= 1e-8 * max(1, abs(lhs)), (verdict, lhs)
    assert abs(rhs - sp.Float(c["rhs"])) <= 1e-8 * max(1, abs(rhs)), (verdict, rhs)
    assert abs(lhs - rhs) > 1e-9 * max(1, abs(lhs))


# --------------------------------------------------------------------------- seed files
@pytest.mark.parametrize(("spec", "name"), SEED_FILES)
def test_seed_claims_get_the_expected_verdicts(capsys, spec: str, name: str) -> None:
    path = CLAIMS / name
    expected = expectations(path)
    code, verdicts = verify_json(capsys, spec, str(path))
    got = {v["line"]: v["verdict"] for v in verdicts}
    assert got == expected
    assert code == (3 if "wrong" in expected.values() else 0)
    for v in verdicts:
        if v["verdict"] == "wrong":
            assert v["correct"] and v["counterexample"] and v["message"]
            if "(t" not in v["text"]:  # the oracle here has no optimizer state (Δw(t))
                assert_counterexample(spec, v)


def test_seed000_slips_name_the_right_value_and_factor(capsys) -> None:  # noqa: ANN001
    _, verdicts = verify_json(capsys, "mazur", str(CLAIMS / "seed000_mazur.txt"))
    by_label = {v["label"]: v for v in verdicts}
    assert by_label["eq15"]["factor"].startswith("sign")
    assert "net_{o1} where net_{o2}" in by_label["eq18"]["factor"]
    assert by_label["eq19"]["correct"] == "-0.03809823074"
    assert "net_{h1} = 0.3775" in by_label["eq3"]["factor"]  # as Mazur's notation writes it
    assert "\\partial w_{8}} = -0.02274024222" in by_label["eq22d"]["factor"]
    assert (
        "the value of \\frac{\\partial E_{total}}{\\partial w_{7}}" in by_label["eq22d"]["factor"]
    )
    assert "\\frac{\\partial E_{total}}{\\partial w_{2}}" in by_label["eq31b"]["factor"]
    assert "factor 10^-1" in by_label["eq28"]["factor"]
    assert "0.055395424 should be 0.05539942400" in by_label["eq24"]["factor"]


# ------------------------------------------------------------ rewritten and broken claims
CASES = [
    # (spec, claim, verdict, text the factor must contain)
    ("mazur", r"\sigma'(x) = \sigma(x)(1 - \sigma(x))", "correct", None),
    ("mazur", r"\sigma(x)(1 - \sigma(x)) = \frac{e^{-x}}{(1 + e^{-x})^2}", "correct", None),
    ("mazur", "out_o1*(1 - out_o1) = exp(-net_o1)/(1 + exp(-net_o1))^2", "correct", None),
    ("mazur", r"\delta_{o1} = (out_{o1} - target_{o1}) out_{o1} (1 - out_{o1})", "correct", None),
    ("mazur", r"\frac{\partial E}{\partial w_1} = \delta_{h1} i_1", "correct", None),
    ("mazur", "dE/dw1 = (delta_o1*w5 + delta_o2*w7)*out_h1*(1 - out_h1)*i1", "correct", None),
    (
        "mazur",
        r"\frac{\partial E_{total}}{\partial b_1} = \delta_{h1} + \delta_{h2}",
        "correct",
        None,
    ),
    (
        "mazur",
        r"\frac{\partial out_{h1}}{\partial net_{h1}} = out_{h1}(1 - out_{h1})",
        "correct",
        None,
    ),
    ("mazur", r"w_5^+ = w_5 - \eta \delta_{o1} out_{h1}", "correct", None),
    ("mazur", r"\delta_{o1} = 0.13849856", "correct", None),
    ("mazur", r"\delta_{o2} = -0.0381", "correct", None),
    # broken
    ("mazur", r"\delta_{o1} = (target_{o1} - out_{o1}) out_{o1} (1 - out_{o1})", "wrong", "sign"),
    ("mazur", r"\delta_{h1} = (\delta_{o1} w_5 + \delta_{o2} w_6) out_{h1}(1 - out_{h1})", "wrong",
     "w_6 where w_7"),  # fmt: skip
    ("mazur", r"\delta_{h1} = (\delta_{o1} w_5 + \delta_{o2} w_7)", "wrong", "missing factor"),
    ("mazur", r"\delta_{h1} = \delta_{o1} w_5 out_{h1}(1 - out_{h1})", "wrong", "missing sum term"),
    ("mazur", r"\frac{\partial E}{\partial w_5} = 2 \delta_{o1} out_{h1}", "wrong", "factor 2"),
    ("mazur", r"\delta_{o1} = 0.1385", "correct", None),
    ("mazur", r"\delta_{o1} = 0.1386", "wrong", None),
    ("mazur", r"\sigma'(x) = \sigma(x)(1 + \sigma(x))", "wrong", None),
    (NIELSEN, r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l)", "correct", None),
    (NIELSEN, r"\delta^l = (w^{l+1} \delta^{l+1}) \odot \sigma'(z^l)", "wrong",
     "missing transpose: (w^{l+1})^T"),  # fmt: skip
    (NIELSEN, r"\delta^l = (((w^{l+1})^T)^T \delta^{l+1}) \odot \sigma'(z^l)", "wrong",
     "extra transpose"),  # fmt: skip
    (NIELSEN, r"\delta_j^l = \sum_k w_{jk}^{l+1} \delta_k^{l+1} \sigma'(z_j^l)", "wrong", None),
    (NIELSEN, r"\frac{\partial C}{\partial w_{jk}^l} = a_j^{l-1} \delta_k^l", "wrong", None),
    ("essa", r"\delta_j = y_j(1 - y_j) \sum_k W_{jk} \delta_k", "correct", None),
    ("essa", r"\delta_j = \sum_k W_{jk} \delta_k", "wrong", "missing factor f'(x_"),
    ("essa", r"\delta_j = y_j \sum_k W_{jk} \delta_k", "wrong", "missing"),
]


@pytest.mark.parametrize(("spec", "claim", "verdict", "factor"), CASES)
def test_claim_verdicts(capsys, tmp_path, spec, claim, verdict, factor) -> None:  # noqa: ANN001
    path = tmp_path / "claims.txt"
    path.write_text(claim + "\n", encoding="utf-8")
    code, [v] = verify_json(capsys, spec, str(path))
    assert v["verdict"] == verdict, v
    assert code == {"correct": 0, "wrong": 3, "unreadable": 2}[verdict]
    if verdict == "unreadable":
        assert factor in v["message"]
        return
    if verdict == "wrong":
        if v["method"] == "shapes":  # no value to compare: the arrays do not fit
            assert "shapes do not fit" in v["message"] and not v["counterexample"]
        else:
            assert_counterexample(spec, v)
        if factor:
            assert factor in (v["factor"] or ""), v
    else:
        assert v["method"]


def test_methods_are_reported(capsys, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "c.txt"
    path.write_text(
        "dE/dw5 = delta_o1*out_h1\n"
        r"\sigma(x)(1 - \sigma(x)) = \frac{e^{-x}}{(1 + e^{-x})^2}" "\n"
        "delta_o1 = 0.13849856\n",
        encoding="utf-8",
    )  # fmt: skip
    code, out, _ = run(capsys, "verify", "mazur", str(path))
    assert code == 0
    assert "line 1: correct (symbolic)" in out
    assert "line 3: correct (numeric at the example)" in out
    assert "3 claims: 3 correct, 0 wrong, 0 unreadable" in out


def test_unreadable_claim_names_the_column(capsys, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "c.txt"
    path.write_text("dE/dw5 = delta_o1*out_h1\nx = (y\n", encoding="utf-8")
    code, verdicts = verify_json(capsys, "mazur", str(path))
    assert code == 2
    assert verdicts[1]["verdict"] == "unreadable" and "col 5" in verdicts[1]["message"]


def test_claims_from_stdin(capsys, monkeypatch) -> None:  # noqa: ANN001
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("dE/dw5 = delta_o1*out_h1\n"))
    code, out, _ = run(capsys, "verify", "mazur", "-")
    assert code == 0 and "correct" in out


# ------------------------------------------------------------------------------ hostile
HOSTILE = [
    r"\input{/etc/passwd} = 1",
    r"x = \write18{touch PWNED}",
    "__import__('os').system('touch PWNED') = 1",
    "x = 9^{9^{9^9}}",
    "x = 9**9**9",
    r"\text{softmax}(z) = 1",
    "x = " + "(" * 500_000 + ")" * 500_000,
    "x = " + r"\sum_k " * 60 + "y_k",
    "x = " + "((1.5^{64})^{64})" + "^{64}" * 3,
]


@pytest.mark.parametrize("claim", HOSTILE, ids=lambda c: c[:20])
def test_hostile_claims_exit_2_fast_and_touch_nothing(
    capsys, tmp_path, claim
) -> None:  # noqa: ANN001
    path = tmp_path / "claims.txt"
    path.write_text(claim + "\n", encoding="utf-8")
    before = sorted(os.listdir(tmp_path)), sorted(os.listdir("."))
    importlib.import_module("symbackprop.verify.run")  # once per process: not the claim's cost
    # this process's CPU time: the work the claim costs, not waits for a shared core
    start = time.process_time()
    code, _, _ = run(capsys, "verify", "mazur", str(path))
    seconds = time.process_time() - start
    assert seconds < 1.0
    assert code == 2
    assert (sorted(os.listdir(tmp_path)), sorted(os.listdir("."))) == before
    assert not Path("PWNED").exists()


def test_one_megabyte_of_brackets_is_refused(capsys, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "claims.txt"
    path.write_text("(" * 1_048_576, encoding="utf-8")
    start = time.perf_counter()
    code, _, err = run(capsys, "verify", "mazur", str(path))
    assert code == 2 and "larger than" in err
    assert time.perf_counter() - start < 1.0


def test_missing_claims_file_and_non_utf8(capsys, tmp_path) -> None:  # noqa: ANN001
    code, _, err = run(capsys, "verify", "mazur", str(tmp_path / "nope.txt"))
    assert code == 2 and "not found" in err
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"x = \xff\n")
    code, _, err = run(capsys, "verify", "mazur", str(bad))
    assert code == 2 and "UTF-8" in err
