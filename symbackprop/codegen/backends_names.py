"""The ``codegen --backend`` choices, importable without SymPy (the command line's parser reads
them). ``numpy`` is :mod:`codegen.layer`'s module and the default; the others are made by
:mod:`codegen.backends`."""

BACKENDS = ("numpy", "torch", "jax", "cupy", "array-api")
DEFAULT_BACKEND = "numpy"


def output_suffix(backend: str) -> str:
    """The default output file's suffix: ``.py`` for NumPy, ``_torch.py``, ``_array_api.py`` …"""
    return ".py" if backend == DEFAULT_BACKEND else f"_{backend.replace('-', '_')}.py"
