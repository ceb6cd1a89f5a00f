"""Helpers shared by the benchmark scripts: timing and writing results."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from feedback.files import write_json

RESULTS = Path(__file__).parent / "results"
OPENBLAS_PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # what machines pin, see blas()


def median_seconds(work: Callable[[], object], repeats: int, number: int = 1) -> float:
    """Median over ``repeats`` of the mean time of ``number`` calls of ``work``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            work()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def blas() -> dict:
    """numpy's BLAS and the kernels it runs: the reward model's env-loop speed hangs on
    them. Some machines pin ``OPENBLAS_CORETYPE`` for old OpenBLAS builds; the pin is
    recorded so that a figure says which kernels it was measured with."""
    import numpy as np

    try:
        from threadpoolctl import threadpool_info  # in the dev extra
    except ImportError:
        threadpool_info = list
    found = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    info = found[0] if found else {}
    return {
        "numpy": np.__version__,
        "library": info.get("internal_api"),
        "version": info.get("version"),
        "kernels": info.get("architecture"),
        "pinned": {k: os.environ[k] for k in OPENBLAS_PINS if k in os.environ},
    }


def cpu() -> dict:
    """The processor, as far as the OS says: times are comparable only on one kind."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return {"model": platform.processor() or None}
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    info = {key.strip(): value.strip() for key, value in pairs}  # the last core's
    # Not its MHz: that can change with the load on one machine.
    return {"model": info.get("model name") or platform.processor() or None,
            "cache": info.get("cache size")}


def machine() -> dict:
    """What a result was measured on: the cores, the processor, the software, the BLAS."""
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "blas": blas(),
    }


def write_result(name: str, result: dict) -> Path:
    """Write ``benchmarks/results/NAME.json`` and print it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    write_json(path, {**result, "machine": machine()}, indent=2)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")
    return path
