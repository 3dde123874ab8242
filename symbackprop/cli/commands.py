"""The ``symbackprop`` command line.

Each command reads a SPEC (a built-in example's name or a TOML file), derives, and writes or
prints. Errors are one line on stderr with the exit codes of :mod:`errors`; ``--debug`` adds the
traceback. Outputs are generated and checked in memory, then written atomically
(:mod:`output.writer`).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

from symbackprop import __version__
from symbackprop.cli import streams
from symbackprop.cli.args import (
    DIGITS,
    MAX_OPS_RANGE,
    POINTS,
    SEED,
    Parser,
    integer,
    memory,
    seconds,
)
from symbackprop.codegen.backends_names import BACKENDS, DEFAULT_BACKEND, output_suffix
from symbackprop.deadline import TimeLimitExpired, time_limit
from symbackprop.errors import (
    EXIT_INTERNAL,
    EXIT_INVALID,
    EXIT_OK,
    InvalidInput,
    SymbackpropError,
)
from symbackprop.handout.styles import NAMES as STYLE_NAMES

MAX_OPS = 10_000  # about a minute of derivation and code generation at unit level

_EPILOG = """exit codes: 0 ok, 1 internal error, 2 invalid input, 3 a claim is wrong (verify),
4 refused to overwrite, 5 resource limit, 6 pdflatex failed, 7 a claim is undecided (verify could
not decide it within its resource limit; never reported correct). When standard output cannot
be written (closed, full, a pipe closed early) the exit code is the command's own if that is not
0, else 2.
SPEC is the name of a built-in example (see 'symbackprop examples') or a TOML file."""


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="symbackprop",
        description="Exact symbolic backpropagation: derivations, LaTeX handouts, NumPy code.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"symbackprop {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument(
        "--max-seconds",
        type=seconds,
        default=300.0,
        metavar="S",
        help="stop with exit 5 when a command takes longer (default 300)",
    )
    parser.add_argument(
        "--max-ops",
        type=integer(*MAX_OPS_RANGE),
        default=MAX_OPS,
        metavar="N",
        help=f"stop with exit 5 before deriving a network of more than N operations: SymPy "
        f"nodes in its unit-level definitions, or in its layer-level equations (which grow "
        f"with the depth, not the width); default {MAX_OPS}",
    )
    parser.add_argument(
        "--max-memory",
        type=memory,
        default=None,
        metavar="BYTES",
        help="stop with exit 5 before a job estimated to need more memory (e.g. 8G; "
        "default: half the machine's memory)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("examples", help="list the built-in example networks")

    def level(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--level",
            choices=("unit", "layer", "auto"),
            help="override the spec's level: one symbol per neuron, or BP1-BP4 per layer",
        )

    p = sub.add_parser("derive", help="print the δ-recursion derivation in the terminal")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--format", choices=("text", "latex"), default="text")
    p.add_argument(
        "--digits", type=integer(*DIGITS), default=9, help="significant digits (default 9)"
    )
    level(p)

    def outputs(p: argparse.ArgumentParser, suffix: str) -> None:
        p.add_argument("spec", metavar="SPEC")
        p.add_argument(
            "-o", "--output", metavar="FILE", help=f"output file (default: <name>{suffix})"
        )
        p.add_argument("--out", metavar="DIR", help="directory the output must stay inside")
        p.add_argument(
            "--force",
            action="store_true",
            help="overwrite files edited by hand or not ours (the old one is kept as .bak, "
            "or .bak.1, .bak.2, ... : no backup is replaced)",
        )
        level(p)

    p = sub.add_parser(
        "handout", help="write the LaTeX handout, and its PDF when pdflatex is found"
    )
    outputs(p, ".tex")
    p.add_argument(
        "--digits", type=integer(*DIGITS), default=9, help="significant digits (default 9)"
    )
    p.add_argument("--no-solutions", action="store_true", help="hide the exercises' answers")
    p.add_argument(
        "--style",
        choices=STYLE_NAMES,
        help="the document's style, after a lecture (default: the spec's style, else its "
        "notation's lecture's: mazur at the unit level, nielsen at the layer level)",
    )
    p.add_argument("--no-pdf", action="store_true", help="write the .tex only")

    p = sub.add_parser(
        "slides", help="write the derivation as a Beamer deck, and its PDF when pdflatex is found"
    )
    outputs(p, ".tex")
    p.add_argument(
        "--digits", type=integer(*DIGITS), default=6, help="significant digits (default 6)"
    )
    p.add_argument(
        "--no-solutions", action="store_true", help="a question deck: no value or answer shown"
    )
    pdf = p.add_mutually_exclusive_group()
    pdf.add_argument(
        "--pdf", action="store_true", help="require the PDF (exit 6 when pdflatex is missing)"
    )
    pdf.add_argument("--no-pdf", action="store_true", help="write the .tex only")

    p = sub.add_parser("codegen", help="write the NumPy module (or torch, JAX, CuPy, array API)")
    outputs(p, ".py, or <name>_<backend>.py")
    p.add_argument(
        "--optimizers",
        metavar="NAMES",
        type=lambda text: [n.strip() for n in text.split(",") if n.strip()],
        help="update rules to emit besides the spec's (sgd when it names none): comma-separated "
        "names of sgd, momentum, nesterov, adagrad, rmsprop, adam, or all",
    )
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help="the array library of the module (default numpy, which needs nothing else); the "
        "others are for layer-level nets: torch (CPU or CUDA tensors, no autograd), jax "
        "(jax.jit-compiled pure functions), cupy (CUDA arrays), array-api (any namespace "
        "through array-api-compat: NumPy, torch, JAX, Dask, array-api-strict)",
    )

    p = sub.add_parser("check", help="symbolic = generated NumPy = finite differences, or exit 1")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument(
        "--points", type=integer(*POINTS), default=3, help="random points to check (default 3)"
    )
    p.add_argument("--seed", type=integer(*SEED), default=0)
    level(p)

    p = sub.add_parser(
        "verify",
        help="check hand-written claims; exit 0 all correct, 3 any wrong, 7 any undecided",
        epilog="verdicts: correct (every instance holds), wrong (exit 3, with the reason), "
        "unreadable (exit 2), undecided (exit 7: not decidable within the resource limit, "
        "with why; never reported correct)",
    )
    p.add_argument("spec", metavar="SPEC")
    p.add_argument(
        "claims",
        metavar="CLAIMS",
        help="a file of claims, or - for standard input; or a LaTeX document (homework.tex: "
        "\\documentclass, \\begin{...}, \\[ or $$ in it), whose every equation line is graded",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--annotate",
        metavar="OUT.pdf",
        help="(a LaTeX document) compile it with a mark in the margin of each checked line: "
        "a tick, or a cross and the correct expression or value",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="with --annotate: overwrite a PDF not written by symbackprop (kept as .bak)",
    )
    p.add_argument(
        "--style",
        choices=STYLE_NAMES,
        help="(layer level) read layer numbers as the handout in this style numbers them "
        "(default: the spec's style, else nielsen: the input is layer 1, a^1 = x; mazur, "
        "fausett, hmkcode, jacobs: the input is layer 0)",
    )
    level(p)
    return parser


def _load(args):
    """The spec's network, derived at its level (:mod:`derived`), refused (exit 5) before the
    commands' work when it is over --max-ops; its warnings go to stderr."""
    from symbackprop.budget import operation_limit, set_max_memory
    from symbackprop.derived import derived
    from symbackprop.spec.load import load_spec

    with operation_limit(args.max_ops):  # a unit-level net over it is refused before it is built
        d = derived(load_spec(args.spec, level=getattr(args, "level", None)))
    d.require_operations(args.max_ops)
    for warning in d.network.warnings:
        _warn(warning)
    set_max_memory(args.max_memory)
    return d


