"""Fitting the weights and optimizer states of a Stable-Baselines3 file onto a rebuilt model.

The policy weights keep their names (our modules are named like SB3's). SB3 keeps one optimizer state per
parameter tensor; our optimizers work on one flat parameter, so the per-parameter states are concatenated in
our order when the parameters match one to one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from baselines3.common.serialization.params import get_attr_path
from baselines3.common.serialization.sb3.model import SB3OptimizerState, SB3Params
from baselines3.common.serialization.sb3.unpickler import warn_sb3

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm

__all__ = ["fit_params"]


def _storage_key(tensor: torch.Tensor) -> tuple[int, int, tuple[int, ...]]:
    return (tensor.untyped_storage().data_ptr(), int(tensor.storage_offset()), tuple(tensor.shape))


def fit_params(model: BaseAlgorithm, params: dict[str, Any], label: Any = "") -> dict[str, Any]:
    """Turn what :func:`read_sb3_archive` returned into state dicts for ``model`` (a no-op for our own files).

    The policy weights keep their names (our modules are named like SB3's). Each SB3 optimizer's per-parameter
    state is concatenated into our single flat parameter when the parameters match one to one (names, order
    and shapes); otherwise the optimizer keeps its fresh state, with a warning.
    """
    if not isinstance(params, SB3Params):
        return params
    fitted: dict[str, Any] = {}
    weights = dict(params["policy"])
    own_weights = model.policy.state_dict()
    for key in own_weights:  # files from SB3 < 1.7 had one features extractor for actor and critic
        if key not in weights:
            for prefix in ("pi_features_extractor.", "vf_features_extractor."):
                shared = "features_extractor." + key[len(prefix) :]
                if key.startswith(prefix) and shared in weights:
                    weights[key] = weights[shared]
    fitted["policy"] = weights
    names, _ = model._torch_save_params()
    skipped: list[str] = []
    for name in names:
        if name == "policy":
            continue
        target = get_attr_path(model, name)
        value = params.get(name)
        converted = None
        if isinstance(value, SB3OptimizerState):
            converted = _convert_optimizer(model, name, target, value)
        if converted is None:
            converted = target.state_dict()
            skipped.append(name)
        fitted[name] = converted
    extra = sorted(set(params) - set(names))
    if skipped or extra:
        warn_sb3(
            f"{label}: optimizer state {sorted(set(skipped) | set(extra))} does not map onto this model's "
            "optimizers and was skipped (predictions are unaffected; training continues with fresh optimizer "
            "statistics)"
        )
    return fitted


def _convert_optimizer(
    model: BaseAlgorithm, name: str, optimizer: torch.optim.Optimizer, saved: SB3OptimizerState
) -> dict[str, Any] | None:
    """SB3's per-parameter optimizer state as the state of our optimizer over one flat parameter (or, with the speed
    seam off, over the same parameters as SB3's), or None."""
    sb3_state = saved.state_dict
    try:
        sb3_params = [index for group in sb3_state["param_groups"] for index in group["params"]]
        per_param = sb3_state["state"]
        sb3_group = sb3_state["param_groups"][0]
    except (KeyError, TypeError, IndexError):
        return None
    own = optimizer.state_dict()
    owner_path = name[: -len(".optimizer")] if name.endswith(".optimizer") else None
    flat = get_attr_path(model, owner_path).__dict__.get("flat_parameters") if owner_path else None
    contiguous = flat is None or flat.contiguous  # else (speed seam off) one optimizer parameter per tensor
    if len(own["param_groups"]) != 1 or (contiguous and len(own["param_groups"][0]["params"]) != 1):
        return None
    if flat is None:  # an optimizer over a plain tensor (SAC's entropy coefficient): same layout as SB3's
        if len(sb3_params) != 1:
            return None
        state = per_param.get(sb3_params[0], {})
        return {
            "state": {own["param_groups"][0]["params"][0]: state} if state else {},
            "param_groups": _groups(own, sb3_group),
        }

    # names (as in policy.pth) of our flat parameters, in flat order
    aliases: dict[int, list[str]] = {}
    for param_name, param in model.policy.named_parameters(remove_duplicate=False):
        aliases.setdefault(id(param), []).append(param_name)
    own_names = [aliases.get(id(param), []) for param in flat.params]
    if any(not names for names in own_names):
        return None
    wanted = {alias for names in own_names for alias in names}
    # SB3's optimizer parameters, in its order: the matching policy.pth entries, shared tensors once
    seen: set[tuple[int, int, tuple[int, ...]]] = set()
    sb3_names: list[str] = []
    canonical: dict[str, str] = {}
    first_of: dict[tuple[int, int, tuple[int, ...]], str] = {}
    for key, tensor in saved.weights.items():
        if not isinstance(tensor, torch.Tensor):
            continue
        storage = _storage_key(tensor)
        if storage in first_of:
            canonical[key] = first_of[storage]
            continue
        first_of[storage] = key
        canonical[key] = key
        if key in wanted and storage not in seen:
            seen.add(storage)
            sb3_names.append(key)
    if len(sb3_names) != len(sb3_params):
        return None
    index_of = {key: sb3_params[i] for i, key in enumerate(sb3_names)}
    order = []
    for names in own_names:
        found = [index_of[canonical[alias]] for alias in names if canonical.get(alias) in index_of]
        if not found:
            return None
        order.append(found[0])
    if len(set(order)) != len(order):
        return None
    states = [per_param.get(index) for index in order]
    if all(not state for state in states):
        return {"state": {}, "param_groups": _groups(own, sb3_group)}
    if not contiguous:  # SB3's own layout: each of our parameters takes its SB3 counterpart's state
        own_indexes = own["param_groups"][0]["params"]
        if len(own_indexes) != len(states) or any(not state for state in states):
            return None
        return {"state": dict(zip(own_indexes, states)), "param_groups": _groups(own, sb3_group)}
    if any(not state for state in states) or len({tuple(sorted(state)) for state in states}) != 1:
        return None
    merged: dict[str, Any] = {}
    for key in states[0]:
        pieces = [state[key] for state in states]
        if not all(isinstance(piece, torch.Tensor) for piece in pieces):
            return None
        if all(piece.shape == param.shape for piece, param in zip(pieces, flat.params)) and pieces[0].dim() > 0:
            merged[key] = torch.cat([piece.reshape(-1) for piece in pieces]).to(flat.flat.device)
        elif all(piece.numel() == 1 for piece in pieces) and len({float(piece) for piece in pieces}) == 1:
            merged[key] = pieces[0].clone()
        else:
            return None
    return {"state": {own["param_groups"][0]["params"][0]: merged}, "param_groups": _groups(own, sb3_group)}


def _groups(own: dict[str, Any], sb3_group: dict[str, Any]) -> list[dict[str, Any]]:
    group = dict(own["param_groups"][0])
    if isinstance(sb3_group.get("lr"), (int, float)):
        group["lr"] = sb3_group["lr"]
    return [group]
