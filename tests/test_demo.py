"""`python -m ember.demo`: run as a subprocess, check what it prints."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ember.demo import make_rings

SRC = str(Path(__file__).resolve().parents[1] / "src")
MODES = ("grad enabled", "no_grad", "inference_mode")
ROW = re.compile(
    r"^(grad enabled|no_grad|inference_mode)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s+([\d.]+)x$"
)


def run_demo(*args: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-m", "ember.demo", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def output() -> str:
    return run_demo("--epochs", "2", "--seed", "1")


@pytest.fixture(scope="module")
def rows(output) -> dict:
    found = {}
    for line in output.splitlines():
        m = ROW.match(line.strip())
        if m:
            found[m.group(1)] = tuple(float(v) for v in m.groups()[1:])
    return found


def test_demo_prints_one_line_per_epoch(output):
    epochs = re.findall(r"^epoch\s+(\d+)\s+loss [\d.]+\s+train accuracy\s+[\d.]+%$", output, re.M)
    assert epochs == ["1", "2"]


def test_demo_prints_test_accuracy_as_percentage(output):
    m = re.search(r"^test accuracy \(no_grad, 20000 points\): ([\d.]+)%$", output, re.M)
    assert m is not None
    assert 0.0 <= float(m.group(1)) <= 100.0


def test_demo_reports_the_three_evaluation_modes(rows):
    assert tuple(rows) == MODES


def test_demo_ratios_are_relative_to_grad_enabled(rows):
    ms, mib, time_ratio, mem_ratio = rows["grad enabled"]
    assert (time_ratio, mem_ratio) == (1.0, 1.0)
    for mode in MODES[1:]:
        assert rows[mode][3] == pytest.approx(rows[mode][1] / mib, abs=0.01)


def test_demo_evaluation_without_graph_uses_less_memory(rows):
    grad_peak = rows["grad enabled"][1]
    assert rows["no_grad"][1] < grad_peak
    assert rows["inference_mode"][1] < grad_peak


def test_demo_quiet_skips_epoch_lines():
    out = run_demo("--epochs", "1", "--quiet")
    assert not re.search(r"^epoch", out, re.M)
    assert "test accuracy" in out


def test_make_rings_label_is_ring_index():
    points, labels = make_rings(3000, np.random.default_rng(0))
    radius = np.hypot(points[:, 0], points[:, 1])
    assert points.dtype == np.float32 and labels.dtype == np.int64
    assert set(np.unique(labels)) == {0, 1, 2}
    assert np.mean(np.abs(radius - (labels + 1)) < 0.5) > 0.95
