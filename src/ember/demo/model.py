"""A small CNN for 8x8 digits: a conv feature extractor with BatchNorm and a linear head,
plus what transfer learning needs (freeze the extractor, swap the head)."""

from __future__ import annotations

from ember import nn

__all__ = ["DigitsCNN"]


class DigitsCNN(nn.Module):
    """conv-BN-ReLU x2 and a 2x2 max-pool (`features`: N x 2*width x 4 x 4 feature maps),
    then flatten + linear (`head`)."""

    def __init__(self, num_classes: int = 5, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width),
            nn.ReLU(), nn.MaxPool2d(2),
        )
        self.num_features = 2 * width * 4 * 4
        self.head = self.new_head(num_classes)
        self.features_frozen = False

    def new_head(self, num_classes: int) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(self.num_features, num_classes))

    def forward(self, x):
        return self.head(self.features(x))

    def freeze_features(self) -> DigitsCNN:
        """Stop training the extractor: no gradients for its parameters, and its BatchNorm
        layers normalize with (and no longer update) their running statistics."""
        self.features.requires_grad_(False)
        self.features_frozen = True
        self.features.eval()
        return self

    def train(self, mode: bool = True) -> DigitsCNN:
        # `model.train()` reaches every submodule; a frozen extractor must stay in eval
        # mode, or its BatchNorm would keep updating running stats from the new task.
        super().train(mode)
        if self.features_frozen:
            self.features.eval()
        return self
