"""The heap policy for training on CPU: freed blocks of up to 32 MiB stay in the process for the next batch.

torch allocates every CPU tensor with the C library's ``malloc``. glibc serves a block above its mmap threshold
(128 KiB, raised as blocks of that size are freed) with a fresh ``mmap`` and returns it to the system on ``free``,
and it trims the heap whenever 128 KiB or more is free at its top. A CNN update allocates and frees tens of
megabytes per minibatch (NatureCNN at batch 256: the float images alone are 29 MB, each layer's activations and
their gradients several more), so every minibatch faulted its memory in again page by page, zeroed by the kernel:
PPO's ``train()`` on one Pong rollout (8 x 128 steps, 4 epochs, batch 256, one core) took ~165 000 page faults
and 2.93 s, and 0-3 600 faults and 2.67 s with the policy below (SB3's: 4.31 -> 3.55 s). Since the images are
re-laid out before they are scaled (:func:`baselines3.common.fast.training_images`), fewer such blocks remain and
PPO gains little more from the policy; DQN's 50 updates at batch 32 still do: 1.96-2.17 s without it, 1.64-1.81 s
with it.

:func:`retain_freed_memory` asks glibc (``mallopt``) to serve blocks up to 32 MiB (its largest mmap threshold)
from the heap and to trim the heap only when more than 256 MiB is free at its top. The process keeps up to that
much memory it no longer uses, instead of handing it back after each batch. It applies to the whole process, from
the first update ``learn()`` runs on a CPU (:func:`baselines3.common.fast.precision.update_context`) until the
process ends, and only where nobody else chose: not with ``BASELINES3_FAST=0``, not on another C library, and not
when the environment sets glibc's malloc options (``MALLOC_*_`` variables, ``glibc.malloc`` tunables) or preloads
another allocator (jemalloc, tcmalloc, mimalloc).
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

from baselines3.common.fast import switch

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "heap_policy_reason", "retain_freed_memory"]

#: Blocks up to this size come from the heap (glibc's upper limit for the threshold on 64-bit systems).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: The heap is trimmed only when more than this is free at its top.
TRIM_THRESHOLD = 256 * 1024 * 1024

# mallopt's parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_USER_MALLOC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
_OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")

_applied = False


def heap_policy_reason() -> str | None:
    """Why the heap policy would not be set in this process (a sentence), or None when it would be."""
    if not switch.enabled():
        return "the speed seam is off (BASELINES3_FAST=0)"
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return "the C library is not glibc"
    chosen = [name for name in _USER_MALLOC_VARIABLES if name in os.environ]
    if chosen:
        return f"the environment sets {', '.join(chosen)}"
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return "GLIBC_TUNABLES sets glibc.malloc options"
    preload = os.environ.get("LD_PRELOAD", "")
    if any(name in preload for name in _OTHER_ALLOCATORS):
        return "LD_PRELOAD loads another allocator"
    return None


def retain_freed_memory() -> bool:
    """Set the heap policy of this module's docstring, once per process; True when it is set (now or before)."""
    global _applied
    if _applied:
        return True
    if heap_policy_reason() is not None:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # mallopt returns 1 on success; setting either value also stops glibc from moving the other by itself
    _applied = bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return _applied
