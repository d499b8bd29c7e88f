"""Built-in targets: the talk's worked example, and a panel of waveshaper curves.

The talk's example is ``tanh(2x)`` on [-1, 1] to a max abs error of 1e-7 ("Shrink your VA model
neural networks"); every command's ``--example`` uses it.
"""

from __future__ import annotations

__all__ = ["EXAMPLE_EPS", "EXAMPLE_RANGE", "EXAMPLE_TARGET"]

EXAMPLE_TARGET = "tanh(2*x)"
EXAMPLE_RANGE = (-1.0, 1.0)
EXAMPLE_EPS = 1e-7
