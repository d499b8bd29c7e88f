"""Code in the docs runs: imports resolve, paths exist, and (with RTNeural built in) the RTNeural
API example executes (issue 19 item 15)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if not (ROOT / "docs").is_dir():
    pytest.skip("needs the source tree (docs/)", allow_module_level=True)


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


def _imports(code: str) -> str:
    return "\n".join(line for line in code.splitlines() if re.match(r"(from \S+ )?import ", line))


def test_rtneural_api_example_imports_resolve() -> None:
    (block,) = _python_blocks(ROOT / "docs" / "rtneural.md")
    exec(_imports(block), {})  # with or without RTNeural built in


def test_rtneural_api_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vashrink.runtime import rtneural_backend

    if not rtneural_backend.available():
        pytest.skip(rtneural_backend.why_unavailable())
    monkeypatch.chdir(tmp_path)  # the example writes amp.json
    (block,) = _python_blocks(ROOT / "docs" / "rtneural.md")
    exec(block, {})


def test_third_party_readme_commands_name_what_exists() -> None:
    text = (ROOT / "third_party" / "README.md").read_text()
    snippets = re.findall(r'python -c "(.*?)"', text)
    assert snippets
    for code in snippets:
        exec(_imports(code.replace("; ", "\n")), {})
    tests = re.findall(r"python -m pytest (\S+)", text)
    assert tests
    for path in tests:
        assert (ROOT / path).is_file(), path
