"""``verify`` is sound at every size: a claim is correct only when every instance its index
letters range over holds (no cap on unit numbers or instances), names of any number of digits
are read, and random true claims printed from the derivation are correct while single slips
in them (sign, swapped index pair, dropped term, wrong layer) are wrong."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from clirun import run

from symbackprop.derivation.unit import derive
from symbackprop.errors import EXIT_CLAIM_WRONG, EXIT_OK, EXIT_UNDECIDED, InvalidInput
from symbackprop.printers.printing import latex
from symbackprop.spec.load import load_spec
from symbackprop.verify import claimparse as cp
from symbackprop.verify.claimcheck import Checker
from symbackprop.verify.resolve import NetworkResolver
from symbackprop.verify.run import Verdict, check_claim, check_line, exit_code, verify_text


def nielsen_spec(path: Path, sizes: list[int], values: dict[str, float] | None = None) -> str:
    """A unit-level sigmoid net in Nielsen's notation with layer sizes ``sizes``."""
    layers = "".join(
        f'  {{ units = {n}, activation = "sigmoid", bias = "unit" }},\n' for n in sizes[1:]
    )
    text = (
        f'name = "n{"_".join(map(str, sizes))}"\nnotation = "nielsen"\nlevel = "unit"\n'
        f'[network]\ninputs = {sizes[0]}\nlayers = [\n{layers}]\nloss = "half_sse"\n'
    )
    if values is not None:
        text += "[values]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
    path.write_text(text, encoding="utf-8")
    return str(path)


def weight_name(layer: int, j: int, k: int) -> str:
    return f"w__{layer}_{j}{'_' if max(j, k) > 9 else ''}{k}"


def test_one_differing_weight_in_a_2_6_6_9_net_makes_the_claim_wrong(tmp_path, capsys):
    sizes = [2, 6, 6, 9]
    values: dict[str, float] = {f"x_{k}": 0.5 for k in (1, 2)}
    values.update({f"y_{j}": 0.5 for j in range(1, 10)})
    for layer in range(2, 5):
        for j in range(1, sizes[layer - 1] + 1):
            values[f"b__{layer}_{j}"] = 0.1
            for k in range(1, sizes[layer - 2] + 1):
                values[weight_name(layer, j, k)] = 0.1
    values[weight_name(4, 9, 6)] = 0.3
    spec = nielsen_spec(tmp_path / "n.toml", sizes, values)
    claims = tmp_path / "c.tex"
    claims.write_text("w^l_{jk} = 0.1\nw^2_{jk} = 0.1\n", encoding="utf-8")
    code, out, _ = run(capsys, "verify", spec, str(claims), "--format", "json")
    import json

    first, second = json.loads(out)
    assert code == EXIT_CLAIM_WRONG
    assert first["verdict"] == "wrong"
    assert first["counterexample"]["bindings"] == {"l": "4", "j": "9", "k": "6"}
    assert second["verdict"] == "correct" and "12 instances checked" in second["message"]


@pytest.fixture(scope="module")
def net_2_3_15(tmp_path_factory) -> Checker:
    spec = nielsen_spec(tmp_path_factory.mktemp("n") / "n.toml", [2, 3, 15])
    return Checker(NetworkResolver(derive(load_spec(spec))))


@pytest.mark.parametrize(
    "text",
    [
        r"\delta^l_j = \sum_k w^{l+1}_{kj} \delta^{l+1}_k \sigma'(z^l_j)",
        r"\delta^2_j = \sum_{k=1}^{15} w^{3}_{kj} \delta^{3}_k \sigma'(z^2_j)",
        r"\frac{\partial C}{\partial w^3_{14,1}} = a^2_1 \delta^3_{14}",
        r"\frac{\partial C}{\partial w^{3}_{14\,1}} = a^2_1 \delta^3_{14}",
        r"\frac{\partial C}{\partial w^{3}_{14 1}} = a^2_1 \delta^3_{14}",
        r"\frac{\partial C}{\partial w^{3}_{141}} = a^2_1 \delta^3_{14}",
        r"z^3_{15} = \sum_k w^3_{15,k} a^2_k + b^3_{15}",
        r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j",
    ],
)
def test_units_past_nine_are_named_and_summed(net_2_3_15: Checker, text: str):
    v = check_line(net_2_3_15, text)
    assert v.verdict == "correct", v


