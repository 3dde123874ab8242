"""``symbackprop verify``: check hand-written derivation claims against a network.

Each claim line (LaTeX or plain math, see :mod:`verify.claimparse`) is parsed, its names resolved
against the spec's notation (:mod:`verify.resolve`), and every link of its chain ``A = B = C``
decided
(:mod:`verify.claimcheck`). A claim with free index letters (``\\delta_j = y_j(1-y_j)\\sum_k W_{jk}
\\delta_k``, ``\\delta^l_j``) is instantiated for every unit the names fit and each instance is
checked. Verdicts:

- ``correct`` — proved symbolically, by exact evaluation at random rational points, or (a
  numeric claim) equal at the spec's example within what its printed digits allow;
- ``wrong`` — with the correct expression or value, a counterexample point with both sides'
  values, and the differing factor where one can be isolated (:mod:`verify.diagnose`); every
  expression is LaTeX in the claim's notation, and where a diagnosed slip is a rewrite of the
  claim (a name, a power, a sign) the correct line is the claim itself fixed (:mod:`claimtex`),
  shown only when verify reads it back as correct;
- ``undecided`` — the claim could not be decided within the resource limit (its indices range
  over more combinations than ``MAX_ENUMERATION``, a sum expands past the conversion limit, or
  its instances take longer than ``CLAIM_SECONDS``); the message says why. Never ``correct``:
  a claim is correct only when every instance its index letters range over was checked.
- ``unreadable`` — with the column and what was expected.

Instances: a free index letter takes every value of its range (:meth:`NetworkResolver.
index_values`: every unit number, or the labels of a notation's range), and a combination is an
instance when every name of the claim exists there (``\\delta^{l+1}`` needs l < L). Nothing is
capped: a claim with more instances than can be checked is ``undecided``, with the count.

Exit code: 2 when any claim is unreadable (bad input), else 3 when any is wrong, else 7 when any
is undecided, else 0.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import sympy as sp

from symbackprop.codegen.gcpause import paused_gc
from symbackprop.derivation.equations import Derivation
from symbackprop.derivation.layer import LayerNet
from symbackprop.derivation.unit import derive
from symbackprop.errors import (
    EXIT_CLAIM_WRONG,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNDECIDED,
    InvalidInput,
    ResourceLimit,
)
from symbackprop.spec.load import load_spec
from symbackprop.verify import claimparse as cp
from symbackprop.verify import timesteps
from symbackprop.verify.claimcheck import Checker, Link, Undecided
from symbackprop.verify.claimtex import ClaimTex, literal_names
from symbackprop.verify.diagnose import (
    diagnose,
    free_tex,
    number,
    show,
    spec_name,
    transpose_rewrites,
)
from symbackprop.verify.layer import LayerChecker, Wrong
from symbackprop.verify.layer import layer_letters as _layer_letters
from symbackprop.verify.resolve import NetworkResolver, names_resolve

MAX_ENUMERATION = 2_000_000  # name look-ups while enumerating a claim's instances
CLAIM_SECONDS = 60.0  # checking one claim's instances; past it the claim is undecided


@dataclass
class Verdict:
    """The outcome for one claim line (the fields of ``--format json``)."""

    line: int
    label: str | None
    text: str
    verdict: str  # correct | wrong | undecided | unreadable
    method: str | None = None
    correct: str | None = None
    counterexample: dict | None = None
    factor: str | None = None
    message: str = ""

    # Notebook display (verify/display.py): the claim typeset, the verdict coloured.
    def _repr_html_(self) -> str:
        from symbackprop.verify.display import verdict_html

        return verdict_html(self)

    def _repr_latex_(self) -> str:
        from symbackprop.verify.display import verdict_latex

        return verdict_latex(self)


def run_verify(
    spec: str,
    claims: str,
    *,
    fmt: str = "text",
    say: Callable = print,
    load: Callable = load_spec,
    style: str | None = None,
) -> int:
    """Verify the claims file ``claims`` (``-``: stdin) against ``spec`` (read by ``load``: the
    CLI's applies --max-ops); returns the exit code. At the layer level, layer numbers are read
    as the handout in ``style`` numbers them (default: the spec's style, else nielsen)."""
    network = load(spec)
    source = "<stdin>" if claims == "-" else claims
    text = _read(claims)
    if isinstance(network, LayerNet):
        verdicts = verify_layer_text(LayerChecker(network, style=style), text, source=source)
    else:
        verdicts = verify_text(derive(network), text, source=source)
    if fmt == "json":
        say(json.dumps([asdict(v) for v in verdicts], indent=2, ensure_ascii=False))
    else:
        say(format_text(verdicts))
    return exit_code(verdicts)


def exit_code(verdicts: list[Verdict]) -> int:
    """2 when any claim is unreadable, else 3 when any is wrong, else 7 when any is
    undecided, else 0."""
    found = {v.verdict for v in verdicts}
    if "unreadable" in found:
        return EXIT_INVALID
    if "wrong" in found:
        return EXIT_CLAIM_WRONG
    return EXIT_UNDECIDED if "undecided" in found else EXIT_OK


def _read(claims: str) -> str:
    """The claims text of a file or of stdin (``-``): UTF-8, a leading byte-order mark dropped.

    CRLF and CR line ends need nothing here: ``str.splitlines`` in :func:`verify_text` splits on
    them. Anything that is not UTF-8 text (binary data, UTF-16, a NUL byte) is exit 2.
    """
    limit = 4 * cp.MAX_TEXT + 1  # bytes: no character takes more than 4 in UTF-8
    if claims == "-":
        where = "<stdin>"
        stream = sys.stdin
        if stream is None:  # started with stdin closed (`<&-`)
            raise InvalidInput("standard input is closed", where=where)
        try:
            # The bytes, not the text layer: its decoding would fail on binary data mid-read.
            raw = stream.buffer.read(limit) if hasattr(stream, "buffer") else stream.read(limit)
        except OSError as error:
            raise InvalidInput(
                f"cannot read claims: {error.strerror or error}", where=where
            ) from None
    else:
        where = claims
        path = Path(claims)
        if not path.exists():
            raise InvalidInput(f"claims file '{claims}' not found")
        if path.is_dir():
            raise InvalidInput(f"claims file '{claims}' is a directory", hint="name a file")
        try:
            # Any readable file will do, also a pipe such as bash's <(...).
            with path.open("rb") as handle:
                raw = handle.read(limit)
        except OSError as error:
            raise InvalidInput(
                f"cannot read claims: {error.strerror or error}", where=where
            ) from None
    if len(raw) >= limit:
        raise InvalidInput(f"claims text larger than {cp.MAX_TEXT} characters", where=where)
    text = raw if isinstance(raw, str) else _decode(raw, where)
    if len(text) > cp.MAX_TEXT:
        raise InvalidInput(f"claims text larger than {cp.MAX_TEXT} characters", where=where)
    return text.removeprefix("\ufeff")


def _decode(raw: bytes, where: str) -> str:
    """``raw`` as UTF-8 text, or InvalidInput saying it is not (UTF-16, a bad byte, a NUL)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidInput(
            "claims must be UTF-8 text, but this is UTF-16", where=where, hint="save it as UTF-8"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"claims must be UTF-8 text (byte {exc.start} is not)", where=where
        ) from None
    if "\0" in text:
        raise InvalidInput(
            f"claims must be UTF-8 text (a NUL byte at {text.index(chr(0))})", where=where
        )
    return text


def verify_text(derivation: Derivation, text: str, *, source: str = "<claims>") -> list[Verdict]:
    """Verdicts for every claim line of ``text``."""
    if len(text) > cp.MAX_TEXT:
        raise InvalidInput(f"claims text larger than {cp.MAX_TEXT} characters", where=source)
    checker = Checker(NetworkResolver(derivation))
    verdicts = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip()[0] in "#%":
            continue
        verdicts.append(check_line(checker, line, lineno, source))
    if not verdicts:
        raise InvalidInput("no claims found", where=source)
    return verdicts


def verify_layer_text(
    checker: LayerChecker, text: str, *, source: str = "<claims>"
) -> list[Verdict]:
    """Verdicts for every claim line of ``text`` against a layer-level net (:mod:`layer`)."""
    if len(text) > cp.MAX_TEXT:
        raise InvalidInput(f"claims text larger than {cp.MAX_TEXT} characters", where=source)
    verdicts = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip()[0] in "#%":
            continue
        verdicts.append(check_line(checker, line, lineno, source))
    if not verdicts:
        raise InvalidInput("no claims found", where=source)
    return verdicts


def make_checker(network: object, style: str | None = None) -> Checker | LayerChecker:
    """The checker for a loaded network: unit level (derived here) or layer level (its layer
    numbers read as the handout in ``style`` numbers them)."""
    if isinstance(network, LayerNet):
        return LayerChecker(network, style=style)
    return Checker(NetworkResolver(derive(network)))


def check_line(
    checker: Checker | LayerChecker, line: str, lineno: int = 1, source: str = "<claims>"
) -> Verdict:
    """The verdict on one claim line (``[label] A = B = ...``) at either level: the entry
    point for one claim. Parse errors are ``unreadable``; a resource limit is ``undecided``.

    The cyclic garbage collector is paused while the claim is checked (as for code
    generation, :mod:`codegen.gcpause`): its short-lived SymPy objects made each collection walk
    the derivation's live expressions again, a third of a claim file's time; reference counting
    still frees them, cycles wait for the next collection after the claim."""
    with paused_gc():
        return _check_line(checker, line, lineno, source)


def _check_line(checker: Checker | LayerChecker, line: str, lineno: int, source: str) -> Verdict:
    try:
        claim = cp.parse_claim_line(line, lineno=lineno, source=source)
        if isinstance(checker, LayerChecker):
            return check_layer_claim(checker, claim)
        return check_claim(checker, claim, f"{source}:{lineno}")
    except InvalidInput as err:
        return Verdict(lineno, None, line.strip()[:200], "unreadable", message=err.message)
    except (ResourceLimit, Undecided) as err:
        label = _LABEL.match(line)
        text = line.strip()[:200]
        return Verdict(
            lineno, label.group(1) if label else None, text, "undecided", message=err.message
        )


_LABEL = re.compile(r"\s*\[([A-Za-z][\w.:-]*)\]")


def check_layer_claim(checker: LayerChecker, claim: cp.Claim) -> Verdict:
    """One claim against a layer-level net: every layer and unit, at random points."""
    base = Verdict(claim.line, claim.label, claim.text, "correct")
    if claim.relations:  # 0 < \eta, a^1_1 < 1: at the spec's settings and worked example
        try:
            checked, method = checker.compare(claim.sides, claim.relations)
        except Wrong as wrong:
            n_links = len(claim.sides) - 1
            at = f"link {wrong.link + 1} of {n_links}: " if n_links > 1 else ""
            inst = ", ".join(f"{k}={v}" for k, v in wrong.bindings.items())
            base.verdict, base.method = "wrong", "numeric"
            base.message = at + (f"for {inst}: " if inst else "") + wrong.message
            return base
        base.method = method
        base.message = f"{checked} instances checked" if checked > 1 else ""
        return base
    method = f"float64 at {checker.P} random points, every instance"
    try:
        checked, used = checker.check(claim.sides)
    except Wrong as wrong:
        n_links = len(claim.sides) - 1
        at = f"link {wrong.link + 1} of {n_links}: " if n_links > 1 else ""
        inst = ", ".join(f"{k}={v}" for k, v in wrong.bindings.items())
        base.verdict, base.method = "wrong", method
        base.message = at + (f"for {inst}: " if inst else "") + wrong.message
        base.factor = checker.diagnose(claim.sides, wrong)
        lhs = claim.sides[wrong.link]
        layer_binding = {k: v for k, v in wrong.bindings.items() if k in _layer_letters((lhs,))}
        base.correct = checker.textbook(lhs, layer_binding)
        if wrong.values is not None:
            base.correct = base.correct or f"{wrong.values[0]} = {wrong.values[1]:.10g}"
            base.counterexample = {
                "at": f"random point {wrong.values[4]}",
                "point": {},
                "lhs": f"{wrong.values[1]:.10g}",
                "rhs": f"{wrong.values[3]:.10g}",
                "link": wrong.link + 1,
                "bindings": {k: str(v) for k, v in wrong.bindings.items()},
            }
        return base
    letters = sorted(_layer_letters(claim.sides))
    base.method = method
    layers = sorted({c[0] for c in used}) if letters else []
    where = f" for {letters[0]} = {', '.join(map(str, layers))}" if len(letters) == 1 else ""
    base.message = f"{checked} instance{'s' if checked != 1 else ''} checked{where}"
    return base


def _instances(checker: Checker, claim: cp.Claim):  # noqa: ANN202 - a generator of bindings
    """Every binding of the claim's free index letters under which all its names exist.

    Backtracking: letters are bound one at a time (layer superscripts first) and a name is
    tested as soon as all its letters are bound, so a combination that cannot exist is cut
    early. Raises :class:`Undecided` past ``MAX_ENUMERATION`` look-ups (never a silent cut).
    """
    r = checker.r
    free = cp.free_indices(claim, r)
    if not free:
        yield {}
        return
    tests = _name_tests(claim, r, free)
    order = sorted(free, key=lambda c: (not any(c in sup for _, sup in tests), c))
    at_depth: list[list] = [[] for _ in order]
    for name, _sup in tests:
        letters = _letters_of(name, r, free)
        if letters:
            at_depth[max(order.index(c) for c in letters)].append(name)
    domains = [r.index_values(c) for c in order]
    work = [0]
    fits: dict[tuple, bool] = {}

    def ok(name: cp.Name, bindings: dict) -> bool:
        key = (name, tuple(sorted(bindings.items())))
        if key not in fits:
            work[0] += 1
            if work[0] > MAX_ENUMERATION:
                raise Undecided(
                    f"the index letters {', '.join(order)} range over more than "
                    f"{MAX_ENUMERATION} combinations to enumerate"
                )
            fits[key] = names_resolve(name, r, bindings, set(free), require=False)
        return fits[key]

    def walk(depth: int, bindings: dict):  # noqa: ANN202
        if depth == len(order):
            yield dict(bindings)
            return
        for value in domains[depth]:
            bindings[order[depth]] = value
            if all(ok(n, bindings) for n in at_depth[depth]):
                yield from walk(depth + 1, bindings)
            del bindings[order[depth]]

    yield from walk(0, {})


def _name_tests(claim: cp.Claim, r: NetworkResolver, free: set[str]) -> list[tuple]:
    """The names of the claim that use a free letter outside any \\sum binding one of their
    letters, with their superscripts (a letter in one is a layer: bound first)."""
    out, todo = [], [(s, frozenset()) for s in claim.sides]
    while todo:
        n, nested = todo.pop()
        if isinstance(n, cp.Name):
            letters = _letters_of(n, r, free | nested)
            if letters & free and not letters & nested and n not in [t for t, _ in out]:
                out.append((n, n.sup or ""))
            continue
        inner = nested | {n.index} if isinstance(n, cp.Sum) else nested
        for value in vars(n).values():
            for kid in value if isinstance(value, tuple) else (value,):
                if isinstance(kid, cp.NODE_TYPES):
                    todo.append((kid, inner))
    return out


def _letters_of(name: cp.Name, r: NetworkResolver, letters: set[str]) -> set[str]:
    found: set[str] = set()
    for text in (name.sub, name.sup):
        for w in re.findall(r"[A-Za-z0-9]+", text or ""):
            pieces = cp.index_pieces(w, lambda c: c in letters or r.is_index(c), cp.labelled(r))
            found.update(c for c, is_index in pieces or () if is_index and c in letters)
    return found


def check_claim(checker: Checker, claim: cp.Claim, where: str, fixing: bool = False) -> Verdict:
    """Check every instance and every link of one parsed claim (``fixing``: a trial rewrite
    of a diagnosis, already prepared)."""
    if not fixing:
        sides = tuple(checker.prepare(s) for s in claim.sides)
        if timesteps.has_time_sum(sides):  # \sum_{s=1}^{t+1}: checked on runs of the rule
            checker.r.time_hint = timesteps.hint(sides)
            verdict = timesteps.check_unrolled(checker, replace(claim, sides=sides), where)
            if verdict.verdict == "wrong" and verdict.method == "unrolled run":
                verdict.correct = (
                    _sign_fixed(checker, claim, sides, verdict, where) or verdict.correct
                )
            return verdict
        _time_notation(checker, sides)
        claim = replace(claim, sides=timesteps.normalise(sides, checker.r.names_quantity))
        checker.r.time_hint = timesteps.hint(claim.sides)
    base = Verdict(claim.line, claim.label, claim.text, "correct")
    methods: list[str] = []
    checked, error = 0, None
    start = time.perf_counter()
    for bindings in _instances(checker, claim):
        if time.perf_counter() - start > CLAIM_SECONDS:
            raise Undecided(
                f"{checked} instances checked and found correct in {CLAIM_SECONDS:g} s, the "
                "rest not checked (the time limit for one claim)"
            )
        try:
            sides = [checker.convert(s, bindings, where) for s in claim.sides]
        except InvalidInput as err:
            error = err
            continue
        checked += 1
        for i, (a, b) in enumerate(itertools.pairwise(sides)):
            op = claim.relations[i] if claim.relations else "="
            if op == "=":
                link = checker.check(a, b, prove=checked == 1)
            else:
                link = checker.compare(a, b, op)
            methods.append(link.method)
            if not link.ok:
                return _wrong(checker, base, claim, link, i, bindings, where)
    if not checked:
        if isinstance(error, cp.ShapeMismatch) and not fixing:
            return _shapes_wrong(checker, base, claim, error, where)
        if error is None:
            error = InvalidInput("no unit of the network fits the claim's indices")
        raise error
    base.method = ", ".join(dict.fromkeys("numeric at the example" if m == "numeric" else m
                                          for m in methods))  # fmt: skip
    if checked > 1:
        base.message = f"{checked} instances checked"
    return base


def _shapes_wrong(
    checker: Checker, base: Verdict, claim: cp.Claim, error: InvalidInput, where: str
) -> Verdict:
    """A claim whose arrays do not fit in any instance is wrong as written; the diagnosis is
    the transpose added or removed that makes it hold (re-checked), when there is one."""
    base.verdict, base.method = "wrong", "shapes"
    base.message = f"{error.message}: the claim cannot hold as written"
    for desc, sides in transpose_rewrites(claim.sides):
        try:
            trial = check_claim(checker, replace(claim, sides=sides), where, fixing=True)
        except (InvalidInput, ResourceLimit, Undecided):
            continue
        if trial.verdict == "correct":
            base.factor = desc
            break
    return base


def _wrong(
    ck: Checker, base: Verdict, claim: cp.Claim, link: Link, i: int, bindings: dict, where: str
) -> Verdict:
    n_links = len(claim.sides) - 1
    at = f"link {i + 1} of {n_links}: " if n_links > 1 else ""
    inst = ", ".join(f"{k}={v}" for k, v in bindings.items())
    at += f"for {inst}: " if inst else ""
    lhs, rhs = show(link.lhs, ck), show(link.rhs, ck)
    base.verdict = "wrong"
    base.method = link.method
    if link.method == "shapes":
        base.message = f"{at}{lhs} and {rhs} have different shapes {link.extra['shape']}"
        return base
    fixed = None
    if "op" not in link.extra:
        base.factor, fixed = diagnose(ck, link, claim.sides[i], claim.sides[i + 1], bindings, where)
    if "op" in link.extra:  # a comparison between numbers
        op = link.extra["op"]
        base.message = (
            f"{at}{lhs} = {number(link.lhs_value)} is not {op} {rhs} = {number(link.rhs_value)}"
        )
        base.method = "numeric"
        where_ = "example"
    elif link.method == "numeric":
        base.correct = number(link.lhs_value)
        what = f"{lhs} = {number(link.lhs_value)} but {rhs} = {number(link.rhs_value)}"
        base.message = f"{at}{what} (differ by {number(abs(link.lhs_value - link.rhs_value))}"
        base.message += f", allowed {number(link.tolerance)})"
        where_ = "example"
    else:
        base.correct = _textbook(ck, link.lhs, _bound(claim.sides[i], bindings))
        base.message = f"{at}{lhs} is not {rhs}"  # in the claim's letters and time index
        where_ = "random point"
    used = _leaves(ck, link.lhs) | _leaves(ck, link.rhs)
    point = {s: v for s, v in link.point.items() if s in used}
    if fixed is not None:
        base.correct = _corrected(ck, claim, fixed, where) or base.correct
    base.counterexample = {
        "at": where_,
        "point": {_name(s, ck): str(v) for s, v in sorted(point.items(), key=_key)},
        "lhs": number(link.lhs_value),
        "rhs": number(link.rhs_value),
        "link": i + 1,
        "bindings": dict(bindings),
    }
    return base


def _leaves(ck: Checker, expr: sp.Basic) -> set:
    """The leaves (inputs, targets, parameters, rate, free letters) ``expr`` depends on."""
    todo, seen = list(expr.free_symbols), set()
    while todo:
        sym = todo.pop()
        if sym in seen:
            continue
        seen.add(sym)
        definition = ck.r.defs.get(sym, ck.r.nodes[sym].expr if sym in ck.r.nodes else None)
        if definition is not None:
            todo.extend(definition.free_symbols)
    return seen


def _textbook(ck: Checker, expr: sp.Basic, side: cp.Node | None = None) -> str:
    """A derived quantity or node shown with its definition (δ_o1 = its formula); another
    expression (an optimizer's rule) after the claim's own name for it (``\\hat{v}_{t} = ``)."""
    if isinstance(expr, sp.Symbol) and expr in ck.r.defs:
        return f"{show(expr, ck)} = {show(ck.r.defs[expr], ck)}"
    if isinstance(expr, sp.Symbol) and expr in ck.r.nodes:
        return f"{show(expr, ck)} = {show(ck.r.nodes[expr].expr, ck)}"
    if isinstance(side, cp.Name) and not isinstance(expr, sp.Symbol):
        return f"{_claim_tex(ck).node(side)} = {show(expr, ck)}"
    return show(expr, ck)


def _bound(side: cp.Node, bindings: dict) -> cp.Node:
    """A name with its index letters at the instance's values (``m_{ij}`` -> ``m_{13}``)."""
    if not isinstance(side, cp.Name) or not bindings:
        return side
    values = {k: str(v) for k, v in bindings.items()}
    sep = "," if any(len(v) > 1 for v in values.values()) else ""

    def at(script: str | None) -> str | None:
        if script is None or not set(script) & set(values):
            return script
        return sep.join(values.get(c, c) for c in script)

    return replace(side, sub=at(side.sub), sup=side.sup if side.sup and len(side.sup) > 1
                   else at(side.sup))  # fmt: skip


def _claim_tex(ck: Checker) -> ClaimTex:
    return ClaimTex(getattr(ck, "time_shift", 0), literal_names(ck.r.literals))


def _time_notation(ck: Checker, sides: tuple) -> None:
    """How the claim writes time (read by the messages, :func:`diagnose.free_tex`): the shift
    from its steps to the checked ones (``time_shift``: the checked t is the written t plus it)
    and its letter for Adam's second moment (``state_letters``: Kingma and Ba's v is s)."""
    from symbackprop.verify.diagnose import _walk

    heads = [
        n.base.split(timesteps.STEP)
        for s in sides
        for n in _walk(s)
        if isinstance(n, cp.Name) and timesteps.STEP in n.base
    ]
    ck.time_shift = max(int(k) for _, k in heads) - 1 if heads else 0
    written = {h for h, _ in heads}
    adam = "m" in timesteps.hint(sides)[0]
    ck.state_letters = {"s": "v"} if adam and written & {"v", "hat:v"} else {}


def _corrected(ck: Checker, claim: cp.Claim, fixed: tuple, where: str) -> str | None:
    """The wrong link with the diagnosed correction, in the claim's own notation, when the
    claim reader reads it back and judges it correct at every instance; else None."""
    try:
        text = _claim_tex(ck).claim(fixed)
    except (InvalidInput, TypeError):
        return None
    return _confirmed(ck, claim, text, where)


def _confirmed(ck: Checker, claim: cp.Claim, text: str, where: str) -> str | None:
    """``text`` when the claim reader reads it and judges it correct at every instance."""
    if getattr(ck, "_confirming", False):
        return None
    saved = (getattr(ck, "time_shift", 0), getattr(ck, "state_letters", {}), ck.r.time_hint)
    try:
        ck._confirming = True
        again = cp.parse_claim_line(text, lineno=claim.line, source=where)
        ok = check_claim(ck, again, where).verdict == "correct"
    except (InvalidInput, ResourceLimit, Undecided, TypeError):
        return None
    finally:
        ck._confirming = False
        ck.time_shift, ck.state_letters, ck.r.time_hint = saved
    return text if ok else None


def _sign_fixed(ck: Checker, claim: cp.Claim, sides: tuple, v: Verdict, where: str) -> str | None:
    """A two-sided unrolled claim whose run gives its sides opposite values: the claim with its
    right side negated in the student's own text, when that reads back correct (proved again,
    not assumed)."""
    seen = v.counterexample or {}
    try:
        a, b = float(seen["lhs"]), float(seen["rhs"])
    except (KeyError, TypeError, ValueError):
        return None
    parts = _top_level_split(claim.text, "=")
    if len(sides) != 2 or len(parts) != 2 or a == 0 or abs(a + b) > 1e-9 * abs(a):
        return None
    left, right = parts[0].rstrip(), _TRAILING.sub("", parts[1]).strip()
    if isinstance(sides[1], cp.Neg) and right.startswith("-"):
        right = right[1:].lstrip()
    elif isinstance(sides[1], cp.Add):
        right = f"-\\left({right}\\right)"
    else:
        right = f"-{right}"
    return _confirmed(ck, claim, f"{left} = {right}", where)


_TRAILING = re.compile(r"(?:\s|\\[,;:!]|\\q?quad|[.,;])+$")  # spacing, punctuation at the end


def _top_level_split(text: str, mark: str) -> list[str]:
    """``text`` split at each ``mark`` outside braces (``\\sum_{s=1}`` holds one inside)."""
    parts, depth, start = [], 0, 0
    for k, c in enumerate(text):
        depth += (c == "{") - (c == "}")
        if c == mark and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    return parts + [text[start:]]


def _key(item: tuple) -> str:
    return item[0].name


def _name(sym: sp.Symbol, ck: Checker) -> str:
    inverse = {s: k for k, s in ck.r.free.items()}
    return free_tex(inverse[sym], ck) if sym in inverse else spec_name(sym, ck)


def format_text(verdicts: list[Verdict]) -> str:
    """One line per claim (details indented below wrong and unreadable ones), then a table."""
    lines = []
    for v in verdicts:
        head = f"line {v.line}" + (f" [{v.label}]" if v.label else "")
        if v.verdict == "correct":
            extra = f"; {v.message}" if v.message else ""
            lines.append(f"{head}: correct ({v.method}{extra})")
            continue
        if v.verdict in ("unreadable", "undecided"):
            lines.append(f"{head}: {v.verdict.upper()}: {v.message}")
            continue
        lines.append(f"{head}: WRONG: {v.message}")
        if v.correct is not None:
            lines.append(f"    correct: {v.correct}")
        if v.factor:
            lines.append(f"    differs: {v.factor}")
        if v.counterexample:
            c = v.counterexample
            pts = ", ".join(f"{k}={val}" for k, val in c["point"].items())
            pts = f" ({pts})" if pts else ""
            lines.append(f"    counterexample at the {c['at']}{pts}: {c['lhs']} vs {c['rhs']}")
    lines.append("")
    lines.append(f"{'line':>5}  {'label':10s} {'verdict':10s} method / factor")
    for v in verdicts:
        detail = v.factor or v.method or ""
        lines.append(f"{v.line:>5}  {(v.label or '-'):10s} {v.verdict:10s} {detail}"[:120])
    kinds = ("correct", "wrong", "unreadable", "undecided")
    counts = {k: sum(v.verdict == k for v in verdicts) for k in kinds}
    lines.append(
        f"{len(verdicts)} claims: {counts['correct']} correct, {counts['wrong']} wrong, "
        f"{counts['unreadable']} unreadable"
        + (f", {counts['undecided']} undecided" if counts["undecided"] else "")
    )
    return "\n".join(lines)
