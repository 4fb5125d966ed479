"""`python -m ember.demo` (transfer learning on digits) and the synthetic MLP example."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")

import ember  # noqa: E402
from ember import nn  # noqa: E402
from ember.demo import data, measure  # noqa: E402
from ember.demo.model import DigitsCNN  # noqa: E402
from ember.demo.picture import write_graph  # noqa: E402
from ember.demo.training import fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODES = ("grad enabled", measure.FROZEN_ROW, "no_grad", "inference_mode")
ROW = re.compile(r"^(grad enabled|grad, frozen features|no_grad|inference_mode)\s+([\d.]+)\s+"
                 r"([\d.]+)\s+([\d.]+)\s+([\d.]+)x\s+([\d.]+)x$", re.M)


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("demo_out")
    return run("-m", "ember.demo", "--epochs", "1", "--seed", "1", "--quiet",
               "--out", str(out)), out


@pytest.fixture(scope="module")
def output(demo) -> str:
    return demo[0].stdout


@pytest.fixture(scope="module")
def rows(output) -> dict[str, tuple[float, ...]]:
    return {m.group(1): tuple(float(v) for v in m.groups()[1:]) for m in ROW.finditer(output)}


# ----- the demo as a program --------------------------------------------------------------
def test_demo_quiet_prints_no_epoch_lines_and_no_bars(demo):
    proc, _ = demo
    assert not re.search(r"epoch \d+/\d+", proc.stdout)
    assert "batch/s" not in proc.stderr and "%|" not in proc.stderr


def test_demo_prints_the_split(output):
    assert "split 1077/360/360 train/val/test (seed 1)" in output


def test_demo_prints_test_accuracy_and_the_target(output):
    m = re.search(r"^\[test\] test accuracy on digits 5-9 after fine-tuning: ([\d.]+)% "
                  r"\((\d+) images; target >= 95%: (reached|NOT reached)\)$", output, re.M)
    assert m is not None
    accuracy = float(m.group(1))
    assert 50.0 < accuracy <= 100.0  # one epoch each is far above chance (20%)
    assert m.group(3) == ("reached" if accuracy >= 95.0 else "NOT reached")


def test_demo_prints_trainable_and_total_parameters(output):
    m = re.search(r"^trainable parameters: ([\d,]+) / ([\d,]+) total \(([\d.]+)%\)$",
                  output, re.M)
    assert m is not None
    trainable, total = (int(g.replace(",", "")) for g in m.groups()[:2])
    model = DigitsCNN()
    assert total == sum(p.numel() for p in model.parameters())
    assert trainable == sum(p.numel() for p in model.head.parameters())


def test_demo_keeps_frozen_batchnorm_in_eval_mode(output):
    assert ("after model.train(): features.training=False, BatchNorm training=[False, False], "
            "head.training=True") in output
    assert "frozen BatchNorm running stats: unchanged by fine-tuning (max |change| 0)" in output


def test_demo_reports_every_evaluation_mode(rows):
    assert tuple(rows) == MODES


def test_demo_ratios_are_relative_to_grad_enabled(rows):
    ms, mib, _, time_ratio, mem_ratio = rows["grad enabled"]
    assert (time_ratio, mem_ratio) == (1.0, 1.0)
    for mode in MODES[1:]:
        assert rows[mode][3] == pytest.approx(rows[mode][0] / ms, abs=0.01)
        assert rows[mode][4] == pytest.approx(rows[mode][1] / mib, abs=0.01)


def test_demo_evaluation_without_graph_holds_no_graph_and_less_memory(rows):
    assert rows["grad enabled"][2] > rows[measure.FROZEN_ROW][2] > 0
    for mode in ("no_grad", "inference_mode"):
        assert rows[mode][2] == 0.0
        assert rows[mode][1] < rows["grad enabled"][1]


def test_demo_prints_graph_bytes_with_and_without_grad(output):
    m = re.search(r"^graph held for backward \(ember\.autograd\.graph\.saved_bytes\): "
                  r"([\d,]+) bytes with grad enabled, 0 under no_grad$", output, re.M)
    assert m is not None and int(m.group(1).replace(",", "")) > 0


def test_demo_reload_gives_identical_predictions(output):
    assert re.search(r"^reload check: identical predictions on 360/360 test images \(logits "
                     r"bit-identical\); optimizer state identical", output, re.M)


def test_demo_writes_checkpoint_and_graph(demo):
    _, out = demo
    assert (out / "model.safetensors").stat().st_size > 0
    assert (out / "optimizer.safetensors").stat().st_size > 0
    graph = out / "graph.svg" if (out / "graph.svg").exists() else out / "graph.dot"
    text = graph.read_text()
    assert "head.1.weight" in text and "features(x) (frozen)" in text


def test_demo_checkpoint_loads_into_a_fresh_model(demo):
    _, out = demo
    model = DigitsCNN().freeze_features()
    model.load_state_dict(ember.load(out / "model.safetensors"))
    state = ember.load(out / "optimizer.safetensors")
    assert [g["params"] for g in state["param_groups"]] == [[0, 1]]  # the head only


# ----- its parts ------------------------------------------------------------------------
def test_split_is_disjoint_complete_and_seeded():
    a, b, c = data.load(0), data.load(0), data.load(1)
    parts = [a.indices[s] for s in data.SPLITS]
    assert [len(p) for p in parts] == [1077, 360, 360]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(1797))
    assert all(np.array_equal(a.indices[s], b.indices[s]) for s in data.SPLITS)
    assert not np.array_equal(a.indices["test"], c.indices["test"])


def test_task_split_keeps_its_digits_relabelled_from_zero():
    digits = data.load(0)
    images, labels = digits.split("test", range(5, 10)).tensors
    original = digits.labels[digits.indices["test"]]
    assert len(labels) == int(((original >= 5) & (original < 10)).sum())
    assert set(labels.numpy().tolist()) == {0, 1, 2, 3, 4}
    assert images.shape[1:] == (1, 8, 8) and float(images.max()) <= 1.0


def test_freeze_features_turns_off_their_gradients_only():
    model = DigitsCNN().freeze_features()
    assert not any(p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.head.parameters())


def test_train_keeps_frozen_features_in_eval_mode():
    model = DigitsCNN().freeze_features()
    model.train()
    assert model.training and model.head.training
    assert not any(m.training for m in model.features.modules())


def test_training_step_leaves_frozen_running_stats_untouched():
    model = DigitsCNN().freeze_features().train()
    stats = {k: v.numpy().copy() for k, v in model.features.named_buffers()}
    x, y = ember.randn(8, 1, 8, 8), ember.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    nn.functional.cross_entropy(model(x), y).backward()
    for name, buf in model.features.named_buffers():
        assert np.array_equal(buf.numpy(), stats[name]), name


def test_unfrozen_training_step_updates_running_stats():
    # The control for the test above: in train mode BatchNorm does update them.
    model = DigitsCNN().train()
    model(ember.randn(8, 1, 8, 8))
    assert int(model.features[1].num_batches_tracked) == 1
    assert not np.array_equal(model.features[1].running_mean.numpy(), np.zeros(16))


def test_fit_prints_one_line_per_epoch_with_validation():
    digits = data.load(0)
    train, val = digits.split("val", range(5)), digits.split("test", range(5))
    model = DigitsCNN()
    lines: list[str] = []
    fit(model, train, val, ember.optim.Adam(model.parameters(), lr=3e-3), 2, phase="pretrain",
        batch_size=64, seed=0, quiet=False, log=lines.append)
    assert len(lines) == 2
    assert re.match(r"pretrain epoch 2/2  loss [\d.]+  acc +[\d.]+%  \|  val loss [\d.]+  "
                    r"val acc +[\d.]+%$", lines[1])
    assert model.training  # validation ran in eval mode and went back


def test_measure_restores_requires_grad_flags():
    model = DigitsCNN().freeze_features()
    costs = measure.measure(model, ember.randn(16, 1, 8, 8))
    assert tuple(costs) == MODES
    assert not any(p.requires_grad for p in model.features.parameters())
    assert all(p.requires_grad for p in model.head.parameters())
    assert costs["no_grad"].graph_bytes == 0 and costs["grad enabled"].graph_bytes > 0


def test_graph_falls_back_to_dot_source_without_the_dot_program(monkeypatch, tmp_path):
    pytest.importorskip("graphviz")
    monkeypatch.setattr("ember.demo.picture.shutil.which", lambda name: None)
    model = DigitsCNN().freeze_features()
    path = write_graph(model, ember.randn(4, 1, 8, 8), ember.tensor([0, 1, 2, 3]), tmp_path)
    assert path == tmp_path / "graph.dot"
    text = path.read_text()
    assert text.startswith("digraph") and "features(x) (frozen)" in text
    assert all(p.grad is None for p in model.parameters())  # the step left no gradients


# ----- the synthetic MLP example --------------------------------------------------------
def test_synthetic_mlp_example_runs_as_a_script():
    out = run(str(ROOT / "examples" / "synthetic_mlp.py"), "--epochs", "1", "--quiet").stdout
    assert re.search(r"^test accuracy \(no_grad, 20000 points\): [\d.]+%$", out, re.M)
    for mode in ("grad enabled", "no_grad", "inference_mode"):
        assert re.search(rf"^{mode}\s+[\d.]+\s+[\d.]+\s+[\d.]+x\s+[\d.]+x$", out, re.M)