def test_a_sum_that_leaves_out_unit_15_is_wrong(net_2_3_15: Checker):
    v = check_line(
        net_2_3_15, r"\delta^2_1 = \sum_{k=1}^{14} w^{3}_{k1} \delta^{3}_k \sigma'(z^2_1)"
    )
    assert v.verdict == "wrong"
    assert "missing sum term" in (v.factor or "") and "15" in v.factor


def test_bp4_counts_every_weight(net_2_3_15: Checker):
    v = check_line(net_2_3_15, r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j")
    assert v.message == f"{2 * 3 + 3 * 15} instances checked"


def test_undecided_has_its_own_exit_code(monkeypatch, net_2_3_15: Checker):
    from symbackprop.verify import run as run_module

    monkeypatch.setattr(run_module, "MAX_ENUMERATION", 5)
    v = check_line(net_2_3_15, r"\frac{\partial C}{\partial w^l_{jk}} = a^{l-1}_k \delta^l_j")
    assert v.verdict == "undecided" and "combinations" in v.message
    assert exit_code([v]) == EXIT_UNDECIDED == 7
    ok = Verdict(1, None, "x", "correct")
    assert exit_code([ok]) == EXIT_OK
    assert exit_code([v, replace(ok, verdict="wrong")]) == EXIT_CLAIM_WRONG


# ------------------------------------------------------------------ random nets and claims
def _random_sizes(rng: random.Random) -> list[int]:
    """Depth 1-4, widths 1-20, at most 60 weights (so a unit-level derivation stays cheap)."""
    while True:
        depth = rng.randint(1, 4)
        sizes = [rng.randint(1, 20) for _ in range(depth + 1)]
        if sum(a * b for a, b in zip(sizes, sizes[1:])) <= 60:
            return sizes


def _true_claims(d, rng: random.Random, count: int) -> list[str]:
    notation = d.network.notation
    pool = [(f.symbol, f.expr) for f in d.forward] + [(x.symbol, x.expr) for x in d.deltas]
    claims = [f"{latex(s, notation)} = {latex(e, notation)}" for s, e in rng.sample(pool, count)]
    for g in rng.sample(list(d.gradients), min(count, len(d.gradients))):
        wrt = latex(g.param, notation)
        claims.append(rf"\frac{{\partial C}}{{\partial {wrt}}} = {latex(g.expr, notation)}")
    return claims


def _mutations(side: cp.Node, rng: random.Random) -> list[tuple[str, cp.Node]]:
    from symbackprop.verify.diagnose import _replace, _walk

    out: list[tuple[str, cp.Node]] = [("sign", cp.Neg(side))]
    nodes = list(dict.fromkeys(_walk(side)))
    names = [n for n in nodes if isinstance(n, cp.Name)]
    pairs = [n for n in names if n.sub and len(n.sub) == 2 and n.sub[0] != n.sub[1]]
    if pairs:
        n = rng.choice(pairs)
        out.append(("index swap", _replace(side, n, replace(n, sub=n.sub[::-1]))))
    adds = [n for n in nodes if isinstance(n, cp.Add)]
    if adds:
        add = rng.choice(adds)
        i = rng.randrange(len(add.terms))
        rest = add.terms[:i] + add.terms[i + 1 :]
        out.append(
            ("dropped term", _replace(side, add, rest[0] if len(rest) == 1 else cp.Add(rest)))
        )
    layered = [n for n in names if n.sup and n.sup.isdigit()]
    if layered:
        n = rng.choice(layered)
        out.append(("wrong layer", _replace(side, n, replace(n, sup=str(int(n.sup) + 1)))))
    return out


@pytest.mark.parametrize("seed", [4, 5])
def test_random_true_claims_are_correct_and_single_slips_wrong(tmp_path, seed: int):
    rng = random.Random(seed)
    sizes = _random_sizes(rng)
    d = derive(load_spec(nielsen_spec(tmp_path / "r.toml", sizes)))
    claims = _true_claims(d, rng, 3)
    verdicts = verify_text(d, "\n".join(claims))
    assert [v.verdict for v in verdicts] == ["correct"] * len(claims), (sizes, verdicts)
    checker = Checker(NetworkResolver(d))
    wrong = 0
    for text in claims:
        claim = cp.parse_claim_line(text)
        for kind, side in _mutations(claim.sides[1], rng):
            mutated = replace(claim, sides=(claim.sides[0], side))
            try:
                verdict = check_claim(checker, mutated, "<mutation>")
            except InvalidInput:  # a shifted layer that does not exist: nothing to check
                continue
            assert verdict.verdict == "wrong", (sizes, kind, text, verdict)
            wrong += 1
    assert wrong >= len(claims)


# ------------------------------------------------------------------- forms teachers write
FORMS = [
    # (spec, claim, verdict)
    ("mazur", r"w_8^+ = 0.561370119", "correct"),
    ("mazur", r"w_5^+ = 0.35891648", "correct"),
    ("mazur", r"E_{total} = \sum_o \frac{1}{2} (target_o - out_o)^2", "correct"),
    ("mazur", r"E_{total} = \sum_{o=1}^{2} \frac{1}{2} (target_o - out_o)^2", "correct"),
    ("mazur", r"E_{total} = \sum_{o=1}^{1} \frac{1}{2} (target_o - out_o)^2", "wrong"),
    (
        "mazur",
        r"\delta_h = \left(\sum_o \delta_o \times w_{ho} \right) out_h (1 - out_h)",
        "correct",
    ),
    ("mazur", r"\delta_o = (out_o - target_o) out_o (1 - out_o)", "correct"),
    ("mazur", r"\delta_o = (target_o - out_o) out_o (1 - out_o)", "wrong"),
    ("mazur", r"\delta_{o1} \le 0.1385 < w_5", "correct"),
    ("mazur", r"\delta_{o1} > 0.1385", "wrong"),
    ("mazur", r"0.3 \geq w_5", "wrong"),
    ("jacobs", r"\log L = -\frac{1}{2} \sum_i (y^*_i - y_i)^2", "correct"),
    ("essa", r"\Delta w_{ij}(t+1) = -\alpha \delta_j y_i + \mu \Delta w_{ij}(t)", "correct"),
    ("essa", r"\Delta w_{ij}(t) = -\alpha \delta_j y_i + \mu \Delta w_{ij}(t-1)", "correct"),
    ("essa", r"\Delta w_{ij}(t+1) = \alpha \delta_j y_i + \mu \Delta w_{ij}(t)", "wrong"),
    ("essa", r"\Delta w_{ij}(t+1) = -\alpha \delta_j y_i + \Delta w_{ij}(t)", "wrong"),
    ("essa", r"G_{ij}(t+1) = G_{ij}(t) + (y_i \delta_j)^2", "correct"),
    ("essa", r"G_{ij}(t+1) = G_{ij}(t) + y_i \delta_j", "wrong"),
    (
        "essa",
        r"w_{ij}(t+1) = w_{ij}(t) - \frac{\alpha}{\sqrt{G_{ij}(t+1)} + \epsilon} y_i \delta_j",
        "correct",
    ),
    (
        "essa",
        r"w_{ij}(t+1) = w_{ij}(t) - \frac{\alpha}{\sqrt{G_{ij}(t)} + \epsilon} y_i \delta_j",
        "wrong",
    ),
    ("jacobs", r"\frac{\partial \log L}{\partial y_i} = y_i - y^*_i", "wrong"),
    # Mazur's unit labels mixed with an index letter: w_{h1o} is w_{h1o1} and w_{h1o2}
    ("mazur", r"\frac{\partial E_{total}}{\partial w_{h1o}} = \delta_o out_{h1}", "correct"),
    ("mazur", r"\frac{\partial E_{total}}{\partial w_{h1o}} = \delta_o out_{h2}", "wrong"),
    ("mazur", r"\frac{\partial E_{total}}{\partial w_{i1h}} = \delta_h i_1", "correct"),
    ("mazur", r"\frac{\partial E_{total}}{\partial w_{i1h}} = \delta_h i_2", "wrong"),
    # a comparison about a setting the spec sets (essa: momentum 0.9) is decided at its value
    ("essa", r"0 < \mu < 1", "correct"),
    ("essa", r"\mu > 1", "wrong"),
    ("essa", r"\mu \le 0.5", "wrong"),
    # seed 001's time arguments on delta and y: the pass the step t+1 takes its gradient from
    (
        "essa",
        r"\Delta w_{ij}(t+1) = -\alpha \delta_j(t+1) y_i(t+1) + \mu \Delta w_{ij}(t)",
        "correct",
    ),
    (
        "essa",
        r"\Delta w_{ij}(t+1) = -\alpha \delta_j(t+1) y_j(t+1) + \mu \Delta w_{ij}(t)",
        "wrong",
    ),
    ("essa", r"\Delta w_{ij}(t+1) = \alpha \delta_j(t+1) y_i(t+1) + \mu \Delta w_{ij}(t)", "wrong"),
    (
        "essa",
        r"\Delta w_{ij}(t+1) = -\alpha \delta_j(t) y_i(t) + \mu \Delta w_{ij}(t)",
        "unreadable",
    ),
    # the unrolled sum: runs of the rule for t = 0, 1, 2 find every slip, and a sum that holds
    # is proved for every t by induction (tests/test_verify_induction.py)
    (
        "essa",
        r"\Delta w_{ij}(t+1) = -\sum_{s=1}^{t+1} \mu^{t+1-s} \alpha \delta_j(s) y_i(s)",
        "correct",
    ),
    (
        "essa",
        r"\Delta w_{ij}(t+1) = -\sum_{s=1}^{t+1} \mu^{t-s} \alpha \delta_j(s) y_i(s)",
        "wrong",
    ),
    (
        "essa",
        r"\Delta w_{ij}(t+1) = -\sum_{s=1}^{t} \mu^{t+1-s} \alpha \delta_j(s) y_i(s)",
        "wrong",
    ),
    (
        "essa",
        r"\Delta w_{ij}(t+1) = -\sum_{s=1}^{t+1} \mu^{s-1} \alpha \delta_j(s) y_i(s)",
        "wrong",
    ),
    (
        "essa",
        r"\Delta w_{ij}(t+1) = -\sum_{s=1}^{t+1} \mu^{t+1-s} \alpha \delta_i(s) y_j(s)",
        "wrong",
    ),
    (
        "essa",
        r"\Delta w_{ij}(t+1) = \sum_{s=1}^{t+1} \mu^{t+1-s} \alpha \delta_j(s) y_i(s)",
        "wrong",
    ),
    # Adam's first moment and RMSprop's mean square (PyTorch's formulas, written out here)
    ("essa", r"m_{ij}(t+1) = \beta_1 m_{ij}(t) + (1 - \beta_1) y_i \delta_j", "correct"),
    ("essa", r"m_{ij}(t+1) = \beta_1 m_{ij}(t) + \beta_1 y_i \delta_j", "wrong"),
    ("essa", r"m_{ij}(t+1) = \beta_2 m_{ij}(t) + (1 - \beta_2) y_i \delta_j", "wrong"),
    ("essa", r"s_{ij}(t+1) = \rho s_{ij}(t) + (1 - \rho) (y_i \delta_j)^2", "correct"),
    ("essa", r"s_{ij}(t+1) = \rho s_{ij}(t) + (1 - \rho) y_i \delta_j", "wrong"),
    (
        "essa",
        r"w_{ij}(t+1) = w_{ij}(t) - \frac{\alpha}{\sqrt{s_{ij}(t+1)} + \epsilon} y_i \delta_j",
        "correct",
    ),
    (
        "essa",
        r"w_{ij}(t+1) = w_{ij}(t) - \frac{\alpha}{\sqrt{s_{ij}(t)} + \epsilon} y_i \delta_j",
        "wrong",
    ),
    (
        str(Path(__file__).parent.parent / "examples/claims/nielsen_2_3_4.toml"),
        "a^2_1 = a^2_1",
        "correct",
    ),
]


_CHECKERS: dict[str, Checker] = {}


def checker_of(spec: str) -> Checker:
    """One checker per spec, as ``verify`` keeps one per claims file."""
    if spec not in _CHECKERS:
        _CHECKERS[spec] = Checker(NetworkResolver(derive(load_spec(spec))))
    return _CHECKERS[spec]


@pytest.mark.parametrize(("spec", "text", "expected"), FORMS)
def test_forms_teachers_write(spec: str, text: str, expected: str):
    v = check_line(checker_of(spec), text)
    assert v.verdict == expected, v


def test_latex_without_a_backslash_is_read_as_latex():
    claim = cp.parse_claim_line("a^2_1 = 0.6")
    assert claim.syntax == "latex" and claim.sides[0] == cp.Name("a", "1", "2")
    assert cp.parse_claim_line("w_8^+ = 0.561370119").sides[0] == cp.Name("w", "8", "+")
    assert cp.parse_claim_line("delta_o1 = 0.1").syntax == "plain"


def test_a_right_number_is_never_blamed(capsys):
    """Seed 000 eq. 29: 0.0009954255 is δ_{h2} ten times too small; 0.05 is i_1 and right."""
    line = (
        r"[eq29] \frac{\partial E_{total}}{\partial w_3} = \delta_{h2} i_1 = "
        r"0.0009954255 \times 0.05 = 0.000497713"
    )
    v = check_line(checker_of("mazur"), line)
    assert v.verdict == "wrong"
    assert "0.0009954255 where \\delta_{h2} = 0.009954254705" in v.factor
    assert "0.05 where" not in v.factor


def test_unrolled_runs_follow_the_textbook_recursions():
    """The runs an unrolled sum is checked on, against momentum and Adam written out here:
    Δw(k) = −η δ_j(k) y_i(k) + μ Δw(k−1); m(k) = β1 m(k−1) + (1−β1) g, s likewise with g²,
    Δw(k) = −η m/(1−β1^k) / (√(s/(1−β2^k)) + ε); pass k + 1 at the weights after k steps."""
    import sympy as sp

    from symbackprop.rules.optimizers import OPTIMIZERS
    from symbackprop.verify import timesteps

    ck = checker_of("essa")
    r = ck.r
    w, delta, y = (
        r._lookup("W", "13", None),
        r._lookup("delta", "3", None),
        r._lookup("y", "1", None),
    )
    start = dict(ck.example_point)
    lr = start[r.net.learning_rate]
    mu = sp.Rational(1, 3)
    run = timesteps.Run(ck, OPTIMIZERS["momentum"], start, 3, {"momentum": mu})
    prev = 0
    for k in (1, 2, 3):
        env = run.passes[k - 1]
        want = -lr * env[delta] * env[y] + mu * prev
        assert abs(run.change[w][k] - want) < 1e-40
        assert abs(env[w] - (start[w] + sum(run.change[w][1:k]))) < 1e-40
        prev = want
    b1, b2, eps = sp.Rational(4, 5), sp.Rational(9, 10), sp.Rational(1, 100)
    settings = {"beta1": b1, "beta2": b2, "eps": eps}
    run = timesteps.Run(ck, OPTIMIZERS["adam"], start, 3, settings)
    m = s = 0
    for k in (1, 2, 3):
        g = run.passes[k - 1][delta] * run.passes[k - 1][y]
        m, s = b1 * m + (1 - b1) * g, b2 * s + (1 - b2) * g**2
        want = -lr * (m / (1 - b1**k)) / (sp.sqrt(s / (1 - b2**k)) + eps)
        assert abs(run.change[w][k] - want) < 1e-40, k
        assert abs(run.state[w][k]["m"] - m) < 1e-40
    assert run.change[w][1] != run.change[w][2]  # the passes move: not one point three times
