"""Mixed precision of the updates (``precision="bf16"``).

With ``precision="bf16"`` the updates that ``learn()`` runs are under ``torch.autocast(dtype=torch.bfloat16)``:
the networks' matrix products and convolutions run in bfloat16 (on CPUs with AMX or AVX-512 BF16, and on GPUs
with compute capability 8.0 or more, several times the float32 rate), while the parameters, the optimizer state,
the targets and the losses stay float32 (autocast computes the losses and every op outside its lower-precision
list in float32; gradients reach the float32 parameters through autocast's casts). Acting (rollouts, ``predict``)
stays float32: its batches are too small to gain. The hand-written float32 kernels of the speed seam step aside
under autocast, so a bf16 update runs the plain modules.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = ["PRECISIONS", "autocast_active", "check_precision", "update_precision"]

#: The values of the `precision` setting.
PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str, device: torch.device | None = None) -> None:
    """Raise a ValueError naming the choices for an unknown `precision`, and a ValueError when `device` cannot
    compute in bfloat16."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {precision!r}")
    if precision == "bf16" and device is not None and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"precision='bf16' needs a GPU with bfloat16 support (compute capability 8.0 or more); {device} has none: "
            "use precision='fp32'"
        )


def update_precision(precision: str, device: torch.device) -> contextlib.AbstractContextManager[object]:
    """The context an update runs in: bfloat16 autocast on `device` for "bf16", nothing for "fp32"."""
    if precision == "bf16":
        # no cast cache: it keeps a parameter's bfloat16 copy for the whole region, and one region spans many
        # optimizer steps (a train() call), which would all then compute with the weights of the first
        return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False)
    return contextlib.nullcontext()


def autocast_active() -> bool:
    """Whether an autocast region is active (the seam's float32 kernels are not used inside one)."""
    return torch.is_autocast_enabled("cpu") or torch.is_autocast_enabled("cuda")
