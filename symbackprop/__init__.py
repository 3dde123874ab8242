"""symbackprop: exact symbolic backpropagation.

A network is a graph of named SymPy nodes; :func:`derive` turns it into the δ-recursion as
equations (data), from which the handout printer writes LaTeX and the code generator writes a
NumPy module. See DESIGN.md for the pipeline.
"""

__version__ = "0.1.0"
