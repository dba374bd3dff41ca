"""BaseAlgorithm: the plumbing every algorithm shares (env wrapping, seeding, logging and callback setup,
`predict`, save/load, parameters). The learn loop itself lives in each algorithm's own file."""

from __future__ import annotations

import dataclasses
import inspect
import os
import pathlib
import time
from collections import deque
from typing import IO, Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback, ProgressBarCallback
from baselines3.common.config import AlgorithmConfig, Schedule, config_field_names
from baselines3.common.env_runner import EnvRunner
from baselines3.common.env_util import register_ale_envs_if_needed
from baselines3.common.fast.precision import check_precision
from baselines3.common.logger import Logger, configure
from baselines3.common.monitor import Monitor
from baselines3.common.off_policy.rounds import (
    check_action_noise,
    check_bounded_actions,
    load_replay_buffer,
    save_replay_buffer,
)
from baselines3.common.policies import BasePolicy
from baselines3.common.preprocessing import (
    check_for_nested_spaces,
    is_image_space,
    is_image_space_channels_first,
)
from baselines3.common.schedules import get_schedule_fn
from baselines3.common.serialization.model_io import NOT_SAVED, load_model, save_model
from baselines3.common.serialization.params import get_parameters, set_parameters
from baselines3.common.threads import set_default_threads
from baselines3.common.utils import (
    check_for_correct_spaces,
    check_hyperparameters,
    get_device,
    set_random_seed,
)
from baselines3.common.vec_env import (
    DummyVecEnv,
    VecEnv,
    VecNormalize,
    VecTransposeImage,
    is_vecenv_wrapped,
    wrap_vector_env,
)
from baselines3.common.vec_env.util import is_wrapped

SelfBaseAlgorithm = TypeVar("SelfBaseAlgorithm", bound="BaseAlgorithm")


def maybe_make_env(env: gym.Env | VecEnv | str | None, verbose: int) -> gym.Env | VecEnv | None:
    """Make the env when given its id."""
    if isinstance(env, str):
        if verbose >= 1:
            print(f"Creating environment from the given name '{env}'")
        register_ale_envs_if_needed(env)
        return gym.make(env)
    return env


