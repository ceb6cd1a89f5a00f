"""The README's Python blocks run as they are, in order, so its examples cannot drift
from the API."""

import re
from pathlib import Path

import pytest

README = Path(__file__).parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def test_the_readme_has_python_examples():
    assert len(BLOCK.findall(README.read_text())) >= 3


def test_every_python_block_of_the_readme_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples write under runs/
    namespace: dict = {"__name__": "readme"}
    for number, block in enumerate(BLOCK.findall(README.read_text()), start=1):
        try:
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
        except Exception as err:  # say which block broke
            pytest.fail(f"README python block {number} fails: {type(err).__name__}: {err}")
    assert (tmp_path / "runs/readme/reward_model/card.json").is_file()
    assert namespace["metrics"]["timesteps"] == 1024
