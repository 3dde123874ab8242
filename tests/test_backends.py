"""The torch, JAX, CuPy and array-API modules agree with the NumPy module (codegen --backend).

Each backend's module is generated from the same layer derivation as the NumPy module; on the
same parameters and data (float64) its loss and gradients must equal the NumPy module's to
1e-12, and three steps of the spec's optimizer must leave the same parameters. The nets cover
every registry activation, the fused and the Jacobian softmax deltas, a log-likelihood (ascent),
both reductions, weight decay and all six optimizers; on one net (a log-likelihood, so the
steps ascend) every backend's module with all six rules takes three steps of each through the one
optimizer interface the NumPy module has (``<name>_init``, ``<name>_update``, ``<name>_step``).

A backend whose library is missing is skipped, unless SYMBACKPROP_REQUIRE_BACKENDS is set (CI
sets it), which turns the skip into a failure. CuPy cannot run here (no GPU): its module runs
with NumPy standing in for ``cupy`` (the two share the API it uses), which checks the code
but not the device.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import re
import sys
from functools import lru_cache
from pathlib import Path

import black
import numpy as np
import pytest
from clirun import one_line_error, run

from symbackprop.codegen.audit import AuditError
from symbackprop.codegen.backends import (
    format_by_definition,
    generate_backend_module,
    render_backend_module,
)
from symbackprop.codegen.backends_audit import IMPORTS, audit_backend_module
from symbackprop.codegen.layer import generate_layer_module
from symbackprop.codegen.loader import load_generated
from symbackprop.derivation.layer import LayerNet, derive_layers
from symbackprop.rules.optimizers import OptimizerSpec
from symbackprop.spec.load import load_spec

TOL = 1e-12
STEPS = 3


def need(module: str):
    """Import ``module``; skip without it unless SYMBACKPROP_REQUIRE_BACKENDS is set."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("SYMBACKPROP_REQUIRE_BACKENDS"):
            pytest.fail(f"{module} is missing and SYMBACKPROP_REQUIRE_BACKENDS is set")
        pytest.skip(f"{module} not installed (pip install '.[backends]')")


def _net(name, sizes, activations, loss, reduction="sum", decay=0.0, optimizer="sgd"):
    return LayerNet(
        name=name,
        sizes=sizes,
        activations=activations,
        loss=loss,
        reduction=reduction,
        weight_decay=decay,
        learning_rate=0.05,
        optimizer=OptimizerSpec(optimizer),
    )


NETS = {
    "digits": lambda: load_spec("digits"),  # tanh + softmax CE (fused a - t), mean, L2, Adam
    "mixed": lambda: _net(
        "mixed",
        (3, 4, 4, 4, 4, 2),
        ("relu", "elu", "softplus", "leaky_relu", "linear"),
        "gaussian_loglik",  # a log-likelihood: ascent
        "mean",
        0.1,
        "nesterov",
    ),
    "smooth": lambda: _net(
        "smooth", (3, 4, 4, 2), ("silu", "gelu", "sigmoid"), "bce", "sum", 0.01, "rmsprop"
    ),
    "jacobian": lambda: _net(
        "jacobian", (3, 4, 3), ("tanh", "softmax"), "half_sse", "sum", 0.0, "adagrad"
    ),
    # the six rules' steps on every backend: small (a JAX step compiles in about a second)
    "ascent": lambda: _net(
        "ascent", (3, 4, 2), ("tanh", "linear"), "gaussian_loglik", "mean", 0.1, "sgd"
    ),
    "multinomial": lambda: _net(
        "multinomial",
        (3, 5, 3),
        ("sigmoid", "softmax"),
        "multinomial_loglik",
        "sum",
        0.0,
        "momentum",
    ),
}


EQUIVALENCE = [name for name in NETS if name != "ascent"]  # ascent: check_every_rule's


@lru_cache(maxsize=None)
def derivation(name: str):
    return derive_layers(NETS[name]())


