"""Run and time models the way a plugin does: our C++ engine, RTNeural, compiled headers.

Python owns the policy (what to time, how long, statistics: :mod:`.timing`); the C++ runners
own the hot loop. :mod:`.info` says what the engine was compiled for (ISA, lanes).
"""

from __future__ import annotations

from .info import SystemInfo, lanes, system_info
from .recurrent import RecurrentNet

__all__ = ["RecurrentNet", "SystemInfo", "lanes", "system_info"]
