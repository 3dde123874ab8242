"""Fuzzing the command line: generated specs and claims through ``cli.main``.

Hypothesis builds layered specs, graph specs (random expressions over declared names, random
example values, extreme numbers included) and claim lines, some of them corrupted (a character
dropped, a hostile snippet spliced in), and runs a command on each. Whatever the input, a run
must end with an exit code the design allows for that input:

- never 1 (an internal error), never a traceback on stderr;
- on any non-zero exit, no file written and every existing file byte-identical;
- never past ``--max-seconds`` (plus a second of slack for a loaded machine's scheduler).

The suite runs a fixed, derandomised sample so that CI is reproducible; set
``SYMBACKPROP_FUZZ=N`` to run N random examples per test instead (a longer, fresh fuzz).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symbackprop.cli import commands as cli

_FRESH = int(os.environ.get("SYMBACKPROP_FUZZ", "0"))
MAX_SECONDS = 20
SLACK = 1.0


def _settings(examples: int):
    return settings(
        max_examples=_FRESH or examples,
        derandomize=not _FRESH,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def toml(value) -> str:
    """A TOML string, number or array (JSON's forms are TOML's for these)."""
    return json.dumps(value, ensure_ascii=False)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def run_cli(spec_text: str | bytes, command: list[str], claims: str | bytes | None = None):
    """Write the spec (and claims) to a fresh directory, run ``symbackprop COMMAND`` there and
    assert the contract above; returns (exit code, stdout, stderr)."""
    with tempfile.TemporaryDirectory(prefix="sbp-fuzz-") as tmp:
        root = Path(tmp)
        spec = root / "s.toml"
        spec.write_bytes(spec_text if isinstance(spec_text, bytes) else spec_text.encode())
        args = [str(spec) if a == "SPEC" else a for a in command]
        if claims is not None:
            path = root / "claims.txt"
            path.write_bytes(claims if isinstance(claims, bytes) else claims.encode())
            args = [str(path) if a == "CLAIMS" else a for a in args]
        out_dir = root / "out"
        out_dir.mkdir()
        (out_dir / "keep.txt").write_text("a file of the user's\n")
        if command[0] in ("codegen", "handout"):
            args += ["--out", str(out_dir)]
        before = _snapshot(root)
        stdout, stderr = io.StringIO(), io.StringIO()
        start = time.perf_counter()
        cwd = os.getcwd()
        os.chdir(root)
        try:
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                code = cli.main(["--max-seconds", str(MAX_SECONDS), *args])
        finally:
            os.chdir(cwd)
        seconds = time.perf_counter() - start
        err = stderr.getvalue()
        context = f"\n--- spec ---\n{spec_text!r}\n--- args {args}\n--- stderr ---\n{err}"
        assert code != 1, f"internal error (exit 1){context}"
        assert "Traceback" not in err, f"traceback on stderr{context}"
        assert code in (0, 2, 3, 4, 5, 6), f"exit {code}{context}"
        if code != 0 and command[0] != "verify":
            assert _snapshot(root) == before, f"files changed on exit {code}{context}"
        if code == 0 and command[0] in ("codegen", "handout"):
            assert (out_dir / "keep.txt").read_text() == "a file of the user's\n"
        assert seconds < MAX_SECONDS + SLACK, f"ran {seconds:.1f} s{context}"
        return code, stdout.getvalue(), err


# -------------------------------------------------------------------------------------------
# Corruptions applied to otherwise well-formed text.

HOSTILE = [
    "__import__('os').system('touch PWNED')",
    '"""',
    "\\input{/etc/hostname}",
    "\x00",
    "\u2212",
    "\ufeff",
    "9**9**9",
    "(" * 60,
    "\u202e",
    "}\\end{document}",
    "\r\n",
    "1e309",
    "nan",
]


@st.composite
def corrupted(draw, text: str) -> str:
    """``text`` unchanged most of the time; otherwise one character dropped or one hostile
    snippet spliced in at a random place."""
    kind = draw(st.sampled_from(["keep", "keep", "keep", "drop", "splice"]))
    if kind == "keep" or not text:
        return text
    at = draw(st.integers(0, len(text) - 1))
    if kind == "drop":
        return text[:at] + text[at + 1 :]
    return text[:at] + draw(st.sampled_from(HOSTILE)) + text[at:]


# -------------------------------------------------------------------------------------------
# Layered specs.

