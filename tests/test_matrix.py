"""Every command × both levels × every built-in example and a table of random specs.

Each cell either works (exit 0, its output written or printed) or, where the level truly cannot
express the spec, exits 2 with one line that names the level which can. No cell exits 1 and no
cell prints a traceback. The random specs are drawn from the registry (every activation and loss
it lists), so a rule added there is walked here without editing this file.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from clirun import one_line_error, run

from symbackprop.rules.registry import ACTIVATIONS, LINEAR, LOSSES
from symbackprop.spec.load import example_names

LEVELS = ("unit", "layer")
COMMANDS = ("derive", "codegen", "handout", "check", "verify")
NAMES_A_LEVEL = re.compile(r"""level = "(unit|layer)"|(unit|layer)[- ]level""")

# A claim every network can read: it exercises loading, deriving and the resolver at the level.
PLUMBING_CLAIM = "2 + 2 = 4\n"


def _random_spec(seed: int) -> str:
    """A small [network] spec: random widths, activations from the registry, a loss that fits."""
    rng = random.Random(seed)
    acts = sorted([*ACTIVATIONS, LINEAR])
    depth = rng.randint(1, 3)
    widths = [rng.randint(1, 3) for _ in range(depth)]
    hidden = [rng.choice([a for a in acts if a != "softmax"]) for _ in widths[:-1]]
    loss = rng.choice(sorted(LOSSES))
    out = "sigmoid" if loss in ("bce", "bernoulli_loglik") else rng.choice(acts)
    if loss in ("cross_entropy", "multinomial_loglik"):  # the losses of a probability vector
        out = "softmax"
        widths[-1] = max(widths[-1], 2)
    layers = ", ".join(
        f'{{ units = {w}, activation = "{a}" }}' for w, a in zip(widths, [*hidden, out])
    )
    inputs = rng.randint(1, 3)
    lines = [
        f'name = "r{seed}"',
        "[network]",
        f"inputs = {inputs}",
        f"layers = [{layers}]",
        f'loss = "{loss}"',
        "[training]",
        "learning_rate = 0.1",
    ]
    if rng.random() < 0.5:
        xs = [round(rng.uniform(-1, 1), 2) for _ in range(inputs)]
        ts = [round(rng.uniform(0.1, 0.9), 2) for _ in range(widths[-1])]
        if out == "softmax":
            ts = [1.0] + [0.0] * (widths[-1] - 1)
        lines += ["[data]", f"x = [{xs}]", f"t = [{ts}]"]
    return "\n".join(lines) + "\n"


GRAPH_SPEC = """\
name = "g"
[graph]
inputs = ["x"]
targets = ["t"]
params = ["w", "b"]
loss = "E"
nodes = { z = "w*x + b", y = "tanh(z)", E = "(t - y)**2/2" }
[values]
x = 0.5
t = 0.25
w = 0.3
b = -0.1
"""

RANDOM = [f"r{seed}" for seed in range(6)]
SPECS = [*example_names(), *RANDOM, "graph"]


def _spec_path(tmp_path: Path, spec: str) -> str:
    if spec in RANDOM:
        path = tmp_path / f"{spec}.toml"
        path.write_text(_random_spec(int(spec[1:])))
        return str(path)
    if spec == "graph":
        path = tmp_path / "g.toml"
        path.write_text(GRAPH_SPEC)
        return str(path)
    return spec


def _args(command: str, spec: str, tmp_path: Path) -> list[str]:
    if command == "derive":
        return [command, spec]
    if command == "codegen":
        return [command, spec, "--out", str(tmp_path)]
    if command == "handout":
        return [command, spec, "--out", str(tmp_path), "--no-pdf"]
    if command == "check":
        return [command, spec, "--points", "1"]
    claims = tmp_path / "claims.txt"
    claims.write_text(PLUMBING_CLAIM)
    return [command, spec, str(claims)]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("spec", SPECS)
def test_cell_works_or_names_the_level_that_can(capsys, tmp_path, spec, level, command):
    path = _spec_path(tmp_path, spec)
    code, out, err = run(capsys, *_args(command, path, tmp_path), "--level", level)
    assert "Traceback" not in out + err
    if code in (2, 5):  # cannot be expressed, or too big (--max-ops) at this level
        line = one_line_error(err)
        assert NAMES_A_LEVEL.search(line), line
        return
    assert code == 0, (code, err)
    if command in ("codegen", "handout"):
        written = [p for p in tmp_path.iterdir() if p.suffix in (".py", ".tex")]
        assert written and all(p.stat().st_size > 0 for p in written)
    if command == "derive":
        assert out.strip()
    if command == "verify":
        assert "correct" in out


@pytest.mark.parametrize("spec", SPECS)
def test_every_spec_works_at_one_level_at_least(capsys, tmp_path, spec):
    path = _spec_path(tmp_path, spec)
    codes = [run(capsys, "derive", path, "--level", level)[0] for level in LEVELS]
    assert 0 in codes, codes
