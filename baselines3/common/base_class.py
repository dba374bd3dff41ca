"""BaseAlgorithm: the plumbing every algorithm shares (env wrapping, seeding, logging and callback setup,
`predict`, save/load, parameters). The learn loop itself lives in each algorithm's own file."""

from __future__ import annotations

import inspect
import os
import pathlib
import time
import warnings
from collections import deque
from collections.abc import Mapping
from typing import IO, Any, ClassVar, TypeVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from baselines3.common import save_util, sb3_import
from baselines3.common.callbacks import BaseCallback, CallbackList, ConvertCallback, ProgressBarCallback
from baselines3.common.env_util import register_ale_envs_if_needed
from baselines3.common.logger import Logger, configure
from baselines3.common.monitor import Monitor
from baselines3.common.policies import BasePolicy
from baselines3.common.preprocessing import (
    check_for_nested_spaces,
    is_image_space,
    is_image_space_channels_first,
)
from baselines3.common.schedules import get_schedule_fn
from baselines3.common.utils import (
    check_for_correct_spaces,
    check_hyperparameters,
    get_device,
    safe_mean,
    set_random_seed,
)
from baselines3.common.vec_env import (
    DummyVecEnv,
    VecEnv,
    VecNormalize,
    VecTransposeImage,
    is_vecenv_wrapped,
    unwrap_vec_normalize,
    wrap_vector_env,
)

SelfBaseAlgorithm = TypeVar("SelfBaseAlgorithm", bound="BaseAlgorithm")

