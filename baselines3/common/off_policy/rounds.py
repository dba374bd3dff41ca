"""Pieces that DQN, SAC and TD3 call: train-frequency parsing, replay-buffer setup, the off-policy loop around
the transition collector (`baselines3.common.env_runner.EnvRunner.collect`) with its exploration, replay-buffer
save/load and the off-policy log dump."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer
from baselines3.common.callbacks import BaseCallback
from baselines3.common.env_runner import ActionSelector, EnvRunner, TrainFreq, TrainFrequencyUnit
from baselines3.common.env_runner import RolloutReturn as RolloutReturn  # SB3 code imports it from here
from baselines3.common.finite import check_finite_update, training_parameters
from baselines3.common.noise import ActionNoise
from baselines3.common.policies import BasePolicy
from baselines3.common.replay.factory import buffer_for_saved, make_replay_buffer
from baselines3.common.serialization.arrays import load_arrays
from baselines3.common.serialization.sb3.replay_buffer import load_sb3_replay_buffer, sb3_pickle_path
from baselines3.common.utils import obs_as_tensor

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm


def convert_train_freq(train_freq: int | tuple[int, str] | TrainFreq) -> TrainFreq:
    """`4` -> every 4 steps; `(1, "episode")` -> after every episode."""
    if isinstance(train_freq, TrainFreq):
        return train_freq
    if isinstance(train_freq, (int, np.integer)) and not isinstance(train_freq, bool):
        frequency, unit = int(train_freq), "step"
    elif isinstance(train_freq, (tuple, list)) and len(train_freq) == 2:
        frequency, unit = train_freq
    else:
        raise ValueError(f"train_freq must be an int or a (frequency, 'step'|'episode') pair, got {train_freq!r}")
    unit_value = unit.value if isinstance(unit, TrainFrequencyUnit) else unit
    if unit_value not in ("step", "episode"):
        raise ValueError(f"The unit of train_freq must be 'step' or 'episode', got {unit!r} (in {train_freq!r})")
    if not isinstance(frequency, (int, np.integer)) or isinstance(frequency, bool) or frequency < 1:
        raise ValueError(f"The frequency of train_freq must be an int >= 1, got {frequency!r}")
    return TrainFreq(int(frequency), TrainFrequencyUnit(unit_value))


def build_replay_buffer(
    model: BaseAlgorithm,
    buffer_size: int,
    batch_size: int,
    optimize_memory_usage: bool,
    replay_buffer_class: type[ReplayBuffer] | None,
    replay_buffer_kwargs: dict[str, Any] | None,
    n_steps: int = 1,
    gamma: float = 0.99,
) -> ReplayBuffer:
    """The replay buffer an off-policy model asked for, chosen by the rule in `baselines3.common.replay.factory`
    (n_steps > 1: the n-step buffer; a given class, handed the model's env when it takes one; frame-by-frame
    storage for stacked image frames; else DictReplayBuffer for Dict observations, else ReplayBuffer).

    A buffer smaller than `batch_size` is allowed, as in SB3: batches are drawn with replacement. A Box action
    space must be bounded (`check_bounded_actions`)."""
    del batch_size  # sampling is with replacement: any buffer_size >= 1 fills a batch
    check_bounded_actions(model.action_space, type(model).__name__)
    try:
        return make_replay_buffer(
            model, buffer_size, optimize_memory_usage, replay_buffer_class, replay_buffer_kwargs, n_steps, gamma
        )
    except MemoryError as exc:  # numpy's message names a shape, not the setting that asked for it
        raise MemoryError(
            f"The replay buffer of {type(model).__name__} does not fit in memory: buffer_size={buffer_size} steps "
            f"x n_envs={model.n_envs} of observations {model.observation_space} ({exc}). Lower buffer_size, or "
            "set optimize_memory_usage=True to store each observation once."
        ) from exc


def check_bounded_actions(action_space: spaces.Space[Any], algorithm: str = "This algorithm") -> None:
    """Refuse a Box action space with an infinite bound: SAC, TD3 and DDPG squash or clip their actions into
    [low, high] and store them rescaled to [-1, 1], which infinite bounds turn into NaN (Stable-Baselines3 requires
    finite bounds too)."""
    if not isinstance(action_space, spaces.Box):
        return
    unbounded = ~(np.isfinite(action_space.low) & np.isfinite(action_space.high))
    if unbounded.any():
        dims = [tuple(int(i) for i in index) for index in np.argwhere(unbounded)[:8]]
        shown = ", ".join(str(d[0]) if len(d) == 1 else str(d) for d in dims)
        raise ValueError(
            f"{algorithm} needs finite action bounds, but its Box action space {action_space} has an infinite low "
            f"or high in dimension(s) {shown}{' ...' if unbounded.sum() > len(dims) else ''}: its actions are "
            "squashed or clipped into [low, high] and rescaled to [-1, 1]. Declare the range the env really "
            "accepts, e.g. Box(-1.0, 1.0, shape), and rescale inside the env (gymnasium.wrappers.RescaleAction "
            "maps a finite range onto the env's own)."
        )


def check_action_noise(action_noise: ActionNoise | None, action_space: spaces.Space[Any], n_envs: int) -> None:
    """Refuse exploration noise whose samples do not fit the actions of `n_envs` envs: numpy would broadcast
    a wrong shape into actions of another size instead of failing."""
    shape = getattr(action_noise, "shape", None)
    if shape is None or not isinstance(action_space, spaces.Box):
        return
    actions = (n_envs, *action_space.shape)
    try:
        fits = np.broadcast_shapes(shape, actions) == actions
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"action_noise samples have shape {shape}; the actions of {n_envs} env(s) need {action_space.shape} "
            f"(or {actions} from a VectorizedActionNoise with n_envs={n_envs})"
        )


class OffPolicyModel(Protocol):
    """What the off-policy loop reads from DQN, SAC and TD3."""

    @property
    def runner(self) -> EnvRunner: ...
    @property
    def policy(self) -> BasePolicy: ...
    @property
    def replay_buffer(self) -> ReplayBuffer | None: ...
    @property
    def _train_freq(self) -> TrainFreq: ...
    @property
    def learning_starts(self) -> int: ...
    @property
    def gradient_steps(self) -> int: ...
    @property
    def use_sde(self) -> bool: ...
    @property
    def sde_sample_freq(self) -> int: ...

    def _update_current_progress_remaining(self, num_timesteps: int, total_timesteps: int) -> None: ...


class Round(NamedTuple):
    """One pass of the off-policy loop: what was collected, and what is due before the next pass."""

    #: env steps taken in this pass, summed over envs
    timesteps: int
    #: gradient steps due now (0 until more than `learning_starts` env steps were taken)
    gradient_steps: int


def off_policy_rounds(
    model: OffPolicyModel,
    total_timesteps: int,
    callback: BaseCallback,
    select_actions: ActionSelector,
    log_interval: int | None,
    log: Callable[[], None],
    action_noise: ActionNoise | None = None,
) -> Iterator[Round]:
    """The off-policy loop that DQN, SAC and TD3 iterate: collect `train_freq` steps (or episodes) with
    `select_actions` into the model's replay buffer, then yield what is due, until `total_timesteps` env steps
    were taken or a callback stopped training. The caller does the updates of each `Round`; `log()` is called
    when an episode ends and the episode count is a multiple of `log_interval` (when SB3 writes its logs).

    After each update the losses and parameters are checked to be finite (`baselines3.common.finite`): a NaN or
    inf raises `NonFiniteTrainingError` instead of training on silently."""
    runner, replay_buffer = model.runner, model.replay_buffer
    assert replay_buffer is not None
    parameters = training_parameters(model)

    def episode_end() -> None:
        if log_interval is not None and runner.episode_num % log_interval == 0:
            log()

    while runner.num_timesteps < total_timesteps:
        rollout = runner.collect(
            model.policy,
            select_actions,
            replay_buffer,
            model._train_freq,
            callback,
            action_noise,
            model.use_sde,
            model.sde_sample_freq,
            episode_end,
        )
        model._update_current_progress_remaining(runner.num_timesteps, total_timesteps)
        if not rollout.continue_training:
            return
        gradient_steps = 0
        if runner.num_timesteps > 0 and runner.num_timesteps > model.learning_starts:
            gradient_steps = model.gradient_steps if model.gradient_steps >= 0 else rollout.episode_timesteps
        yield Round(rollout.episode_timesteps, gradient_steps)
        check_finite_update(parameters, model, replay_buffer)


def exploring_actions(
    model: BaseAlgorithm,
    policy_actions: Callable[[Any], np.ndarray],
    learning_starts: int,
    action_noise: ActionNoise | None = None,
) -> ActionSelector:
    """`select_actions` for `EnvRunner.collect`: (actions for the env, actions for the buffer) of one vec-env step.

    Uniformly random actions until `learning_starts` steps were taken (unless gSDE explores from the start:
    `use_sde_at_warmup`), then `policy_actions(obs)`. Box actions are stored in the buffer rescaled to [-1, 1]
    (with exploration noise added there and clipped), and sent to the env in the space's own bounds.
    """
    runner, policy, action_space = model.runner, model.policy, model.action_space
    assert runner.env is not None
    n_envs = runner.env.num_envs
    random_warmup = not (model.use_sde and getattr(model, "use_sde_at_warmup", False))
    is_box = isinstance(action_space, spaces.Box)

    def select_actions(obs: Any) -> tuple[np.ndarray, np.ndarray]:
        if random_warmup and runner.num_timesteps < learning_starts:
            actions = np.array([action_space.sample() for _ in range(n_envs)])
        else:
            actions = policy_actions(obs)
        if not is_box:
            return actions, actions
        scaled = policy.scale_action(actions)
        if action_noise is not None:
            scaled = np.clip(scaled + action_noise(), -1.0, 1.0)
        return policy.unscale_action(scaled), scaled

    return select_actions


def actor_actions(model: BaseAlgorithm) -> Callable[[Any], np.ndarray]:
    """obs -> the actor's actions (stochastic for SAC, deterministic for TD3) for the env's batch of observations,
    in the action space's bounds and shape (the actor's output is flat); straight to the actor, without
    predict()'s input checks."""
    actor, policy, device = model.actor, model.policy, model.device

    def act(obs: Any) -> np.ndarray:
        with torch.inference_mode():
            scaled = actor.forward(obs_as_tensor(obs, device))
        return policy._env_actions(scaled, vectorized=True)

    return act


