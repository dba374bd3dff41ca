"""Callbacks: code that runs at fixed points of ``model.learn()``.

The algorithms call, per ``learn()``: ``init_callback(model)``, ``on_training_start(locals(), globals())``,
then per rollout ``on_rollout_start()``, per vectorized step ``update_locals(locals())`` and
``on_step()`` (training stops when it returns False), ``on_rollout_end()``, and finally
``on_training_end()``.
"""

from __future__ import annotations

import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from baselines3.common.evaluation import evaluate_policy
from baselines3.common.logger import Logger
from baselines3.common.vec_env import VecEnv, VecEnvWrapper, as_vec_env, sync_envs_normalization

if TYPE_CHECKING:  # annotations only: the algorithms import this module
    from baselines3.common.base_class import BaseAlgorithm

try:  # optional: the progress bar
    from tqdm import TqdmExperimentalWarning

    try:
        import rich  # noqa: F401
        from tqdm.rich import tqdm
    except ImportError:
        from tqdm import tqdm
except ImportError:
    tqdm = None  # type: ignore[assignment,misc,unused-ignore]
    TqdmExperimentalWarning = None  # type: ignore[assignment,misc,unused-ignore]


class BaseCallback(ABC):
    """Base class for callbacks; subclasses implement ``_on_step`` and any other ``_on_*`` hook.

    :param verbose: 0 silent, 1 info messages, 2 debug messages
    """

    # Set by init_callback().
    model: BaseAlgorithm

    def __init__(self, verbose: int = 0) -> None:
        self.n_calls = 0  # number of on_step() calls (one per vectorized env step)
        self.num_timesteps = 0  # model.num_timesteps at the last hook (counts every env of the VecEnv)
        self.verbose = verbose
        self.locals: dict[str, Any] = {}
        self.globals: dict[str, Any] = {}
        # The callback that owns this one (e.g. the EvalCallback running a StopTrainingOn... callback).
        self.parent: BaseCallback | None = None

    @property
    def training_env(self) -> VecEnv:
        """The model's training VecEnv."""
        env = self._require_model().get_env()
        if env is None:
            raise RuntimeError(f"{type(self).__name__}: the model has no training env (model.get_env() is None)")
        return env

    @property
    def logger(self) -> Logger:
        """The model's logger (record values here to log them with the training metrics)."""
        return self._require_model().logger

    def _require_model(self) -> BaseAlgorithm:
        model: BaseAlgorithm | None = getattr(self, "model", None)
        if model is None:
            raise RuntimeError(
                f"{type(self).__name__} has no model yet: it is set by init_callback(model), which learn() calls"
            )
        return model

    def init_callback(self, model: BaseAlgorithm) -> None:
        """Attach the model; called once at the start of each ``learn()``."""
        self.model = model
        self._init_callback()

    def _init_callback(self) -> None:
        return None

    def on_training_start(self, locals_: dict[str, Any], globals_: dict[str, Any]) -> None:
        """Called before the first rollout with learn()'s local and global variables."""
        self.locals = locals_
        self.globals = globals_
        self.num_timesteps = self.model.num_timesteps
        self._on_training_start()

    def _on_training_start(self) -> None:
        return None

    def on_rollout_start(self) -> None:
        """Called before collecting each rollout."""
        self._on_rollout_start()

    def _on_rollout_start(self) -> None:
        return None

    @abstractmethod
    def _on_step(self) -> bool:
        """Runs after each vectorized env step; return False to stop training."""

    def on_step(self) -> bool:
        """Called after each vectorized env step; False stops training."""
        self.n_calls += 1
        self.num_timesteps = self.model.num_timesteps
        return self._on_step()

    def on_training_end(self) -> None:
        """Called once when learn() finishes."""
        self._on_training_end()

    def _on_training_end(self) -> None:
        return None

    def on_rollout_end(self) -> None:
        """Called after each rollout, before the policy update."""
        self._on_rollout_end()

    def _on_rollout_end(self) -> None:
        return None

    def update_locals(self, locals_: dict[str, Any]) -> None:
        """Refresh ``self.locals`` with the collector's variables (obs, actions, rewards, dones, infos...)."""
        self.locals.update(locals_)
        self.update_child_locals(locals_)

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        """Pass the new locals on to child callbacks (none here)."""
        return None


