"""The zoo: depths 1-4 x activations x losses pass check (derived = NumPy = finite diff.)."""

from __future__ import annotations

import os

import pytest

from symbackprop.check.layer import check_layer_net
from symbackprop.derivation.layer import LayerNet

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softplus"]
# (loss, reduction, weight decay, output activation or None for "the hidden one")
LOSSES = [
    ("half_sse", "sum", 0.0, None),
    ("half_sse", "mean", 0.0, None),  # seed 004's C = 1/2n sum ||y - a||^2
    ("half_sse", "mean", 0.3, None),  # seed 001's lambda/2m sum w^2
    ("half_sse", "sum", 0.0, "softmax"),
    ("bce", "mean", 0.0, "sigmoid"),
    ("bernoulli_loglik", "sum", 0.1, "sigmoid"),
    ("cross_entropy", "mean", 0.0, "softmax"),
    ("multinomial_loglik", "sum", 0.0, "softmax"),
    ("gaussian_loglik", "sum", 0.0, None),
]
WIDTHS = (3, 4, 3, 2)


FULL = os.environ.get("SYMBACKPROP_FULL_ZOO") == "1"


def _cases():
    """Every activation x loss at depth 3 (two hidden layers: BP2 runs through an activation
    twice), and at the other depths every loss with one activation and every activation with
    one loss, so that each pair of (depth, activation, loss) values is covered.
    ``SYMBACKPROP_FULL_ZOO=1`` runs the whole product instead (about four times as long)."""
    for depth in (1, 2, 3, 4):
        for h, hidden in enumerate(HIDDEN):
            for k, (loss, reduction, decay, out) in enumerate(LOSSES):
                if depth == 1 and out is not None and hidden != HIDDEN[0]:
                    continue  # no hidden layer: the hidden activation plays no part
                if not (FULL or depth == 3 or h == depth % len(HIDDEN) or k == depth):
                    continue
                yield depth, hidden, loss, reduction, decay, out


@pytest.mark.parametrize("depth, hidden, loss, reduction, decay, out", list(_cases()))
def test_check_passes(depth, hidden, loss, reduction, decay, out):
    sizes = (3,) + WIDTHS[: depth - 1] + (3,)
    acts = (hidden,) * (depth - 1) + (out or hidden,)
    net = LayerNet("zoo", sizes, acts, loss, reduction=reduction, weight_decay=decay)
    report = check_layer_net(net, points=1, seed=depth)
    assert report.ok, [(p.name, p.numpy_error, p.fd_error) for p in report.params]
