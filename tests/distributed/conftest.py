"""One 2-rank MPI launch of scripts/ddp_checks.py, shared by the tests that read it."""

from __future__ import annotations

import json

import pytest

from .mpirun import run_mpi


@pytest.fixture(scope="session")
def two_ranks(tmp_path_factory) -> dict[int, dict]:
    """What each rank of scripts/ddp_checks.py found, by rank."""
    out = tmp_path_factory.mktemp("ddp_checks")
    job = run_mpi("ddp_checks.py", str(out), n=2, timeout=120)
    assert job.returncode == 0, f"MPI job failed:\n{job.stdout}\n{job.stderr}"
    return {r: json.loads((out / f"rank{r}.json").read_text()) for r in (0, 1)}
