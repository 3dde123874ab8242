"""symbackprop: exact symbolic backpropagation.

A network is a graph of named SymPy nodes; :func:`derive` turns it into the δ-recursion as
equations (data), from which the handout printer writes LaTeX and the code generator writes a
NumPy module. See DESIGN.md for the pipeline.

The public API::

    from symbackprop import build_network
    from symbackprop import build_layered
    from symbackprop import LayerSpec
    from symbackprop import load_spec
    from symbackprop import derive
    from symbackprop import generate_handout, generate_module, check_network, ACTIVATIONS
"""

__version__ = "0.1.0"

from symbackprop.check.unit import check_network  # noqa: E402
from symbackprop.codegen.unit import generate_module  # noqa: E402
from symbackprop.derivation.unit import derive  # noqa: E402
from symbackprop.derived import Derived, derived  # noqa: E402
from symbackprop.handout.unit import generate_handout  # noqa: E402
from symbackprop.model.layered import LayerSpec, build_layered  # noqa: E402
from symbackprop.model.network import Network, Node, build_network  # noqa: E402
from symbackprop.rules.registry import ACTIVATIONS, LOSSES  # noqa: E402
from symbackprop.spec.load import load_spec  # noqa: E402

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "LayerSpec",
    "Network",
    "Node",
    "build_layered",
    "build_network",
    "check_network",
    "derive",
    "derived",
    "Derived",
    "generate_handout",
    "generate_module",
    "load_spec",
]
