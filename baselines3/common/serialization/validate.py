"""Checks of a loaded model's data that need the library's own classes: which classes ``policy_kwargs`` may name
for each role, and sizes that must agree with the tensors stored next to them.

They run after ``data.json`` is decoded and the tensors are read, before the model is built, so a size written in
the file cannot make the build allocate more than the file's own weights justify.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer, RolloutBuffer
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.torch_layers import BaseFeaturesExtractor

__all__ = ["check_classes", "check_sizes_against_tensors"]

#: Classes a ``policy_kwargs`` entry may name, by role (the codec already limits them to modules/optimizers).
_POLICY_CLASS_ROLES: dict[str, tuple[type, str]] = {
    "features_extractor_class": (BaseFeaturesExtractor, "a features extractor (a BaseFeaturesExtractor subclass)"),
    "optimizer_class": (torch.optim.Optimizer, "an optimizer class"),
    "activation_fn": (torch.nn.Module, "an activation module class"),
}
_BUFFER_ROLES: dict[str, tuple[type, str]] = {
    "replay_buffer_class": (ReplayBuffer, "a ReplayBuffer subclass"),
    "rollout_buffer_class": (RolloutBuffer, "a RolloutBuffer subclass"),
}


def _check_role(value: Any, field: str, role: tuple[type, str], label: str) -> None:
    base, description = role
    if value is None:
        return
    if not (isinstance(value, type) and issubclass(value, base)):
        shown = f"{value.__module__}.{value.__qualname__}" if isinstance(value, type) else repr(value)
        raise ModelLoadError(f"{label}: {field} is {shown}, but it must be {description}")


def check_classes(data: Mapping[str, Any], label: str) -> None:
    """Each class in ``policy_kwargs`` and the buffer classes must fit its role (a features extractor where one
    is expected...), so a module that is not one fails here with the field named, not deep inside the build."""
    policy_kwargs = data.get("policy_kwargs")
    if policy_kwargs is not None and not isinstance(policy_kwargs, Mapping):
        raise ModelLoadError(f"{label}: field 'policy_kwargs' must be a dict, got {type(policy_kwargs).__name__}")
    for key, role in _POLICY_CLASS_ROLES.items():
        if policy_kwargs and key in policy_kwargs:
            _check_role(policy_kwargs[key], f"policy_kwargs[{key!r}]", role, label)
    for key, role in _BUFFER_ROLES.items():
        _check_role(data.get(key), f"field {key!r}", role, label)
    for key in ("replay_buffer_kwargs", "rollout_buffer_kwargs", "policy_kwargs"):
        value = data.get(key)
        if value is not None and not isinstance(value, Mapping):
            raise ModelLoadError(f"{label}: field {key!r} must be a dict or None, got {type(value).__name__}")


def _integers(value: Any, at: str) -> Iterator[tuple[str, int]]:
    if isinstance(value, bool):
        return
    if isinstance(value, (int, np.integer)):
        yield at, int(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _integers(item, f"{at}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _integers(item, f"{at}[{i}]")


def _layer_lists(net_arch: Any) -> Iterator[tuple[str, list[int]]]:
    if isinstance(net_arch, (list, tuple)) and all(isinstance(w, int) for w in net_arch):
        yield "", [int(w) for w in net_arch]
    elif isinstance(net_arch, Mapping):
        for key, item in net_arch.items():
            for at, widths in _layer_lists(item):
                yield f"[{key!r}]{at}", widths
    elif isinstance(net_arch, (list, tuple)):
        for i, item in enumerate(net_arch):
            for at, widths in _layer_lists(item):
                yield f"[{i}]{at}", widths


def _action_elements(space: spaces.Space[Any]) -> int:
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return int(np.sum(space.nvec))
    if isinstance(space, (spaces.Box, spaces.MultiBinary)):
        return int(np.prod(space.shape))
    return 0


def check_sizes_against_tensors(
    data: Mapping[str, Any], action_space: spaces.Space[Any], params: Mapping[str, Any], label: str
) -> None:
    """Sizes the build allocates from must fit the file's own policy weights.

    A layer of width ``w`` has a bias (or weight rows) of ``w`` elements, and two consecutive layers of ``net_arch``
    a weight of their product, so no integer in ``policy_kwargs`` may exceed the largest tensor of ``policy.pth``,
    nor may consecutive ``net_arch`` widths multiply past it; neither may the number of actions (the action net's
    output). A file without policy weights is held to the stated limits only.
    """
    policy = params.get("policy")
    if not isinstance(policy, Mapping):
        return
    sizes = [value.numel() for value in policy.values() if isinstance(value, torch.Tensor)]
    if not sizes:
        return
    largest = max(sizes)
    hint = f"the largest tensor in policy.pth has {largest} elements: policy_kwargs and weights do not belong together"
    policy_kwargs = data.get("policy_kwargs") or {}
    for at, value in _integers(policy_kwargs, "policy_kwargs"):
        if value > largest:
            raise ModelLoadError(f"{label}: {at} is {value}, but {hint}")
    for at, widths in _layer_lists(policy_kwargs.get("net_arch")):
        for first, second in itertools.pairwise(widths):
            if first * second > largest:
                raise ModelLoadError(
                    f"{label}: policy_kwargs['net_arch']{at} has consecutive layers {first} x {second}, but {hint}"
                )
    actions = _action_elements(action_space)
    if actions > largest:
        raise ModelLoadError(f"{label}: the action space {action_space} needs {actions} outputs, but {hint}")
