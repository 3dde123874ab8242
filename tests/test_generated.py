"""generated/ holds the committed outputs for the seed networks; regenerating changes no byte.

Refresh deliberately with ``python -m pytest tests/test_generated.py --update-generated``.
The outputs must not depend on PYTHONHASHSEED, the working directory or the time zone: row 40 of
tests/test_bad_inputs.py generates every example (these included) in fresh interpreters under
different ones and compares the bytes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from symbackprop.codegen.unit import generate_module
from symbackprop.derivation.unit import derive
from symbackprop.handout.unit import generate_handout
from symbackprop.output.writer import stamp
from symbackprop.spec.load import load_spec

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
UNIT_EXAMPLES = ["mazur", "hmkcode", "jacobs", "essa", "jacobs_softmax"]


def outputs(name: str) -> dict[str, str]:
    derivation = derive(load_spec(name))
    return {
        f"{name}.py": stamp(generate_module(derivation, source=name), comment="#", source=name),
        f"{name}.tex": stamp(generate_handout(derivation, source=name), comment="%", source=name),
    }


@pytest.mark.parametrize("name", UNIT_EXAMPLES)
def test_generated_files_are_up_to_date(name, request):
    for filename, text in outputs(name).items():
        path = GENERATED / filename
        if request.config.getoption("--update-generated"):
            path.write_text(text, encoding="utf-8")
            continue
        assert path.is_file(), f"{path} missing: run with --update-generated"
        assert path.read_text(encoding="utf-8") == text, f"{filename} differs from generated/"


LAYER_EXAMPLES = ["nielsen", "digits"]


@pytest.mark.parametrize("name", LAYER_EXAMPLES)
def test_generated_layer_modules_are_up_to_date(name, request):
    """The layer-level modules; their handouts are not kept here, because the loss figure in them
    comes from running BLAS matrix products, whose last bits may differ between machines."""
    from symbackprop.derived import derived

    text = stamp(derived(load_spec(name)).module(source=name), comment="#", source=name)
    path = GENERATED / f"{name}.py"
    if request.config.getoption("--update-generated"):
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"{path} missing: run with --update-generated"
    assert path.read_text(encoding="utf-8") == text, f"{name}.py differs from generated/"
