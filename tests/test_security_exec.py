"""Code execution from a spec (issue 11 items 1-2, BAD_INPUTS row 41), and the allow-list audit.

* The two exploits of the issue, through the real command line (``codegen``, ``check``,
  ``handout``): the payload would write PWNED.txt (by absolute path, so a run in any directory
  would show); nothing is written, and the text is in the module only as a string literal.
* Every built-in example at both levels passes the audit.
* Injected statements of many kinds, spliced into real generated modules, each fail it.
* The runner executes modules in a child process, bounded by the time left.
"""

from __future__ import annotations

import ast
import io
import json
import sys
import time
import tokenize
from pathlib import Path

import numpy as np
import pytest
from clirun import run

from symbackprop.budget import operation_limit
from symbackprop.check import subrun
from symbackprop.cli.commands import MAX_OPS
from symbackprop.codegen.audit import AuditError, audit_module
from symbackprop.codegen.layer import generate_layer_module
from symbackprop.codegen.unit import generate_module
from symbackprop.deadline import TimeLimitExpired, time_limit
from symbackprop.derivation.layer import LayerNet, derive_layers
from symbackprop.derivation.unit import derive
from symbackprop.derived import derived
from symbackprop.errors import InvalidInput, ResourceLimit
from symbackprop.printers.pystr import docstring_literal
from symbackprop.spec.load import example_names, load_spec

LAYER_NET = '[network]\ninputs = 2\nlayers = [{units = 2, activation = "sigmoid"}]\n'


def payload(pwned: Path) -> str:
    """Issue item 1's title, writing to an absolute path."""
    return (
        'x"""\nimport numpy as np\n'
        f'pwn = np.ctypeslib.ctypes.CDLL(None).system(b"id > {pwned}")\nrest = """'
    )


FILE_NAME = (
    'a""";import numpy as np;p=np.ctypeslib.ctypes.CDLL(None).system(b"id>PWNED.txt");r="""b'
)


def strings_only(text: str, needle: str) -> None:
    """``needle`` occurs in the module only inside string literals (or the header comment)."""
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if needle in tok.string:
            assert tok.type == tokenize.STRING or (
                tok.type == tokenize.COMMENT and tok.start[0] == 1
            ), tok


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("level", ["layer", "unit"])
@pytest.mark.parametrize("command", ["codegen", "check", "handout"])
def test_row41_title_exploit(workdir, capsys, command, level):
    pwned = workdir / "PWNED.txt"
    title = payload(pwned)
    spec = workdir / "evil.toml"
    spec.write_text(f"title = {json.dumps(title)}\nlevel = {json.dumps(level)}\n{LAYER_NET}")
    extra = ["--no-pdf"] if command == "handout" else []
    code, out, err = run(capsys, command, str(spec), *extra)
    assert code == 0, err
    assert not pwned.exists()
    if command == "codegen":
        text = (workdir / "evil.py").read_text()
        strings_only(text, "ctypeslib")
        assert title in ast.get_docstring(ast.parse(text), clean=False)
        audit_module(text, expected=("gradients",))


@pytest.mark.parametrize("command", ["codegen", "check", "handout"])
def test_row41_file_name_exploit(workdir, capsys, command):
    spec = workdir / f"{FILE_NAME}.toml"
    spec.write_text('name = "evil"\nlevel = "layer"\n' + LAYER_NET)
    extra = ["--no-pdf", "-o", "h.tex"] if command == "handout" else []
    extra = ["-o", "m.py"] if command == "codegen" else extra
    code, out, err = run(capsys, command, str(spec), *extra)
    assert code == 0, err
    assert not list(workdir.rglob("PWNED*"))
    if command == "codegen":
        text = (workdir / "m.py").read_text()
        strings_only(text, "ctypeslib")
        assert f"Spec: {spec}." in ast.get_docstring(ast.parse(text), clean=False)


