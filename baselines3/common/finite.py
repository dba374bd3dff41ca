"""The check that training stays finite: after each update, the losses minimized and the parameters they updated
must be finite numbers, or `NonFiniteTrainingError` stops training, naming the update, the loss term and the
likely cause.

How it stays cheap: `optim.gradient_step` folds each loss into one on-device number per optimizer (`loss * 0`
summed: NaN as soon as one loss was NaN or infinite) without reading it; `check_finite_update` runs once per update
(the off-policy loop calls it after each `train()`, the on-policy collector before each rollout and after each
update), reads those numbers and one sum per parameter vector in a single device-to-host transfer, and only when
one is not finite looks at the training data to name the cause. Setting the environment variable
`BASELINES3_CHECK_FINITE=0` before import, or calling `set_finite_checks(False)`, switches it off.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from typing import Any

import numpy as np
import torch
from torch import nn

from baselines3.common.fast import optim
from baselines3.common.fast.optim import FlatParameters

__all__ = ["NonFiniteTrainingError", "check_finite_update", "set_finite_checks", "training_parameters"]

# Names of the networks an optimizer updates -> the loss term it minimizes (as each algorithm's train() names it).
_LOSS_TERMS = {
    "policy": "the actor-critic loss (policy-gradient + value + entropy terms)",
    "q_net": "the Q-network's TD loss",
    "actor": "the actor loss",
    "critic": "the critic (TD) loss",
    "ent_coef": "the entropy-coefficient loss",
}


class NonFiniteTrainingError(FloatingPointError):
    """An update made a loss or the trained parameters NaN or infinite; training cannot recover from it.

    :param message: what became non-finite, when, and the likely cause
    :param update: number of the update (``train()`` call) that did it, counted from the model's creation
    :param term: the network whose loss or parameters went non-finite first (of those found), e.g. ``"critic"``
    """

    def __init__(self, message: str, update: int, term: str) -> None:
        super().__init__(message)
        self.update = update
        self.term = term

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.update, self.term))


def set_finite_checks(enabled: bool) -> None:
    """Switch the finiteness check of every model on or off (on by default; `BASELINES3_CHECK_FINITE=0` in the
    environment starts it off). Off, a NaN goes on silently as in Stable-Baselines3."""
    optim.CHECK_FINITE = bool(enabled)


#: model -> (its policy when the list was made, the list): walking the modules costs ~15 us, once per update
_FOUND: weakref.WeakKeyDictionary[Any, tuple[Any, list[tuple[str, FlatParameters]]]] = weakref.WeakKeyDictionary()


def training_parameters(model: Any) -> list[tuple[str, FlatParameters]]:
    """(name, flat parameters) of each optimizer-trained parameter vector of `model` (an algorithm or a policy):
    the ones of its policy's networks ("policy", "actor", "critic", "q_net"...) and of the model itself (SAC's
    entropy coefficient, "ent_coef"). Remembered per model until its policy is replaced."""
    policy = getattr(model, "policy", model)
    try:
        cached = _FOUND.get(model)
    except TypeError:  # not weak-referenceable
        cached = None
    if cached is not None and cached[0] is policy:
        return cached[1]
    found_list = _find_training_parameters(model, policy)
    with contextlib.suppress(TypeError):  # not weak-referenceable: found again next time
        _FOUND[model] = (policy, found_list)
    return found_list


def _find_training_parameters(model: Any, policy: Any) -> list[tuple[str, FlatParameters]]:
    found: dict[int, tuple[str, FlatParameters]] = {}
    if isinstance(policy, nn.Module):
        for name, module in policy.named_modules():
            flat = module.__dict__.get("flat_parameters")
            if isinstance(flat, FlatParameters):  # the deepest name wins: DQN's policy and q_net share one
                found[id(flat)] = (name.rsplit(".", 1)[-1] or "policy", flat)
    if policy is not model:
        for name, value in vars(model).items():
            if isinstance(value, FlatParameters) and id(value) not in found:
                found[id(value)] = (name.strip("_").removesuffix("_flat"), value)
    return list(found.values())


def check_finite_update(parameters: list[tuple[str, FlatParameters]], model: Any = None, buffer: Any = None) -> None:
    """Raise `NonFiniteTrainingError` if an update since the last check made a loss or the parameters
    non-finite. Costs nothing when no gradient step was taken since, and one device-to-host transfer otherwise.

    :param parameters: from `training_parameters(model)`
    :param model: the algorithm (for the step counts and learning rate in the message), if known
    :param buffer: the rollout or replay buffer the update sampled from, searched for NaN/inf only on failure
    """
    if not optim.CHECK_FINITE:
        return
    pending = [(name, flat) for name, flat in parameters if flat.steps != flat.checked_steps]
    if not pending:
        return
    # one scalar for everything: the parameters' sums plus the loss flags (0, or NaN after a non-finite loss)
    total = torch.zeros((), dtype=torch.float32, device=pending[0][1].flat.device)
    for _, flat in pending:
        total = total + flat.flat.detach().sum()
        if flat.loss_flag is not None:
            total = total + flat.loss_flag.detach()
    all_finite = math.isfinite(float(total))
    recorded = {name: flat.loss_flag is not None for name, flat in pending}
    flags = [flat.loss_flag for _, flat in pending]
    steps = {name: (flat.checked_steps + 1, flat.steps) for name, flat in pending}
    update = 0
    for _, flat in pending:
        flat.checked_steps = flat.steps
        flat.loss_flag = None
        flat.updates += 1
        update = max(update, flat.updates)
    if all_finite:
        return
    bad_losses, bad_params = [], []
    for (name, flat), loss_flag in zip(pending, flags):
        if loss_flag is not None and not bool(torch.isfinite(loss_flag)):
            bad_losses.append(name)
        # a sum can overflow where every parameter is finite: confirm element by element
        if not bool(torch.isfinite(flat.flat.detach()).all()):
            bad_params.append(name)
    if bad_losses or bad_params:
        raise _error(bad_losses, bad_params, recorded, steps, update, model, buffer)


# The order in which a NaN spreads through an update: the TD/value losses first, then what is trained through them.
_UPSTREAM = ("critic", "q_net", "policy", "actor", "ent_coef")


def _error(
    bad_losses: list[str],
    bad_params: list[str],
    recorded: dict[str, bool],
    steps: dict[str, tuple[int, int]],
    update: int,
    model: Any,
    buffer: Any,
) -> NonFiniteTrainingError:
    names = sorted({*bad_losses, *bad_params}, key=lambda n: _UPSTREAM.index(n) if n in _UPSTREAM else len(_UPSTREAM))
    first, last = steps[names[0]]
    when = f"update {update} (gradient step{f' {last}' if first == last else f's {first}-{last}'} of {names[0]!r}"
    if model is not None and hasattr(model, "num_timesteps"):
        when += f", after {model.num_timesteps} env steps"
    when += ")"
    bad_losses = [name for name in names if name in bad_losses]
    bad_params = [name for name in names if name in bad_params]
    parts = []
    if bad_losses:
        terms = [_LOSS_TERMS.get(name, f"the loss of {name!r}'s optimizer") for name in bad_losses]
        parts.append(f"{' and '.join(terms)} became NaN or infinite")
    if bad_params:
        unrecorded = " and ".join(repr(name) for name in bad_params if not recorded[name])
        parts.append(
            f"the parameters of {' and '.join(repr(name) for name in bad_params)} "
            f"{'are no longer finite' if bad_losses else 'became NaN or infinite'}"
            + (f" (the loss of {unrecorded} is not recorded on this update path)" if unrecorded else "")
        )
    what = f"in {when}, {', and '.join(parts)}"
    bad_data = _nonfinite_data(buffer)
    bad_stats = _nonfinite_normalization(model)
    if bad_stats is not None:
        cause = (
            f"VecNormalize's running statistics are not finite ({bad_stats}): a NaN or inf observation or reward "
            "reached them. Wrap the env in VecCheckNan(venv, raise_exception=True) under VecNormalize to stop at the "
            "step that produces it, and fix it there."
        )
    elif bad_data is not None:
        cause = (
            f"The training data hold non-finite values ({bad_data}): the env, or a wrapper such as VecNormalize, "
            "returned NaN or inf. Wrap the env in VecCheckNan(venv, raise_exception=True) to stop at the step "
            "that produces them, and fix it there."
        )
    else:
        cause = (
            "The training data are finite, so the update itself overflowed: the learning rate"
            f"{_learning_rate(model)} is likely too high, or the rewards too large (scale them, e.g. with "
            "VecNormalize(norm_reward=True)); a max_grad_norm also bounds each step. If the env may return NaN or "
            "inf at times, VecCheckNan(venv, raise_exception=True) finds the step that does."
        )
    return NonFiniteTrainingError(f"Training stopped: {what}. {cause}", update, names[0])


def _learning_rate(model: Any) -> str:
    """ " (<rate>)" of a model (its schedule now) or policy (its optimizer's), or "" when it cannot be read."""
    try:
        schedule = getattr(model, "lr_schedule", None)
        if callable(schedule):
            return f" ({float(schedule(getattr(model, '_current_progress_remaining', 1.0))):g})"
        optimizer = getattr(model, "optimizer", None)
        if isinstance(optimizer, torch.optim.Optimizer):
            return f" ({float(optimizer.param_groups[0]['lr']):g})"
    except Exception:  # a user schedule that fails here must not hide the error being reported
        pass
    return ""


def _nonfinite_normalization(model: Any) -> str | None:
    """Which VecNormalize statistic of `model`'s env is NaN or inf, e.g. "obs_rms.var", or None."""
    get_env = getattr(model, "get_vec_normalize_env", None)
    vec_normalize = get_env() if callable(get_env) else None
    if vec_normalize is None:
        return None
    obs_rms = vec_normalize.obs_rms
    statistics = {f"obs_rms[{key!r}]": rms for key, rms in obs_rms.items()} if isinstance(obs_rms, dict) else {}
    if not isinstance(obs_rms, dict):
        statistics["obs_rms"] = obs_rms
    statistics["ret_rms"] = vec_normalize.ret_rms
    for name, rms in statistics.items():
        for field in ("mean", "var"):
            if not np.all(np.isfinite(getattr(rms, field))):
                return f"{name}.{field}"
    return None


def _nonfinite_data(buffer: Any) -> str | None:
    """Where `buffer` (rollout or replay) holds a NaN or inf, e.g. "rewards[12, 0] = nan", or None."""
    if buffer is None:
        return None
    for attr in ("rewards", "observations", "next_observations", "actions"):
        try:
            arrays = getattr(buffer, attr, None)
        except Exception:  # a storage layout without this field
            continue
        items = arrays.items() if isinstance(arrays, dict) else [("", arrays)]
        for key, array in items:
            if isinstance(array, torch.Tensor):
                array = array.detach().cpu().numpy()
            if not isinstance(array, np.ndarray) or array.dtype.kind not in "fc":
                continue
            bad = ~np.isfinite(array)
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                label = f"{attr}[{key!r}]" if key else attr
                return f"{label}{list(where)} = {array[where]}"
    return None
