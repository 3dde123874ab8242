"""The registry's new entries (elu, silu, gelu) against references written differently, and the
generated kernels of every entry (plain and in place, float64 and float32) against the oracle.

References are the PyTorch formulas written out by hand with NumPy/math (not the registry's
SymPy expressions): ELU(z) = z if z > 0 else exp(z) − 1 (alpha = 1); SiLU(z) = z / (1 + e^−z);
GELU(approximate="tanh") = ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from symbackprop.codegen.layer import generate_layer_module
from symbackprop.codegen.loader import load_generated
from symbackprop.derivation.layer import LayerNet, derive_layers
from symbackprop.rules import registry as rules

z = sp.Symbol("z", real=True)
POINTS = (-3.5, -1.25, -0.3, 0.2, 0.9, 2.75)


def _elu(v):
    return v if v > 0 else math.expm1(v)


def _elu_prime(v):
    return 1.0 if v > 0 else math.exp(v)


def _silu(v):
    return v / (1.0 + math.exp(-v))


def _silu_prime(v):
    s = 1.0 / (1.0 + math.exp(-v))
    return s + v * s * (1.0 - s)


_K = math.sqrt(2.0 / math.pi)


def _gelu(v):
    return 0.5 * v * (1.0 + math.tanh(_K * (v + 0.044715 * v**3)))


def _gelu_prime(v, h=1e-6):
    # the product rule written out by hand: ½(1 + tanh u) + ½ v sech²(u) u'
    u = _K * (v + 0.044715 * v**3)
    return 0.5 * (1 + math.tanh(u)) + 0.5 * v / math.cosh(u) ** 2 * _K * (1 + 3 * 0.044715 * v**2)


REFERENCE = {
    "elu": (_elu, _elu_prime),
    "silu": (_silu, _silu_prime),
    "gelu": (_gelu, _gelu_prime),
    "sigmoid": (lambda v: 1 / (1 + math.exp(-v)), lambda v: math.exp(-v) / (1 + math.exp(-v)) ** 2),
    "tanh": (math.tanh, lambda v: 1 / math.cosh(v) ** 2),
    "relu": (lambda v: max(v, 0.0), lambda v: float(v > 0)),
    "leaky_relu": (lambda v: v if v > 0 else 0.01 * v, lambda v: 1.0 if v > 0 else 0.01),
    "softplus": (lambda v: math.log1p(math.exp(v)), lambda v: 1 / (1 + math.exp(-v))),
}


def test_every_entry_has_a_reference_here():
    assert set(REFERENCE) == set(rules.activation_names(with_linear=False)) - {
        r.name for r in rules.ACTIVATIONS.values() if r.custom
    }


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_definition_and_rule_match_the_reference(name):
    rule = rules.ACTIVATIONS[name]
    f, fprime = REFERENCE[name]
    for v in POINTS:
        value = float(rule.definition(sp.Float(v, 30)).evalf(30))
        a = rule.definition(sp.Float(v, 30))
        slope = float(rule.derivative(sp.Float(v, 30), a).doit().evalf(30))
        assert value == pytest.approx(f(v), rel=1e-14, abs=1e-15)
        assert slope == pytest.approx(fprime(v), rel=1e-12, abs=1e-14)
        via_diff = float(sp.diff(rule.definition(z), z).subs(z, sp.Float(v, 30)).evalf(30))
        assert slope == pytest.approx(via_diff, rel=1e-14, abs=1e-15)


@pytest.mark.parametrize("name", ["elu", "silu", "gelu"])
def test_kernel_equals_the_definition(name):
    rule = rules.ACTIVATIONS[name]
    for v in POINTS:
        kernel = rules.to_elementary(rule.code_form(sp.Float(v, 30)))
        assert float(kernel.evalf(30)) == pytest.approx(float(rule.definition(v)), rel=1e-14)


def test_elu_kink_matches_pytorch():
    rule = rules.ACTIVATIONS["elu"]
    at_zero = rule.derivative(sp.Integer(0), rule.function(sp.Integer(0)))
    assert sp.simplify(at_zero.doit()) == 1  # exp(0) = 1 from the left, 1 from the right


def _one_unit_module(name):
    """1 → 1 net with ``name`` on the output: a = f(w x + b), half_sse loss."""
    net = LayerNet(name=f"k_{name}", sizes=(1, 1), activations=(name,), loss="half_sse")
    return load_generated(generate_layer_module(derive_layers(net), source=net.name))


@pytest.mark.parametrize("dtype, rel", [(np.float64, 1e-13), (np.float32, 2e-6)])
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_generated_kernels_plain_and_in_place(name, dtype, rel):
    """forward (plain kernel) and gradients (in-place kernels: f into a's buffer, f' fused into
    delta) against the hand-written reference, in float64 and float32."""
    f, fprime = REFERENCE[name]
    m = _one_unit_module(name)
    params = {"W1": np.array([[1.0]], dtype), "b1": np.array([0.0], dtype)}
    x = np.array([[v] for v in POINTS], dtype)
    t = np.full_like(x, 0.25)
    with np.errstate(all="raise"):
        out = m.forward(params, x)
        grads = m.gradients(params, x, t)
        value = m.loss(params, x, t)
    assert out.dtype == dtype and grads["b1"].dtype == dtype
    zs = [float(v) for v in x[:, 0]]
    want_a = np.array([f(v) for v in zs])
    want_db = sum((f(v) - 0.25) * fprime(v) for v in zs)
    assert out[:, 0] == pytest.approx(want_a, rel=rel, abs=rel)
    assert float(grads["b1"][0]) == pytest.approx(want_db, rel=rel * 10, abs=rel)
    assert float(value) == pytest.approx(sum(0.5 * (f(v) - 0.25) ** 2 for v in zs), rel=rel * 10)


@pytest.mark.parametrize("name", ["elu", "silu", "gelu", "sigmoid", "softplus", "tanh"])
def test_generated_kernels_quiet_at_large_logits(name):
    m = _one_unit_module(name)
    params = {"W1": np.array([[1.0]]), "b1": np.array([0.0])}
    x = np.array([[-1000.0], [1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, no nan
        grads = m.gradients(params, x, np.zeros_like(x))
    assert all(np.all(np.isfinite(g)) for g in grads.values())
