"""The words a handout uses for what the spec names by key: sources, losses, update rules.

A spec says ``notation = "mazur"``, ``loss = "half_sse"``, ``optimizer = { name = "adam",
beta1 = 0.9 }``; a handout says who the notation follows (author and title, from the lecture
notes' README), "half the sum of squared errors", and β₁ = 0.9. Everything here is LaTeX text
(prose with inline math), ready for the templates.
"""

from __future__ import annotations

# Who each notation follows, cited by author and title (the lecture notes' README).
SOURCES = {
    "mazur": (
        r"after Matt Mazur's step-by-step example, as in \emph{Tutorial on Backpropagation} "
        r"(Deep Learning Winter School, University of Hull, 2018)"
    ),
    "essa": (
        r"after L.~Fausett, as in \emph{Lecture 6: Backpropagation Algorithm} "
        r"(Mansoura University)"
    ),
    "hmkcode": r"after \emph{Backpropagation Step by Step} (hmkcode, 2019)",
    "jacobs": r"after R.~Jacobs, \emph{Backpropagation Algorithm} (University of Rochester, 2008)",
    "nielsen": (
        r"after M.~Nielsen, \emph{Neural Networks and Deep Learning}, ch.~2, as in "
        r"S.~Ramalingam, \emph{How the backpropagation algorithm works} (University of Utah)"
    ),
}

# Each loss in prose (the unit handout's symbols follow the notation, so no formula here).
LOSS_WORDS = {
    "half_sse": "half the sum of squared errors",
    "gaussian_loglik": "the Gaussian log-likelihood (unit variance)",
    "bce": "the binary cross-entropy",
    "bernoulli_loglik": "the Bernoulli log-likelihood",
    "cross_entropy": "the cross-entropy",
    "multinomial_loglik": "the multinomial log-likelihood",
}

# The layer handout's loss, with its formula in Nielsen's symbols.
LOSS_FORMULAS = {
    "half_sse": r"half the squared error, $C_x = \frac{1}{2}\sum_j (y_j - a^L_j)^2$",
    "gaussian_loglik": (
        r"the Gaussian log-likelihood (unit variance), $\log L_x = -\frac{1}{2}\sum_j "
        r"(y_j - a^L_j)^2$"
    ),
    "bce": (r"the binary cross-entropy, $C_x = -\sum_j [y_j \ln a^L_j + (1 - y_j)\ln(1 - a^L_j)]$"),
    "bernoulli_loglik": (
        r"the Bernoulli log-likelihood, $\log L_x = \sum_j [y_j \ln a^L_j + (1 - y_j)"
        r"\ln(1 - a^L_j)]$"
    ),
    "cross_entropy": r"the cross-entropy, $C_x = -\sum_j y_j \ln a^L_j$",
    "multinomial_loglik": r"the multinomial log-likelihood, $\log L_x = \sum_j y_j \ln a^L_j$",
}

# What each update rule's state means, in a sentence.
OPTIMIZER_NOTES = {
    "sgd": r"Each step moves every parameter against the gradient of the batch",
    "momentum": (
        r"The velocity $v$ starts at $0$ and adds up the gradients, each earlier one damped by "
        r"$\mu$; the step $-\eta v$ is the same as $\Delta w(t+1) = -\eta g + \mu\, \Delta w(t)$"
    ),
    "nesterov": (
        r"The velocity $v$ starts at $0$; the gradient is taken at the current parameters and "
        r"the look-ahead $\mu v$ is folded into the step"
    ),
    "adagrad": (
        r"$G$ starts at $0$ and adds up the squares of all gradients so far, so a parameter's "
        r"steps shrink as its gradients accumulate; the small $\epsilon$ keeps the division "
        r"finite"
    ),
    "rmsprop": (
        r"$s$ starts at $0$ and is a running average of the squared gradients, forgetting at "
        r"the rate $1 - \alpha$; the small $\epsilon$ keeps the division finite"
    ),
    "adam": (
        r"$m$ and $s$ start at $0$ and are running averages of the gradient and of its square; "
        r"dividing by $1 - \beta_1^t$ and $1 - \beta_2^t$ ($t = 1, 2, \dots$ counts the steps) "
        r"removes their pull towards $0$ in the first steps; the small $\epsilon$ keeps the "
        r"division finite"
    ),
}

# Each setting's symbol, as in the layer handout's equations.
SETTING_SYMBOLS = {
    "momentum": r"\mu",
    "eps": r"\epsilon",
    "alpha": r"\alpha",
    "beta1": r"\beta_1",
    "beta2": r"\beta_2",
}


def number_latex(value: float) -> str:
    """A setting as a person writes it, in LaTeX: 0.9, 10^{-8}, 2.5 \\times 10^{-8}."""
    text = f"{value:g}"
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else rf"{mantissa} \times {power}"


def settings_latex(settings, symbols=None) -> str:
    """``$\\beta_1 = 0.9$, $\\epsilon = 10^{-8}$`` for ``(("beta1", 0.9), ("eps", 1e-8))``."""
    table = SETTING_SYMBOLS if symbols is None else symbols
    return ", ".join(
        f"${table.get(name, name)} = {number_latex(value)}$" for name, value in settings
    )


def source_text(notation_name: str) -> str:
    """Whom the handout's notation follows, or an empty string."""
    return SOURCES.get(notation_name, "")


def loss_words(name: str) -> str:
    """The loss in prose (a loss registered elsewhere: its key with spaces)."""
    return LOSS_WORDS.get(name, name.replace("_", " "))


def loss_formula(name: str) -> str:
    """The layer handout's loss, in prose with its formula."""
    return LOSS_FORMULAS.get(name, name.replace("_", " "))


def optimizer_note(name: str) -> str:
    """One sentence (no final stop) on an update rule's state."""
    return OPTIMIZER_NOTES.get(name, "")