ACTIVATIONS = ["sigmoid", "tanh", "relu", "softplus", "linear", "leaky_relu", "softmax", "elu?"]
LOSSES = [
    "half_sse",
    "gaussian_loglik",
    "cross_entropy",
    "bce",
    "bernoulli_loglik",
    "multinomial_loglik",
]
NOTATIONS = ["mazur", "essa", "hmkcode", "jacobs", "nielsen", "plain"]
OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]
NUMBERS = st.one_of(
    st.floats(-3, 3, allow_nan=False).map(lambda v: round(v, 3)),
    st.sampled_from([0.0, 1.0, -1.0, 1e-300, 1e308, -1e308, 50.0, -800.0]),
)


@st.composite
def layered_spec(draw) -> str:
    """A layered spec, mostly one the current levels accept (so the fuzz reaches derivation
    and code generation), now and then one that mixes keys across levels."""
    level = draw(st.sampled_from(["auto", "unit", "layer"]))
    free = draw(st.integers(0, 9)) == 0  # any combination of keys, valid or not
    layer_keys = free or level == "layer"
    inputs = draw(st.integers(1, 3))
    depth = draw(st.integers(1, 3))
    layers, units = [], 0
    for index in range(depth):
        last = index == depth - 1
        act = draw(st.sampled_from(ACTIVATIONS[:6] + (["softmax"] if last else [])))
        bias = draw(st.sampled_from(["unit"] if layer_keys and not free else ["unit", "shared"]))
        units = draw(st.integers(2 if act == "softmax" else 1, 3))
        layers.append(f'{{ units = {units}, activation = "{act}", bias = "{bias}" }}')
    loss = draw(st.sampled_from(LOSSES if layer_keys else LOSSES[:2]))
    if loss in ("cross_entropy", "multinomial_loglik") and not free:
        layers[-1] = f'{{ units = {max(units, 2)}, activation = "softmax" }}'
    elif loss in ("bce", "bernoulli_loglik") and not free:
        layers[-1] = f'{{ units = {units}, activation = "sigmoid" }}'
    lines = [
        f"name = {toml(draw(st.sampled_from(['net', 'fuzz_net', 'n1'])))}",
        f"title = {toml(draw(st.text(max_size=12)))}",
        f"notation = {toml(draw(st.sampled_from(NOTATIONS)))}",
        f"level = {toml(level)}",
        "[network]",
        f"inputs = {inputs}",
        f"layers = [{', '.join(layers)}]",
        f"loss = {toml(loss)}",
        f"reduction = {toml(draw(st.sampled_from(['sum', 'mean'])))}",
    ]
    if layer_keys and draw(st.booleans()):
        lines.append(f"weight_decay = {draw(st.sampled_from([0.0, 1e-4, 0.5]))}")
    lines += ["[training]", f"learning_rate = {draw(st.sampled_from([0.5, 0.01, 3.0, 1e3]))}"]
    if layer_keys and draw(st.booleans()):
        lines.append(f'optimizer = {{ name = "{draw(st.sampled_from(OPTIMIZERS))}" }}')
    if layer_keys and draw(st.booleans()):
        units_out = max(units, 2) if "softmax" in layers[-1] else units
        rows = draw(st.integers(1, 3))
        x = [[draw(NUMBERS) for _ in range(inputs)] for _ in range(rows)]
        t = [
            [draw(st.sampled_from([0.0, 1.0, 0.5])) for _ in range(units_out)] for _ in range(rows)
        ]
        lines += ["[data]", f"x = {toml(x)}", f"t = {toml(t)}"]
    return draw(corrupted("\n".join(lines) + "\n"))


COMMANDS = st.sampled_from(
    [
        ["derive", "SPEC"],
        ["derive", "SPEC", "--format", "latex"],
        ["codegen", "SPEC"],
        ["check", "SPEC", "--points", "1"],
        ["handout", "SPEC", "--no-pdf"],
    ]
)


@_settings(30)
@given(spec=layered_spec(), command=COMMANDS)
def test_fuzz_layered_specs(spec, command):
    run_cli(spec, command)


# -------------------------------------------------------------------------------------------
# Graph specs: random expressions over the names declared so far.

FUNCTIONS = ["sigmoid", "tanh", "relu", "softplus", "exp", "log"]


def expression(names: list[str]) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(names),
        st.sampled_from(["0", "1", "2", "0.5", "1e-3", "10**20", "1e308", "-1"]),
    )

    def grow(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "^"]), inner).map(
                lambda p: f"({p[0]} {p[1]} {p[2]})"
            ),
            st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda p: f"{p[0]}({p[1]})"),
            inner.map(lambda e: f"-{e}"),
        )

    return st.recursive(leaves, grow, max_leaves=6)