class BaseAlgorithm:
    """Shared plumbing of every algorithm. Subclasses set `policy_aliases` and write `_setup_model` and `learn`."""

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {}
    supported_action_spaces: ClassVar[tuple[type[spaces.Space[Any]], ...]] = (
        spaces.Box,
        spaces.Discrete,
        spaces.MultiDiscrete,
        spaces.MultiBinary,
    )
    policy: BasePolicy
    #: whether the algorithm trains recurrent policies (its rollout buffer keeps hidden states and sequences)
    supports_recurrent_policies: ClassVar[bool] = False

    def __init__(
        self,
        policy: str | type[BasePolicy],
        env: gym.Env | VecEnv | str | None,
        config: AlgorithmConfig | float | Schedule,
        policy_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        device: torch.device | str = "auto",
        support_multi_env: bool = False,
        monitor_wrapper: bool = True,
        seed: int | None = None,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
    ) -> None:
        """`config` holds the hyperparameters (the algorithms pass their own config). SB3's BaseAlgorithm call
        shape, a learning rate followed by keywords, builds an `AlgorithmConfig` from them."""
        if not isinstance(config, AlgorithmConfig):
            config = AlgorithmConfig(
                learning_rate=config,
                policy_kwargs=policy_kwargs,
                stats_window_size=stats_window_size,
                tensorboard_log=tensorboard_log,
                verbose=verbose,
                seed=seed,
            )
        #: the hyperparameters; `model.<field>` reads and assigns them too (SB3's attribute names)
        self.config = config
        self.policy_kwargs = dict(config.policy_kwargs or {})
        self.device = get_device(device)
        check_precision(config.precision, self.device)
        if config.verbose >= 1:
            print(f"Using {self.device} device")
        #: steps the env and owns the env-side state (see the properties below)
        self.runner = EnvRunner(stats_window_size=config.stats_window_size)
        self._total_timesteps = 0
        self._num_timesteps_at_start = 0
        self.lr_schedule = get_schedule_fn(config.learning_rate)
        # gSDE is a setting of the algorithms that support it (A2C, PPO, SAC)
        self.use_sde = bool(getattr(config, "use_sde", use_sde))
        self.sde_sample_freq = int(getattr(config, "sde_sample_freq", sde_sample_freq))
        self.start_time = 0
        self._current_progress_remaining = 1.0
        self._n_updates = 0
        self._custom_logger = False
        self._logger: Logger | None = None
        self.n_envs = 1
        self.observation_space: spaces.Space[Any]
        self.action_space: spaces.Space[Any]
        verbose = config.verbose

        if env is not None:
            env = maybe_make_env(env, verbose)
            wrapped = self._wrap_env(env, verbose, monitor_wrapper)
            self.observation_space = wrapped.observation_space
            self.action_space = wrapped.action_space
            self.n_envs = wrapped.num_envs
            self.env = wrapped
            if not support_multi_env and self.n_envs > 1:
                raise ValueError(
                    f"{type(self).__name__} supports only one env, got a VecEnv of {self.n_envs}; use n_envs=1"
                )
            self._check_spaces(self.observation_space, self.action_space)
            check_bounded_actions(self.action_space, type(self).__name__)  # as SB3, for every algorithm
            if getattr(config, "action_noise", None) is not None:
                check_action_noise(config.action_noise, self.action_space, self.n_envs)  # type: ignore[attr-defined]
            if self.use_sde and not isinstance(self.action_space, spaces.Box):
                raise ValueError(f"gSDE (use_sde=True) needs a Box action space, got {self.action_space}")
        self.policy_class = self._resolve_policy(policy)

    # ------------------------------------------------------------------ hyperparameters as attributes
    def __getattr__(self, name: str) -> Any:
        # reached only when normal lookup fails: `model.gamma` reads the config's field
        config = self.__dict__.get("config")
        if config is not None and name in config_field_names(type(config)):
            return getattr(config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        config = self.__dict__.get("config")
        if config is not None and name in config_field_names(type(config)):
            # SB3 code sets hyperparameters as attributes: the config is replaced by a validated copy
            object.__setattr__(self, "config", dataclasses.replace(config, **{name: value}))
        else:
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ setup helpers
    def _resolve_policy(self, policy: str | type[BasePolicy]) -> type[BasePolicy]:
        if not isinstance(policy, str):
            if not (inspect.isclass(policy) and issubclass(policy, BasePolicy)):
                raise TypeError(f"policy must be a policy name or a BasePolicy subclass, got {policy!r}")
            if policy.is_recurrent and not self.supports_recurrent_policies:
                raise ValueError(
                    f"{type(self).__name__} does not support recurrent policies such as {policy.__name__}; "
                    "use PPO or A2C for LSTM policies"
                )
            return policy
        name = policy
        if name == "auto":
            if not hasattr(self, "observation_space"):
                raise ValueError("policy='auto' needs an env to pick the policy from its observation space")
            name = self._auto_policy_name(self.observation_space)
        if name not in self.policy_aliases and name.endswith("LstmPolicy"):
            raise ValueError(
                f"{type(self).__name__} does not support recurrent policies ({name!r}); use PPO or A2C for LSTM "
                f"policies, or one of {', '.join(self.policy_aliases)}"
            )
        if name not in self.policy_aliases:
            raise ValueError(
                f"Unknown policy {policy!r} for {type(self).__name__}; choose one of "
                f"{', '.join([*self.policy_aliases, 'auto'])}, or pass a policy class"
            )
        return self.policy_aliases[name]

    @staticmethod
    def _auto_policy_name(observation_space: spaces.Space[Any]) -> str:
        if isinstance(observation_space, spaces.Dict):
            return "MultiInputPolicy"
        if is_image_space(observation_space):
            return "CnnPolicy"
        return "MlpPolicy"

    def _check_spaces(self, observation_space: spaces.Space[Any], action_space: spaces.Space[Any]) -> None:
        if not isinstance(action_space, self.supported_action_spaces):
            supported = ", ".join(space.__name__ for space in self.supported_action_spaces)
            raise ValueError(
                f"{type(self).__name__} does not support the action space {action_space}; supported: {supported}"
            )
        supported_obs = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary, spaces.Dict)
        if not isinstance(observation_space, supported_obs):
            raise ValueError(
                f"{type(self).__name__} does not support the observation space {observation_space}; supported: "
                "Box, Discrete, MultiDiscrete, MultiBinary, Dict"
            )
        check_for_nested_spaces(observation_space)

    @staticmethod
    def _wrap_env(env: gym.Env | VecEnv | Any, verbose: int = 0, monitor_wrapper: bool = True) -> VecEnv:
        """Any env -> VecEnv: Monitor + DummyVecEnv for a gymnasium env, an adapter for gymnasium vector envs,
        and channel-first transposition for image observations."""
        if isinstance(env, gym.vector.VectorEnv):
            env = wrap_vector_env(env)
        if not isinstance(env, VecEnv):
            if not isinstance(env, gym.Env):
                raise TypeError(f"env must be a gymnasium.Env, a VecEnv or an env id string, got {type(env)}")
            if monitor_wrapper and not is_wrapped(env, Monitor):
                env = Monitor(env)
            if verbose >= 1:
                print("Wrapping the env in a DummyVecEnv.")
            single_env = env
            env = DummyVecEnv([lambda: single_env])
        check_for_nested_spaces(env.observation_space)
        if not is_vecenv_wrapped(env, VecTransposeImage):
            space = env.observation_space
            needs_transpose = False
            if isinstance(space, spaces.Dict):
                needs_transpose = any(
                    is_image_space(sub) and not is_image_space_channels_first(sub)  # type: ignore[arg-type]
                    for sub in space.spaces.values()
                )
            elif is_image_space(space):
                needs_transpose = not is_image_space_channels_first(space)  # type: ignore[arg-type]
            if needs_transpose:
                if verbose >= 1:
                    print("Wrapping the env in a VecTransposeImage.")
                env = VecTransposeImage(env)
        return env

    def _setup_lr_schedule(self) -> None:
        self.lr_schedule = get_schedule_fn(self.config.learning_rate)

    def _setup_model(self) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ learn plumbing
    @property
    def logger(self) -> Logger:
        if self._logger is None:
            self._logger = configure(None, ["stdout"] if self.verbose >= 1 else [])
        return self._logger

    def set_logger(self, logger: Logger) -> None:
        """Use this logger instead of the one learn() would configure."""
        self._logger = logger
        self._custom_logger = True

    def _configure_logger(self, tb_log_name: str, reset_num_timesteps: bool) -> None:
        if self._custom_logger:
            return
        formats = ["stdout"] if self.verbose >= 1 else []
        folder = None
        if self.tensorboard_log is not None:
            os.makedirs(self.tensorboard_log, exist_ok=True)
            run_ids = [
                int(name.rsplit("_", 1)[1])
                for name in os.listdir(self.tensorboard_log)
                if name.startswith(f"{tb_log_name}_") and name.rsplit("_", 1)[1].isdigit()
            ]
            run_id = max(run_ids, default=0)
            if reset_num_timesteps or run_id == 0:
                run_id += 1
            folder = os.path.join(self.tensorboard_log, f"{tb_log_name}_{run_id}")
            formats.append("tensorboard")
        self._logger = configure(folder, formats)

    def _init_callback(self, callback: Any, progress_bar: bool = False) -> BaseCallback:
        result: BaseCallback
        if isinstance(callback, list):
            result = CallbackList(callback)
        elif callback is None:
            result = CallbackList([])
        elif isinstance(callback, BaseCallback):
            result = callback
        else:
            if not callable(callback):
                raise TypeError(f"callback must be a BaseCallback, a list of them or a function, got {callback!r}")
            result = ConvertCallback(callback)
        if progress_bar:
            result = CallbackList([result, ProgressBarCallback()])
        result.init_callback(self)
        return result

    def _setup_learn(
        self,
        total_timesteps: int,
        callback: Any = None,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "run",
        progress_bar: bool = False,
        log_interval: int | None = None,
    ) -> tuple[int, BaseCallback]:
        """Reset counters and the env as asked, configure logging, and prepare the callback."""
        if self.env is None:
            raise ValueError("This model has no env: pass one with model.set_env(env) before learn()")
        if int(total_timesteps) < 0:
            raise ValueError(f"total_timesteps must be >= 0, got {total_timesteps}")
        check_hyperparameters(log_interval=log_interval)
        set_default_threads(self)  # torch threads for this model and machine, unless the user set them
        self.start_time = time.time_ns()
        runner = self.runner
        if runner.ep_info_buffer is None or reset_num_timesteps:
            runner.reset_episode_stats()
        if reset_num_timesteps:
            runner.num_timesteps = 0
            runner.episode_num = 0
        else:
            total_timesteps += runner.num_timesteps
        self._total_timesteps = int(total_timesteps)
        self._num_timesteps_at_start = runner.num_timesteps
        if reset_num_timesteps or runner.last_obs is None:
            runner.reset(self.policy)
            replay_buffer = getattr(self, "replay_buffer", None)
            if replay_buffer is not None:
                # the reset starts new episodes: the stored ones end here (as time limits), or the next stored
                # step would be linked to them (n-step returns, HER episodes, memory-optimized next observations)
                replay_buffer.truncate_last_trajectory()
        self._configure_logger(tb_log_name, reset_num_timesteps)
        return self._total_timesteps, self._init_callback(callback, progress_bar)

    def _update_current_progress_remaining(self, num_timesteps: int, total_timesteps: int) -> None:
        self._current_progress_remaining = 1.0 - float(num_timesteps) / float(max(total_timesteps, 1))

    def _update_learning_rate(self, optimizers: torch.optim.Optimizer | list[torch.optim.Optimizer]) -> None:
        learning_rate = self.lr_schedule(self._current_progress_remaining)
        self.logger.record("train/learning_rate", learning_rate)
        for optimizer in optimizers if isinstance(optimizers, list) else [optimizers]:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate

    def _update_info_buffer(self, infos: list[dict[str, Any]], dones: np.ndarray) -> None:
        """Keep finished episodes' Monitor stats (info['episode']) and success flags for logging."""
        self.runner.update_info_buffer(infos, dones)

    def _record_rollout_stats(self, iteration: int | None = None) -> None:
        """Episode and time statistics, under SB3's key names."""
        elapsed = max((time.time_ns() - self.start_time) / 1e9, sys_float_eps())
        fps = int((self.num_timesteps - self._num_timesteps_at_start) / elapsed)
        if iteration is not None:
            self.logger.record("time/iterations", iteration, exclude="tensorboard")
        self.runner.record_episode_stats(self.logger)
        self.logger.record("time/fps", fps)
        self.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")

    # ------------------------------------------------------------------ env-side state, kept by self.runner
    # (SB3's attribute names, for code that reads or sets them on the model)
    @property
    def env(self) -> VecEnv | None:
        return self.runner.env

    @env.setter
    def env(self, env: VecEnv | None) -> None:
        self.runner.env = env

    @property
    def _vec_normalize_env(self) -> VecNormalize | None:
        return self.runner.vec_normalize

    @property
    def num_timesteps(self) -> int:
        return self.runner.num_timesteps

    @num_timesteps.setter
    def num_timesteps(self, value: int) -> None:
        self.runner.num_timesteps = value

    @property
    def _episode_num(self) -> int:
        return self.runner.episode_num

    @_episode_num.setter
    def _episode_num(self, value: int) -> None:
        self.runner.episode_num = value

    @property
    def _last_obs(self) -> Any:
        return self.runner.last_obs

    @_last_obs.setter
    def _last_obs(self, value: Any) -> None:
        self.runner.last_obs = value

    @property
    def _last_original_obs(self) -> Any:
        return self.runner.last_original_obs

    @_last_original_obs.setter
    def _last_original_obs(self, value: Any) -> None:
        self.runner.last_original_obs = value

    @property
    def _last_episode_starts(self) -> np.ndarray | None:
        return self.runner.episode_starts

    @_last_episode_starts.setter
    def _last_episode_starts(self, value: np.ndarray | None) -> None:
        self.runner.episode_starts = value

    @property
    def _last_state(self) -> Any:
        return self.runner.state

    @_last_state.setter
    def _last_state(self, value: Any) -> None:
        self.runner.state = value

    @property
    def ep_info_buffer(self) -> deque[dict[str, Any]] | None:
        return self.runner.ep_info_buffer

    @ep_info_buffer.setter
    def ep_info_buffer(self, value: deque[dict[str, Any]] | None) -> None:
        self.runner.ep_info_buffer = value

    @property
    def ep_success_buffer(self) -> deque[bool] | None:
        return self.runner.ep_success_buffer

    @ep_success_buffer.setter
    def ep_success_buffer(self, value: deque[bool] | None) -> None:
        self.runner.ep_success_buffer = value

    # ------------------------------------------------------------------ user API
    def get_env(self) -> VecEnv | None:
        return self.env

    def get_vec_normalize_env(self) -> VecNormalize | None:
        return self._vec_normalize_env

    def set_env(self, env: gym.Env | VecEnv | str, force_reset: bool = True) -> None:
        """Use a new env with the same spaces.

        SB3 refuses another number of envs here for every algorithm. This one accepts it where nothing holds per-env
        data: on-policy models (their rollout buffer is laid out afresh for each rollout), with `force_reset=True`.
        A model with a replay buffer (laid out per env) refuses it, as SB3 does: `load(path, env=...)` rebuilds the
        model for the new number of envs instead."""
        wrapped = self._wrap_env(maybe_make_env(env, self.verbose), self.verbose)
        check_for_correct_spaces(wrapped, self.observation_space, self.action_space)
        if wrapped.num_envs != self.n_envs:
            change = f"the model has {self.n_envs} env(s), the new env {wrapped.num_envs}"
            if getattr(self, "replay_buffer", None) is not None:
                raise ValueError(
                    f"set_env cannot change the number of envs of a model with a replay buffer ({change}): its "
                    f"buffer is laid out per env. Use {type(self).__name__}.load(path, env=...) instead."
                )
            if not force_reset:
                raise ValueError(
                    f"set_env(force_reset=False) keeps the last observations of the old envs ({change}): "
                    "use force_reset=True to change the number of envs"
                )
        self.n_envs = wrapped.num_envs
        self.env = wrapped
        if force_reset:
            self.runner.forget_obs()

    def set_random_seed(self, seed: int | None = None) -> None:
        """Seed python, numpy, torch, the action space and the env (applied at its next reset)."""
        if seed is None:
            return
        set_random_seed(seed, using_cuda=self.device.type == torch.device("cuda").type)
        self.action_space.seed(seed)
        if self.env is not None:
            self.env.seed(seed)

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """Actions (and the next hidden state, for recurrent policies) for one observation or a batch."""
        return self.policy.predict(observation, state, episode_start, deterministic)

    def save_replay_buffer(self, path: str | pathlib.Path) -> pathlib.Path:
        """Off-policy models: write the replay buffer to an .npz file (numeric arrays + JSON; loading it runs no
        code). Returns the path written (".npz" is appended when missing)."""
        if not hasattr(self, "replay_buffer"):
            raise ValueError(f"{type(self).__name__} has no replay buffer (DQN, SAC and TD3 have one)")
        return save_replay_buffer(self.replay_buffer, path)

    def load_replay_buffer(self, path: str | pathlib.Path, truncate_last_traj: bool = True) -> None:
        """Off-policy models: load a buffer written by `save_replay_buffer` (its spaces must match the model's).
        With `truncate_last_traj` the newest unfinished episode is cut, as training goes on from an env reset."""
        if not hasattr(self, "replay_buffer"):
            raise ValueError(f"{type(self).__name__} has no replay buffer (DQN, SAC and TD3 have one)")
        load_replay_buffer(self, path, truncate_last_traj)

    def _torch_save_params(self) -> tuple[list[str], list[str]]:
        """Names of the modules/optimizers saved as state dicts, and of other tensors saved as variables."""
        return ["policy", "policy.optimizer"], []

    def get_parameters(self) -> dict[str, dict[str, Any]]:
        """State dicts of the policy and its optimizer(s), keyed like the members of a saved zip."""
        return get_parameters(self)

    def set_parameters(
        self,
        load_path_or_dict: str | pathlib.Path | IO[bytes] | dict[str, dict[str, Any]],
        exact_match: bool = True,
        device: torch.device | str = "auto",
    ) -> None:
        """Load policy/optimizer state dicts from a dict (as from `get_parameters`) or a saved zip."""
        set_parameters(self, load_path_or_dict, exact_match, device)

    def _hyperparameters(self) -> dict[str, Any]:
        """The constructor's arguments, by name, as `load` passes them back: the config's fields, and arguments
        a subclass's constructor adds, read from the attribute of the same name."""
        config = self.config
        data: dict[str, Any] = {}
        for name in inspect.signature(type(self).__init__).parameters:
            if name in NOT_SAVED or name.startswith("_"):
                continue
            if name == "learning_rate":
                data[name] = self.lr_schedule
            elif name in config_field_names(type(config)):
                data[name] = getattr(config, name)
            elif hasattr(self, name):
                data[name] = getattr(self, name)
        return data

    def save(
        self,
        path: str | pathlib.Path | IO[bytes],
        exclude: list[str] | None = None,
        include: list[str] | None = None,
    ) -> None:
        """Write the model to a zip (JSON hyperparameters + weights-only tensors), atomically."""
        save_model(self, path, exclude=exclude, include=include)

    @classmethod
    def load(
        cls: type[SelfBaseAlgorithm],
        path: str | pathlib.Path | IO[bytes],
        env: gym.Env | VecEnv | str | None = None,
        device: torch.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        allow_pickle: bool = False,
        **kwargs: Any,
    ) -> SelfBaseAlgorithm:
        """Rebuild a saved model. Nothing is unpickled unless `allow_pickle=True` (only for files you trust)."""
        return load_model(
            cls,
            path,
            env=env,
            device=device,
            custom_objects=custom_objects,
            print_system_info=print_system_info,
            force_reset=force_reset,
            allow_pickle=allow_pickle,
            **kwargs,
        )

    @classmethod
    def _prepare_env(cls, env: gym.Env | VecEnv | str, verbose: int) -> VecEnv:
        """An env given to `load`: made from its id and wrapped as the constructor wraps it."""
        return cls._wrap_env(maybe_make_env(env, 0), verbose)


def sys_float_eps() -> float:
    return float(np.finfo(np.float32).eps)
