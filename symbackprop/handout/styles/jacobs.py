"""The jacobs style: R. Jacobs, Backpropagation Algorithm (University of Rochester).

The lecture's order: the log-likelihood fit for the task and gradient ascent on it, batch
training over an epoch, the chain rule's stages and the worked example with the numbers, then
its two appendices, binary classification (a logistic output with the Bernoulli log-likelihood)
and multiway classification (softmax outputs with the multinomial log-likelihood). At the layer
level the same, in Nielsen's letters: the log-likelihood view of the layer net's loss, batch
training over the data set, BP1–BP4 and the net's equations, the update and its curve, the
worked example, then the appendices. Builders: :mod:`jacobs_unit`, :mod:`jacobs_layer`,
:mod:`jacobs_appendix`.
"""

from __future__ import annotations

from symbackprop.handout.styles import SectionInput, Style


def _by_level(unit: str, layer: str):
    """A builder that calls ``module.function`` of :mod:`jacobs_unit` or :mod:`jacobs_layer` by
    the handout's level (imported when first used)."""

    def build(inp: SectionInput) -> dict:
        import importlib

        module, name = (unit if inp.level == "unit" else layer).rsplit(".", 1)
        found = importlib.import_module(f"symbackprop.handout.styles.{module}")
        return getattr(found, name)(inp)

    return build


def _lazy(target: str):
    return _by_level(target, target)


STYLE = Style(
    name="jacobs",
    lecture="R. Jacobs, Backpropagation Algorithm (University of Rochester)",
    unit=(
        "jacobs_likelihood",
        "jacobs_batch",
        "jacobs_example",
        "unit_figure",
        "unit_forward",
        "unit_loss",
        "jacobs_backward",
        "unit_updates",
        "unit_plot",
        "unit_optimizers",
        "jacobs_appendix_a",
        "jacobs_appendix_b",
    ),
    layer=(
        "layer_network",
        "jacobs_likelihood",
        "jacobs_batch",
        "layer_bp",
        "layer_vectorised",
        "layer_equations",
        "layer_algorithm",
        "layer_update",
        "layer_worked",
        "layer_exercises",
        "jacobs_appendix_a",
        "jacobs_appendix_b",
    ),
    builders={
        "jacobs_likelihood": _by_level(
            "jacobs_unit.likelihood_section", "jacobs_layer.likelihood_section"
        ),
        "jacobs_batch": _by_level("jacobs_unit.batch_section", "jacobs_layer.batch_section"),
        "jacobs_example": _lazy("jacobs_unit.example_section"),
        "jacobs_backward": _lazy("jacobs_unit.backward_section"),
        "jacobs_appendix_a": _lazy("jacobs_appendix.appendix_a"),
        "jacobs_appendix_b": _lazy("jacobs_appendix.appendix_b"),
    },
)
