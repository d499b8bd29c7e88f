"""The layout rules: stages import only earlier stages, no cycles, small modules, a light import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "vashrink"
#: Pipeline order: a stage may import itself, the shared ones and earlier stages only.
SHARED = ("errors", "target", "model")
STAGES = ("bound", "train", "runtime", "formats", "search", "cli")
MAX_LINES = 400

if not PACKAGE.is_dir():
    pytest.skip("needs the source tree (python/vashrink)", allow_module_level=True)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    """Every vashrink module ``name`` imports, at any depth of the file (lazy imports too)."""
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                root = base[: len(base) - node.level + 1]
                mod = ".".join(root + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("vashrink"):
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("vashrink"))
    return found


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_no_stage_imports_a_later_stage() -> None:
    modules = _modules()
    order = {s: i for i, s in enumerate(STAGES)}
    bad = []
    for name, path in modules.items():
        own = _stage(name)
        for imp in _imports(name, path):
            other = _stage(imp)
            if other is None or imp not in modules or own is None:
                continue
            if own in SHARED and other in STAGES:
                bad.append(f"{name} (shared) imports {imp}")
            elif own in order and other in order and order[other] > order[own]:
                bad.append(f"{name} ({own}) imports the later stage {imp}")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycle_between_modules() -> None:
    modules = _modules()
    graph = {n: {i for i in _imports(n, p) if i in modules and i != n} for n, p in modules.items()}
    # a package's __init__ importing its own submodules is not a cycle of concepts
    for n in graph:
        graph[n] = {i for i in graph[n] if not i.startswith(n + ".")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(n: str, stack: list[str]) -> bool:
        state[n] = 1
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                cycle.extend([*stack[stack.index(m):], m] if m in stack else [n, m])
                return True
            if m not in state and visit(m, [*stack, m]):
                return True
        state[n] = 2
        return False

    for n in sorted(graph):
        if n not in state and visit(n, [n]):
            break
    assert not cycle, " -> ".join(cycle)


def test_no_module_is_over_the_line_limit() -> None:
    long = {n: len(p.read_text().splitlines()) for n, p in _modules().items()}
    assert not {n: k for n, k in long.items() if k > MAX_LINES}


@pytest.mark.parametrize("code", [
    "import vashrink",
    "from vashrink.cli import main; main(['--version'])",
    "from vashrink.cli import main; main(['--help'])",
    "from vashrink.cli import main; main(['bounds', 'tanh(2*y)', '--range', '-1', '1', "
    "'--eps', '1e-3'])",
    "from vashrink.cli import main; main(['shrink', 'tanh(', '--range', '-1', '1', "
    "'--eps', '1e-3'])",
])
def test_quick_paths_do_not_import_torch(code: str) -> None:
    probe = f"""
import sys
try:
    {code}
except SystemExit:
    pass
print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)
"""
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=False, timeout=60)
    assert proc.stderr.strip().endswith("NO-TORCH"), proc.stderr[-500:]
