"""The torch thread count `learn()` uses when the user has not chosen one.

torch starts with one intra-op thread per physical core. That helps a large network on an idle machine, but a
small network gains nothing from it (a gradient step is mostly fixed per-operation overhead), and as soon as
another process keeps a core busy, each parallel operation waits for the thread that lost its core: measured on
2 cores with one busy, a [256, 256] MLP step went from 1.1 ms at one thread to 128 ms at two, and a DQN-paper
CNN step at batch 32 from 37 ms to 258 ms (docs/speed.md, Threads). So torch runs at one thread from the
import of this module (building, loading, predicting), and `learn()` keeps one thread unless the model is large
(`LARGE_STEP_FLOPS`, or any convolution) and at least two cores are free; then it takes the free cores, at most
torch's own default. The count is chosen again at each `learn()` call, from the load of that moment.

A choice of the user always wins: `OMP_NUM_THREADS` or `MKL_NUM_THREADS` in the environment, or a
`torch.set_num_threads(n)` call, seen as a count that differs from torch's default for this machine and from the
count baselines3 chose last. (A call that sets torch's own default count cannot be told apart from no call: set
`OMP_NUM_THREADS` to keep that count for sure.)
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch
from torch import nn

__all__ = ["LARGE_STEP_FLOPS", "choose_thread_count", "set_default_threads", "user_thread_setting"]

#: Estimated FLOPs of one gradient step (6 x parameters x batch: forward, and backward for the inputs and the
#: weights) from which a model may use more than one thread: about a [256, 256] MLP at batch 256 (SAC's
#: default critic). Below it, a step is dominated by per-operation overhead that more threads cannot share.
LARGE_STEP_FLOPS = 100e6

#: Thread count of torch when this module was imported, and the count this module set last (None: never).
_COUNT_AT_IMPORT = torch.get_num_threads()
_last_chosen: int | None = None


def physical_cores() -> int:
    """Physical cores of the machine, counted as torch counts them for its default (hyper-threads once), or the
    logical CPU count where the topology cannot be read."""
    cores = set()
    base = "/sys/devices/system/cpu"
    try:
        for name in os.listdir(base):
            if name.startswith("cpu") and name[3:].isdigit():
                with open(os.path.join(base, name, "topology", "core_cpus_list")) as handle:
                    cores.add(handle.read().strip())
    except OSError:
        cores.clear()
    return len(cores) or os.cpu_count() or 1


def user_thread_setting() -> str | None:
    """Why the thread count is the user's (the variable or call that set it), or None when it is torch's
    default or the one baselines3 chose."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(variable):
            return f"{variable}={os.environ[variable]}"
    current = torch.get_num_threads()
    if _last_chosen is not None:
        return None if current == _last_chosen else f"torch.set_num_threads({current})"
    if current != _COUNT_AT_IMPORT:
        return f"torch.set_num_threads({current})"
    if physical_cores() != _COUNT_AT_IMPORT:  # set before baselines3 was imported (torch's default is the cores)
        return f"torch.set_num_threads({current}) before importing baselines3"
    return None


def busy_cores() -> float:
    """Cores other processes keep busy: the larger of the 1-minute load average and the tasks running right now
    (other than this one), so that processes started together see each other."""
    try:
        load = os.getloadavg()[0]
        with open("/proc/loadavg") as handle:
            running = int(handle.read().split()[3].split("/")[0]) - 1  # the reader itself is running
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(load, float(running))


def choose_thread_count(step_flops: float, has_conv: bool, cores: int, busy: float, default: int) -> int:
    """The thread count for a model whose gradient step costs about `step_flops` (any convolution counts as
    large) on `cores` cores of which `busy` are in use elsewhere: one unless the model is large and at least two
    cores are free, else the free cores, at most `default` (torch's own count)."""
    free = cores - math.ceil(busy - 0.25)  # a core 3/4 busy is busy; the load average lags, so round up
    if (step_flops < LARGE_STEP_FLOPS and not has_conv) or free < 2:
        return 1
    return max(1, min(free, default))


def _step_cost(model: Any) -> tuple[float, bool]:
    """(estimated FLOPs of one gradient step, whether the policy has a convolution)."""
    policy: nn.Module = model.policy
    n_params = sum(p.numel() for p in policy.parameters())
    batch = getattr(model, "batch_size", None)
    if not batch:  # A2C: one batch of the whole rollout
        batch = getattr(model, "n_steps", 1) * getattr(model, "n_envs", 1)
    has_conv = any(isinstance(module, nn.modules.conv._ConvNd) for module in policy.modules())
    return 6.0 * n_params * int(batch), has_conv


def set_default_threads(model: Any) -> int | None:
    """Set torch's thread count for training `model` (an algorithm with its policy built) unless the user chose
    one or the model trains on a GPU. Returns the count set, or None when it was left alone."""
    global _last_chosen
    if user_thread_setting() is not None or getattr(model, "device", torch.device("cpu")).type != "cpu":
        return None
    step_flops, has_conv = _step_cost(model)
    cores = min(physical_cores(), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1 << 16)
    count = choose_thread_count(step_flops, has_conv, cores, busy_cores(), _COUNT_AT_IMPORT)
    if count != torch.get_num_threads():
        torch.set_num_threads(count)
    _last_chosen = count
    return count


# Until learn() decides for a model, run at one thread: building and loading models, predict() and evaluation are
# small operations, and a second thread slows them down as soon as another process is busy.
if user_thread_setting() is None:
    torch.set_num_threads(1)
    _last_chosen = 1