@pytest.mark.parametrize(
    "text",
    ['x"""', '"', '""', "a\\", "\\N{BULLET}", "a\rb\x00\u202e\ud800", 'é"""\n"""', "\\'''"],
)
def test_docstring_literal_round_trips(text):
    literal = docstring_literal(text)
    assert ast.literal_eval(literal) == text
    assert len(ast.parse(literal).body) == 1


# -------------------------------------------------------------------------------------------
# The audit: every built-in module passes, every injection fails.


def module_for(name: str, level: str) -> str:
    try:
        with operation_limit(MAX_OPS):  # refused before building, as the command line does
            net = load_spec(name, level=level)
        derived(net).require_operations(MAX_OPS)  # the command line's default limit
    except (InvalidInput, ResourceLimit) as error:
        pytest.skip(f"{name} has no {level} level: {error}")
    if isinstance(net, LayerNet):
        return generate_layer_module(derive_layers(net), source=name)
    return generate_module(derive(net), source=name)


@pytest.mark.parametrize("level", ["unit", "layer"])
@pytest.mark.parametrize("name", example_names())
def test_examples_pass_the_audit(name, level):
    audit_module(module_for(name, level), expected=("gradients", "loss", "optimizer_step"))


@pytest.fixture(scope="module", params=[("mazur", "unit"), ("essa", "layer")])
def real_module(request) -> str:
    return module_for(*request.param)


TOP_LEVEL = {
    "import-os": "import os",
    "import-from": "from os import system",
    "import-numpy-plain": "import numpy",
    "import-two": "import numpy as np, os",
    "np-ctypeslib": "pwn = np.ctypeslib.ctypes.CDLL(None).system(b'id')",
    "np-lib": "x = np.lib",
    "np-load": "x = np.load('a.npy')",
    "np-bare": "x = np",
    "np-rebound": "np = 1",
    "np-random-other": "x = np.random.bit_generator",
    "exec-call": "x = exec('1')",
    "eval-call": "x = eval('1')",
    "dunder-import": "x = __import__('os')",
    "getattr": "x = getattr(np, 'ctypeslib')",
    "open": "x = open('f')",
    "print": "x = print",
    "vars": "x = vars()",
    "top-level-expression": "1 + 1",
    "top-level-call": "init_params()",
    "class": "class A:\n    pass",
    "with": "with open('f') as f:\n    pass",
    "try": "try:\n    pass\nexcept Exception:\n    pass",
    "if": "if True:\n    x = 1",
    "for": "for i in range(1):\n    pass",
    "global": "global INPUTS",
    "lambda": "f = lambda: 0",
    "annotated": "x: int = 1",
    "augmented": "x = 1\nx += 1",
    "delete": "del x",
    "tuple-target": "a, b = 1, 2",
    "array-dunder": "x = np.zeros(1).__class__",
    "array-ctypes-private": "x = np.zeros(1).ctypes._ctypes",
    "string-format": "x = '{0.__class__}'.format(1)",
    "fstring-dunder": "x = f'{INPUTS.__class__}'",
    "shadow-exec": "exec = 1",
    "decorator": "@staticmethod\ndef f():\n    return 1",
    "async": "async def f():\n    return 1",
    "type-3-args": "x = type('A', (), {})",
}

IN_FUNCTION = {
    "import": "import os",
    "global": "global INPUTS",
    "nonlocal-def": "def g():\n    return 1",
    "lambda": "f = lambda: 0",
    "yield": "yield 1",
    "with-open": "with open('f'):\n    pass",
    "with-as": "with np.errstate() as e:\n    pass",
    "try-bare": "try:\n    pass\nexcept:\n    pass",
    "try-exception": "try:\n    pass\nexcept Exception:\n    pass",
    "try-named": "try:\n    pass\nexcept ValueError as e:\n    pass",
    "exec": "exec('1')",
    "np-ctypeslib": "np.ctypeslib.ctypes.CDLL(None)",
    "ctypes-private": "x.ctypes._ctypes",
    "ctypes-alone": "p = x.ctypes",
    "dunder-attr": "x.__class__",
    "unknown-attr": "x.tofile('f')",
    "unknown-name": "undefined_thing(1)",
    "walrus": "(y := 1)",
    "delete": "del x",
    "class": "class A:\n    pass",
    "np-argument": "np = 1",
}


