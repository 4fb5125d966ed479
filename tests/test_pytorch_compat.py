"""The same training script runs on ember and on torch, with only the imports changed."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "pytorch_style_training.py"


def _run(source: str, tmp_path: Path) -> str:
    path = tmp_path / "script.py"
    path.write_text(source)
    done = subprocess.run([sys.executable, str(path), str(tmp_path / "ckpt")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _epochs(out: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in re.findall(r"loss (\S+) val acc (\S+)", out)]


def test_training_script_runs_on_ember_learns_and_reloads(tmp_path):
    out = _run(SCRIPT.read_text(), tmp_path)
    epochs = _epochs(out)
    assert len(epochs) == 4
    assert epochs[-1][0] < epochs[0][0]  # the loss goes down
    assert epochs[-1][1] >= 0.75
    assert "reloaded model agrees: True" in out


def test_same_script_runs_on_torch(tmp_path):
    pytest.importorskip("torch")
    source = SCRIPT.read_text().replace("import ember as torch", "import torch")
    source = source.replace("ember.", "torch.")
    out = _run(source, tmp_path)
    assert len(_epochs(out)) == 4
    assert "reloaded model agrees: True" in out
