"""`python -m ember.demo`: transfer learning on handwritten digits, end to end.

Pretrains a small CNN (conv + BatchNorm feature extractor, linear head) on digits 0-4
of scikit-learn's digits, freezes the extractor and fine-tunes a new head on digits 5-9,
then shows what evaluating with grad enabled, `no_grad` and `inference_mode` costs,
saves and reloads the model and optimizer state, and draws the graph of one step.
Needs the `demo` extra (scikit-learn, tqdm); the picture needs the `viz` extra.
"""

from .main import main

__all__ = ["main"]
