"""A model's state dicts by member name (``policy``, ``policy.optimizer``...), as the archive stores them.

Names are written as the plain (uncompiled) modules spell them, so a model compiled with ``torch.compile`` saves
a file any model can load, and reads back files saved by either.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Any

import torch

from baselines3.common.serialization.archive import load_from_zip_file
from baselines3.common.serialization.errors import ModelLoadError

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm

__all__ = ["check_parameters", "get_attr_path", "get_parameters", "named_like", "plain_state_dict", "set_parameters"]

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


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def _check_module_state(
    module: torch.nn.Module, name: str, state_dict: Any, exact_match: bool, label: str
) -> dict[str, Any]:
    """``state_dict`` renamed for ``module``, after checking every key, type and shape against the module's own."""
    if not isinstance(state_dict, Mapping):
        raise ModelLoadError(f"{label}: parameters {name!r} should be a state dict, found {_describe(state_dict)}")
    renamed = named_like(module, state_dict)
    own = module.state_dict()
    unknown = sorted(key for key in renamed if key not in own)
    missing = sorted(key for key in own if key not in renamed)
    if unknown or (exact_match and missing):
        raise ModelLoadError(
            f"{label}: parameters {name!r} do not fit this {type(module).__name__}: unexpected keys {unknown[:8]}, "
            f"missing keys {missing[:8]} (a file saved by another algorithm, policy or network size?)"
        )
    for key, value in renamed.items():
        target = own[key]
        if not isinstance(value, torch.Tensor):
            raise ModelLoadError(f"{label}: parameter {name}.{key} is {_describe(value)}, expected a tensor")
        if value.shape != target.shape:
            raise ModelLoadError(
                f"{label}: parameter {name}.{key} has shape {tuple(value.shape)} in the file but "
                f"{tuple(target.shape)} in this model (saved for another env or network size?)"
            )
        if value.dtype.is_floating_point != target.dtype.is_floating_point:
            raise ModelLoadError(
                f"{label}: parameter {name}.{key} is {_describe(value)} in the file, {_describe(target)} here"
            )
    return renamed


def _same_kind(saved: Any, own: Any) -> bool:
    """Whether an optimizer hyperparameter from a file can stand where the optimizer has ``own``."""
    if own is None or saved is None:
        return True
    if isinstance(own, bool):
        return isinstance(saved, bool)
    if isinstance(own, (int, float)):
        return isinstance(saved, (int, float)) and not isinstance(saved, bool) and math.isfinite(saved)
    if isinstance(own, (tuple, list)):
        return (
            isinstance(saved, (tuple, list))
            and len(saved) == len(own)
            and all(_same_kind(item, ref) for item, ref in zip(saved, own))
        )
    if isinstance(own, torch.Tensor):
        return isinstance(saved, torch.Tensor) and saved.shape == own.shape
    return isinstance(saved, type(own))