# Constructor arguments that are not hyperparameters and so are not written to data.json.
_NOT_SAVED = {"self", "policy", "env", "device", "_init_setup_model"}


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
    supported_action_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (
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
        learning_rate: float | Any,
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
        self.policy_kwargs: dict[str, Any] = {} if policy_kwargs is None else dict(policy_kwargs)
        self.device = get_device(device)
        if verbose >= 1:
            print(f"Using {self.device} device")
        self.verbose = verbose
        self.num_timesteps = 0
        self._total_timesteps = 0
        self._num_timesteps_at_start = 0
        self.seed = seed
        self.learning_rate = learning_rate
        self.lr_schedule = get_schedule_fn(learning_rate)
        self.tensorboard_log = tensorboard_log
        check_hyperparameters(stats_window_size=stats_window_size)
        self.stats_window_size = stats_window_size
        self.use_sde = use_sde
        self.sde_sample_freq = sde_sample_freq
        self.start_time = 0
        self._current_progress_remaining = 1.0
        self._episode_num = 0
        self._n_updates = 0
        self.ep_info_buffer: deque | None = None
        self.ep_success_buffer: deque | None = None
        self._last_obs: Any = None
        self._last_original_obs: Any = None  # _last_obs before VecNormalize, for the replay buffer
        self._last_episode_starts: np.ndarray | None = None
        self._last_state: Any = None
        self._custom_logger = False
        self._logger: Logger | None = None
        self.env: VecEnv | None = None
        self._vec_normalize_env: VecNormalize | None = None
        self.n_envs = 1
        self.observation_space: spaces.Space
        self.action_space: spaces.Space

        if env is not None:
            env = maybe_make_env(env, verbose)
            wrapped = self._wrap_env(env, verbose, monitor_wrapper)
            self.observation_space = wrapped.observation_space
            self.action_space = wrapped.action_space
            self.n_envs = wrapped.num_envs
            self.env = wrapped
            self._vec_normalize_env = unwrap_vec_normalize(wrapped)
            if not support_multi_env and self.n_envs > 1:
                raise ValueError(
                    f"{type(self).__name__} supports only one env, got a VecEnv of {self.n_envs}; use n_envs=1"
                )
            self._check_spaces(self.observation_space, self.action_space)
            if use_sde and not isinstance(self.action_space, spaces.Box):
                raise ValueError(f"gSDE (use_sde=True) needs a Box action space, got {self.action_space}")
        self.policy_class = self._resolve_policy(policy)

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
    def _auto_policy_name(observation_space: spaces.Space) -> str:
        if isinstance(observation_space, spaces.Dict):
            return "MultiInputPolicy"
        if is_image_space(observation_space):
            return "CnnPolicy"
        return "MlpPolicy"

    def _check_spaces(self, observation_space: spaces.Space, action_space: spaces.Space) -> None:
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
            if monitor_wrapper and not _is_monitor_wrapped(env):
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
        self.lr_schedule = get_schedule_fn(self.learning_rate)

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
        if isinstance(callback, list):
            callback = CallbackList(callback)
        elif callback is None:
            callback = CallbackList([])
        elif not isinstance(callback, BaseCallback):
            if not callable(callback):
                raise TypeError(f"callback must be a BaseCallback, a list of them or a function, got {callback!r}")
            callback = ConvertCallback(callback)
        if progress_bar:
            callback = CallbackList([callback, ProgressBarCallback()])
        callback.init_callback(self)  # type: ignore[arg-type]
        return callback

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
        self.start_time = time.time_ns()
        if self.ep_info_buffer is None or reset_num_timesteps:
            self.ep_info_buffer = deque(maxlen=self.stats_window_size)
            self.ep_success_buffer = deque(maxlen=self.stats_window_size)
        if reset_num_timesteps:
            self.num_timesteps = 0
            self._episode_num = 0
        else:
            total_timesteps += self.num_timesteps
        self._total_timesteps = int(total_timesteps)
        self._num_timesteps_at_start = self.num_timesteps
        if reset_num_timesteps or self._last_obs is None:
            assert self.env is not None
            self._last_obs = self.env.reset()
            self._last_episode_starts = np.ones((self.env.num_envs,), dtype=bool)
            self._last_state = self.policy.initial_state(self.env.num_envs)
            vec_normalize = self._vec_normalize_env
            self._last_original_obs = None if vec_normalize is None else vec_normalize.get_original_obs()
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
        assert self.ep_info_buffer is not None and self.ep_success_buffer is not None
        for idx in np.flatnonzero(dones):
            info = infos[idx]
            episode = info.get("episode")
            if episode is not None:
                self.ep_info_buffer.append(episode)
            success = info.get("is_success")
            if success is not None:
                self.ep_success_buffer.append(success)

    def _record_rollout_stats(self, iteration: int | None = None) -> None:
        """Episode and time statistics, under SB3's key names."""
        assert self.ep_info_buffer is not None and self.ep_success_buffer is not None
        elapsed = max((time.time_ns() - self.start_time) / 1e9, sys_float_eps())
        fps = int((self.num_timesteps - self._num_timesteps_at_start) / elapsed)
        if iteration is not None:
            self.logger.record("time/iterations", iteration, exclude="tensorboard")
        if len(self.ep_info_buffer) > 0:
            self.logger.record("rollout/ep_rew_mean", safe_mean([ep["r"] for ep in self.ep_info_buffer]))
            self.logger.record("rollout/ep_len_mean", safe_mean([ep["l"] for ep in self.ep_info_buffer]))
        if len(self.ep_success_buffer) > 0:
            self.logger.record("rollout/success_rate", safe_mean(self.ep_success_buffer))
        self.logger.record("time/fps", fps)
        self.logger.record("time/time_elapsed", int(elapsed), exclude="tensorboard")
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")

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
        self._vec_normalize_env = unwrap_vec_normalize(wrapped)
        if force_reset:
            self._last_obs = None
            self._last_original_obs = None

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
        from baselines3.common.off_policy import save_replay_buffer

        if not hasattr(self, "replay_buffer"):
            raise ValueError(f"{type(self).__name__} has no replay buffer (DQN, SAC and TD3 have one)")
        return save_replay_buffer(self.replay_buffer, path)

    def load_replay_buffer(self, path: str | pathlib.Path, truncate_last_traj: bool = True) -> None:
        """Off-policy models: load a buffer written by `save_replay_buffer` (its spaces must match the model's).
        With `truncate_last_traj` the newest unfinished episode is cut, as training goes on from an env reset."""
        from baselines3.common.off_policy import load_replay_buffer

        if not hasattr(self, "replay_buffer"):
            raise ValueError(f"{type(self).__name__} has no replay buffer (DQN, SAC and TD3 have one)")
        load_replay_buffer(self, path, truncate_last_traj)

    def _torch_save_params(self) -> tuple[list[str], list[str]]:
        """Names of the modules/optimizers saved as state dicts, and of other tensors saved as variables."""
        return ["policy", "policy.optimizer"], []

    def get_parameters(self) -> dict[str, dict[str, Any]]:
        """State dicts of the policy and its optimizer(s), keyed like the members of a saved zip."""
        state_dicts, _ = self._torch_save_params()
        return {name: _plain_state_dict(_get_attr_path(self, name)) for name in state_dicts}

    def set_parameters(
        self,
        load_path_or_dict: str | pathlib.Path | IO[bytes] | dict[str, dict[str, Any]],
        exact_match: bool = True,
        device: torch.device | str = "auto",
    ) -> None:
        """Load policy/optimizer state dicts from a dict (as from `get_parameters`) or a saved zip."""
        if isinstance(load_path_or_dict, dict):
            params = load_path_or_dict
        else:
            _, params, _ = save_util.load_from_zip_file(load_path_or_dict, device=device, load_data=False)
        names, _ = self._torch_save_params()
        missing = [name for name in names if name not in params]
        if exact_match and missing:
            raise ValueError(f"Parameters are missing for {missing} (exact_match=True); found {sorted(params)}")
        for name, state_dict in params.items():
            if name not in names:
                raise ValueError(f"Unknown parameter group {name!r}; expected one of {names}")
            target = _get_attr_path(self, name)
            if isinstance(target, torch.optim.Optimizer):
                target.load_state_dict(state_dict)
            else:
                target.load_state_dict(_named_like(target, state_dict), strict=exact_match)

    def _hyperparameters(self) -> dict[str, Any]:
        """Constructor arguments (by name, from the signature) and the state needed to rebuild the model."""
        data: dict[str, Any] = {}
        for name in inspect.signature(type(self).__init__).parameters:
            if name in _NOT_SAVED or name.startswith("_"):
                continue
            if name == "learning_rate":
                data[name] = self.lr_schedule
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
        data = self._hyperparameters()
        data.update(
            algorithm=type(self).__name__,
            policy_class=self.policy_class,
            observation_space=self.observation_space,
            action_space=self.action_space,
            n_envs=self.n_envs,
            num_timesteps=self.num_timesteps,
            _total_timesteps=self._total_timesteps,
            _episode_num=self._episode_num,
            _n_updates=self._n_updates,
            _current_progress_remaining=self._current_progress_remaining,
        )
        for name in include or []:
            data[name] = getattr(self, name)
        for name in exclude or []:
            data.pop(name, None)
        params = self.get_parameters()
        _, variable_names = self._torch_save_params()
        pytorch_variables = {name: _get_attr_path(self, name) for name in variable_names}
        save_util.save_to_zip_file(path, data=data, params=params, pytorch_variables=pytorch_variables)

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
        data: dict[str, Any] | None
        if sb3_import.is_sb3_archive(path):  # a file saved by Stable-Baselines3: read without unpickling code
            data, params, pytorch_variables = sb3_import.read_sb3_archive(
                path, cls, device, custom_objects, print_system_info
            )
        else:
            data, params, pytorch_variables = save_util.load_from_zip_file(
                path,
                device=device,
                custom_objects=custom_objects,
                allow_pickle=allow_pickle,
                print_system_info=print_system_info,
            )
        assert data is not None
        saved_algo = data.pop("algorithm", cls.__name__)
        if saved_algo != cls.__name__:
            raise ValueError(f"{path} holds a {saved_algo} model; load it with {saved_algo}.load()")
        if "policy_kwargs" in kwargs and kwargs["policy_kwargs"] != data.get("policy_kwargs"):
            raise ValueError(
                f"The given policy_kwargs {kwargs['policy_kwargs']} differ from the saved ones "
                f"{data.get('policy_kwargs')}"
            )
        missing = [name for name in ("observation_space", "action_space", "policy_class") if name not in data]
        if missing:
            raise save_util.ModelLoadError(
                f"{path}: the saved model lacks {missing} (saved with exclude=, or skipped as a pickled value): "
                "pass them with custom_objects={...}"
            )
        observation_space = data.pop("observation_space")
        action_space = data.pop("action_space")
        saved_n_envs = data.pop("n_envs", 1)
        policy_class = data.pop("policy_class")
        if not (isinstance(policy_class, type) and issubclass(policy_class, BasePolicy)):
            raise save_util.ModelLoadError(f"{path}: policy_class must be a policy class, got {policy_class!r}")
        state = _training_state(data, path)
        init_params = inspect.signature(cls.__init__).parameters
        unknown = [name for name in kwargs if name not in init_params]
        if unknown:
            raise ValueError(f"unknown hyperparameters {unknown} for {cls.__name__}")
        saved = [name for name in data if name in init_params and name not in _NOT_SAVED]
        hyperparameters = {**{name: data.pop(name) for name in saved}, **kwargs}
        # what is left was saved with save(include=...) or given in custom_objects: plain attributes
        attributes = _extra_attributes(cls, data, set(custom_objects or {}), allow_pickle, path)

        wrapped_env = None
        if env is not None:
            wrapped_env = cls._wrap_env(maybe_make_env(env, 0), hyperparameters.get("verbose", 0))
            check_for_correct_spaces(wrapped_env, observation_space, action_space)
        model = cls(policy=policy_class, env=wrapped_env, device=device, _init_setup_model=False, **hyperparameters)  # type: ignore[call-arg]
        model.observation_space = observation_space
        model.action_space = action_space
        model.n_envs = wrapped_env.num_envs if wrapped_env is not None else saved_n_envs
        for name, value in state.items():
            setattr(model, name, value)
        if wrapped_env is not None and not force_reset:
            warnings.warn(
                "force_reset=False: the saved model has no last observation; the env is reset anyway", stacklevel=2
            )
        model._setup_model()
        params = sb3_import.fit_params(model, params, path)
        try:
            model.set_parameters(params, exact_match=True, device=device)
        except (RuntimeError, ValueError) as error:
            raise ValueError(
                f"{path}: the saved weights do not fit the rebuilt {cls.__name__} policy: {error}"
            ) from error
        _, variable_names = model._torch_save_params()
        for name, value in (pytorch_variables or {}).items():
            _copy_saved_variable(model, name, value, variable_names, path)
        for name, value in attributes.items():
            setattr(model, name, value)
        if model.use_sde:
            model.policy.reset_noise()  # type: ignore[operator]
        return model


#: Training counters a saved model restores, with the types they must have.
_TRAINING_STATE: dict[str, tuple[type, ...]] = {
    "num_timesteps": (int,),
    "_total_timesteps": (int,),
    "_episode_num": (int,),
    "_n_updates": (int,),
    "_current_progress_remaining": (int, float),
}


def _training_state(data: dict[str, Any], path: Any) -> dict[str, Any]:
    """Pop the training counters from loaded `data`. Any other private name is refused: setting arbitrary
    `_`-names (or `__dict__`) from a file would let it replace the model's methods."""
    state = {}
    for name in [name for name in data if name.startswith("_") or name in _TRAINING_STATE]:
        value = data.pop(name)
        types = _TRAINING_STATE.get(name)
        if types is None:
            raise save_util.ModelLoadError(f"{path}: unexpected private field {name!r} in the saved model")
        if isinstance(value, bool) or not isinstance(value, (*types, np.integer, np.floating)):
            raise save_util.ModelLoadError(f"{path}: field {name!r} must be a number, got {value!r}")
        state[name] = value
    return state


def _is_plain_data(value: Any) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, np.ndarray, np.generic, spaces.Space)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain_data(item) for item in value)
    if isinstance(value, dict):
        return all(_is_plain_data(key) and _is_plain_data(item) for key, item in value.items())
    return False


