"""The named tuples returned by ops such as `max(dim)`, `sort` and `topk`
(`ember.return_types.sort`, ...), like `torch.return_types`."""

from __future__ import annotations

from .ops.reduction import RETURN_TYPES


def __getattr__(name: str):
    try:
        return RETURN_TYPES[name]
    except KeyError:
        raise AttributeError(f"module 'ember.return_types' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted(RETURN_TYPES)
