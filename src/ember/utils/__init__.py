"""Utilities: `ember.utils.data` (datasets and loaders) and other submodules on demand."""

from importlib import import_module

from . import data


def __getattr__(name: str):
    # Other submodules (e.g. checkpoint) load on first access, as attributes of the package.
    try:
        return import_module(f".{name}", __name__)
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        raise


__all__ = ["data"]
