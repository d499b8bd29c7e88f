"""Built-in targets: the talk's worked example, and a simulated pedal for models with memory.

The talk's example is ``tanh(2x)`` on [-1, 1] to a max abs error of 1e-7 ("Shrink your VA model
neural networks"); every command's ``--example`` uses it. The pedal example
(``--example pedal``) is the diode-clipper pedal of :mod:`vashrink.target.pedal` driven by the
test signal: a recording that needs no audio files, to be met at NAM's "great" validation ESR.
"""

from __future__ import annotations

__all__ = [
    "EXAMPLE_EPS",
    "EXAMPLE_RANGE",
    "EXAMPLE_TARGET",
    "PEDAL_ESR",
    "PEDAL_NAME",
    "PEDAL_SAMPLE_RATE_HZ",
    "PEDAL_SECONDS",
    "PEDAL_VALIDATION_S",
]

EXAMPLE_TARGET = "tanh(2*x)"
EXAMPLE_RANGE = (-1.0, 1.0)
EXAMPLE_EPS = 1e-7

PEDAL_NAME = "pedal"
PEDAL_SECONDS = 20.0
"""Length of the pedal example's test signal: 15 s to train on, the rest to validate."""
PEDAL_VALIDATION_S = 5.0
PEDAL_SAMPLE_RATE_HZ = 48_000
PEDAL_ESR = 0.01
"""Validation ESR (pre-emphasised) to meet: NAM's "great" (< 0.01). Reachable: a GRU-8 trained
by plain Adam reached 0.0048 on this example (docs/bounds.md, "On the pedal example")."""
