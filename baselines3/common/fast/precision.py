"""The arithmetic of the updates: flush-to-zero for subnormal floats, and mixed precision (``precision="bf16"``).

Every update that ``learn()`` runs on a CPU flushes subnormal floats (below 1.2e-38) to zero while it runs
(with the speed seam on). A ReLU unit that is dead for a batch gets exactly zero gradients, and Adam's first
moment of its weights then decays by ``beta1`` per step into the subnormal range, where x86 arithmetic is
tens of times slower: in DQN's CartPole race (a [256, 256] Q-network), 45 % of the moment's entries were
subnormal and the fused Adam step took ~1 ms instead of ~0.05 ms; flushing them took DQN's training from 846 to
1 438 steps/s and PPO's CartPole race from 5 800 to 7 700 (one core). The effect on the result is nil (a
moment below 1.2e-38 moves a weight by less than 1e-30 after Adam's eps), and the mode is restored after the
update, so env code (MuJoCo, numpy) never runs under it. torch sets the mode for the calling thread; with more
than one torch thread, the other threads of its pool keep theirs.

With ``precision="bf16"`` the updates that ``learn()`` runs are under ``torch.autocast(dtype=torch.bfloat16)``:
the networks' matrix products and convolutions run in bfloat16 (on CPUs with AMX or AVX-512 BF16, and on GPUs
with compute capability 8.0 or more, several times the float32 rate), while the parameters, the optimizer state,
the targets and the losses stay float32 (autocast computes the losses and every op outside its lower-precision
list in float32; gradients reach the float32 parameters through autocast's casts). The networks' output layers
(`baselines3.common.torch_layers.Float32Linear`: Q-values, logits, action means, values) compute in float32 inside
the region too: bfloat16 keeps 8 significant bits, which rounds a Q-value near 100 to steps of 0.5 (the size of a
reward) and starts PPO's probability ratios away from 1. Acting (rollouts, ``predict``) stays float32: its batches
are too small to gain. The hand-written float32 kernels of the speed seam step aside under autocast, so a bf16
update runs the plain modules, or SAC's and TD3's compiled step (:mod:`.compiled`, for long runs), which holds the
same autocast region.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from baselines3.common.fast import memory, switch

__all__ = ["PRECISIONS", "autocast_active", "check_precision", "flushing_subnormals", "update_context"]

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


def update_context(precision: str, device: torch.device) -> contextlib.AbstractContextManager[object]:
    """The context an update runs in: subnormals flushed to zero on CPU (seam on), and for "bf16" bfloat16
    autocast on `device`. The first one on CPU also sets the process's heap policy (:mod:`.memory`)."""
    stack = contextlib.ExitStack()
    if device.type == "cpu" and switch.enabled():
        memory.retain_freed_memory()  # process-wide and once: see baselines3.common.fast.memory
        stack.enter_context(_subnormals_flushed())
    if precision == "bf16":
        # no cast cache: it keeps a parameter's bfloat16 copy for the whole region, and one region spans many
        # optimizer steps (a train() call), which would all then compute with the weights of the first
        stack.enter_context(torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False))
    return stack


# a float32 subnormal: read as zero while the mode is on (numpy's scalar product runs in this thread's SSE mode,
# as torch's CPU kernels do, in ~0.2 us against ~30 us for a torch product)
_SUBNORMAL, _ONE = np.float32(1e-39), np.float32(1.0)


def flushing_subnormals() -> bool:
    """Whether this thread flushes subnormal floats to zero now (torch has no getter: a product tells)."""
    return bool(_SUBNORMAL * _ONE == 0)


@contextlib.contextmanager
def _subnormals_flushed() -> Iterator[None]:
    if flushing_subnormals():  # the user's setting: leave it as it is
        yield
        return
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def autocast_active() -> bool:
    """Whether an autocast region is active (the seam's float32 kernels are not used inside one)."""
    return torch.is_autocast_enabled("cpu") or torch.is_autocast_enabled("cuda")
