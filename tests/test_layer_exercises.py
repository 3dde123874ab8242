"""The layer handout's exercises: answered by deriving a variant net, hidden by --no-solutions."""

from symbackprop.cli.commands import main
from symbackprop.derivation.layer import LayerNet
from symbackprop.handout.layer_exercises import layer_exercises
from symbackprop.spec.load import load_spec


def _net(activations, loss="half_sse"):
    sizes = (3,) * len(activations) + (2,)
    return LayerNet(name="t", sizes=sizes, activations=tuple(activations), loss=loss)


def test_nielsen_answers_follow_from_the_derivatives():
    linear, swapped = layer_exercises(load_spec("nielsen"))
    # f(z) = z: f' = 1, so delta^L = dC/da = a - y (half SSE) and delta^1 is the bare sum.
    assert linear.lines == (
        (r"{\delta^{2}_{j}}", r"= {a^{2}_{j}} - {y_{j}}"),
        (r"{\delta^{1}_{j}}", r"= \sum_{k=1}^{10} {w^{2}_{kj}} {\delta^{2}_{k}}"),
    )
    # sigma -> tanh in layer 1: tanh' = 1 - tanh^2 = 1 - (a^1_j)^2, in delta^1 only.
    assert r"$\tanh$ instead of $\sigma$" in swapped.question
    assert swapped.lines == (
        (
            r"{\delta^{1}_{j}}",
            r"= \left(\sum_{k=1}^{10} {w^{2}_{kj}} {\delta^{2}_{k}}\right) "
            r"\left(1 - \left({a^{1}_{j}}\right)^{2}\right)",
        ),
    )


def test_a_loss_that_needs_its_output_keeps_it():
    linear, swapped = layer_exercises(load_spec("digits"))  # tanh, softmax + cross-entropy
    assert r"keeps $\operatorname{softmax}$" in linear.question
    assert linear.lines[0] == (r"{\delta^{2}_{j}}", r"= {a^{2}_{j}} - {y_{j}}")
    # tanh -> sigma in layer 1: sigma' = a (1 - a).
    assert swapped.lines[0][1].endswith(r"{a^{1}_{j}} \left(1 - {a^{1}_{j}}\right)")


def test_exercises_that_would_change_nothing_are_left_out():
    assert layer_exercises(_net(["linear"])) == ()  # one linear layer: nothing to vary
    (swapped,) = layer_exercises(_net(["linear", "linear"]))
    assert r"$\sigma$ instead of $\operatorname{id}$" in swapped.question


def test_no_solutions_hides_the_answers(tmp_path):
    for flag, expected in (([], r"\solutionstrue"), (["--no-solutions"], r"\solutionsfalse")):
        out = tmp_path / f"n{len(flag)}.tex"
        assert main(["handout", "nielsen", "-o", str(out), "--no-pdf", *flag]) == 0
        text = out.read_text()
        assert expected in text
        assert text.count(r"\exercise{") == 2
        # the answers are in the .tex only when shown; a question handout leaves room instead
        answers, rooms = text.count(r"\textit{Answer.}"), text.count(r"\workspace{")
        assert (answers, rooms) == ((0, 2) if flag else (2, 0))
