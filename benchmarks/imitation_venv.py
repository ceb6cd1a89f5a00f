"""imitation 1.0.1's side of ``benchmarks.imitation_side``: its venv, made and talked to.

imitation pins gymnasium 0.29 and Stable-Baselines3 2.2.1, so it lives in a venv of its
own (torch==2.13.0 installed first: a bare torch pulls a CUDA build). :func:`side_python`
makes it once and reuses it; :class:`Side` runs ``imitation_side_child.py`` there and
asks it for measurements in JSON lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).with_name("imitation_side_child.py")
SIDE_PACKAGES = (("torch==2.13.0",), ("imitation==1.0.1", "gymnasium[mujoco]~=0.29"))
SIDE_IMPORTS = "import imitation, gymnasium, stable_baselines3, mujoco, torch"
INSTALL_TIMEOUT = 1_800  # seconds per setup step


class SetupError(Exception):
    """Why the side venv cannot be made."""


class SideError(Exception):
    """The imitation side failed at a request (its traceback is in the side's log)."""


def side_imports(python: Path) -> bool:
    """Whether the side venv's python imports imitation and the rest."""
    try:
        return subprocess.run([str(python), "-c", SIDE_IMPORTS], capture_output=True,
                              timeout=300).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def install_side_venv(venv: Path) -> None:
    """Make ``venv`` (or complete a broken one): ``python -m venv``, then pip, torch first."""
    print(f"imitation_side: setting up {venv} (once; a few minutes)", flush=True)
    python = venv / "bin" / "python"
    steps = [[sys.executable, "-m", "venv", str(venv)],
             *[[str(python), "-m", "pip", "install", *packages] for packages in SIDE_PACKAGES]]
    for command in steps:
        shown = "python -m " + " ".join(command[2:])
        try:
            done = subprocess.run(command, capture_output=True, text=True,
                                  timeout=INSTALL_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SetupError(f"{shown}: {err}") from None
        if done.returncode:
            lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
            raise SetupError(f"{shown} failed (exit {done.returncode}): "
                             f"{lines[-1].strip() if lines else 'no output'}")


def side_python(venv: Path) -> Path:
    """The side venv's python, the venv made first where it does not import imitation."""
    python = venv / "bin" / "python"
    if python.exists() and side_imports(python):
        return python
    install_side_venv(venv)
    if not side_imports(python):
        raise SetupError(f"{venv} was set up, but its python does not import imitation")
    return python


class Side:
    """The imitation side: the child script in the side venv, asked in JSON lines.

    :param python: the side venv's python
    :param threads: torch's CPU threads there
    :param log: where the side's stderr goes (imitation's and MuJoCo's chatter, tracebacks)
    """

    def __init__(self, python: Path, threads: int, log: Path) -> None:
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "TQDM_DISABLE": "1",
               "PYTHONWARNINGS": "ignore"}
        with open(log, "w") as stderr:
            self.process = subprocess.Popen(
                [str(python), str(CHILD), "--threads", str(threads)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)

    def ask(self, do: str, **arguments: object) -> dict:
        """Send one request; return its answer (raises :class:`SideError` on a failure)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(json.dumps({"do": do, **arguments}) + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # it has stopped: the read below says so
        line = self.process.stdout.readline()
        if not line:
            raise SideError(f"the imitation side stopped (exit {self.process.wait()}) at "
                            f"{do!r}; see {self.log}")
        reply = json.loads(line)
        if "error" in reply:
            raise SideError(f"imitation side, {do}: {reply['error']} (see {self.log})")
        return reply

    def close(self) -> None:
        """End the side process (it ends when its stdin does)."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)