def _check_optimizer_state(optimizer: torch.optim.Optimizer, name: str, state_dict: Any, label: str) -> None:
    """The structure of an optimizer state dict against the optimizer's own: same groups, same parameter
    counts, per-parameter state tensors of the parameter's shape (or scalars), hyperparameters of the same kinds."""
    if not isinstance(state_dict, Mapping) or set(state_dict) != {"state", "param_groups"}:
        keys = sorted(map(str, state_dict)) if isinstance(state_dict, Mapping) else _describe(state_dict)
        raise ModelLoadError(
            f"{label}: {name!r} should hold an optimizer state ('state', 'param_groups'), found {keys}"
        )
    own = optimizer.state_dict()
    groups, state = state_dict["param_groups"], state_dict["state"]
    if not isinstance(groups, (list, tuple)) or len(groups) != len(own["param_groups"]):
        found = len(groups) if isinstance(groups, (list, tuple)) else _describe(groups)
        raise ModelLoadError(
            f"{label}: {name!r} has {found} parameter groups in the file, {len(own['param_groups'])} in this model"
        )
    params: list[torch.Tensor] = [p for group in optimizer.param_groups for p in group["params"]]
    ids: list[int] = []
    for index, (group, own_group) in enumerate(zip(groups, own["param_groups"])):
        if not isinstance(group, Mapping) or not isinstance(group.get("params"), (list, tuple)):
            raise ModelLoadError(f"{label}: {name!r} parameter group {index} is malformed: {_describe(group)}")
        if len(group["params"]) != len(own_group["params"]):
            raise ModelLoadError(
                f"{label}: {name!r} parameter group {index} has {len(group['params'])} parameters in the file, "
                f"{len(own_group['params'])} in this model"
            )
        for key, value in group.items():
            if key != "params" and key in own_group and not _same_kind(value, own_group[key]):
                raise ModelLoadError(
                    f"{label}: {name!r} parameter group {index}: {key!r} is {value!r} in the file, expected a "
                    f"value like {own_group[key]!r}"
                )
        ids.extend(group["params"])
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids) or len(set(ids)) != len(ids):
        raise ModelLoadError(f"{label}: {name!r} parameter ids {ids[:8]} should be distinct integers")
    position = {param_id: i for i, param_id in enumerate(ids)}
    if not isinstance(state, Mapping):
        raise ModelLoadError(f"{label}: {name!r} state should be a dict, found {_describe(state)}")
    for param_id, entries in state.items():
        if param_id not in position:
            raise ModelLoadError(f"{label}: {name!r} holds state for parameter {param_id!r}, which no group lists")
        shape = params[position[param_id]].shape
        if not isinstance(entries, Mapping):
            raise ModelLoadError(f"{label}: {name!r} state of parameter {param_id} is {_describe(entries)}")
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                if value.shape != shape and value.numel() != 1:
                    raise ModelLoadError(
                        f"{label}: {name!r} state {key!r} of parameter {param_id} has shape {tuple(value.shape)} "
                        f"in the file but the parameter has shape {tuple(shape)} in this model"
                    )
                if not torch.isfinite(value).all():
                    raise ModelLoadError(f"{label}: {name!r} state {key!r} of parameter {param_id} is not finite")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ModelLoadError(
                    f"{label}: {name!r} state {key!r} of parameter {param_id} is {_describe(value)}, expected a "
                    "tensor or a number"
                )


def check_parameters(model: BaseAlgorithm, params: Mapping[str, Any], exact_match: bool, label: str) -> dict[str, Any]:
    """Check every state dict in ``params`` against ``model`` (names from the model's own declared list, keys,
    shapes, optimizer structure) without changing anything; returns them renamed for the model's modules."""
    names, _ = model._torch_save_params()
    unknown = [name for name in params if name not in names]
    if unknown:
        raise ModelLoadError(
            f"{label}: Unknown parameter group(s) {unknown}; expected one of {names} (a file saved by another "
            f"algorithm than {type(model).__name__}?)"
        )
    missing = [name for name in names if name not in params]
    if exact_match and missing:
        raise ModelLoadError(
            f"{label}: Parameters are missing for {missing} (exact_match=True); found {sorted(params)}"
        )
    checked: dict[str, Any] = {}
    for name in names:
        if name not in params:
            continue
        target = get_attr_path(model, name)
        if isinstance(target, torch.optim.Optimizer):
            _check_optimizer_state(target, name, params[name], label)
            checked[name] = params[name]
        else:
            checked[name] = _check_module_state(target, name, params[name], exact_match, label)
    return checked


def set_parameters(
    model: BaseAlgorithm,
    load_path_or_dict: str | pathlib.Path | IO[bytes] | dict[str, dict[str, Any]],
    exact_match: bool = True,
    device: torch.device | str = "auto",
) -> None:
    """Load policy/optimizer state dicts into ``model`` from a dict (as from `get_parameters`) or a saved zip.

    Only the model's own state-dict members can be set; with ``exact_match`` every one must be given and module
    state dicts must match key for key. Everything is checked (names, shapes, optimizer structure) before
    anything is assigned, so a file that does not fit raises ``ModelLoadError`` and leaves the model unchanged.
    """
    if isinstance(load_path_or_dict, dict):
        params = load_path_or_dict
        label = "set_parameters"
    else:
        _, params, _ = load_from_zip_file(load_path_or_dict, device=device, load_data=False)
        label = str(load_path_or_dict)
    checked = check_parameters(model, params, exact_match, label)
    for name, state_dict in checked.items():
        target = get_attr_path(model, name)
        try:
            if isinstance(target, torch.optim.Optimizer):
                target.load_state_dict(state_dict)
            else:
                target.load_state_dict(state_dict, strict=exact_match)
        except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as error:
            raise ModelLoadError(f"{label}: parameters {name!r} could not be loaded: {error}") from error
