"""Load a generated module from its text, for the tests and the benchmarks only.

The tool itself never imports a generated module: ``check`` and the handouts run it in a child
process (:mod:`check.subrun`). Tests import modules directly to call them like a user would. The
text
must pass :func:`audit.audit_module`; it is written to a private temporary directory and
imported from there.
"""

from __future__ import annotations

import importlib.util
import tempfile
import types
from pathlib import Path

from symbackprop.codegen.audit import audit_module


def load_generated(text: str, name: str = "generated_module") -> types.ModuleType:
    """Import generated NumPy code given as text and return the module object."""
    audit_module(text, expected=("gradients",))
    with tempfile.TemporaryDirectory(prefix="symbackprop-load-") as tmp:
        path = Path(tmp) / f"{name}.py"
        path.write_text(text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module
