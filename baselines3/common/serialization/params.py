"""A model's state dicts by member name (``policy``, ``policy.optimizer``...), as the archive stores them.

Names are written as the plain (uncompiled) modules spell them, so a model compiled with ``torch.compile`` saves
a file any model can load, and reads back files saved by either.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import torch

from baselines3.common.serialization.archive import load_from_zip_file

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm

__all__ = ["get_attr_path", "get_parameters", "named_like", "plain_state_dict", "set_parameters"]

#: The path segment `torch.compile` puts before the names of a compiled module's parameters.
_COMPILED_PREFIX = "_orig_mod."


def get_attr_path(obj: Any, path: str) -> Any:
    """The attribute ``path`` (dotted, e.g. ``"policy.optimizer"``) of ``obj``."""
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def without_compile_prefix(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter names as the plain module has them (a module compiled with `torch.compile`, or with compiled
    submodules, names them `..._orig_mod.<name>`), so a compiled model saves a file any model can load."""
    return {key.replace(_COMPILED_PREFIX, ""): value for key, value in state_dict.items()}


def named_like(module: torch.nn.Module, state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """`state_dict` with its parameter names spelled as `module` spells them, compiled parts included."""
    own_names = {name.replace(_COMPILED_PREFIX, ""): name for name in module.state_dict()}
    return {own_names.get(key, key): value for key, value in without_compile_prefix(state_dict).items()}


def plain_state_dict(module: Any) -> dict[str, Any]:
    """The state dict of a module (names without the compile prefix) or of an optimizer."""
    if isinstance(module, torch.optim.Optimizer):
        return module.state_dict()
    return without_compile_prefix(module.state_dict())


def get_parameters(model: BaseAlgorithm) -> dict[str, dict[str, Any]]:
    """State dicts of the model's policy and optimizer(s), keyed like the members of a saved zip."""
    state_dicts, _ = model._torch_save_params()
    return {name: plain_state_dict(get_attr_path(model, name)) for name in state_dicts}


def set_parameters(
    model: BaseAlgorithm,
    load_path_or_dict: str | pathlib.Path | IO[bytes] | dict[str, dict[str, Any]],
    exact_match: bool = True,
    device: torch.device | str = "auto",
) -> None:
    """Load policy/optimizer state dicts into ``model`` from a dict (as from `get_parameters`) or a saved zip.

    Only the model's own state-dict members can be set; with ``exact_match`` every one must be given and module
    state dicts must match key for key.
    """
    if isinstance(load_path_or_dict, dict):
        params = load_path_or_dict
    else:
        _, params, _ = load_from_zip_file(load_path_or_dict, device=device, load_data=False)
    names, _ = model._torch_save_params()
    missing = [name for name in names if name not in params]
    if exact_match and missing:
        raise ValueError(f"Parameters are missing for {missing} (exact_match=True); found {sorted(params)}")
    for name, state_dict in params.items():
        if name not in names:
            raise ValueError(f"Unknown parameter group {name!r}; expected one of {names}")
        target = get_attr_path(model, name)
        if isinstance(target, torch.optim.Optimizer):
            target.load_state_dict(state_dict)
        else:
            target.load_state_dict(named_like(target, state_dict), strict=exact_match)