def _target(args, network_name: str, suffix: str) -> Path:
    from symbackprop.output.writer import resolve_inside

    out_dir = Path(args.out) if args.out else None
    name = args.output or f"{network_name}{suffix}"
    if out_dir is None:
        return resolve_inside(None, name)
    return resolve_inside(out_dir, name)


def _warn(message: str) -> None:
    print(f"symbackprop: warning: {message}", file=sys.stderr)


def _say(message: str) -> None:
    streams.say(message)


def cmd_examples(args) -> int:
    from symbackprop.spec.load import example_names, load_spec

    for name in example_names():
        net = load_spec(name)
        _say(f"{name:10s} {net.title}")
    return EXIT_OK


def cmd_derive(args) -> int:
    d = _load(args)
    _say(d.latex() if args.format == "latex" else d.text(digits=args.digits))
    return EXIT_OK


def cmd_codegen(args) -> int:
    from symbackprop.output.writer import stamp, write_atomic

    d = _load(args)
    target = _target(args, d.name, output_suffix(args.backend))
    body = d.module(source=args.spec, optimizers=args.optimizers, backend=args.backend)
    text = stamp(body, comment="#", source=args.spec)
    changed = write_atomic(target, text, force=args.force)
    _say(f"{'wrote' if changed else 'unchanged'} {target}")
    return EXIT_OK


