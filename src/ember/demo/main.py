"""The demo's steps, in order: data, pretraining, transfer, test, grad-mode costs,
checkpoint round trip and a picture of the graph."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import ember
from ember import nn
from ember.optim import Adam, Optimizer

from . import checkpoint, data, measure
from .model import DigitsCNN
from .picture import write_graph
from .training import evaluate, fit, predict

__all__ = ["main"]

PRETRAIN = range(0, 5)
FINETUNE = range(5, 10)
PRETRAIN_LR = 3e-3
FINETUNE_LR = 1e-2  # only the small new head trains: a bigger step is safe
BATCH = 32
TILE = 4  # the timed evaluation runs on the test split repeated this many times
TARGET = 0.95


def _digits(r: range) -> str:
    return f"digits {r.start}-{r.stop - 1}"


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _optimizer(model: nn.Module, lr: float = FINETUNE_LR) -> Optimizer:
    """Adam over the trainable parameters only, as in PyTorch fine-tuning recipes."""
    return Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=lr)


def _transfer_model() -> DigitsCNN:
    """A fresh model shaped like the fine-tuned one (frozen extractor, 5-class head)."""
    return DigitsCNN(num_classes=len(FINETUNE)).freeze_features()


def _bn_stats(model: DigitsCNN) -> dict[str, np.ndarray]:
    return {name: buf.numpy().copy() for name, buf in model.features.named_buffers()}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ember.demo",
        description="Pretrain a small CNN on digits 0-4, fine-tune it on digits 5-9 with a "
                    "frozen feature extractor, then measure, save, reload and draw it.")
    parser.add_argument("--epochs", type=int, default=8,
                        help="epochs of pretraining and of fine-tuning (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed of split, weights, batches")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bars and no per-epoch lines")
    parser.add_argument("--out", type=Path, default=Path("demo_out"),
                        help="folder for the checkpoint and graph files (default ./demo_out)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    return args


def pretrain(digits: data.Digits, args: argparse.Namespace) -> DigitsCNN:
    """Train the whole CNN on the first five digits."""
    model = DigitsCNN(num_classes=len(PRETRAIN))
    train, val = (digits.split(s, PRETRAIN) for s in ("train", "val"))
    print(f"\n[pretrain] {len(train)} train / {len(val)} val images, Adam lr {PRETRAIN_LR}, "
          f"batch {BATCH}, {args.epochs} epochs")
    fit(model, train, val, _optimizer(model, PRETRAIN_LR), args.epochs, phase="pretrain",
        batch_size=BATCH, seed=args.seed, quiet=args.quiet)
    score = evaluate(model, digits.split("test", PRETRAIN), nn.CrossEntropyLoss())
    print(f"pretrained: test accuracy on {_digits(PRETRAIN)}: {score.accuracy:.1%}")
    return model


def fine_tune(model: DigitsCNN, digits: data.Digits, args: argparse.Namespace) -> Optimizer:
    """Freeze the extractor, put on a new head, train what still requires grad."""
    model.freeze_features()
    model.head = model.new_head(len(FINETUNE))
    optimizer = _optimizer(model)
    frozen_stats = _bn_stats(model)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    train, val = (digits.split(s, FINETUNE) for s in ("train", "val"))
    print(f"\n[fine-tune] features frozen (requires_grad_(False), BatchNorm kept in eval "
          f"mode), new head for {_digits(FINETUNE)}")
    print(f"trainable parameters: {trainable:,} / {total:,} total ({trainable / total:.1%})")
    print(f"{len(train)} train / {len(val)} val images, Adam lr {FINETUNE_LR} over "
          f"filter(requires_grad), {args.epochs} epochs")
    fit(model, train, val, optimizer, args.epochs, phase="fine-tune", batch_size=BATCH,
        seed=args.seed, quiet=args.quiet)
    drift = max(float(np.abs(frozen_stats[k] - v).max()) for k, v in _bn_stats(model).items())
    bn_modes = [m.training for m in model.features.modules() if isinstance(m, nn.BatchNorm2d)]
    print(f"after model.train(): features.training={model.features.training}, "
          f"BatchNorm training={bn_modes}, head.training={model.head.training}")
    print(f"frozen BatchNorm running stats: {'unchanged' if drift == 0 else 'CHANGED'} by "
          f"fine-tuning (max |change| {drift:g})")

    test = digits.split("test", FINETUNE)
    score = evaluate(model, test, nn.CrossEntropyLoss())
    verdict = "reached" if score.accuracy >= TARGET else "NOT reached"
    print(f"\n[test] test accuracy on {_digits(FINETUNE)} after fine-tuning: "
          f"{score.accuracy:.1%} ({len(test)} images; target >= {TARGET:.0%}: {verdict})")
    return optimizer


def grad_modes(model: DigitsCNN, images: ember.Tensor) -> None:
    """Time and memory of evaluating `images` (tiled) with and without a graph."""
    batch = ember.from_numpy(np.tile(images.numpy(), (TILE, 1, 1, 1)))
    print(f"\n[grad modes] classifying the test split x{TILE} = {len(batch)} images in eval "
          f"mode (time: best of {measure.REPEATS}; peak: tracemalloc)")
    print(f"'grad enabled' has every parameter trainable (as in pretraining); "
          f"'{measure.FROZEN_ROW}' is the fine-tuned model as it is")
    costs = measure.measure(model, batch)
    for row in measure.table(costs):
        print(row)
    print(f"graph held for backward (ember.autograd.graph.saved_bytes): "
          f"{costs['grad enabled'].graph_bytes:,} bytes with grad enabled, "
          f"{costs['no_grad'].graph_bytes:,} under no_grad")


def reload_check(model: DigitsCNN, optimizer: Optimizer, images: ember.Tensor,
                 out: Path) -> None:
    """Save, load into fresh objects, compare predictions and optimizer state."""
    paths = checkpoint.save(model, optimizer, out)
    restored, restored_opt = checkpoint.restore(out, _transfer_model, _optimizer)
    before, after = predict(model, images).numpy(), predict(restored, images).numpy()
    same = int((before.argmax(1) == after.argmax(1)).sum())
    exact = "bit-identical" if np.array_equal(before, after) else "NOT bit-identical"
    state = "identical" if checkpoint.same_state(optimizer, restored_opt) else "DIFFERENT"
    print("\n[checkpoint] " + ", ".join(f"{p} ({_size(p.stat().st_size)})" for p in paths))
    print(f"reload check: identical predictions on {same}/{len(after)} test images "
          f"(logits {exact}); optimizer state {state} "
          f"(Adam moments of {len(restored_opt.state)} parameters)")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    ember.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    digits = data.load(args.seed)
    sizes = "/".join(str(len(digits.indices[s])) for s in data.SPLITS)
    print(f"ember demo: transfer learning on scikit-learn's handwritten digits "
          f"({len(digits.labels)} 8x8 images)")
    print(f"split {sizes} train/val/test (seed {args.seed}); pretrain on {_digits(PRETRAIN)}, "
          f"fine-tune on {_digits(FINETUNE)}")

    model = pretrain(digits, args)
    optimizer = fine_tune(model, digits, args)
    test_images = digits.split("test").tensors[0]
    grad_modes(model, test_images)
    reload_check(model, optimizer, test_images, args.out)

    images, labels = digits.split("train", FINETUNE)[:BATCH]
    try:
        path = write_graph(model, images, labels, args.out)
    except ImportError as exc:  # the graphviz package is the optional `viz` extra
        print(f"\n[graph] skipped: {exc}")
    else:
        print(f"\n[graph] one fine-tuning step: {path} (trainable head parameters blue; the "
              "frozen extractor records no nodes: its layers sit grey in a 'no graph "
              "recorded' box, its output enters as a grey dashed constant)")
    print(f"\ndone in {time.perf_counter() - start:.1f} s")
