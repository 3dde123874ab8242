"""The fausett style: the order and content of Lecture 6, Backpropagation Algorithm (Mansoura
University), after L. Fausett, ch. 6.

Unit level: the network; the learning problem (the error signal, the error of one example and
of a training set, batch against online training, with this net's update in both forms); the
derivative of each activation the net uses, proved step by step; the learning rules derived
with the chain rule and the algorithm in Fausett's index form (δ_k, δ_j, Δw_ij = −α δ_j y_i,
the bias as the weight W_0j from a unit fixed at 1), in the net's notation; the worked numbers
(this spec's: the lecture points to another author's example); the variations: momentum in the
lecture's step form and Adagrad, worked for one weight over two updates, then the rules the
lecture names after them (RMSprop, Adam).

Layer level: the same in index form for the layer net (:mod:`fausett_layer`), then the net's own
equations, the worked example and the training run of the layer handout.
"""

from __future__ import annotations

from symbackprop.handout.styles import SectionInput, Style

# The usual settings of the lecture's two variations, for a net whose spec lists neither.
USUAL = (("momentum", (("momentum", 0.9),)), ("adagrad", (("eps", 1e-10),)))


def _printer(inp: SectionInput, values=None, **settings):
    from symbackprop.printers.printing import NotationLatexPrinter

    return NotationLatexPrinter(inp.network.notation, values, **settings)


