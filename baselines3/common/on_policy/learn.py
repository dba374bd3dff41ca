"""The learn() loop of the on-policy algorithms: collect a rollout, update on it, log every few iterations.
Each algorithm passes its own update step (and, when it logs lazily, its training statistics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from baselines3.common.fast.precision import update_context
from baselines3.common.finite import check_finite_update, training_parameters

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm

SelfModel = TypeVar("SelfModel", bound="BaseAlgorithm")


def learn_on_policy(
    model: SelfModel,
    update: Callable[[], None],
    total_timesteps: int,
    callback: Any,
    log_interval: int | None,
    tb_log_name: str,
    reset_num_timesteps: bool,
    progress_bar: bool,
    record_train_stats: Callable[[], None] | None = None,
) -> SelfModel:
    """Train `model` for `total_timesteps` env steps (SB3's `learn()` arguments after `update`).

    Repeat until done or a callback stops training: 1. `model.collect_rollouts` fills the rollout buffer with
    `n_steps` steps per env and computes returns and advantages at its end; 2. `update()` (in `update_context`:
    subnormals flushed, bfloat16 autocast with `precision="bf16"`); 3. every
    `log_interval` iterations, `record_train_stats()` (statistics read back from tensors only when logging),
    the rollout statistics, then the log is written.
    """
    total_timesteps, callback = model._setup_learn(
        total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar, log_interval
    )
    callback.on_training_start({"self": model, **locals()}, globals())  # callbacks read the model as `self`, as in SB3
    iteration = 0
    while model.num_timesteps < total_timesteps:
        if not model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=model.n_steps):
            break
        iteration += 1
        model._update_current_progress_remaining(model.num_timesteps, total_timesteps)
        with update_context(model.config.precision, model.device):
            update()
        check_finite_update(training_parameters(model), model, model.rollout_buffer)  # one host sync per update
        if log_interval is not None and iteration % log_interval == 0:
            if record_train_stats is not None:
                record_train_stats()
            model._record_rollout_stats(iteration)
            model.logger.dump(step=model.num_timesteps)
    callback.on_training_end()
    return model
