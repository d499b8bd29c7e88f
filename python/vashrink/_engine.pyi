"""Types for the compiled module ``vashrink._engine`` (private: use the vashrink package)."""

from typing import Any

build_info: dict[str, Any]

def cpu_features() -> str: ...
def cpu_model_name() -> str: ...