@lru_cache(maxsize=None)
def numpy_module(name: str):
    module = generate_layer_module(derivation(name), source=name, optimizers=["all"])
    return load_generated(module, f"np_{name}")


@lru_cache(maxsize=None)
def source(name: str, backend: str, optimizers: tuple[str, ...] = ()) -> str:
    return generate_backend_module(
        derivation(name), backend, source=name, optimizers=list(optimizers)
    )


def load(text: str, name: str, tmp_dir, stand_ins: dict | None = None):
    """Import a generated module from its text; ``stand_ins`` replace imported libraries."""
    path = tmp_dir / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    saved = {k: sys.modules.get(k) for k in stand_ins or {}}
    sys.modules.update(stand_ins or {})
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for key, old in saved.items():
            if old is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = old
    return module


def data(name: str, n: int = 6, seed: int = 0):
    """NumPy float64 parameters (biases not zero), inputs and targets that suit the loss."""
    net = NETS[name]()
    rng = np.random.default_rng(seed)
    params = {
        k: v + rng.normal(0.0, 0.2, v.shape) for k, v in numpy_module(name).init_params().items()
    }
    x = rng.normal(0.0, 1.0, (n, net.sizes[0]))
    width = net.sizes[-1]
    if net.activations[-1] == "softmax":
        t = (
            rng.dirichlet(np.ones(width), n)
            if net.loss == "half_sse"
            else np.eye(width)[rng.integers(0, width, n)]
        )
    elif net.loss == "bce":
        t = rng.uniform(0.0, 1.0, (n, width))
    else:
        t = rng.normal(0.0, 1.0, (n, width))
    return params, x, t


