"""The core install stays free of the optional text stack."""

import subprocess
import sys


def test_core_imports_load_neither_transformers_nor_trl():
    code = ("import sys, rlhf_envs, feedback, agents, agents.train, feedback.text; "
            "print(sorted(m for m in ('transformers', 'trl', 'datasets') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"
