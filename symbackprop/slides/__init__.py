"""Lecture slides: the derivation as a Beamer deck, revealed step by step (unit and layer level)."""
