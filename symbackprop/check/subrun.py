"""Run a generated module in a child process: nothing of it is imported into the tool itself.

``check`` and the handouts' training curves need numbers from the generated module. The module
is audited (:mod:`codegen.audit`), then written with the input arrays into a private temporary
directory, and ``python -I subrun_driver.py DIR`` (isolated: no environment variables, no user
site, no script directory on the path; the working directory is that temporary directory) runs
every call of one :class:`Job` and returns the arrays through an ``.npz`` file read with
``allow_pickle=False``. One child per command, not per call: starting Python and NumPy costs
about a tenth of a second.

The child's time is bounded by what is left of ``--max-seconds`` (the running alarm, see
:func:`remaining_seconds`); on expiry it is killed and :class:`~errors.ResourceLimit` raised.
A failure inside the module is a bug in symbackprop: :class:`GeneratedModuleFailed`.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from symbackprop.codegen.audit import audit_module
from symbackprop.errors import ResourceLimit

DRIVER = Path(__file__).resolve().parent / "subrun_driver.py"
DEFAULT_SECONDS = 600.0  # without a running alarm (the API used directly, the tests)


class GeneratedModuleFailed(RuntimeError):
    """The generated module raised or died in the child process (a bug in symbackprop)."""


def remaining_seconds() -> float | None:
    """Seconds left on the command's ``--max-seconds`` alarm, or None when none is running."""
    if not hasattr(signal, "getitimer"):
        return None
    left = signal.getitimer(signal.ITIMER_REAL)[0]
    return left if left > 0 else None


class Job:
    """The calls one child process makes; each ``add_*`` returns the index of its result."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.calls: list[dict] = []

    def array(self, value) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.asarray(value)
        return key

    def _call(self, op: str, **fields) -> int:
        self.calls.append({"op": op, **fields})
        return len(self.calls) - 1

    def point(self, params: dict, x, t) -> dict:
        """Parameters and data sent once, for any number of calls at that point."""
        return dict(
            params={n: self.array(v) for n, v in params.items()}, x=self.array(x), t=self.array(t)
        )

    def gradients(self, point: dict) -> int:
        """``module.gradients(params, x, t)`` at ``point``: a dict of float64 arrays."""
        return self._call("gradients", **point)

    def losses(self, point: dict, entries: list[tuple[str, tuple]], values) -> int:
        """``module.loss`` at ``point`` with ``params[name][index]`` set to each of
        ``values[row]`` for the entry ``(name, index)`` of that row: shaped like ``values``."""
        entries = [[name, [int(i) for i in index]] for name, index in entries]
        return self._call("losses", **point, entries=entries, values=self.array(values))

    def sgd_curve(self, iterations: int, every: int) -> int:
        """Unit modules: ``sgd_step`` on EXAMPLE_X/T from ``init_params()``; rows (step, loss)."""
        return self._call("sgd_curve", iterations=int(iterations), every=int(every))

    def optimizer_curve(
        self, x, t, iterations: int, seed: int = 0, batch: int | None = None
    ) -> int:
        """Layer modules: the loss of each ``optimizer_step`` from ``init_params(seed)`` on the
        full batch; with ``batch``, of each epoch of shuffled mini-batches of that size."""
        fields = dict(x=self.array(x), t=self.array(t), iterations=int(iterations), seed=int(seed))
        if batch is not None:
            fields["batch"] = int(batch)
        return self._call("optimizer_curve", **fields)


def run(module_text: str, job: Job, *, what: str = "the generated module") -> list:
    """Run ``job`` against ``module_text`` in a child process; the results in call order (an
    array, or a dict name -> array for ``gradients``)."""
    audit_module(module_text, expected=())
    left = remaining_seconds()
    timeout = DEFAULT_SECONDS if left is None else left
    with tempfile.TemporaryDirectory(prefix="symbackprop-run-") as tmp:
        work = Path(tmp)
        (work / "module.py").write_text(module_text, encoding="utf-8")
        (work / "job.json").write_text(json.dumps(job.calls), encoding="utf-8")
        np.savez(work / "inputs.npz", **job.arrays)
        try:
            done = subprocess.run(
                [sys.executable, "-I", str(DRIVER), str(work)],
                cwd=work,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ResourceLimit(
                f"{what} ran past the time left ({timeout:.0f} s)", hint="raise --max-seconds"
            ) from None
        if done.returncode != 0:
            error = work / "error.txt"
            lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = (
                error.read_text(encoding="utf-8")
                if error.is_file()
                else (lines[-1] if lines else f"exit status {done.returncode}")
            )
            raise GeneratedModuleFailed(f"{what} failed in its child process: {detail}")
        with np.load(work / "outputs.npz", allow_pickle=False) as data:
            found = {key: data[key] for key in data.files}
    results: list = []
    for i in range(len(job.calls)):
        if f"r{i}" in found:
            results.append(found[f"r{i}"])
        else:
            prefix = f"r{i}."
            results.append({k[len(prefix) :]: v for k, v in found.items() if k.startswith(prefix)})
    return results