def _and(items: list[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _units_text(inp: SectionInput, form, letter: str) -> str:
    """``$y_5$ and $y_6$``: the outputs of the units a letter runs over."""
    p = _printer(inp)
    return _and(
        [f"${p.doprint(form.concrete[label]['act'])}$" for label in form.roles[letter].labels]
    )


def _asked(context: dict) -> frozenset:
    """The symbols the exercises ask for (the common context's steps marked exercise)."""
    steps = list(context["forward"]) + [context["loss"]]
    steps += [step for section in context["backward"] for step in section.steps]
    if context.get("update_exercise") is not None:
        steps.append(context["update_exercise"])
    return frozenset(sym for step in steps if step.exercise for sym in step.symbols)


# --- the learning problem: one example, a training set, batch and online -----------------------
def learning(inp: SectionInput) -> dict:
    """The error of one example and of a training set; batch against online, with one of this
    net's weights updated both ways."""
    if inp.level == "layer":
        from symbackprop.handout.styles.fausett_layer import learning as layer_learning

        return layer_learning(inp)
    from symbackprop.handout.styles.fausett_index import index_form
    from symbackprop.printers.latex_lines import pack

    d, net = inp.derivation, inp.network
    p = _printer(inp)
    form = index_form(d)
    error = ""
    if form is not None:
        k = form.generic["k"]
        error = f"{p.doprint(k['act'])} - {p.doprint(k['target'])}"
    loss = d.forward[-1]
    grad = d.gradients[0]
    per_example = {s: p.doprint(s) + "(p)" for s in grad.expr.free_symbols}
    pe = _printer(inp, per_example, mul_symbol=None)
    rate = p.doprint(net.learning_rate)
    sign = "+" if net.maximize else "-"
    weight = p.doprint(grad.param)
    mean = net.reduction == "mean"
    scale = r"\frac{1}{N}" if mean else ""
    on_p = pe.doprint(grad.expr)
    return dict(
        error=error,
        # the error's rows, a long sum broken at its terms
        loss=pack(
            [(p.doprint(loss.symbol), "= " + _printer(inp, breakable=True).doprint(loss.expr))]
        ),
        loss_symbol=p.doprint(net.loss),
        rate=rate,
        direction="ascent" if net.maximize else "descent",
        weight=weight,
        gradient=p.doprint(grad.expr),
        online=rf"\Delta {weight} = {sign}{rate}\, {on_p}",
        batch=rf"\Delta {weight} = {sign}{rate}\,{scale} \sum_{{p=1}}^{{N}} {on_p}",
        mean=mean,
        k=form.roles["k"].letter if form is not None else "k",
        maximize=net.maximize,
        examples_text=(
            "This handout's specification gives one example ($N = 1$), so here the two modes "
            "make the same update: the numbers below are one step of either."
            if net.has_example
            else "This handout's specification gives no examples; with one example the two "
            "modes make the same update."
        ),
    )


# --- the derivative of each activation ------------------------------------------------------------
def derivatives(inp: SectionInput) -> dict:
    """The proof of each activation's derivative, printed step by step."""
    from symbackprop.handout.styles.fausett_proofs import activation_proof, y
    from symbackprop.printers.printing import NotationLatexPrinter
    from symbackprop.rules import registry as rules

    names = _activation_names(inp)
    p = NotationLatexPrinter()
    broken = NotationLatexPrinter(breakable=True)
    proofs = []
    for name in names:
        if name in ("softmax",):
            continue
        proof = activation_proof(name)
        if name == rules.LINEAR:
            proofs.append(dict(name="linear", linear=True, lines=[], output=""))
            continue
        f = proof.latex
        lines = []
        for n, step in enumerate(proof.steps):
            lines += _proof_rows(rf"{f}'(x)" if n == 0 else "", step, broken)
        proofs.append(
            dict(
                name=name,
                linear=False,
                function=f,
                definition=_definition(p, proof),
                lines=lines,
                output=p.doprint(proof.in_output) if proof.in_output.has(y) else "",
                kink=rules.activation(name).kink,
            )
        )
    return dict(proofs=proofs, softmax="softmax" in names, jacobian=_softmax_jacobian(inp))


def _proof_rows(lhs: str, step, printer) -> list[tuple[str, str]]:
    """One step of a proof as rows of an ``align*``: a long expression broken over rows, its
    reason beside the first."""
    from symbackprop.printers.latex_lines import LINE_EM, pack, width

    reason = rf" && \text{{{step.reason}}}" if step.reason else ""
    rows = list(pack([(lhs, "= " + printer.doprint(step.expr))], LINE_EM - width(reason)))
    rows[0] = (rows[0][0], rows[0][1] + reason)
    return rows


def _definition(p, proof) -> str:
    """f(x) in elementary functions; empty when that is f itself (tanh x)."""
    import sympy as sp

    from symbackprop.handout.styles.fausett_proofs import x
    from symbackprop.printers.latex_lines import width

    d = proof.definition
    text = p.doprint(d)
    # tanh x = tanh x says nothing; a long one is in the proof's first row already
    return "" if (isinstance(d, sp.Function) and d.args == (x,)) or width(text) > 20 else text


def _activation_names(inp: SectionInput) -> list[str]:
    """The activations the net uses, in order (``linear`` for an identity unit)."""
    if inp.level == "layer":
        return list(dict.fromkeys(inp.network.activations))
    from symbackprop.handout.styles.fausett_index import _activation_of_layer

    net = inp.network
    if net.layout is not None:
        names = [_activation_of_layer(net, col) for col in net.layout.columns[1:]]
        return list(dict.fromkeys(names))
    from symbackprop.handout.unit import used_activations

    return [rule.name for rule in used_activations(inp.derivation)]


def _softmax_jacobian(inp: SectionInput) -> str:
    if inp.level == "unit":
        return inp.context["matched"].get("jacobian", "")
    from symbackprop.handout.styles.fausett_layer import softmax_jacobian

    return softmax_jacobian(inp.derivation)


# --- the learning rules and the algorithm in index form ---------------------------------------
def rules_section(inp: SectionInput) -> dict:
    """The chain-rule derivation for an output and a hidden unit, then the algorithm."""
    if inp.level == "layer":
        from symbackprop.handout.styles.fausett_layer import rules_section as layer_rules

        return layer_rules(inp)
    from symbackprop.handout.styles.fausett_index import index_form
    from symbackprop.printers.printing import partial_latex

    d, net = inp.derivation, inp.network
    form = index_form(d)
    if form is None:
        return dict(available=False)
    from symbackprop.printers.latex_lines import pack

    p = _printer(inp)
    pb = _printer(inp, breakable=True)
    rules = {rule.name: rule for rule in form.rules}
    letters = list(form.roles)
    k = "k"
    g = form.generic
    loss = net.loss
    shown = {letter: form.roles[letter].letter for letter in letters}
    delta_k = rules["delta_k"]
    matched = net.matched is not None
    out_lines = []
    src = letters[-2]
    w_out = form.generic_weights[(src, k)]
    chain = " ".join(
        partial_latex(a, b, p)
        for a, b in ((loss, g[k]["act"]), (g[k]["act"], g[k]["pre"]), (g[k]["pre"], w_out))
    )
    out_lines.append(
        (rf"\frac{{\partial {p.doprint(loss)}}}{{\partial {p.doprint(w_out)}}}", "= " + chain)
    )
    out_lines.append(("", "= " + pb.doprint(delta_k.factor) + " " + p.doprint(g[src]["act"])))
    out_lines.append(("", "= " + p.doprint(g[k]["delta"]) + " " + p.doprint(g[src]["act"])))
    hidden_lines = []
    if "delta_j" in rules:
        i, j = letters[0], letters[1]
        w_in = form.generic_weights[(i, j)]
        rule = rules["delta_j"]
        path = " ".join(
            partial_latex(a, b, p)
            for a, b in (
                (loss, g[k]["act"]),
                (g[k]["act"], g[k]["pre"]),
                (g[k]["pre"], g[j]["act"]),
                (g[j]["act"], g[j]["pre"]),
                (g[j]["pre"], w_in),
            )
        )
        kk = shown[k]
        w_jk = form.generic_weights[(j, k)]
        summand = p.doprint(rule.summand)
        hidden_lines = [
            (
                rf"\frac{{\partial {p.doprint(loss)}}}{{\partial {p.doprint(w_in)}}}",
                rf"= \sum_{{{kk}}} " + path,
            ),
            (
                "",
                rf"= \sum_{{{kk}}} {p.doprint(g[k]['delta'])} {p.doprint(w_jk)} \, "
                + _factor(pb, rule.factor)
                + " "
                + p.doprint(g[i]["act"]),
            ),
            (
                "",
                rf"= {_factor(pb, rule.factor)} \sum_{{{kk}}} {summand} \; "
                + p.doprint(g[i]["act"]),
            ),
            ("", "= " + p.doprint(g[j]["delta"]) + " " + p.doprint(g[i]["act"])),
        ]
    algorithm = _algorithm_lines(inp, form, rules, shown)
    ranges = [
        (f"${shown[letter]}$", _role_words(form, letter), _units_text(inp, form, letter))
        for letter in reversed(letters)
    ]
    sign = "" if net.maximize else "-"
    bias = _bias_text(inp, form, shown)
    if bias["per_unit"]:
        bias["change"] = (
            rf"\Delta {bias['name']} = {sign}{p.doprint(net.learning_rate)}\, "
            + p.doprint(g[bias["letter"]]["delta"])
        )
    names = "Fausett's" if net.notation.name == "essa" else "this handout's"
    intro = (
        f"The rules follow from the chain rule, in {names} names: ${p.doprint(g[k]['pre'])}$ is "
        f"the net input of unit ${shown[k]}$ and ${p.doprint(g[k]['act'])}$ its output, "
        f"${p.doprint(w_out)}$ the weight from unit ${shown[src]}$ to unit ${shown[k]}$."
    )
    return dict(
        available=True,
        intro=intro,
        maximize=net.maximize,
        k=shown[k],
        j=shown.get("j", ""),
        out_weight=p.doprint(w_out),
        in_weight=p.doprint(form.generic_weights[("i", "j")]) if "j" in g else "",
        source_j=p.doprint(g["i"]["act"]) if "j" in g else "",
        source_i=p.doprint(g["i"]["act"]),
        layer_note="",
        matched=matched,
        output=list(pack(out_lines)),
        hidden=list(pack(hidden_lines)) if hidden_lines else [],
        algorithm=algorithm,
        ranges=ranges,
        delta_k=p.doprint(g[k]["delta"]),
        delta_j=p.doprint(g["j"]["delta"]) if "j" in g else "",
        bias=bias,
        inputs_named=_inputs_text(inp, form),
        deep=len(net.layout.columns) > 3,
        loss_symbol=p.doprint(loss),
    )


def _factor(p, expr) -> str:
    """``expr`` as a factor: a sum in parentheses that may break over rows (``\\Bigl(``)."""
    text = p.doprint(expr)
    if not expr.is_Add:
        return text
    if r"\frac" in text:
        return rf"\Bigl({text}\Bigr)"
    return rf"\left({text}\right)"


def _role_words(form, letter: str) -> str:
    layer = form.roles[letter].layer
    if layer == 0:
        return "the inputs"
    if letter == "k":
        return "the output units"
    deep = form.roles["k"].layer > 2
    if letter == "j":
        return "the units of the last hidden layer" if deep else "the hidden units"
    return "the units of the hidden layer before it"


def _inputs_text(inp: SectionInput, form) -> str:
    i = "i"
    if form.roles[i].layer != 0:
        return ""
    return _units_text(inp, form, i)


def _algorithm_lines(inp: SectionInput, form, rules: dict, shown: dict) -> list[tuple[str, str]]:
    """The δ rules general then specialised, the weight and bias changes."""
    from symbackprop.handout.styles.fausett_index import LINEAR
    from symbackprop.printers.latex_lines import BREAK, pack

    p = _printer(inp)
    pb = _printer(inp, breakable=True)
    g = form.generic
    lines = []
    k = "k"
    delta_k = rules["delta_k"]
    act_k = form.roles[k].activation
    fk = rf"f'\left({p.doprint(g[k]['pre'])}\right)"
    if inp.network.matched is not None:
        lines.append((p.doprint(g[k]["delta"]), "= " + pb.doprint(delta_k.factor)))
    elif act_k == LINEAR:
        lines.append((p.doprint(g[k]["delta"]), "= " + pb.doprint(delta_k.factor)))
    else:
        error = _error_part(inp, form)
        lines.append(
            (p.doprint(g[k]["delta"]), f"= {error}\\, {fk}{BREAK} = " + pb.doprint(delta_k.factor))
        )
    if "delta_j" in rules:
        rule = rules["delta_j"]
        j = "j"
        fj = rf"f'\left({p.doprint(g[j]['pre'])}\right)"
        total = rf"\sum_{{{shown[k]}}} {p.doprint(rule.summand)}"
        if form.roles[j].activation == LINEAR:
            lines.append((p.doprint(g[j]["delta"]), f"= {total}"))
        else:
            lines.append(
                (
                    p.doprint(g[j]["delta"]),
                    f"= {fj} {total}{BREAK} = {_factor(pb, rule.factor)} {total}",
                )
            )
    for rule in form.rules:
        if rule.name.startswith(("update_", "bias_")):
            lines.append((rf"\Delta {p.doprint(rule.lhs)}", "= " + p.doprint(rule.factor)))
    for layer, bias in sorted(form.shared_bias.items()):
        letter = next((x for x in form.roles if form.roles[x].layer == layer), None)
        if letter is None:
            continue
        sign = "" if inp.network.maximize else "-"
        lines.append(
            (
                rf"\Delta {p.doprint(bias)}",
                rf"= {sign}{p.doprint(inp.network.learning_rate)} \sum_{{{shown[letter]}}} "
                + p.doprint(g[letter]["delta"]),
            )
        )
    return list(pack(lines))


def _error_part(inp: SectionInput, form) -> str:
    """∂E/∂y_k as the loss gives it, for the general line of δ_k."""
    from symbackprop.derivation.layer import _rebuilt

    net = inp.network
    first = form.concrete[form.roles["k"].labels[0]]
    g = form.generic["k"]
    error = net.node(net.loss).local[0][1]
    error = _rebuilt(error, {first["act"]: g["act"], first["target"]: g["target"]}.get)
    text = _printer(inp).doprint(error)
    return rf"\left({text}\right)" if error.is_Add else text


def _bias_text(inp: SectionInput, form, shown: dict) -> dict:
    p = _printer(inp)
    per_unit = [x for x in ("j", "k") if x in form.roles and "bias" in form.generic[x]]
    shared = [p.doprint(b) for _, b in sorted(form.shared_bias.items())]
    example = per_unit[0] if per_unit else ""
    return dict(
        per_unit=bool(per_unit),
        letter=example,
        change="",
        name=p.doprint(form.generic[example]["bias"]) if example else "",
        unit=shown.get(example, ""),
        shared=_and([f"${s}$" for s in shared]),
        none=not per_unit and not shared,
    )


# --- the worked numbers ----------------------------------------------------------------------
def example(inp: SectionInput) -> dict:
    return dict(has_numbers=inp.context["has_numbers"])


# --- momentum and Adagrad --------------------------------------------------------------------
def variations(inp: SectionInput) -> dict:
    """Momentum (the lecture's step form) and Adagrad: the rules in index form, then, on a net
    with numbers, two updates of one weight (the spec's settings, else the usual ones)."""
    if inp.level == "layer":
        from symbackprop.handout.styles.fausett_layer import variations as layer_variations

        return layer_variations(inp)
    from dataclasses import replace

    from symbackprop.handout.course import number_latex
    from symbackprop.handout.optimizer_section import optimizer_sections
    from symbackprop.handout.unit import escape_text
    from symbackprop.rules.optimizers import OptimizerSpec

    d, net = inp.derivation, inp.network
    p = _printer(inp)
    listed = {spec.name: spec for spec in net.optimizers}
    usual = [name for name, _ in USUAL if name not in listed]
    specs = tuple(listed.get(name) or OptimizerSpec(name, settings) for name, settings in USUAL)
    worked = []
    if net.has_example:
        d2 = replace(d, network=replace(net, optimizers=specs))
        worked = optimizer_sections(
            d2, digits=inp.digits, escape=escape_text, avoid=_asked(inp.context)
        )
    settings = {spec.name: dict(spec.settings) for spec in specs}
    rate = p.doprint(net.learning_rate)
    sign = "" if net.maximize else "-"
    form_rules = _generic_update(inp)
    return dict(
        optimizers=worked,
        usual=usual_text(usual, settings, bool(worked)),
        mu=number_latex(settings["momentum"]["momentum"]),
        eps=number_latex(settings["adagrad"]["eps"]),
        rate=rate,
        sign=sign,
        **form_rules,
        maximize=net.maximize,
        has_numbers=bool(worked),
    )


def usual_text(missing: list[str], settings: dict, worked: bool) -> str:
    """What the handout says of the rules the spec does not list (empty when it lists both)."""
    from symbackprop.handout.course import number_latex

    if not missing:
        return ""
    symbols = {"momentum": ("momentum", r"\mu"), "adagrad": ("eps", r"\epsilon")}
    titles = {"momentum": "momentum", "adagrad": "Adagrad"}
    values = _and(
        [f"${symbols[n][1]} = {number_latex(settings[n][symbols[n][0]])}$" for n in missing]
    )
    listed = "neither rule" if len(missing) > 1 else f"no {titles[missing[0]]}"
    plural = len(missing) > 1
    if worked:
        return (
            f"This network's specification lists {listed}; below "
            f"{'they are' if plural else 'it is'} worked with the usual "
            f"setting{'s' if plural else ''} {values}."
        )
    return (
        f"This network's specification lists {listed}; the usual "
        f"setting{'s are' if plural else ' is'} {values}."
    )


def _generic_update(inp: SectionInput) -> dict:
    """The generic weight (W_ij) and its gradient (δ_j y_i) at update times, as printed (a net
    given as a graph: its first weight)."""
    import sympy as sp

    from symbackprop.handout.styles.fausett_index import index_form

    p = _printer(inp)
    form = index_form(inp.derivation)
    if form is None:
        grad = inp.derivation.gradients[0]
        weight, gradient = grad.param, grad.expr
    else:
        i, j = ("i", "j") if len(form.roles) == 3 else ("i", "k")
        weight = form.generic_weights[(i, j)]
        gradient = sp.Mul(form.generic[j]["delta"], form.generic[i]["act"], evaluate=False)

    def at(time: str) -> str:
        shown = {s: f"{p.doprint(s)}({time})" for s in gradient.free_symbols}
        return _printer(inp, shown, mul_symbol=None).doprint(gradient)

    return dict(weight=p.doprint(weight), g_next=at("t+1"), g_s=at("s"), g_t=at("t"))


UNIT = (
    "unit_figure",
    "fausett_learning",
    "fausett_derivatives",
    "fausett_rules",
    "fausett_example",
    "unit_forward",
    "unit_loss",
    "unit_backward",
    "unit_updates",
    "unit_plot",
    "fausett_variations",
)
LAYER = (
    "layer_network",
    "fausett_learning",
    "fausett_derivatives",
    "fausett_rules",
    "layer_equations",
    "layer_worked",
    "layer_update",
    "fausett_variations",
)

STYLE = Style(
    name="fausett",
    lecture=(
        "L. Fausett's backpropagation, as taught in Lecture 6: Backpropagation Algorithm "
        "(Mansoura University)"
    ),
    unit=UNIT,
    layer=LAYER,
    builders={
        "fausett_learning": learning,
        "fausett_derivatives": derivatives,
        "fausett_rules": rules_section,
        "fausett_example": example,
        "fausett_variations": variations,
    },
)
