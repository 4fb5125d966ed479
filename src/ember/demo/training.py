"""The training loop: epochs over a DataLoader with a tqdm bar, validation after each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tqdm import tqdm

import ember
from ember import nn
from ember.optim import Optimizer
from ember.utils.data import DataLoader, TensorDataset

__all__ = ["Score", "evaluate", "fit", "predict"]


@dataclass(frozen=True)
class Score:
    loss: float
    accuracy: float


def predict(model: nn.Module, images: ember.Tensor) -> ember.Tensor:
    """Logits of `images` in eval mode without a graph; the model goes back to train mode."""
    model.eval()
    with ember.no_grad():
        logits = model(images)
    model.train()
    return logits


def evaluate(model: nn.Module, data: TensorDataset, loss_fn: nn.Module) -> Score:
    images, labels = data.tensors
    logits = predict(model, images)
    accuracy = (logits.argmax(1) == labels).float().mean().item()
    return Score(loss_fn(logits, labels).item(), accuracy)


def _train_epoch(model: nn.Module, loader: DataLoader, loss_fn: nn.Module,
                 optimizer: Optimizer, desc: str, quiet: bool) -> Score:
    total = correct = seen = 0
    with tqdm(loader, desc=desc, unit="batch", leave=False, disable=quiet) as bar:
        for images, labels in bar:
            logits = model(images)
            loss = loss_fn(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            n = len(labels)
            total += loss.item() * n
            correct += (logits.argmax(1) == labels).sum().item()
            seen += n
            bar.set_postfix(loss=f"{total / seen:.4f}", acc=f"{correct / seen:.1%}",
                            refresh=False)  # redrawn at tqdm's pace, not per batch
    return Score(total / seen, correct / seen)


def fit(model: nn.Module, train: TensorDataset, val: TensorDataset, optimizer: Optimizer,
        epochs: int, *, phase: str, batch_size: int, seed: int, quiet: bool,
        log: Callable[[str], None] = print) -> Score:
    """Train for `epochs`; after each, validate (eval mode, no_grad). Returns the last
    validation score."""
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(train, batch_size=batch_size, shuffle=True,
                        generator=ember.Generator().manual_seed(seed))
    model.train()
    for epoch in range(1, epochs + 1):
        score = _train_epoch(model, loader, loss_fn, optimizer,
                             f"{phase} {epoch}/{epochs}", quiet)
        checked = evaluate(model, val, loss_fn)
        if not quiet:
            log(f"{phase} epoch {epoch}/{epochs}  loss {score.loss:.4f}  "
                f"acc {score.accuracy:6.1%}  |  val loss {checked.loss:.4f}  "
                f"val acc {checked.accuracy:6.1%}")
    return checked
