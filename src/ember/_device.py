"""`ember.device` and the `ember.cuda` queries, so device-agnostic PyTorch code runs.

ember computes on the CPU; asking for any other device raises a clear error.
"""

from __future__ import annotations

__all__ = ["device", "check_device"]


class device:
    """A device name (`device("cpu")`, `device("cpu", 0)`); equal to its string form."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            type, index = type.type, type.index
        if not isinstance(type, str):
            raise TypeError(f"device() expected a string, got {type!r}")
        name, _, idx = type.partition(":")
        if idx:
            index = int(idx)
        self.type = name
        self.index = index

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{extra})"


CPU = device("cpu")


def check_device(d) -> None:
    """Raise unless `d` names the CPU (or is None)."""
    if d is None:
        return
    if device(str(d) if not isinstance(d, device) else d).type != "cpu":
        raise RuntimeError(
            f"ember runs on the CPU only; device {str(d)!r} is not available "
            "(ember.cuda.is_available() is False)"
        )
