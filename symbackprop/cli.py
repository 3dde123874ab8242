"""The ``symbackprop`` command line.

Each command reads a SPEC (a built-in example's name or a TOML file), derives, and writes or
prints. Errors are one line on stderr with the exit codes of :mod:`errors`; ``--debug`` adds the
traceback. Outputs are generated and checked in memory, then written atomically (:mod:`writer`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .errors import EXIT_INTERNAL, EXIT_OK, ResourceLimit, SymbackpropError

MAX_OPS = 10_000  # about a minute of derivation and code generation at unit level

_EPILOG = """exit codes: 0 ok, 1 internal error, 2 invalid input, 3 a claim is wrong (verify),
4 refused to overwrite, 5 resource limit, 6 pdflatex failed.
SPEC is the name of a built-in example (see 'symbackprop examples') or a TOML file."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symbackprop",
        description="Exact symbolic backpropagation: derivations, LaTeX handouts, NumPy code.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"symbackprop {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300.0,
        metavar="S",
        help="stop with exit 5 when a command takes longer (default 300)",
    )
    parser.add_argument(
        "--max-ops",
        type=int,
        default=MAX_OPS,
        metavar="N",
        help=f"stop with exit 5 before deriving a network of more than N operations "
        f"(SymPy nodes in its definitions; default {MAX_OPS})",
    )
    parser.add_argument(
        "--max-memory",
        type=_memory_size,
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
    p.add_argument("--digits", type=int, default=9, help="significant digits (default 9)")
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
            help="overwrite files edited by hand (the old one is kept as .bak)",
        )
        level(p)

    p = sub.add_parser(
        "handout", help="write the LaTeX handout, and its PDF when pdflatex is found"
    )
    outputs(p, ".tex")
    p.add_argument("--digits", type=int, default=9, help="significant digits (default 9)")
    p.add_argument("--no-solutions", action="store_true", help="hide the exercises' answers")
    p.add_argument("--no-pdf", action="store_true", help="write the .tex only")

    p = sub.add_parser("codegen", help="write the NumPy module")
    outputs(p, ".py")

    p = sub.add_parser("check", help="symbolic = generated NumPy = finite differences, or exit 1")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("--points", type=int, default=3, help="random points to check (default 3)")
    p.add_argument("--seed", type=int, default=0)
    level(p)

    p = sub.add_parser("verify", help="check hand-written claims; exit 0 all correct, 3 any wrong")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("claims", metavar="CLAIMS", help="a file of claims, or - for standard input")
    p.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _memory_size(text: str) -> float:
    from .budget import parse_memory

    try:
        return parse_memory(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


@contextmanager
def _time_limit(seconds: float):
    """Raise :class:`ResourceLimit` when the body runs longer than ``seconds`` (main thread)."""
    if seconds <= 0 or not hasattr(signal, "SIGALRM"):
        yield
        return

    def expired(signum, frame):
        raise ResourceLimit(f"gave up after {seconds:g} s", hint="raise --max-seconds")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _load(args):
    """The spec's network, refused (exit 5) before any derivation when it is over --max-ops;
    its warnings go to stderr."""
    import sympy as sp

    from .spec import load_spec

    network = load_spec(args.spec, level=getattr(args, "level", None))
    count = 0
    for node in getattr(network, "nodes", ()):
        for _ in sp.preorder_traversal(node.expr):
            count += 1
            if count > args.max_ops:  # stops counting here: the check costs at most the limit
                raise ResourceLimit(
                    f"network '{network.name}' has more than {args.max_ops} operations",
                    hint="raise --max-ops; derivation time grows faster than the network",
                )
    for warning in network.warnings:
        _warn(warning)
    from .budget import set_max_memory  # the limit the commands' estimates are held to

    set_max_memory(args.max_memory)
    return network


def _target(args, network_name: str, suffix: str) -> Path:
    from .writer import resolve_inside

    out_dir = Path(args.out) if args.out else None
    name = args.output or f"{network_name}{suffix}"
    if out_dir is None:
        return resolve_inside(None, name)
    return resolve_inside(out_dir, name)


def _warn(message: str) -> None:
    print(f"symbackprop: warning: {message}", file=sys.stderr)


def _say(message: str) -> None:
    print(message)


def _layer_level(network) -> bool:
    """True for a layer-level net (layers.LayerNet), which has its own derivation and outputs."""
    from .layers import LayerNet

    return isinstance(network, LayerNet)


def cmd_examples(args) -> int:
    from .spec import example_names, load_spec

    for name in example_names():
        net = load_spec(name)
        _say(f"{name:10s} {net.title}")
    return EXIT_OK


def cmd_derive(args) -> int:
    from .derive import derive
    from .printing import derivation_latex
    from .report import derivation_text

    network = _load(args)
    if _layer_level(network):
        from .layer_cli import derivation_text as layer_text

        _say(layer_text(network, latex=args.format == "latex"))
        return EXIT_OK
    derivation = derive(network)
    if args.format == "latex":
        _say(derivation_latex(derivation))
    else:
        _say(derivation_text(derivation, digits=args.digits))
    return EXIT_OK


def cmd_codegen(args) -> int:
    from .codegen import generate_module
    from .derive import derive
    from .writer import stamp, write_atomic

    network = _load(args)
    target = _target(args, network.name, ".py")
    if _layer_level(network):
        from .layer_cli import module_text

        body = module_text(network, source=args.spec)
    else:
        body = generate_module(derive(network), source=args.spec)
    text = stamp(body, comment="#", source=args.spec)
    changed = write_atomic(target, text, force=args.force)
    _say(f"{'wrote' if changed else 'unchanged'} {target}")
    return EXIT_OK


def cmd_handout(args) -> int:
    from .derive import derive
    from .handout import generate_handout
    from .latexrun import compile_pdf, find_pdflatex
    from .writer import stamp, write_atomic, write_bytes_atomic

    network = _load(args)
    target = _target(args, network.name, ".tex")
    if _layer_level(network):
        from .layer_cli import handout_text

        body = handout_text(network, source=args.spec, show_solutions=not args.no_solutions)
    else:
        body = generate_handout(
            derive(network),
            source=args.spec,
            digits=args.digits,
            show_solutions=not args.no_solutions,
        )
    text = stamp(body, comment="%", source=args.spec)
    changed = write_atomic(target, text, force=args.force)
    _say(f"{'wrote' if changed else 'unchanged'} {target}")
    if args.no_pdf:
        return EXIT_OK
    if find_pdflatex() is None:
        _warn(f"pdflatex not found: wrote {target} only (install TeX Live to get the PDF)")
        return EXIT_OK
    pdf_path = target.with_suffix(".pdf")
    if not changed and pdf_path.is_file():
        _say(f"unchanged {pdf_path}")
        return EXIT_OK
    pdf = compile_pdf(text)
    write_bytes_atomic(pdf_path, pdf)
    _say(f"wrote {pdf_path}")
    return EXIT_OK


def cmd_check(args) -> int:
    from .check import check_network, format_report

    network = _load(args)
    if _layer_level(network):
        from .layer_check import check_layer_net

        report = check_layer_net(network, points=args.points, seed=args.seed)
    else:
        report = check_network(network, points=args.points, seed=args.seed)
    _say(format_report(report))
    return EXIT_OK if report.ok else EXIT_INTERNAL


def cmd_verify(args) -> int:
    from .verify import run_verify

    return run_verify(args.spec, args.claims, fmt=args.format, say=_say)


COMMANDS = {
    "examples": cmd_examples,
    "derive": cmd_derive,
    "codegen": cmd_codegen,
    "handout": cmd_handout,
    "check": cmd_check,
    "verify": cmd_verify,
}


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        with _time_limit(args.max_seconds):
            code = COMMANDS[args.command](args)
    except SymbackpropError as error:
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
    except BrokenPipeError:  # output piped into `head`: not an error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_OK
    except Exception as error:  # noqa: BLE001 - the one place that turns bugs into exit 1
        if args.debug:
            traceback.print_exc()
        print(
            f"symbackprop: internal error: {type(error).__name__}: {error} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    sys.stdout.flush()
    return code