class EventCallback(BaseCallback):
    """A callback that runs a child callback when an event happens (see ``_on_event``).

    :param callback: the child callback, run on each event; its return value can stop training
    """

    def __init__(self, callback: BaseCallback | None = None, verbose: int = 0) -> None:
        super().__init__(verbose=verbose)
        self.callback = callback
        if callback is not None:
            callback.parent = self

    def init_callback(self, model: BaseAlgorithm) -> None:
        super().init_callback(model)
        if self.callback is not None:
            self.callback.init_callback(self.model)

    def _on_training_start(self) -> None:
        if self.callback is not None:
            self.callback.on_training_start(self.locals, self.globals)

    def _on_event(self) -> bool:
        if self.callback is not None:
            return self.callback.on_step()
        return True

    def _on_step(self) -> bool:
        return True

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        if self.callback is not None:
            self.callback.update_locals(locals_)


class CallbackList(BaseCallback):
    """Runs several callbacks in order; training stops if any of them returns False.

    Every callback is called at each step, even after one has asked to stop. Plain functions
    ``(locals, globals) -> bool`` in the list are wrapped in a ConvertCallback.
    """

    def __init__(self, callbacks: list[BaseCallback]) -> None:
        super().__init__()
        if not isinstance(callbacks, list):
            raise TypeError(f"CallbackList takes a list of callbacks, got {type(callbacks).__name__}")
        self.callbacks: list[BaseCallback] = []
        for callback in callbacks:
            if isinstance(callback, BaseCallback):
                self.callbacks.append(callback)
            elif callable(callback):
                # A function (locals, globals) -> bool, as learn(callback=func) accepts.
                self.callbacks.append(ConvertCallback(callback))
            else:
                raise TypeError(
                    f"CallbackList items must be BaseCallback instances or functions (locals, globals) -> bool, "
                    f"got {callback!r}"
                )

    def _init_callback(self) -> None:
        for callback in self.callbacks:
            callback.init_callback(self.model)
            # Children of a list inside an EvalCallback see the EvalCallback as their parent.
            callback.parent = self.parent

    def _on_training_start(self) -> None:
        for callback in self.callbacks:
            callback.on_training_start(self.locals, self.globals)

    def _on_rollout_start(self) -> None:
        for callback in self.callbacks:
            callback.on_rollout_start()

    def _on_step(self) -> bool:
        continue_training = True
        for callback in self.callbacks:
            # on_step() first so every callback runs.
            continue_training = callback.on_step() and continue_training
        return continue_training

    def _on_rollout_end(self) -> None:
        for callback in self.callbacks:
            callback.on_rollout_end()

    def _on_training_end(self) -> None:
        for callback in self.callbacks:
            callback.on_training_end()

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.update_locals(locals_)


