"""symbackprop: exact symbolic backpropagation.

A network is a graph of named SymPy nodes; :func:`derive` turns it into the δ-recursion as
equations (data), from which the handout printer writes LaTeX and the code generator writes a
NumPy module. See DESIGN.md for the pipeline.

The public API::

    from symbackprop import build_network, build_layered, LayerSpec, load_spec, derive
    from symbackprop import generate_handout, generate_module, check_network, ACTIVATIONS
"""

__version__ = "0.1.0"

from .check import check_network  # noqa: E402
from .codegen import generate_module  # noqa: E402
from .derive import derive  # noqa: E402
from .handout import generate_handout  # noqa: E402
from .layered import LayerSpec, build_layered  # noqa: E402
from .network import Network, Node, build_network  # noqa: E402
from .rules import ACTIVATIONS, LOSSES  # noqa: E402
from .spec import load_spec  # noqa: E402

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
    "generate_handout",
    "generate_module",
    "load_spec",
]
