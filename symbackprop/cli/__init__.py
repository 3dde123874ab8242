from symbackprop.cli.commands import main

__all__ = ["main"]