def assert_close(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for key in want:
        g = np.asarray(got[key], dtype=np.float64)
        assert g.shape == want[key].shape, key
        np.testing.assert_allclose(g, want[key], rtol=TOL, atol=TOL, err_msg=key)


def reference(name: str, params, x, t):
    """The NumPy module's loss, gradients and parameters after STEPS optimizer steps."""
    m = numpy_module(name)
    value, grads = m.loss(params, x, t), m.gradients(params, x, t)
    stepped = {k: v.copy() for k, v in params.items()}
    state = m.optimizer_init(stepped)
    for _ in range(STEPS):
        m.optimizer_step(stepped, state, x, t)
    return float(value), {k: v.copy() for k, v in grads.items()}, stepped


def reference_steps(name: str, rule: str, params, x, t):
    """The NumPy module's parameters after STEPS of ``<rule>_step``."""
    stepped = {k: v.copy() for k, v in params.items()}
    m = numpy_module(name)
    state = getattr(m, f"{rule}_init")(stepped)
    for _ in range(STEPS):
        getattr(m, f"{rule}_step")(stepped, state, x, t)
    return stepped


def check_in_place(module, name, to, back) -> None:
    """A mutable-array module (torch, CuPy): loss, gradients, optimizer steps in place."""
    params, x, t = data(name)
    value, grads, stepped = reference(name, params, x, t)
    p = {k: to(v.copy()) for k, v in params.items()}  # the steps write to them
    xs, ts = to(x), to(t)
    np.testing.assert_allclose(float(back(module.loss(p, xs, ts))), value, rtol=TOL)
    assert_close({k: back(v) for k, v in module.gradients(p, xs, ts).items()}, grads)
    state = module.optimizer_init(p)
    for _ in range(STEPS):
        module.optimizer_step(p, state, xs, ts)
    assert_close({k: back(v) for k, v in p.items()}, stepped)


RULES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")


def check_every_rule(module, to, back, pure=False) -> None:
    """Three steps of each rule's ``<rule>_step`` on "ascent" equal the NumPy module's;
    ``pure``: JAX's form, ``value, params, state = <rule>_step(params, state, x, t)``."""
    params, x, t = data("ascent")
    xs, ts = to(x), to(t)
    want_value = numpy_module("ascent").loss(params, x, t)
    for rule in RULES:
        p = {k: to(v.copy()) for k, v in params.items()}
        state = getattr(module, f"{rule}_init")(p)
        for i in range(STEPS):
            if pure:  # the arrays of p and state are donated: deleted, their buffers reused
                old, old_state = p, state
                value, p, state = getattr(module, f"{rule}_step")(p, state, xs, ts)
                assert old["W1"].is_deleted() and old_state["step"].is_deleted()
                assert not p["W1"].is_deleted()
            else:
                value = getattr(module, f"{rule}_step")(p, state, xs, ts)
            if i == 0:
                np.testing.assert_allclose(float(back(value)), want_value, rtol=TOL)
        got = {k: np.asarray(back(v)) for k, v in p.items()}
        assert_close(got, reference_steps("ascent", rule, params, x, t))
        assert int(state["step"]) == STEPS
        if not pure:  # the old sgd_step(params, x, t) call is refused in one line
            with pytest.raises(TypeError, match=f"state must be the dict that {rule}_init"):
                getattr(module, f"{rule}_step")(p, xs, ts, 0.1)


@pytest.mark.parametrize("name", EQUIVALENCE)
def test_torch_equals_numpy(name, tmp_path):
    torch = need("torch")
    module = load(source(name, "torch"), f"torch_{name}", tmp_path)
    check_in_place(module, name, torch.from_numpy, lambda v: v.numpy())


def test_torch_every_rule_equals_numpy(tmp_path):
    torch = need("torch")
    module = load(source("ascent", "torch", ("all",)), "torch_rules", tmp_path)
    check_every_rule(module, torch.from_numpy, lambda v: v.numpy())


def test_cupy_every_rule_with_numpy_standing_in(tmp_path):
    module = load(source("ascent", "cupy", ("all",)), "cupy_rules", tmp_path, {"cupy": np})
    check_every_rule(module, np.array, np.asarray)


@pytest.mark.parametrize("name", ["smooth", "multinomial"])
def test_cupy_module_with_numpy_standing_in(name, tmp_path):
    module = load(source(name, "cupy"), f"cupy_{name}", tmp_path, {"cupy": np})
    check_in_place(module, name, np.array, np.asarray)
    # init_params draws like the NumPy module's (the same generator and seed, here)
    for key, value in numpy_module(name).init_params(seed=3).items():
        np.testing.assert_allclose(module.init_params(seed=3)[key], value, rtol=1e-15)


@pytest.mark.parametrize("name", ["digits", "mixed"])
def test_jax_equals_numpy(name, tmp_path):
    """Gradients of both nets; the optimizer (Adam) on one: each compiled function costs a
    compilation."""
    jax = need("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    module = load(source(name, "jax"), f"jax_{name}", tmp_path)
    params, x, t = data(name)
    value, grads, stepped = reference(name, params, x, t)
    p = {k: jnp.asarray(v) for k, v in params.items()}
    xs, ts = jnp.asarray(x), jnp.asarray(t)
    got_value, got = module.value_and_gradients(p, xs, ts)
    np.testing.assert_allclose(float(got_value), value, rtol=TOL)
    assert_close(got, grads)
    if name != "digits":
        return
    state = module.optimizer_init(p)
    for _ in range(STEPS):
        _, p, state = module.optimizer_step(p, state, xs, ts)
    assert_close(p, stepped)


@pytest.mark.parametrize("name", EQUIVALENCE)
def test_jax_one_example_equals_numpy(name, tmp_path):
    """A batch of one takes its own form of z = a W^T + b in the JAX module (W's rows against
    the example); forward, loss and gradients equal the NumPy module's there too."""
    jax = need("jax")
    jax.config.update("jax_enable_x64", True)
    module = load(source(name, "jax"), f"jax_one_{name}", tmp_path)
    params, x, t = data(name, n=1, seed=3)
    m = numpy_module(name)
    p = {k: jax.numpy.asarray(v) for k, v in params.items()}
    np.testing.assert_allclose(np.asarray(module.forward(p, x)), m.forward(params, x), rtol=TOL)
    got_value, got = module.value_and_gradients(p, x, t)
    np.testing.assert_allclose(float(got_value), m.loss(params, x, t), rtol=TOL)
    assert_close(got, m.gradients(params, x, t))


@pytest.mark.parametrize("name", ["digits", "multinomial"])
def test_jax_softmax_delta_is_the_gradient_for_targets_of_any_sum(name, tmp_path):
    """The JAX module writes the fused softmax δ^L as a Σt − t: with targets whose rows do not
    sum to one it is still the gradient of its own loss, as JAX's autodiff of that loss has it
    (the oracle); a multinomial log-likelihood (ascent) has the sign flipped."""
    jax = need("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    module = load(source(name, "jax"), f"jax_sums_{name}", tmp_path)
    assert "_softmax_delta(z" in source(name, "jax")
    params, x, _ = data(name)
    rng = np.random.default_rng(5)
    t = rng.uniform(0.1, 2.0, (x.shape[0], NETS[name]().sizes[-1]))
    assert np.all(np.abs(t.sum(axis=1) - 1) > 0.05)
    p = {k: jnp.asarray(v) for k, v in params.items()}
    want = jax.grad(module.loss)(p, jnp.asarray(x), jnp.asarray(t))
    got = module.gradients(p, jnp.asarray(x), jnp.asarray(t))
    assert_close(got, {k: np.asarray(v) for k, v in want.items()})
    # the NumPy module's a − t assumes the rows sum to one: here it differs, as documented
    numpy_grads = numpy_module(name).gradients(params, x, t)
    assert not np.allclose(numpy_grads["b2"], np.asarray(want["b2"]))


def _array_api_case(name, tmp_path, to):
    module = load(source(name, "array-api"), f"xp_{name}_{id(to)}", tmp_path)
    params, x, t = data(name)
    value, grads, stepped = reference(name, params, x, t)
    p = {k: to(v) for k, v in params.items()}
    xs, ts = to(x), to(t)
    np.testing.assert_allclose(float(module.loss(p, xs, ts)), value, rtol=TOL)
    assert_close({k: np.asarray(v) for k, v in module.gradients(p, xs, ts).items()}, grads)
    state = module.optimizer_init(p)
    for _ in range(STEPS):
        module.optimizer_step(p, state, xs, ts)
    assert_close({k: np.asarray(v) for k, v in p.items()}, stepped)


@pytest.mark.parametrize("name", EQUIVALENCE)
def test_array_api_strict_equals_numpy(name, tmp_path):
    need("array_api_compat")
    strict = need("array_api_strict")
    _array_api_case(name, tmp_path, strict.asarray)


def test_array_api_strict_every_rule_equals_numpy(tmp_path):
    need("array_api_compat")
    strict = need("array_api_strict")
    module = load(source("ascent", "array-api", ("all",)), "xp_rules", tmp_path)
    check_every_rule(module, strict.asarray, np.asarray)


def test_jax_every_rule_equals_numpy(tmp_path):
    """Each rule's compiled step, its parameters and state donated: the arrays passed in are
    deleted, the returned ones are the new parameters."""
    jax = need("jax")
    jax.config.update("jax_enable_x64", True)
    module = load(source("ascent", "jax", ("all",)), "jax_rules", tmp_path)
    check_every_rule(module, jax.numpy.asarray, np.asarray, pure=True)


def test_backend_modules_carry_the_spec_s_rules_only(tmp_path):
    """As the NumPy module: the spec's rule (its settings as defaults) unless more are asked."""
    for backend in ("torch", "jax", "cupy", "array-api"):
        defined = set(re.findall(r"^(?:def )?_?(\w+)_step\b", source("digits", backend), re.M))
        assert defined - {"optimizer"} == {"adam"}, backend
        more = source("digits", backend, ("sgd", "rmsprop"))
        assert re.search(r"^def _?sgd_step\(params, state, x, t, lr=LEARNING_RATE", more, re.M)
        assert re.search(r"^def _?rmsprop_step\(", more, re.M)


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_array_api_module_on_other_namespaces(library, tmp_path):
    need("array_api_compat")
    lib = need(library)
    to = {"numpy": np.asarray, "torch": lambda a: lib.from_numpy(a)}
    _array_api_case("digits", tmp_path, to[library])


def test_array_api_module_under_jax_jit(tmp_path):
    """On JAX the generic module traces like the JAX one (array_namespace of a tracer is
    jax.numpy), so it compiles with jax.jit; op by op it would compile every operation."""
    need("array_api_compat")
    jax = need("jax")
    jax.config.update("jax_enable_x64", True)
    module = load(source("digits", "array-api"), "xp_jax_digits", tmp_path)
    params, x, t = data("digits")
    value, grads, _ = reference("digits", params, x, t)
    p = {k: jax.numpy.asarray(v) for k, v in params.items()}
    got_value, got = jax.jit(module.value_and_gradients)(
        p, jax.numpy.asarray(x), jax.numpy.asarray(t)
    )
    np.testing.assert_allclose(float(got_value), value, rtol=TOL)
    assert_close(got, grads)


def test_array_api_over_dask_on_a_local_cluster(tmp_path):
    """Chunks of rows on two workers: each chunk's products summed over its rows, the partial
    sums added; equal to the NumPy module on the whole batch."""
    need("array_api_compat")
    dask = need("dask")
    da = need("dask.array")
    distributed = need("distributed")
    module = load(source("digits", "array-api"), "xp_dask_digits", tmp_path)
    params, x, t = data("digits", n=40, seed=5)
    want = numpy_module("digits").gradients(params, x, t)
    want_value = numpy_module("digits").loss(params, x, t)
    xs, ts = da.from_array(x, chunks=(10, -1)), da.from_array(t, chunks=(10, -1))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        value, grads = module.value_and_gradients(params, xs, ts)  # lazy: a task graph
        assert isinstance(grads["W1"], da.Array)
        value, grads = dask.compute(value, grads)
    np.testing.assert_allclose(float(value), want_value, rtol=TOL)
    assert_close({k: np.asarray(v) for k, v in grads.items()}, want)


def test_torch_follows_dtype(tmp_path):
    torch = need("torch")
    module = load(source("digits", "torch"), "torch_dtype", tmp_path)
    params = module.init_params(dtype=torch.float32, seed=1)
    x = torch.randn(5, 64, dtype=torch.float32)
    t = torch.nn.functional.one_hot(torch.arange(5) % 10, 10).to(torch.float32)
    grads = module.gradients(params, x, t)
    assert all(g.dtype == torch.float32 and g.device == x.device for g in grads.values())
    value = module.loss(params, x, t)
    assert isinstance(value, torch.Tensor) and value.dtype == torch.float32 and value.ndim == 0
    # integer targets are computed in float32 with float32 parameters and inputs
    assert module.gradients(params, x, t.to(torch.int64))["W1"].dtype == torch.float32


def test_torch_work_buffers_never_reach_the_caller(tmp_path):
    """The torch module's _backward reuses pooled work buffers: a result must survive later calls
    (same and other batch sizes, dtypes), and mixed dtypes compute in the promoted one."""
    torch = need("torch")
    module = load(source("smooth", "torch"), "torch_pool", tmp_path)
    params, x, t = data("smooth", n=5, seed=3)
    p = {k: torch.from_numpy(v) for k, v in params.items()}
    first_value, first = module.value_and_gradients(p, torch.from_numpy(x), torch.from_numpy(t))
    kept = {k: v.clone() for k, v in first.items()}
    kept_value = first_value.clone()
    for n, seed in ((5, 4), (7, 5)):
        _, x2, t2 = data("smooth", n=n, seed=seed)
        module.value_and_gradients(p, torch.from_numpy(x2), torch.from_numpy(t2))
        module.gradients(
            {k: v.float() for k, v in p.items()},
            torch.from_numpy(x2).float(),
            torch.from_numpy(t2).float(),
        )
    assert torch.equal(first_value, kept_value)
    assert all(torch.equal(first[k], kept[k]) for k in kept)
    assert_close(
        {k: v.numpy() for k, v in first.items()}, numpy_module("smooth").gradients(params, x, t)
    )
    mixed = module.gradients(p, torch.from_numpy(x).float(), torch.from_numpy(t))
    assert all(g.dtype == torch.float64 for g in mixed.values())


def test_torch_checks_inputs(tmp_path):
    torch = need("torch")
    module = load(source("digits", "torch"), "torch_check", tmp_path)
    params = module.init_params(seed=1)
    x, t = torch.zeros(2, 64, dtype=torch.float64), torch.zeros(2, 10, dtype=torch.float64)
    with pytest.raises(ValueError, match="x must be a tensor of shape"):
        module.gradients(params, x[:, :3], t, check_inputs=True)
    x[0, 0] = float("nan")
    with pytest.raises(ValueError, match="x must hold finite"):
        module.gradients(params, x, t, check_inputs=True)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_formatting_by_definition_is_black(backend):
    """The in-place and the functional templates: formatted part by part, as black formats the
    whole module."""
    text = render_backend_module(derivation("jacobian"), backend, source="jacobian")
    assert format_by_definition(text) == black.format_str(text, mode=black.Mode(line_length=100))


@pytest.mark.parametrize("backend", list(IMPORTS))
def test_module_imports_only_its_library(backend):
    tree = ast.parse(source("digits", backend))
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = {a.name if isinstance(n, ast.Import) else n.module for n in imports for a in n.names}
    want = {"torch": {"torch"}, "jax": {"jax", "jax.numpy"}, "cupy": {"cupy"}}
    assert names == want.get(backend, {"array_api_compat"})


@pytest.mark.parametrize(
    "line",
    [
        "value = value.item()",
        "value = value.cpu()",
        "value = value.numpy()",
        "value = float(value)",
        "value = torch.load(value)",
    ],
)
def test_audit_refuses_host_round_trips_and_unknown_names(line):
    text = source("jacobian", "torch")
    bad = text.replace("    value = None\n", f"    value = None\n    {line}\n", 1)
    assert bad != text
    with pytest.raises(AuditError):
        audit_backend_module(bad, backend="torch", expected=())


def test_cli_writes_a_backend_module(capsys, tmp_path):
    code, out, err = run(capsys, "codegen", "digits", "--backend", "jax", "--out", str(tmp_path))
    assert code == 0, err
    written = tmp_path / "digits_jax.py"
    assert f"wrote {written}" in out
    assert "jax.jit(_gradients)" in written.read_text(encoding="utf-8")


def test_cli_refuses_a_unit_level_net(capsys, tmp_path):
    code, _, err = run(capsys, "codegen", "mazur", "--backend", "torch", "--out", str(tmp_path))
    assert code == 2
    assert 'level = "layer"' in one_line_error(err)
    assert not list(tmp_path.iterdir())


def test_readme_dask_training_example_runs(capsys, tmp_path, monkeypatch):
    """The README's full-batch training over a chunked data set, as written but for 2 epochs of
    20: the loss goes down."""
    need("array_api_compat")
    need("dask.array")
    need("distributed")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    body = readme.split("## Other array libraries (`--backend`)\n", 1)[1].split("\n## ", 1)[0]
    shell, block = (
        re.findall(r"```sh\n(.*?)```", body, re.S)[0],
        re.findall(r"```python\n(.*?)```", body, re.S)[0],
    )
    args = shell.split("#")[0].split()[1:]
    assert run(capsys, *args, "--out", str(tmp_path))[0] == 0
    assert "range(20)" in block
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    exec(compile(block.replace("range(20)", "range(2)"), "README.md", "exec"), {})  # noqa: S102
    losses = [float(v) for v in re.findall(r"mean loss (\S+)", capsys.readouterr().out)]
    assert len(losses) == 2 and losses[1] < losses[0]
