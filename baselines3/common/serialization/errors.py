"""The errors and warnings of reading saved files, shared by every reader in this package."""

from __future__ import annotations

__all__ = ["ModelLoadError", "UnsafeObjectsSkippedWarning"]


class ModelLoadError(ValueError):
    """A saved model cannot be read: not a zip, corrupt, a missing member, a newer format, malformed data."""


class UnsafeObjectsSkippedWarning(UserWarning):
    """Some saved values need unpickling and were skipped because ``allow_pickle`` was False."""
