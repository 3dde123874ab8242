"""symbackprop: exact symbolic backpropagation.

Build a network, derive it, and take every output from the derivation::

    import symbackprop as sbp

    net = sbp.layered(2, [2, 2], notation="mazur")   # or sbp.network(...), sbp.example("mazur"),
    d = sbp.derive(net)                              #    sbp.load("spec.toml")
    print(d)                                         # the derivation as text
    d.latex(); d.module(); d.handout("net.tex"); d.check(); d.verify("...")

Everything else in the package is internal and may change. See README.md ("From Python") and
DESIGN.md for the pipeline.
"""

__version__ = "0.1.0"

from symbackprop.api import derive, example, layered, load, network  # noqa: E402
from symbackprop.derived import Derived  # noqa: E402

__all__ = ["Derived", "derive", "example", "layered", "load", "network"]
