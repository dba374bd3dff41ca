"""Pieces that DQN, SAC and TD3 call: train-frequency parsing, replay-buffer setup, the transition collector,
replay-buffer save/load and the off-policy log dump."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from gymnasium import spaces

from baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer, default_replay_buffer_class
from baselines3.common.callbacks import BaseCallback
from baselines3.common.noise import ActionNoise, VectorizedActionNoise
from baselines3.common.serialization.arrays import load_arrays
from baselines3.common.serialization.sb3.replay_buffer import load_sb3_replay_buffer, sb3_pickle_path
from baselines3.common.vec_env import VecEnv

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm


class TrainFrequencyUnit(Enum):
    STEP = "step"
    EPISODE = "episode"


class TrainFreq(NamedTuple):
    frequency: int
    unit: TrainFrequencyUnit


class RolloutReturn(NamedTuple):
    episode_timesteps: int
    n_episodes: int
    continue_training: bool


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
    """The replay buffer an off-policy model asked for (HER buffers are given the model's env; n_steps > 1
    selects the n-step buffer; without a class, DictReplayBuffer for Dict observations, else ReplayBuffer).

    A buffer smaller than `batch_size` is allowed, as in SB3: batches are drawn with replacement."""
    del batch_size  # sampling is with replacement: any buffer_size >= 1 fills a batch
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    buffer_class = replay_buffer_class or default_replay_buffer_class(model.observation_space)
    kwargs = dict(replay_buffer_kwargs or {})
    if n_steps > 1:
        if replay_buffer_class not in (None, NStepReplayBuffer):
            raise ValueError(f"n_steps > 1 needs NStepReplayBuffer, got replay_buffer_class={replay_buffer_class}")
        buffer_class = NStepReplayBuffer
        kwargs.update(n_steps=n_steps, gamma=gamma)
    if not (isinstance(buffer_class, type) and issubclass(buffer_class, ReplayBuffer)):
        raise TypeError(f"replay_buffer_class must be a ReplayBuffer subclass, got {buffer_class!r}")

    def build(cls: type[ReplayBuffer], **extra: Any) -> ReplayBuffer:
        return cls(
            buffer_size,
            model.observation_space,
            model.action_space,
            device=model.device,
            n_envs=model.n_envs,
            optimize_memory_usage=optimize_memory_usage,
            **extra,
        )

    if replay_buffer_class is None and n_steps == 1 and _stacked_frames(model) > 1:
        # identical samples to ReplayBuffer, with each frame stored once (7 KB instead of 28-56 KB per Atari
        # transition)
        from baselines3.common.frame_stack_buffer import FrameStackReplayBuffer

        try:
            return build(FrameStackReplayBuffer, **{"n_stack": _stacked_frames(model), **kwargs})
        except ValueError:
            pass  # a layout it does not handle: plain storage
    if _is_her(buffer_class):
        if model.env is None:
            raise ValueError("HerReplayBuffer needs the model's env (to recompute rewards): pass env to the model")
        kwargs["env"] = model.env
    return build(buffer_class, **kwargs)


def _stacked_frames(model: BaseAlgorithm) -> int:
    """n_stack of the model env's VecFrameStack when it stacks image frames, else 0."""
    from baselines3.common.preprocessing import is_image_space
    from baselines3.common.vec_env import VecFrameStack, unwrap_vec_wrapper

    if model.env is None or not is_image_space(model.observation_space):
        return 0
    frame_stack = unwrap_vec_wrapper(model.env, VecFrameStack)
    return 0 if frame_stack is None else int(frame_stack.n_stack)


def _is_her(buffer_class: type) -> bool:
    return any(cls.__name__ == "HerReplayBuffer" for cls in buffer_class.__mro__)


def check_action_noise(action_noise: ActionNoise | None, action_space: spaces.Space, n_envs: int) -> None:
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