@st.composite
def graph_spec(draw) -> str:
    inputs = [f"x{i}" for i in range(1, draw(st.integers(1, 2)) + 1)]
    params = [f"w{i}" for i in range(1, draw(st.integers(1, 3)) + 1)]
    known = inputs + params
    nodes = {}
    for index in range(1, draw(st.integers(1, 3)) + 1):
        name = f"h{index}"
        nodes[name] = draw(expression(known))
        known.append(name)
    nodes["E"] = draw(st.sampled_from(["(t - {h})^2/2", "-t*log({h})", "({h} - t)^2", "{h}"]))
    nodes["E"] = nodes["E"].format(h=known[-1])
    lines = [
        'name = "g"',
        "[graph]",
        f"inputs = {toml(inputs)}",
        'targets = ["t"]',
        f"params = {toml(params)}",
        'loss = "E"',
        "[graph.nodes]",
        *(f"{name} = {toml(text)}" for name, text in nodes.items()),
        "[training]",
        "learning_rate = 0.1",
    ]
    if draw(st.booleans()):
        lines.append("[values]")
        lines += [f"{n} = {draw(NUMBERS)}" for n in inputs + params]
        lines.append(f"t = {draw(st.sampled_from([0.0, 1.0, 0.25]))}")
    return draw(corrupted("\n".join(lines) + "\n"))


@_settings(30)
@given(spec=graph_spec(), command=COMMANDS)
def test_fuzz_graph_specs(spec, command):
    run_cli(spec, command)


# -------------------------------------------------------------------------------------------
# Claims against a fixed small spec: random token strings in LaTeX and plain forms.

CLAIM_SPEC = """name = "mini"
notation = "mazur"
level = "unit"
[network]
inputs = 2
layers = [{ units = 2, activation = "sigmoid", bias = "shared" },
          { units = 2, activation = "sigmoid", bias = "shared" }]
[training]
learning_rate = 0.5
[values]
i1 = 0.05
i2 = 0.10
w1 = 0.15
w2 = 0.20
w3 = 0.25
w4 = 0.30
w5 = 0.40
w6 = 0.45
w7 = 0.50
w8 = 0.55
b1 = 0.35
b2 = 0.60
target_o1 = 0.01
target_o2 = 0.99
"""

TOKENS = [
    "w_5",
    "w5",
    "w_{5}^+",
    "out_{h1}",
    "net_{o1}",
    "\\delta_{o1}",
    "delta_o2",
    "E_{total}",
    "\\frac{\\partial E_{total}}{\\partial w_5}",
    "dE/dw1",
    "\\sigma'(z)",
    "\\sum_k",
    "\\sum_{o=1}^{2}",
    "eta",
    "\\eta",
    "0.5",
    "-0.0380982365",
    "0.0821670406",
    "1e-3",
    "x",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "+",
    "-",
    "\u2212",
    "*",
    "\\times",
    "\\cdot",
    "/",
    "^",
    "_",
    "=",
    "\\exp",
    "e^{",
    "\\log",
    "\\frac{1}{2}",
    "\\left(",
    "\\right)",
    "\\odot",
    "^T",
    "'",
    "\\",
    "&=",
    "\\\\",
    "[eq1]",
    "<",
    "\\leq",
    "2^{2^{2^{2^{2}}}}",
]


@st.composite
def claim_lines(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        tokens = draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12))
        lines.append(" ".join(tokens))
    return "\n".join(lines) + "\n"


@_settings(60)
@given(claims=claim_lines())
def test_fuzz_claims(claims):
    code, out, _ = run_cli(CLAIM_SPEC, ["verify", "SPEC", "CLAIMS"], claims=claims)
    assert code in (0, 2, 3, 5, 7)


@_settings(15)
@given(claims=claim_lines(), fmt=st.sampled_from(["text", "json"]))
def test_fuzz_claims_against_examples(claims, fmt):
    """The same token soup against built-in examples of other notations."""
    for example in ("jacobs", "essa", "hmkcode"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "c.txt"
            path.write_text(claims)
            stderr = io.StringIO()
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
                code = cli.main(
                    [
                        "--max-seconds",
                        str(MAX_SECONDS),
                        "verify",
                        example,
                        str(path),
                        "--format",
                        fmt,
                    ]
                )
            assert code in (
                0,
                2,
                3,
                5,
                7,
            ), f"{example}: exit {code}\n{claims!r}\n{stderr.getvalue()}"
            assert "Traceback" not in stderr.getvalue()