def cmd_handout(args, method: str = "handout") -> int:
    from symbackprop.handout.latexrun import find_pdflatex
    from symbackprop.output.save import write_tex_and_pdf
    from symbackprop.output.writer import stamp

    if args.output and Path(args.output).suffix.lower() == ".pdf":
        # The .tex would be written to X.pdf and then replaced by the PDF: refuse up front.
        raise InvalidInput(
            f"-o names the .tex file, not the PDF: '{args.output}'",
            hint=f"give -o {Path(args.output).with_suffix('.tex')}; the PDF is written beside it",
        )
    d = _load(args)
    target = _target(args, d.name, ".tex")
    make = getattr(d, method)  # Derived.handout or Derived.slides
    options = dict(source=args.spec, digits=args.digits, show_solutions=not args.no_solutions)
    if method == "handout":
        options["style"] = args.style
    body = make(**options)
    text = stamp(body, comment="%", source=args.spec)
    pdf_path = None if args.no_pdf or find_pdflatex() is None else target.with_suffix(".pdf")
    files, written = write_tex_and_pdf(target, text, pdf_path, force=args.force, on_failure=_report)
    _report(files, written)
    if pdf_path is not None and len(files) == 1:
        _say(f"unchanged {pdf_path}")
    if not args.no_pdf and pdf_path is None:
        _warn(f"pdflatex not found: wrote {target} only (install TeX Live to get the PDF)")
    return EXIT_OK


def cmd_slides(args) -> int:
    """As ``handout``, with the deck: the same checks, sandboxed pdflatex and atomic writes."""
    from symbackprop.errors import PdflatexFailed
    from symbackprop.handout.latexrun import find_pdflatex

    if args.pdf and find_pdflatex() is None:
        raise PdflatexFailed("pdflatex not found", hint="install TeX Live or set PATH")
    return cmd_handout(args, method="slides")


def _report(files: list, written: list[Path]) -> None:
    for path, _ in files:
        _say(f"{'wrote' if path in written else 'unchanged'} {path}")


def cmd_check(args) -> int:
    from symbackprop.check.unit import format_report

    report = _load(args).check(points=args.points, seed=args.seed)
    _say(format_report(report))
    return EXIT_OK if report.ok else EXIT_INTERNAL


def cmd_verify(args) -> int:
    from symbackprop.verify.annotate import writer
    from symbackprop.verify.document import document_text, run_verify_document
    from symbackprop.verify.run import run_verify

    text = document_text(args.claims)  # None: a claims file (or stdin), read by run_verify
    if text is not None:
        json = args.format == "json"
        annotate = writer(args.annotate, text, force=args.force, say=_say, json=json)
        network = _load(args).network
        return run_verify_document(
            network,
            text,
            source=args.claims,
            fmt=args.format,
            say=_say,
            annotate=annotate,
            style=args.style,
        )
    if args.annotate:
        raise InvalidInput(
            f"--annotate needs a LaTeX document, but '{args.claims}' is a claims file",
            hint="a document has \\documentclass, \\begin{...}, \\[ or $$",
        )
    return run_verify(
        args.spec,
        args.claims,
        fmt=args.format,
        say=_say,
        load=lambda _: _load(args).network,
        style=args.style,
    )


COMMANDS = {
    "examples": cmd_examples,
    "derive": cmd_derive,
    "codegen": cmd_codegen,
    "handout": cmd_handout,
    "slides": cmd_slides,
    "check": cmd_check,
    "verify": cmd_verify,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    streams.reset()
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return streams.finish(stop.code if isinstance(stop.code, int) else EXIT_INVALID)
    return streams.finish(_run(args))


def _run(args) -> int:
    """The command, its errors turned into one line on stderr and an exit code."""
    try:
        with time_limit(args.max_seconds):
            code = COMMANDS[args.command](args)
    except SymbackpropError as error:
        if args.debug:
            traceback.print_exc()
        print(f"symbackprop: error: {error}", file=sys.stderr)
        return error.exit_code
    except TimeLimitExpired as error:  # a BaseException: see deadline.py
        if args.debug:
            traceback.print_exc()
        print(f"symbackprop: error: {error}", file=sys.stderr)
        return error.exit_code
    except RecursionError:
        if args.debug:
            traceback.print_exc()
        print("symbackprop: error: input too deeply nested", file=sys.stderr)
        return 5
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError as error:  # stdout written outside _say: no exit code known
        streams.failed(error)
        return EXIT_INVALID
    except Exception as error:  # noqa: BLE001 - the one place that turns bugs into exit 1
        if args.debug:
            traceback.print_exc()
        print(
            f"symbackprop: internal error: {type(error).__name__}: {error} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return code