def dump_logs(model: BaseAlgorithm) -> None:
    """Episode/time statistics (SB3's keys) plus whatever train() recorded, written at `num_timesteps`."""
    model.logger.record("time/episodes", model._episode_num, exclude="tensorboard")
    model._record_rollout_stats()
    model.logger.dump(step=model.num_timesteps)


def save_replay_buffer(replay_buffer: ReplayBuffer | None, path: str | pathlib.Path) -> pathlib.Path:
    if replay_buffer is None:
        raise ValueError("This model has no replay buffer to save")
    return replay_buffer.save(path)


def load_replay_buffer(model: BaseAlgorithm, path: str | pathlib.Path, truncate_last_traj: bool) -> None:
    """Fill `model.replay_buffer` from `path`; with `truncate_last_traj` the newest unfinished episode is cut
    (as a time limit), since training continues from a fresh env reset.

    When the model chose its buffer itself (no replay_buffer_class) and the file holds the other automatic kind
    (plain or frame-stacked storage, which sample the same), the model's buffer is rebuilt as the saved kind
    (`baselines3.common.replay.factory.buffer_for_saved`): e.g. a model loaded without its frame-stacked env can
    still take its saved Atari buffer."""
    sb3_path = sb3_pickle_path(path)
    if sb3_path is not None:  # a pickle saved by Stable-Baselines3: read with an unpickler that imports nothing
        load_sb3_replay_buffer(model, sb3_path, truncate_last_traj)
        return
    replay_buffer: ReplayBuffer | None = getattr(model, "replay_buffer", None)
    if replay_buffer is None:  # not built yet (SB3 allows loading into such a model): build the model's own kind
        replay_buffer = build_replay_buffer(
            model,
            model.buffer_size,
            model.batch_size,
            model.optimize_memory_usage,
            model.replay_buffer_class,
            model.replay_buffer_kwargs,
        )
        model.replay_buffer = replay_buffer
    if getattr(model, "replay_buffer_class", None) is None:
        meta, _ = load_arrays(path, meta_only=True)
        replay_buffer = buffer_for_saved(model, replay_buffer, meta)
        model.replay_buffer = replay_buffer
    replay_buffer.load(path)
    if replay_buffer.takes_env:
        if model.env is None:
            raise ValueError("HerReplayBuffer needs an env after loading: call model.set_env(env) first")
        replay_buffer.set_env(model.env)  # type: ignore[attr-defined]
    if truncate_last_traj:
        replay_buffer.truncate_last_trajectory()
