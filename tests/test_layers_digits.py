"""A short run of examples/train_digits.py: the generated digits module learns (>= 95%)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "train_digits.py"


def test_digits_reaches_95_percent_in_a_short_run(tmp_path):
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("train_digits", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    history, accuracy = script.train(epochs=8, quiet=True)
    assert accuracy >= 0.95
    assert history[-1][1] < history[0][1]  # the loss fell
    script.save_plot(history, tmp_path / "digits.png")
    assert any(tmp_path.iterdir())