def _extra_attributes(
    cls: type, data: dict[str, Any], custom_names: set[str], allow_pickle: bool, path: Any
) -> dict[str, Any]:
    """Attributes saved with `save(include=...)`, set on the rebuilt model; `custom_objects` may replace their
    values (as in SB3, a custom object whose name the file does not hold is ignored when the file is read, so it
    never adds an attribute). A name of the class's own (a method, a property) is refused; without
    `allow_pickle`, a value from the file must be plain data (numbers, strings, arrays, spaces and containers of
    them), so a file cannot plant a class or an object where the model expects data."""
    attributes = {}
    for name, value in data.items():
        if name in _NOT_SAVED:
            continue
        if hasattr(cls, name):
            raise save_util.ModelLoadError(f"{path}: saved field {name!r} would replace {cls.__name__}.{name}")
        if name not in custom_names and not allow_pickle and not _is_plain_data(value):
            raise save_util.ModelLoadError(
                f"{path}: saved field {name!r} holds {type(value).__name__}, not plain data; if you trust this "
                f"file, pass it with custom_objects={{{name!r}: ...}} or load with allow_pickle=True"
            )
        attributes[name] = value
    return attributes


def _copy_saved_variable(model: BaseAlgorithm, name: str, value: Any, variable_names: list[str], path: Any) -> None:
    """Copy a saved tensor (e.g. SAC's log entropy coefficient) into the model's own tensor, in place: optimizers
    hold that tensor (or a flat buffer it is a view of), so replacing it would leave them updating an orphan.
    Only the model's declared variables can be set, and only with their own shape."""
    if name not in variable_names:
        raise save_util.ModelLoadError(
            f"{path}: saved tensor {name!r} has no place in the rebuilt {type(model).__name__} "
            f"(its saved tensors are {variable_names})"
        )
    target = _get_attr_path(model, name)
    if not isinstance(value, torch.Tensor) or value.shape != target.shape:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise save_util.ModelLoadError(
            f"{path}: saved tensor {name!r} has shape {shape}, the rebuilt model's has {tuple(target.shape)}"
        )
    with torch.no_grad():
        target.copy_(value.to(device=target.device, dtype=target.dtype))


#: The path segment `torch.compile` puts before the names of a compiled module's parameters.
_COMPILED_PREFIX = "_orig_mod."


def _without_compile_prefix(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter names as the plain module has them (a module compiled with `torch.compile`, or with compiled
    submodules, names them `..._orig_mod.<name>`), so a compiled model saves a file any model can load."""
    return {key.replace(_COMPILED_PREFIX, ""): value for key, value in state_dict.items()}


def _named_like(module: torch.nn.Module, state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """`state_dict` with its parameter names spelled as `module` spells them, compiled parts included."""
    own_names = {name.replace(_COMPILED_PREFIX, ""): name for name in module.state_dict()}
    return {own_names.get(key, key): value for key, value in _without_compile_prefix(state_dict).items()}


def _plain_state_dict(module: Any) -> dict[str, Any]:
    if isinstance(module, torch.optim.Optimizer):
        return module.state_dict()
    return _without_compile_prefix(module.state_dict())


def _get_attr_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _is_monitor_wrapped(env: gym.Env) -> bool:
    current: Any = env
    while isinstance(current, gym.Wrapper):
        if isinstance(current, Monitor):
            return True
        current = current.env
    return False


def sys_float_eps() -> float:
    return float(np.finfo(np.float32).eps)