def random_or_policy_actions(
    model: BaseAlgorithm,
    policy_actions: Callable[[Any], np.ndarray],
    learning_starts: int,
    action_noise: ActionNoise | None,
    n_envs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(actions for the env, actions for the buffer) for one vec-env step.

    Uniformly random actions until `learning_starts` steps were taken, then the policy's. Box actions are
    stored in the buffer rescaled to [-1, 1] (with exploration noise added there and clipped), and sent to the
    env in the space's own bounds.
    """
    use_sde_warmup = model.use_sde and getattr(model, "use_sde_at_warmup", False)
    if model.num_timesteps < learning_starts and not use_sde_warmup:
        actions = np.array([model.action_space.sample() for _ in range(n_envs)])
    else:
        actions = policy_actions(model._last_obs)
    if not isinstance(model.action_space, spaces.Box):
        return actions, actions
    scaled = model.policy.scale_action(actions)
    if action_noise is not None:
        scaled = np.clip(scaled + action_noise(), -1.0, 1.0)
    return model.policy.unscale_action(scaled), scaled


def actor_env_actions(model: BaseAlgorithm, obs: Any) -> np.ndarray:
    """The actor's actions (stochastic for SAC, deterministic for TD3) for the env's batch of observations, in
    the action space's bounds and shape (the actor's output is flat); straight to the actor, without predict()'s
    input checks."""
    import torch

    from baselines3.common.utils import obs_as_tensor

    with torch.inference_mode():
        scaled = model.actor.forward(obs_as_tensor(obs, model.device))  # type: ignore[attr-defined]
    return model.policy._env_actions(scaled, vectorized=True)


def collect_transitions(
    model: BaseAlgorithm,
    env: VecEnv,
    callback: BaseCallback,
    train_freq: TrainFreq,
    replay_buffer: ReplayBuffer,
    select_actions: Callable[[], tuple[np.ndarray, np.ndarray]],
    action_noise: ActionNoise | None = None,
    log_interval: int | None = None,
) -> RolloutReturn:
    """Step the env until `train_freq` is reached, storing every transition in `replay_buffer`.

    `select_actions()` returns (env actions, buffer actions) for `model._last_obs`. The buffer receives the
    unnormalized observations/rewards when a VecNormalize is used, and the terminal observation (not the reset
    one) as next observation of a finished episode, flagged as a time-limit truncation where it was one.
    """
    assert model._last_obs is not None, "No previous observation: call _setup_learn() first"
    model.policy.set_training_mode(False)
    n_envs = env.num_envs
    if train_freq.unit == TrainFrequencyUnit.EPISODE and n_envs > 1:
        raise ValueError("train_freq in episodes needs a single env; use a step frequency with several envs")
    use_sde = model.use_sde
    if use_sde:
        model.policy.reset_noise(n_envs)  # type: ignore[operator]
    vec_normalize = model._vec_normalize_env
    if vec_normalize is not None and model._last_original_obs is None:
        model._last_original_obs = vec_normalize.get_original_obs()
    callback.on_rollout_start()
    num_steps = num_episodes = 0
    continue_training = True
    while (train_freq.unit == TrainFrequencyUnit.STEP and num_steps < train_freq.frequency) or (
        train_freq.unit == TrainFrequencyUnit.EPISODE and num_episodes < train_freq.frequency
    ):
        if use_sde and model.sde_sample_freq > 0 and num_steps % model.sde_sample_freq == 0:
            model.policy.reset_noise(n_envs)  # type: ignore[operator]
        actions, buffer_actions = select_actions()
        new_obs, rewards, dones, infos = env.step(actions)
        model.num_timesteps += n_envs
        num_steps += 1
        if dones.any():
            model._update_info_buffer(infos, dones)
        # stored before the callbacks run, so a checkpoint taken at this step holds this step's transition
        _store_transition(model, replay_buffer, buffer_actions, new_obs, rewards, dones, infos)
        callback.update_locals(locals())
        if not callback.on_step():
            return RolloutReturn(num_steps * n_envs, num_episodes, continue_training=False)
        model._update_current_progress_remaining(model.num_timesteps, model._total_timesteps)
        if dones.any():
            for idx in np.flatnonzero(dones):
                num_episodes += 1
                model._episode_num += 1
                if isinstance(action_noise, VectorizedActionNoise):
                    action_noise.reset([int(idx)])
                elif action_noise is not None:
                    action_noise.reset()
                if log_interval is not None and model._episode_num % log_interval == 0:
                    dump_logs(model)
    callback.on_rollout_end()
    return RolloutReturn(num_steps * n_envs, num_episodes, continue_training)


def _store_transition(
    model: BaseAlgorithm,
    replay_buffer: ReplayBuffer,
    buffer_actions: np.ndarray,
    new_obs: Any,
    rewards: np.ndarray,
    dones: np.ndarray,
    infos: list[dict[str, Any]],
) -> None:
    vec_normalize = model._vec_normalize_env
    new_obs_: Any
    if vec_normalize is not None:
        new_obs_ = vec_normalize.get_original_obs()
        rewards_ = vec_normalize.get_original_reward()
        last_obs = model._last_original_obs
    else:
        new_obs_, rewards_, last_obs = new_obs, rewards, model._last_obs
    next_obs = new_obs_
    if dones.any():
        next_obs = {k: v.copy() for k, v in new_obs_.items()} if isinstance(new_obs_, dict) else new_obs_.copy()
        for idx in np.flatnonzero(dones):
            terminal = infos[idx].get("terminal_observation")
            if terminal is None:
                continue
            if vec_normalize is not None:
                terminal = vec_normalize.unnormalize_obs(terminal)
            if isinstance(next_obs, dict):
                for key in next_obs:
                    next_obs[key][idx] = terminal[key]
            else:
                next_obs[idx] = terminal
    replay_buffer.add(last_obs, next_obs, buffer_actions, rewards_, dones, infos)
    model._last_obs = new_obs
    if vec_normalize is not None:
        model._last_original_obs = new_obs_


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
    (plain or frame-stacked storage, which sample the same), the model's buffer is rebuilt as the saved kind:
    e.g. a model loaded without its frame-stacked env can still take its saved Atari buffer."""
    from baselines3.common.frame_stack_buffer import FrameStackReplayBuffer

    sb3_path = sb3_pickle_path(path)
    if sb3_path is not None:  # a pickle saved by Stable-Baselines3: read with an unpickler that imports nothing
        load_sb3_replay_buffer(model, sb3_path, truncate_last_traj)
        return
    replay_buffer: ReplayBuffer | None = getattr(model, "replay_buffer", None)
    if replay_buffer is None:  # not built yet (SB3 allows loading into such a model): build the model's own kind
        replay_buffer = build_replay_buffer(
            model,
            model.buffer_size,  # type: ignore[attr-defined]
            model.batch_size,  # type: ignore[attr-defined]
            model.optimize_memory_usage,  # type: ignore[attr-defined]
            model.replay_buffer_class,  # type: ignore[attr-defined]
            model.replay_buffer_kwargs,  # type: ignore[attr-defined]
        )
        model.replay_buffer = replay_buffer  # type: ignore[attr-defined]
    automatic = {"ReplayBuffer": ReplayBuffer, "FrameStackReplayBuffer": FrameStackReplayBuffer}
    if getattr(model, "replay_buffer_class", None) is None and type(replay_buffer).__name__ in automatic:
        meta, _ = load_arrays(path, meta_only=True)
        saved_class = automatic.get(str(meta.get("buffer_class")))
        if saved_class is not None and saved_class is not type(replay_buffer):
            extra: dict[str, Any] = {}
            if saved_class is FrameStackReplayBuffer:
                extra = {"n_stack": int(meta["n_stack"]), "stack_axis": int(meta["stack_axis"])}
            replay_buffer = saved_class(
                int(meta["buffer_size"]) * int(meta["n_envs"]),
                model.observation_space,
                model.action_space,
                device=model.device,
                n_envs=int(meta["n_envs"]),
                optimize_memory_usage=bool(meta["optimize_memory_usage"]),
                **extra,
            )
            model.replay_buffer = replay_buffer  # type: ignore[attr-defined]
    replay_buffer.load(path)
    if _is_her(type(replay_buffer)):
        if model.env is None:
            raise ValueError("HerReplayBuffer needs an env after loading: call model.set_env(env) first")
        replay_buffer.set_env(model.env)  # type: ignore[attr-defined]
    if truncate_last_traj:
        replay_buffer.truncate_last_trajectory()