def splice_top(module: str, code: str) -> str:
    return module.replace("import numpy as np\n", f"import numpy as np\n{code}\n", 1)


def splice_function(module: str, code: str) -> str:
    """``code`` as the first statements of ``loss``, indented like its body."""
    tree = ast.parse(module)
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "loss")
    lines = module.splitlines(keepends=True)
    first = func.body[0]
    indent = " " * first.col_offset
    injected = "".join(f"{indent}{line}\n" for line in code.splitlines())
    return "".join(lines[: first.lineno - 1]) + injected + "".join(lines[first.lineno - 1 :])


@pytest.mark.parametrize("code", TOP_LEVEL.values(), ids=TOP_LEVEL.keys())
def test_row41_injected_top_level_fails_audit(real_module, code):
    text = splice_top(real_module, code)
    ast.parse(text)  # the splice itself is valid Python
    with pytest.raises(AuditError):
        audit_module(text, expected=("gradients",))


@pytest.mark.parametrize("code", IN_FUNCTION.values(), ids=IN_FUNCTION.keys())
def test_row41_injected_in_function_fails_audit(real_module, code):
    text = splice_function(real_module, code)
    ast.parse(text)
    with pytest.raises(AuditError):
        audit_module(text, expected=("gradients",))


def test_splices_of_harmless_code_pass(real_module):
    """The control: the splicing itself does not break the audit."""
    audit_module(splice_top(real_module, "EXTRA = (1, 2.5, 'text')"), expected=("gradients",))
    audit_module(splice_function(real_module, "y = np.zeros(1) + 1"), expected=("gradients",))


# -------------------------------------------------------------------------------------------
# The runner: a child process, nothing imported here, bounded by the time left.


def test_runner_uses_a_child_process(real_module):
    job = subrun.Job()
    at = job.losses(job.point({}, np.zeros((1, 1)), np.zeros((1, 1))), [], np.zeros((0, 4)))
    before = set(sys.modules)
    (result,) = subrun.run(real_module, job)
    assert result.shape == (0, 4)
    # Nothing new here but, at most, a codec the pipes' text needed on first use.
    assert {m for m in set(sys.modules) - before if not m.startswith("encodings.")} == set()
    assert at == 0


def test_runner_reports_a_failing_module():
    text = (
        '"""Doc."""\n\nimport numpy as np\n\n\ndef loss(params, x, t):\n'
        '    raise ValueError("boom")\n'
    )
    job = subrun.Job()
    job.losses(
        job.point({"w": np.zeros(1)}, np.zeros(1), np.zeros(1)), [("w", (0,))], np.ones((1, 4))
    )
    with pytest.raises(subrun.GeneratedModuleFailed, match="ValueError: boom"):
        subrun.run(text, job)


def test_runner_is_killed_when_time_runs_out():
    text = (
        '"""Doc."""\n\nimport numpy as np\n\n\ndef loss(params, x, t):\n'
        "    while True:\n        pass\n"
    )
    job = subrun.Job()
    job.losses(
        job.point({"w": np.zeros(1)}, np.zeros(1), np.zeros(1)), [("w", (0,))], np.ones((1, 4))
    )
    # The child's timeout is the time left on the alarm: whichever of the two fires first, the
    # command ends with exit 5 (both carry it) and the looping child is killed.
    start = time.monotonic()
    with pytest.raises((ResourceLimit, TimeLimitExpired)) as caught, time_limit(3):
        subrun.run(text, job)
    assert caught.value.exit_code == 5
    assert time.monotonic() - start < 5
