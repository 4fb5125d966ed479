"""`ember.save` / `ember.load`: state dicts in the safetensors format, never pickle.

Tensors become safetensors entries named by their path in the object ("fc.weight",
"state.0.exp_avg"), so the file reads naturally in `safetensors.numpy` and
`safetensors.torch`. Everything else (dict/list nesting, numbers, strings, bools, None)
is kept as JSON in the file's metadata under `ember.structure`.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from typing import Any

import numpy as np

from ._tensor import Tensor, _make

__all__ = ["save", "load", "CheckpointError"]

_STRUCTURE_KEY = "ember.structure"
_FORMAT_KEY = "format"
_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(RuntimeError):
    """A checkpoint file could not be read; the message names the file and the problem."""


def _encode(obj: Any, path: str, tensors: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, Tensor):
        name = path or "tensor"
        if name in tensors:
            k = 1
            while f"{name}#{k}" in tensors:
                k += 1
            name = f"{name}#{k}"
        arr = obj._data
        tensors[name] = arr if arr.flags.c_contiguous else arr.copy()  # keeps 0-d shape
        return {"T": name}
    if isinstance(obj, np.ndarray):
        raise TypeError(f"ember.save: NumPy array at '{path}'; wrap it with ember.from_numpy()")
    if obj is None or isinstance(obj, (bool, int, float, str)):
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"F": repr(obj)}
        return obj
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return _encode(obj.item(), path, tensors)
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(
                    f"ember.save: dict key {key!r} at '{path}' must be a str or an int"
                )
            child = f"{path}.{key}" if path else str(key)
            items.append([key, _encode(value, child, tensors)])
        return {"D": items, "O": isinstance(obj, OrderedDict)}
    if isinstance(obj, (list, tuple)):
        values = [
            _encode(v, f"{path}.{i}" if path else str(i), tensors) for i, v in enumerate(obj)
        ]
        return {"L": values, "tuple": isinstance(obj, tuple)}
    raise TypeError(
        f"ember.save: cannot store an object of type {type(obj).__name__} at '{path or '<root>'}'"
        " (supported: tensors, dicts, lists, tuples, numbers, strings, bools, None)"
    )


def save(obj: Any, f: str | os.PathLike) -> None:
    """Save a state dict (or nested dicts/lists of tensors and plain values) to `f`."""
    from safetensors.numpy import save_file

    tensors: dict[str, np.ndarray] = {}
    structure = _encode(obj, "", tensors)
    metadata = {_FORMAT_KEY: "np", _STRUCTURE_KEY: json.dumps(structure)}
    save_file(tensors, os.fspath(f), metadata=metadata)


def _decode(node: Any, tensors: dict[str, np.ndarray], fname: str) -> Any:
    if isinstance(node, dict):
        if "T" in node:
            try:
                return _make(tensors[node["T"]], False, None)
            except KeyError:
                raise CheckpointError(
                    f"{fname}: the structure names tensor '{node['T']}', which the file lacks"
                ) from None
        if "F" in node:
            return float(node["F"])
        if "D" in node:
            cls = OrderedDict if node.get("O") else dict
            return cls((k, _decode(v, tensors, fname)) for k, v in node["D"])
        if "L" in node:
            values = [_decode(v, tensors, fname) for v in node["L"]]
            return tuple(values) if node.get("tuple") else values
        raise CheckpointError(f"{fname}: unknown entry in the structure metadata: {node!r}")
    return node


def _check_header(fname: str) -> dict:
    """Read and validate the safetensors header without trusting it."""
    try:
        size = os.path.getsize(fname)
        with open(fname, "rb") as fh:
            head = fh.read(8)
            if head[:2] == b"PK" or head[:1] == b"\x80":
                raise CheckpointError(
                    f"{fname}: this looks like a pickle-based checkpoint (e.g. from torch.save). "
                    "ember never unpickles files; re-save it with safetensors "
                    "(safetensors.torch.save_file) and load that"
                )
            if len(head) < 8:
                raise CheckpointError(f"{fname}: file is truncated ({size} bytes, no header)")
            n = int.from_bytes(head, "little")
            if n > min(size - 8, _MAX_HEADER):
                raise CheckpointError(
                    f"{fname}: corrupt or truncated header (header claims {n} bytes, the file "
                    f"has {size - 8} after the length field)"
                )
            raw = fh.read(n)
    except OSError as exc:
        raise CheckpointError(f"{fname}: cannot read file ({exc.strerror or exc})") from exc
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{fname}: corrupt header (not valid JSON: {exc})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{fname}: corrupt header (expected a JSON object)")
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (KeyError, TypeError, ValueError, IndexError):
            raise CheckpointError(f"{fname}: corrupt header entry for tensor '{name}'") from None
    if 8 + n + end > size:
        raise CheckpointError(
            f"{fname}: file is truncated (tensor data needs {8 + n + end} bytes, file has {size})"
        )
    return header


def load(f: str | os.PathLike, map_location: Any = None, weights_only: bool = True) -> Any:
    """Load what `ember.save` wrote (or any safetensors file, as a dict of tensors)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    fname = os.fspath(f)
    header = _check_header(fname)
    try:
        tensors = load_file(fname)
    except SafetensorError as exc:
        raise CheckpointError(f"{fname}: not a valid safetensors file ({exc})") from None
    meta = header.get("__metadata__") or {}
    if _STRUCTURE_KEY not in meta:
        return OrderedDict((k, _make(v, False, None)) for k, v in tensors.items())
    try:
        structure = json.loads(meta[_STRUCTURE_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{fname}: corrupt structure metadata ({exc})") from None
    return _decode(structure, tensors, fname)
