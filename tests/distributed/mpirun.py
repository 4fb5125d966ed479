"""Start a small MPI job for a test, with a timeout that kills the whole process group."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).parent / "scripts"
_SRC = Path(__file__).resolve().parents[2] / "src"


def mpiexec() -> str | None:
    """The launcher next to this Python (the mpich wheel puts it there), else on PATH."""
    local = Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


def require_mpi() -> str:
    """Skip the calling test unless mpi4py and an mpiexec are installed."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip("mpi4py is not installed (pip install 'ember[distributed]')")
    launcher = mpiexec()
    if launcher is None:
        pytest.skip("no mpiexec found (pip install mpich, or install Open MPI)")
    return launcher


def run_mpi(script: str, *args: str, n: int = 2, timeout: float = 60.0
            ) -> subprocess.CompletedProcess:
    """Run `mpiexec -n N python -m mpi4py scripts/<script> ARGS`; on timeout SIGTERM the
    job's process group, then SIGKILL it, and fail the test with what it printed."""
    cmd = [require_mpi(), "-n", str(n), sys.executable, "-m", "mpi4py", str(SCRIPTS / script),
           *args]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(_SRC), os.environ.get("PYTHONPATH")])))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out, err = _kill(proc)
        pytest.fail(f"MPI job {script} ran over {timeout}s and was killed\n{out}\n{err}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _kill(proc: subprocess.Popen) -> tuple[str, str]:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            return proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            continue
    return proc.communicate()
