"""``symbackprop verify`` on layer-level nets: BP1–BP4 in index and vectorised form, for every
layer and unit, the slips it names, and verify on every built-in example through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from clirun import run

from symbackprop.errors import EXIT_CLAIM_WRONG, EXIT_INVALID, EXIT_OK
from symbackprop.spec.load import load_spec
from symbackprop.verify import layer_values
from symbackprop.verify.claimparse import parse_claim_line
from symbackprop.verify.layer import LayerChecker, Wrong
from symbackprop.verify.run import check_layer_claim

CLAIMS = Path(__file__).resolve().parent.parent / "examples" / "claims"
_CHECKERS: dict[str, LayerChecker] = {}


def checker(spec: str) -> LayerChecker:
    if spec not in _CHECKERS:
        _CHECKERS[spec] = LayerChecker(load_spec(spec))
    return _CHECKERS[spec]


def verdict(spec: str, text: str):  # noqa: ANN201 - a Verdict
    return check_layer_claim(checker(spec), parse_claim_line(text))


def expectations(path: Path) -> dict[int, str]:
    out, pending = {}, None
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = re.match(r"%\s*expect:\s*(\w+)", line)
        if m:
            pending = m.group(1)
        elif line.strip() and not line.lstrip().startswith(("#", "%")):
            assert pending, f"{path.name}:{n} has no '% expect:' line"
            out[n], pending = pending, None
    return out


@pytest.mark.parametrize("spec,name", [("nielsen", "nielsen_bp.tex"), ("digits", "digits_bp.tex")])
def test_claim_files(capsys, spec, name):
    path = CLAIMS / name
    code, out, err = run(capsys, "verify", spec, str(path), "--format", "json")
    verdicts = {v["line"]: v for v in json.loads(out)}
    expected = expectations(path)
    assert {n: v["verdict"] for n, v in verdicts.items()} == expected
    assert code == (EXIT_CLAIM_WRONG if "wrong" in expected.values() else EXIT_OK)
    for v in verdicts.values():
        assert "__" not in json.dumps(v), v
        if v["verdict"] == "wrong":
            assert v["message"] and (v["factor"] or v["counterexample"]), v


NIELSEN_TRUE = [
    r"\frac{\partial C}{\partial b^l_j} = \delta^l_j",
    r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j",
    r"\delta^L_j = \frac{\partial C}{\partial a^L_j} \sigma'(z^L_j)",
    r"\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k \sigma'(z^l_j)",
    r"z^l_j = \sum_k w^l_{jk} a^{l-1}_k + b^l_j",
    r"a^l_j = \sigma(z^l_j)",
    r"\delta^3_3 = \frac{\partial C}{\partial a^3_3} \sigma'(z^3_3)",
    r"\frac{\partial C}{\partial w^2_{14,1}} = a^1_1 \delta^2_{14}",
    r"\delta^L = \nabla_a C \odot \sigma'(z^L)",
    r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l)",
    r"\frac{\partial C}{\partial b^l} = \delta^l",
    r"\frac{\partial C}{\partial w^l} = \delta^l (a^{l-1})^T",
    r"a^l = \sigma(w^l a^{l-1} + b^l)",
    r"\frac{\partial z^l_j}{\partial w^l_{jk}} = a^{l-1}_k",
    r"\frac{\partial z^{l+1}_k}{\partial z^l_j} = w^{l+1}_{kj} \sigma'(z^l_j)",
    r"\frac{\partial a^L}{\partial z^L} = \sigma'(z^L)",
]


@pytest.mark.parametrize("text", NIELSEN_TRUE)
def test_nielsen_true_claims(text):
    v = verdict("nielsen", text)
    assert v.verdict == "correct", v.message


def test_every_instance_is_counted():
    # BP4 over both layers of 784-30-10 (2 and 3: a^1 = x): 30·784 + 10·30 weights, none
    # sampled away.
    v = verdict("nielsen", r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j")
    assert v.message.startswith(f"{30 * 784 + 10 * 30} instances checked for l = 2, 3")
    v = verdict("nielsen", r"\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k \sigma'(z^l_j)")
    assert "30 instances checked for l = 2" in v.message


def test_one_bad_instance_is_found(monkeypatch):
    """A derivation wrong in the very last weight only is caught: nothing is sampled."""
    real = layer_values.compute

    def broken(net, **kw):  # noqa: ANN001, ANN003
        v = real(net, **kw, cross_check=False)
        v.gW[1] = v.gW[1].copy()
        v.gW[1][1, 29, 783] += 1e-6
        return v

    monkeypatch.setattr("symbackprop.verify.layer.compute", broken)
    ck = LayerChecker(load_spec("nielsen"))
    claim = parse_claim_line(r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j")
    with pytest.raises(Wrong) as err:
        ck.check(claim.sides)
    assert err.value.bindings == {"l": 2, "j": 30, "k": 784}  # the handout's layer 2: W1
    assert "w^{2}_{30,784}" in err.value.message


def test_gradients_match_finite_differences():
    """An oracle independent of the derivation: central differences of C itself."""
    net = load_spec("digits")
    v = layer_values.compute(net, points=1)
    d = v.derivation
    from symbackprop.check.layer import random_point  # the same point again

    params, x, t = random_point(net, np.random.default_rng(0), batch=1)

    def cost(p):  # noqa: ANN001, ANN202
        a = x[0]
        for layer in (1, 2):
            zz = p[f"W{layer}"] @ a + p[f"b{layer}"]
            a = np.tanh(zz) if layer == 1 else np.exp(zz - zz.max()) / np.exp(zz - zz.max()).sum()
        lam = net.weight_decay
        return -np.sum(t[0] * np.log(a)) + lam / 2 * sum(np.sum(p[f"W{n}"] ** 2) for n in (1, 2))

    assert np.isclose(cost(params), v.C[0], rtol=1e-12)
    rng = np.random.default_rng(5)
    for name, store in (("W1", v.gW[1]), ("W2", v.gW[2]), ("b1", v.gb[1]), ("b2", v.gb[2])):
        for _ in range(5):
            ix = tuple(int(rng.integers(s)) for s in params[name].shape)
            h = 1e-6
            up = {k: a.copy() for k, a in params.items()}
            dn = {k: a.copy() for k, a in params.items()}
            up[name][ix] += h
            dn[name][ix] -= h
            fd = (cost(up) - cost(dn)) / (2 * h)
            assert abs(fd - store[0][ix]) < 1e-7, (name, ix)
    assert d.output.fused


@pytest.mark.parametrize(
    "text,reason",
    [
        (r"\delta^l_j = -\sum_k w^{l+1}_{kj} \delta^{l+1}_k \sigma'(z^l_j)", "sign"),
        (r"\delta^l = (w^{l+1} \delta^{l+1}) \odot \sigma'(z^l)", "missing transpose"),
        (
            r"\delta^l_j = \sum_k w^{l+1}_{jk} \delta^{l+1}_k \sigma'(z^l_j)",
            "swapped index pair: w^{l+1}_{jk} where w^{l+1}_{kj} is meant",
        ),
        (
            r"\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l}_k \sigma'(z^l_j)",
            "wrong layer: \\delta^{l}_{k} where \\delta^{l+1}_{k} is meant",
        ),
        (r"\frac{\partial C}{\partial b^l_j} = 2 \delta^l_j", "factor 2"),
    ],
)
def test_nielsen_slips_are_named(text, reason):
    v = verdict("nielsen", text)
    assert v.verdict == "wrong"
    assert reason in (v.factor or ""), (v.message, v.factor)
    assert "__" not in v.message + (v.factor or "")


def test_missing_transpose_message_gives_shapes():
    v = verdict("nielsen", r"\delta^l = (w^{l+1} \delta^{l+1}) \odot \sigma'(z^l)")
    assert "w^{3} (10×30) times \\delta^{3} (10×1)" in v.message


def test_wrong_in_a_square_net_is_found_by_value(tmp_path):
    """Equal widths: the swapped pair fits every range, so only the values tell."""
    spec = tmp_path / "sq.toml"
    spec.write_text(
        'name = "sq"\nnotation = "nielsen"\nlevel = "layer"\n[network]\ninputs = 3\n'
        'layers = [{ units = 3, activation = "softplus" }, { units = 3, activation = "sigmoid" },'
        ' { units = 2, activation = "sigmoid" }]\nloss = "bce"\n',
        encoding="utf-8",
    )
    net = load_spec(str(spec))
    ck = LayerChecker(net)
    good = r"\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k f'(z^l_j)"
    claim = parse_claim_line(good)
    assert check_layer_claim(ck, claim).verdict == "correct"
    bad = check_layer_claim(ck, parse_claim_line(good.replace("_{kj}", "_{jk}")))
    assert bad.verdict == "wrong"
    assert "swapped index pair" in (bad.factor or "")
    # sigmoid with binary cross-entropy: the output delta is a^L - y
    assert check_layer_claim(ck, parse_claim_line(r"\delta^L = a^L - y")).verdict == "correct"
    sig = check_layer_claim(ck, parse_claim_line(r"\delta^l = (w^{l+1})^T \delta^{l+1}"))
    assert sig.verdict == "wrong"


def test_unreadable_and_numeric_claims(capsys, tmp_path):
    path = tmp_path / "c.tex"
    path.write_text(
        "\\delta^5_1 = \\delta^5_1\n\\delta^3_3 = 0.25\nq^l_j = \\delta^l_j\n", encoding="utf-8"
    )
    code, out, err = run(capsys, "verify", "nielsen", str(path), "--format", "json")
    verdicts = json.loads(out)
    assert code == EXIT_INVALID
    assert [v["verdict"] for v in verdicts] == ["unreadable"] * 3
    assert "layers 2..3" in verdicts[0]["message"]
    assert "example values" in verdicts[1]["message"]
    assert "unknown symbol 'q^{l}_{j}'" in verdicts[2]["message"]


# One true and one wrong claim for every built-in example, through the CLI.
EXAMPLE_CLAIMS = {
    "nielsen": (
        r"\delta^l = ((w^{l+1})^T \delta^{l+1}) \odot \sigma'(z^l)",
        r"\delta^L = a^L - y",
    ),
    "digits": (
        r"\delta^L_j = a^L_j - y_j",
        r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j",
    ),
    "mazur": (
        r"net_{h1} = w_1 i_1 + w_2 i_2 + b_1",
        r"\delta_{o1} = (target_{o1} - out_{o1}) out_{o1} (1 - out_{o1})",
    ),
    "essa": (r"\delta_k = (y_k - t_k)y_k(1 - y_k)", r"\delta_k = (t_k - y_k)y_k(1 - y_k)"),
    "jacobs": (
        r"\frac{\partial \log L}{\partial y_i} = y^*_i - y_i",
        r"\frac{\partial \log L}{\partial y_i} = y_i - y^*_i",
    ),
    "hmkcode": ("prediction = h1 w5 + h2 w6", "prediction = h1 w6 + h2 w5"),
    "jacobs_softmax": (r"\delta^y_1 = y^*_1 - y_1", r"\delta^y_1 = y_1 - y^*_1"),
}


def test_every_example_is_covered(capsys):
    code, out, _ = run(capsys, "examples")
    assert code == 0
    names = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert names == set(EXAMPLE_CLAIMS)


@pytest.mark.parametrize("spec", sorted(EXAMPLE_CLAIMS))
def test_every_example_verifies(capsys, tmp_path, spec):
    good, bad = EXAMPLE_CLAIMS[spec]
    for text, expected, code_expected in ((good, "correct", EXIT_OK), (bad, "wrong", 3)):
        path = tmp_path / "c.tex"
        path.write_text(text + "\n", encoding="utf-8")
        code, out, err = run(capsys, "verify", spec, str(path), "--format", "json")
        assert code == code_expected, (spec, text, out, err)
        (v,) = json.loads(out)
        assert v["verdict"] == expected, v
        assert "__" not in json.dumps(v, ensure_ascii=False), v
        code, out, err = run(capsys, "verify", spec, str(path))
        assert code == code_expected and "Traceback" not in err
        assert "__" not in out


@pytest.mark.parametrize(
    "spec,name",
    [(str(CLAIMS / "nielsen_2_3_4.toml"), "seed004_nielsen.txt"), ("jacobs", "seed003_jacobs.txt")],
)
def test_unit_level_messages_use_the_notation(capsys, spec, name):
    """Unit-level verify names layered quantities as the notation writes them, in the text
    report and in every JSON field (counterexample points included)."""
    code, out, _ = run(capsys, "verify", spec, str(CLAIMS / name), "--format", "json")
    assert code == EXIT_CLAIM_WRONG
    verdicts = json.loads(out)
    assert any(v["verdict"] == "wrong" for v in verdicts)
    assert "__" not in out
    wrong = [v for v in verdicts if v["verdict"] == "wrong" and v["counterexample"]]
    assert any("^{" in k for v in wrong for k in v["counterexample"]["point"])
    code, out, _ = run(capsys, "verify", spec, str(CLAIMS / name))
    assert "__" not in out


def test_vectorised_wrong_claims_get_the_textbook_equation():
    v = verdict("nielsen", r"\delta^L = a^L - y")
    assert v.verdict == "wrong"
    assert v.factor == "missing factor \\sigma'(z^{L})"
    assert v.correct.startswith("\\delta^{3}_{j} = \\left(a^{3}_{j} - y_{j}\\right)")


def test_a_claim_too_large_to_evaluate_is_refused_not_crashed(capsys, tmp_path):
    path = tmp_path / "c.tex"
    path.write_text(
        "w^2_{jk} w^2_{mn} = w^2_{mn} w^2_{jk}\n"
        "\\frac{\\partial C}{\\partial y_j} = 1\n"
        "\\frac{\\partial z^l}{\\partial w^l} = 1\n"
        "\\frac{\\partial C}{\\partial b^l_j} = \\delta^l_j\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "verify", "nielsen", str(path), "--format", "json")
    verdicts = json.loads(out)
    assert code == EXIT_INVALID and "Traceback" not in err
    assert [v["verdict"] for v in verdicts] == ["undecided"] + ["unreadable"] * 2 + ["correct"]
    assert "over the limit" in verdicts[0]["message"]


def test_unit_level_never_cuts_instances_silently(capsys, tmp_path):
    """14 units: every instance is checked (there is no cap on unit numbers or instances)."""
    spec = tmp_path / "u.toml"
    spec.write_text(
        'name = "u"\nnotation = "nielsen"\nlevel = "unit"\n[network]\ninputs = 4\nlayers = [\n'
        '  { units = 5, activation = "sigmoid", bias = "unit" },\n'
        '  { units = 5, activation = "sigmoid", bias = "unit" },\n]\nloss = "half_sse"\n',
        encoding="utf-8",
    )
    claims = tmp_path / "c.tex"
    claims.write_text(
        "\\delta_j^3 = \\frac{\\partial C}{\\partial z_j^3}\n"
        "\\delta_1^3 = \\frac{\\partial C}{\\partial z_1^3}\n",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "verify", str(spec), str(claims), "--format", "json")
    verdicts = json.loads(out)
    assert code == EXIT_OK
    assert [v["verdict"] for v in verdicts] == ["correct", "correct"]
    assert "5 instances checked" in verdicts[0]["message"]
