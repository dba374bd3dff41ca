"""The one switch of the speed seam: ``BASELINES3_FAST=0`` in the environment (or `set_enabled(False)`) runs every
network and optimizer the plain PyTorch way."""

from __future__ import annotations

import os

_ENABLED = os.environ.get("BASELINES3_FAST", "1").strip().lower() not in ("0", "false", "no", "off")


def enabled() -> bool:
    """Whether the fast paths are used."""
    return _ENABLED


def set_enabled(value: bool) -> None:
    """Turn the fast paths on or off for the whole process. Networks follow at their next call; optimizers keep
    the layout they were built with (flat or per-parameter)."""
    global _ENABLED
    _ENABLED = bool(value)
