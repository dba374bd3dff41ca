"""The learn() loop of the off-policy algorithms: collect rounds of transitions into the replay buffer, update
after each round, log as episodes end. Each algorithm passes its own acting rule and update step."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from baselines3.common.env_runner import ActionSelector
from baselines3.common.fast.precision import update_context
from baselines3.common.off_policy.rounds import Round, actor_actions, dump_logs, exploring_actions, off_policy_rounds

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm

SelfModel = TypeVar("SelfModel", bound="BaseAlgorithm")


def learn_off_policy(
    model: SelfModel,
    update: Callable[[int, int], None],
    total_timesteps: int,
    callback: Any,
    log_interval: int,
    tb_log_name: str,
    reset_num_timesteps: bool,
    progress_bar: bool,
    select_actions: ActionSelector | None = None,
    after_round: Callable[[Round], None] | None = None,
) -> SelfModel:
    """Train `model` for `total_timesteps` env steps (SB3's `learn()` arguments after `update`).

    1. Act with `select_actions` (default: the actor's actions plus the model's `action_noise`, uniformly random
       ones until `learning_starts`) and store the transitions, `train_freq` steps or episodes per round;
    2. after each round, `after_round(round)` (e.g. DQN's target update) and `update(gradient_steps,
       batch_size)` once learning has started (in `update_context`: subnormals flushed, bfloat16 autocast with
       `precision="bf16"`);
    3. write the logs each time another `log_interval` episodes have ended, as SB3 does.
    """
    total_timesteps, callback = model._setup_learn(
        total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar, log_interval
    )
    callback.on_training_start({"self": model, **locals()}, globals())  # callbacks read the model as `self`, as in SB3
    action_noise = getattr(model.config, "action_noise", None)
    if select_actions is None:
        select_actions = exploring_actions(model, actor_actions(model), model.learning_starts, action_noise)
    log = functools.partial(dump_logs, model)
    for round_ in off_policy_rounds(model, total_timesteps, callback, select_actions, log_interval, log, action_noise):
        if after_round is not None:
            after_round(round_)
        if round_.gradient_steps > 0:
            with update_context(model.config.precision, model.device):
                update(round_.gradient_steps, model.batch_size)
    callback.on_training_end()
    return model