class CheckpointCallback(BaseCallback):
    """Saves the model every ``save_freq`` calls as ``<save_path>/<name_prefix>_<num_timesteps>_steps.zip``.

    ``save_freq`` counts calls of on_step (vectorized steps): with n envs a checkpoint comes every
    ``save_freq * n`` timesteps. Optionally also saves the replay buffer
    (``<prefix>_replay_buffer_<N>_steps.npz``, off-policy models) and the VecNormalize statistics
    (``<prefix>_vecnormalize_<N>_steps.pkl``).
    """

    def __init__(
        self,
        save_freq: int,
        save_path: str,
        name_prefix: str = "rl_model",
        save_replay_buffer: bool = False,
        save_vecnormalize: bool = False,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if save_freq < 1:
            raise ValueError(f"save_freq must be a positive number of calls, got {save_freq}")
        self.save_freq = save_freq
        self.save_path = save_path
        self.name_prefix = name_prefix
        self.save_replay_buffer = save_replay_buffer
        self.save_vecnormalize = save_vecnormalize

    def _init_callback(self) -> None:
        os.makedirs(self.save_path, exist_ok=True)

    def _checkpoint_path(self, checkpoint_type: str = "", extension: str = "") -> str:
        """Path of a checkpoint file; `checkpoint_type` is "" (model), "replay_buffer_" or "vecnormalize_"."""
        name = f"{self.name_prefix}_{checkpoint_type}{self.num_timesteps}_steps.{extension}"
        return os.path.join(self.save_path, name)

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq != 0:
            return True
        model_path = self._checkpoint_path(extension="zip")
        self.model.save(model_path)
        if self.verbose >= 2:
            print(f"Saving model checkpoint to {model_path}")
        if self.save_replay_buffer and getattr(self.model, "replay_buffer", None) is not None:
            buffer_path = self._checkpoint_path("replay_buffer_", extension="npz")
            self.model.save_replay_buffer(buffer_path)  # type: ignore[attr-defined,unused-ignore]
            if self.verbose >= 2:
                print(f"Saving model replay buffer checkpoint to {buffer_path}")
        if self.save_vecnormalize:
            vec_normalize = self.model.get_vec_normalize_env()
            if vec_normalize is not None:
                vec_normalize_path = self._checkpoint_path("vecnormalize_", extension="pkl")
                vec_normalize.save(vec_normalize_path)
                if self.verbose >= 2:
                    print(f"Saving model VecNormalize to {vec_normalize_path}")
        return True


class ConvertCallback(BaseCallback):
    """Wraps a function ``(locals, globals) -> bool`` as a callback run at every step."""

    def __init__(self, callback: Callable[[dict[str, Any], dict[str, Any]], bool] | None, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.callback = callback

    def _on_step(self) -> bool:
        if self.callback is not None:
            result = self.callback(self.locals, self.globals)
            # A function without an explicit return (None) does not stop training.
            return True if result is None else bool(result)
        return True


def _vec_wrapper_names(env: VecEnv) -> list[str]:
    """Class names of the VecEnvWrappers around `env`, outermost first."""
    names = []
    while isinstance(env, VecEnvWrapper):
        names.append(type(env).__name__)
        env = env.venv
    return names


class EvalCallback(EventCallback):
    """Evaluates the model every ``eval_freq`` calls on a separate env; keeps the best model.

    :param eval_env: the env to evaluate on (a gymnasium env goes in a DummyVecEnv, a gymnasium vector env in
        the adapter)
    :param callback_on_new_best: run when a new best mean reward is reached
    :param callback_after_eval: run after every evaluation
    :param n_eval_episodes: episodes per evaluation
    :param eval_freq: evaluate every this many calls (vectorized steps)
    :param log_path: folder for ``evaluations.npz`` (timesteps, results, ep_lengths, successes)
    :param best_model_save_path: folder for ``best_model.zip``
    :param deterministic: evaluate with deterministic actions
    :param render: render the eval env while evaluating
    :param warn: warn when the eval env is not wrapped in a Monitor
    """

    def __init__(
        self,
        eval_env: Any,
        callback_on_new_best: BaseCallback | None = None,
        callback_after_eval: BaseCallback | None = None,
        n_eval_episodes: int = 5,
        eval_freq: int = 10000,
        log_path: str | None = None,
        best_model_save_path: str | None = None,
        deterministic: bool = True,
        render: bool = False,
        verbose: int = 1,
        warn: bool = True,
    ) -> None:
        super().__init__(callback_after_eval, verbose=verbose)
        self.callback_on_new_best = callback_on_new_best
        if callback_on_new_best is not None:
            callback_on_new_best.parent = self
        if n_eval_episodes < 1:
            raise ValueError(f"n_eval_episodes must be at least 1, got {n_eval_episodes}")
        self.n_eval_episodes = n_eval_episodes
        self.eval_freq = eval_freq
        self.best_mean_reward = -np.inf
        self.last_mean_reward = -np.inf
        self.deterministic = deterministic
        self.render = render
        self.warn = warn

        self.eval_env: VecEnv = as_vec_env(eval_env)
        self.best_model_save_path = best_model_save_path
        # Results go to <log_path>/evaluations.npz
        self.log_path = os.path.join(log_path, "evaluations") if log_path is not None else None
        self.evaluations_results: list[list[float]] = []
        self.evaluations_timesteps: list[int] = []
        self.evaluations_length: list[list[int]] = []
        self._is_success_buffer: list[bool] = []
        self.evaluations_successes: list[list[bool]] = []

    def _init_callback(self) -> None:
        # The wrappers decide what the policy sees (normalized, stacked...); the vec env under them does not
        # (a DummyVecEnv evaluating a model trained in a SubprocVecEnv is fine).
        training_wrappers, eval_wrappers = _vec_wrapper_names(self.training_env), _vec_wrapper_names(self.eval_env)
        if training_wrappers != eval_wrappers:
            warnings.warn(
                f"Training and eval env are not wrapped the same way: {training_wrappers} != {eval_wrappers}; "
                "the evaluations may see other observations or rewards than training",
                stacklevel=2,
            )
        if self.best_model_save_path is not None:
            os.makedirs(self.best_model_save_path, exist_ok=True)
        if self.log_path is not None:
            os.makedirs(os.path.dirname(self.log_path) or ".", exist_ok=True)
        if self.callback_on_new_best is not None:
            self.callback_on_new_best.init_callback(self.model)

    def _log_success_callback(self, locals_: dict[str, Any], globals_: dict[str, Any]) -> None:
        """Collect ``info["is_success"]`` at the end of each evaluation episode."""
        if locals_["done"]:
            maybe_is_success = locals_["info"].get("is_success")
            if maybe_is_success is not None:
                self._is_success_buffer.append(bool(maybe_is_success))

    def _on_step(self) -> bool:
        continue_training = True
        if self.eval_freq > 0 and self.n_calls % self.eval_freq == 0:
            continue_training = self.evaluate()
        return continue_training

    def evaluate(self) -> bool:
        """Evaluate now, as every ``eval_freq``-th call does: log, save ``evaluations.npz`` and a new best model,
        run the child callbacks. Returns False when one of them asks to stop training."""
        if self.model.get_vec_normalize_env() is not None:
            try:
                sync_envs_normalization(self.training_env, self.eval_env)
            except AttributeError as exc:
                raise AssertionError(
                    "Training and eval env are not wrapped the same way: the eval env needs the same "
                    f"VecNormalize (and other VecEnv wrappers) as the training env ({exc})"
                ) from exc

        self._is_success_buffer = []
        episode_rewards, episode_lengths = evaluate_policy(
            self.model,
            self.eval_env,
            n_eval_episodes=self.n_eval_episodes,
            render=self.render,
            deterministic=self.deterministic,
            return_episode_rewards=True,
            warn=self.warn,
            callback=self._log_success_callback,
        )
        assert isinstance(episode_rewards, list) and isinstance(episode_lengths, list)

        if self.log_path is not None:
            self.evaluations_timesteps.append(self.num_timesteps)
            self.evaluations_results.append(episode_rewards)
            self.evaluations_length.append(episode_lengths)
            extra: dict[str, Any] = {}
            if self._is_success_buffer:
                self.evaluations_successes.append(self._is_success_buffer)
                extra["successes"] = self.evaluations_successes
            np.savez(
                self.log_path,
                timesteps=self.evaluations_timesteps,
                results=self.evaluations_results,
                ep_lengths=self.evaluations_length,
                **extra,
            )

        mean_reward, std_reward = float(np.mean(episode_rewards)), float(np.std(episode_rewards))
        mean_ep_length, std_ep_length = float(np.mean(episode_lengths)), float(np.std(episode_lengths))
        self.last_mean_reward = mean_reward

        if self.verbose >= 1:
            print(f"Eval num_timesteps={self.num_timesteps}, episode_reward={mean_reward:.2f} +/- {std_reward:.2f}")
            print(f"Episode length: {mean_ep_length:.2f} +/- {std_ep_length:.2f}")
        self.logger.record("eval/mean_reward", mean_reward)
        self.logger.record("eval/mean_ep_length", mean_ep_length)
        if self._is_success_buffer:
            success_rate = float(np.mean(self._is_success_buffer))
            if self.verbose >= 1:
                print(f"Success rate: {100 * success_rate:.2f}%")
            self.logger.record("eval/success_rate", success_rate)
        self.logger.record("time/total_timesteps", self.num_timesteps, exclude="tensorboard")
        self.logger.dump(self.num_timesteps)

        continue_training = True
        if mean_reward > self.best_mean_reward:
            if self.verbose >= 1:
                print("New best mean reward!")
            if self.best_model_save_path is not None:
                self.model.save(os.path.join(self.best_model_save_path, "best_model.zip"))
            self.best_mean_reward = mean_reward
            if self.callback_on_new_best is not None:
                continue_training = self.callback_on_new_best.on_step()
        if self.callback is not None:
            continue_training = continue_training and self._on_event()
        return continue_training

    def update_child_locals(self, locals_: dict[str, Any]) -> None:
        if self.callback is not None:
            self.callback.update_locals(locals_)


def _eval_parent(callback: BaseCallback) -> EvalCallback:
    """The EvalCallback that runs `callback`, or a clear error if there is none."""
    parent = callback.parent
    if not isinstance(parent, EvalCallback):
        raise RuntimeError(
            f"{type(callback).__name__} must be run by an EvalCallback (as callback_on_new_best or "
            f"callback_after_eval); its parent is {type(parent).__name__ if parent is not None else None}"
        )
    return parent


class StopTrainingOnRewardThreshold(BaseCallback):
    """Stops training once the best mean evaluation reward reaches ``reward_threshold``.

    Use it as an EvalCallback's ``callback_on_new_best`` (or ``callback_after_eval``).
    """

    def __init__(self, reward_threshold: float, verbose: int = 0) -> None:
        super().__init__(verbose=verbose)
        self.reward_threshold = reward_threshold

    def _on_step(self) -> bool:
        parent = _eval_parent(self)
        continue_training = bool(parent.best_mean_reward < self.reward_threshold)
        if self.verbose >= 1 and not continue_training:
            print(
                f"Stopping training because the mean reward {parent.best_mean_reward:.2f} "
                f"is above the threshold {self.reward_threshold}"
            )
        return continue_training


class EveryNTimesteps(EventCallback):
    """Runs ``callback`` each time at least ``n_steps`` timesteps have passed since it last ran."""

    def __init__(self, n_steps: int, callback: BaseCallback) -> None:
        super().__init__(callback)
        if n_steps < 1:
            raise ValueError(f"n_steps must be a positive number of timesteps, got {n_steps}")
        self.n_steps = n_steps
        self.last_time_trigger = 0

    def _on_step(self) -> bool:
        if (self.num_timesteps - self.last_time_trigger) >= self.n_steps:
            self.last_time_trigger = self.num_timesteps
            return self._on_event()
        return True


class LogEveryNTimesteps(EveryNTimesteps):
    """Writes the model's logs (episode statistics, fps and whatever training recorded) every ``n_steps``
    timesteps, in addition to the algorithm's own ``log_interval``."""

    def __init__(self, n_steps: int) -> None:
        super().__init__(n_steps, callback=ConvertCallback(self._log_data))

    def _log_data(self, _locals: dict[str, Any], _globals: dict[str, Any]) -> bool:
        model = self.model
        dump_logs = getattr(model, "dump_logs", None)
        if callable(dump_logs):
            dump_logs()
            return True
        if hasattr(model, "_episode_num"):  # off-policy models count their episodes
            model.logger.record("time/episodes", model._episode_num, exclude="tensorboard")
        model._record_rollout_stats()
        model.logger.dump(step=model.num_timesteps)
        return True


class StopTrainingOnMaxEpisodes(BaseCallback):
    """Stops training after ``max_episodes`` episodes per env (``max_episodes * n_envs`` in total).

    Episodes are counted from ``locals["dones"]`` at each step.
    """

    def __init__(self, max_episodes: int, verbose: int = 0) -> None:
        super().__init__(verbose=verbose)
        if max_episodes < 1:
            raise ValueError(f"max_episodes must be at least 1, got {max_episodes}")
        self.max_episodes = max_episodes
        self._total_max_episodes = max_episodes
        self.n_episodes = 0

    def _init_callback(self) -> None:
        self._total_max_episodes = self.max_episodes * self.training_env.num_envs

    def _on_step(self) -> bool:
        dones = self.locals.get("dones")
        if dones is None:
            raise KeyError(
                "StopTrainingOnMaxEpisodes needs locals['dones']: the training loop must call "
                "callback.update_locals(locals()) with a `dones` array before on_step()"
            )
        self.n_episodes += int(np.sum(dones))
        continue_training = self.n_episodes < self._total_max_episodes
        if self.verbose >= 1 and not continue_training:
            mean_per_env = self.n_episodes / self.training_env.num_envs
            per_env = f"with an average of {mean_per_env:.2f} episodes per env"
            if self.training_env.num_envs > 1:
                print(f"Stopping training after {self.n_episodes} episodes ({per_env}).")
            else:
                print(f"Stopping training after {self.n_episodes} episodes.")
        return continue_training


class StopTrainingOnNoModelImprovement(BaseCallback):
    """Stops training when the best mean reward has not improved for ``max_no_improvement_evals``
    evaluations in a row (not counting the first ``min_evals`` evaluations).

    Use it as an EvalCallback's ``callback_after_eval``.
    """

    def __init__(self, max_no_improvement_evals: int, min_evals: int = 0, verbose: int = 0) -> None:
        super().__init__(verbose=verbose)
        self.max_no_improvement_evals = max_no_improvement_evals
        self.min_evals = min_evals
        self.last_best_mean_reward = -np.inf
        self.no_improvement_evals = 0

    def _on_step(self) -> bool:
        parent = _eval_parent(self)
        continue_training = True
        if self.n_calls > self.min_evals:
            if parent.best_mean_reward > self.last_best_mean_reward:
                self.no_improvement_evals = 0
            else:
                self.no_improvement_evals += 1
                if self.no_improvement_evals > self.max_no_improvement_evals:
                    continue_training = False
        self.last_best_mean_reward = parent.best_mean_reward
        if self.verbose >= 1 and not continue_training:
            print(
                "Stopping training because there was no new best model in the last "
                f"{self.no_improvement_evals:d} evaluations"
            )
        return continue_training


class ProgressBarCallback(BaseCallback):
    """Shows a progress bar of timesteps (tqdm, drawn with rich when it is installed)."""

    def __init__(self) -> None:
        super().__init__()
        if tqdm is None:
            raise ImportError(
                "The progress bar needs tqdm (and rich for the nicer bar): pip install tqdm rich "
                "(or pip install baselines3[extra])"
            )
        self.pbar: Any = None

    def _on_training_start(self) -> None:
        total = getattr(self.model, "_total_timesteps", None)
        if total is None:
            total = self.locals["total_timesteps"]
        with warnings.catch_warnings():
            if TqdmExperimentalWarning is not None:
                warnings.simplefilter("ignore", TqdmExperimentalWarning)
            self.pbar = tqdm(total=max(int(total) - self.model.num_timesteps, 0))

    def _on_step(self) -> bool:
        self.pbar.update(self.training_env.num_envs)
        return True

    def _on_training_end(self) -> None:
        if self.pbar is not None:
            self.pbar.refresh()
            self.pbar.close()
            self.pbar = None


__all__ = [
    "BaseCallback",
    "CallbackList",
    "CheckpointCallback",
    "ConvertCallback",
    "EvalCallback",
    "EventCallback",
    "EveryNTimesteps",
    "LogEveryNTimesteps",
    "ProgressBarCallback",
    "StopTrainingOnMaxEpisodes",
    "StopTrainingOnNoModelImprovement",
    "StopTrainingOnRewardThreshold",
]
