"""Run calls of a generated module in a child process (started by :mod:`check.subrun`).

Usage: ``python -I subrun_driver.py DIR``. ``DIR`` holds ``module.py`` (the audited generated
module), ``inputs.npz`` (numeric arrays only) and ``job.json`` (the calls, naming arrays by their
key in ``inputs.npz``). The results go to ``outputs.npz`` as ``r<i>`` or ``r<i>.<param>``; a
failure of the module goes to ``error.txt`` with exit status 3.

This file imports nothing but the standard library and NumPy, and never symbackprop: the child
has nothing of the tool's to use, only the module and the numbers it is asked about.
"""

import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np


def _load_module(path):
    spec = importlib.util.spec_from_file_location("generated_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _params(inputs, keys):
    return {name: np.array(inputs[key]) for name, key in keys.items()}


def _gradients(module, inputs, call):
    grads = module.gradients(_params(inputs, call["params"]), inputs[call["x"]], inputs[call["t"]])
    return {name: np.asarray(value, dtype=np.float64) for name, value in grads.items()}


def _losses(module, inputs, call):
    """The loss with one parameter entry set to each trial value (finite differences)."""
    params = _params(inputs, call["params"])
    x, t = inputs[call["x"]], inputs[call["t"]]
    values = inputs[call["values"]]
    out = np.empty(values.shape)
    for row, (name, index) in enumerate(call["entries"]):
        array = params[name]
        index = tuple(index)
        kept = array[index].copy()
        for col, value in enumerate(values[row]):
            array[index] = value
            out[row, col] = float(module.loss(params, x, t))
        array[index] = kept
    return out


def _sgd_curve(module, inputs, call):
    """(iteration, loss before it) every ``every`` steps of sgd_step on the example (and every
    step of the first ``every``, where a curve changes fastest and a diverging one ends), then
    the final loss: the unit handout's training curve. A non-finite loss ends it, as its last
    row."""
    params = module.init_params()
    state = module.sgd_init(params)
    x, t = module.EXAMPLE_X, module.EXAMPLE_T
    points = []
    for step in range(call["iterations"]):
        value = float(module.sgd_step(params, state, x, t))
        if step % call["every"] == 0 or step < call["every"] or not np.isfinite(value):
            points.append((step, value))
        if not np.isfinite(value):
            return np.array(points, dtype=np.float64)
    points.append((call["iterations"], float(module.loss(params, x, t))))
    return np.array(points, dtype=np.float64)


def _optimizer_curve(module, inputs, call):
    """The layer handout's curve, rows (step, loss). Full batch (no ``batch``): the loss of each
    step of the spec's optimizer. With ``batch``: each step is an epoch of mini-batches of that
    size, the rows reshuffled every epoch (``default_rng(seed)``), and the loss is that of the
    whole data before each epoch and after the last. A non-finite loss ends it, as its last row.
    """
    params = module.init_params(seed=call["seed"])
    state = module.optimizer_init(params)
    x, t = inputs[call["x"]], inputs[call["t"]]
    batch = call.get("batch")
    rng = np.random.default_rng(call["seed"])
    points = []
    for step in range(call["iterations"]):
        if batch is None:
            points.append((step, float(module.optimizer_step(params, state, x, t))))
        else:
            points.append((step, float(module.loss(params, x, t))))
            order = rng.permutation(len(x))
            for start in range(0, len(x), batch):
                rows = order[start : start + batch]
                module.optimizer_step(params, state, x[rows], t[rows])
        if not np.isfinite(points[-1][1]):
            break
    if batch is not None and np.isfinite(points[-1][1]):
        points.append((call["iterations"], float(module.loss(params, x, t))))
    return np.array(points, dtype=np.float64).reshape(-1, 2)


OPS = {
    "gradients": _gradients,
    "losses": _losses,
    "sgd_curve": _sgd_curve,
    "optimizer_curve": _optimizer_curve,
}


def main(directory):
    work = Path(directory)
    calls = json.loads((work / "job.json").read_text(encoding="utf-8"))
    with np.load(work / "inputs.npz", allow_pickle=False) as data:
        inputs = {key: data[key] for key in data.files}
    results = {}
    try:
        module = _load_module(work / "module.py")
        # A diverging curve is a result to show, not an error: overflow gives inf, quietly.
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            for i, call in enumerate(calls):
                value = OPS[call["op"]](module, inputs, call)
                if isinstance(value, dict):
                    results.update({f"r{i}.{name}": v for name, v in value.items()})
                else:
                    results[f"r{i}"] = value
    except Exception as error:  # noqa: BLE001 - reported to the parent, which raises
        (work / "error.txt").write_text(f"{type(error).__name__}: {error}", encoding="utf-8")
        return 3
    np.savez(work / "outputs.npz", **results)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
