"""Free text printed as a Python string literal, for generated modules.

The one way user text (a spec's title, its file name) reaches generated code: inside a string
literal whose value is exactly that text. :func:`docstring_literal` prints a module docstring
as a triple-quoted literal that keeps the newlines readable and escapes everything else that
could end the literal or change its meaning: backslashes, quotes next to quotes or at the end,
carriage returns and every other non-printable character (bidi controls included). The result
is checked by parsing it back, so a printer bug fails loudly instead of emitting code.
"""

from __future__ import annotations

import ast


def _escaped(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"' and (i + 1 == len(text) or text[i + 1] == '"'):
            # No two unescaped quotes ever touch, so nothing can form the closing \"\"\".
            out.append('\\"')
        elif ch == "\n" or ch.isprintable():
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1])  # \r, \t, \x00, \u202e, lone surrogates: as escapes
    return "".join(out)


def docstring_literal(text: str) -> str:
    """``text`` as a triple-quoted Python literal whose value is ``text`` exactly.

    Raises:
        AssertionError: If the printed literal does not parse back to ``text`` (a bug here).
    """
    literal = f'"""{_escaped(text)}"""'
    tree = ast.parse(literal, mode="eval")
    if not (isinstance(tree.body, ast.Constant) and tree.body.value == text):
        raise AssertionError(f"docstring printer failed on {text!r}")
    return literal
