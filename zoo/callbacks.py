"""Callbacks that RL Zoo hyperparameter entries name (`callback:`), with the RL Zoo's names and arguments."""

from __future__ import annotations

import copy
import io
import os
import threading
import time
from typing import Any

from baselines3.common.callbacks import BaseCallback
from baselines3.common.logger import TensorBoardOutputFormat


class SaveVecNormalizeCallback(BaseCallback):
    """Save the model's VecNormalize statistics every `save_freq` calls: to `<save_path>/vecnormalize.pkl`
    (overwritten), or with `name_prefix` to `<save_path>/<name_prefix>_<timesteps>_steps.pkl` (one per save).
    The file is the JSON that `VecNormalize.load` reads, whatever its suffix."""

    def __init__(self, save_freq: int, save_path: str, name_prefix: str | None = None, verbose: int = 0) -> None:
        if int(save_freq) < 1:
            raise ValueError(f"SaveVecNormalizeCallback: save_freq must be >= 1, got {save_freq}")
        super().__init__(verbose)
        self.save_freq = int(save_freq)
        self.save_path = save_path
        self.name_prefix = name_prefix

    def _init_callback(self) -> None:
        os.makedirs(self.save_path, exist_ok=True)

    def _on_step(self) -> bool:
        if self.n_calls % self.save_freq != 0:
            return True
        vec_normalize = self._require_model().get_vec_normalize_env()
        if vec_normalize is None:
            return True
        name = f"{self.name_prefix}_{self.num_timesteps}_steps.pkl" if self.name_prefix else "vecnormalize.pkl"
        path = os.path.join(self.save_path, name)
        vec_normalize.save(path)
        if self.verbose > 1:
            print(f"Saved the VecNormalize statistics to {path}")
        return True


class RawStatisticsCallback(BaseCallback):
    """Write every finished episode's return and length to TensorBoard (`raw/rollouts/episodic_return`,
    `raw/rollouts/episodic_length`), at the x position of the summed episode lengths so far. Needs the model's
    logger to write TensorBoard (`tensorboard_log=` or `-tb`)."""

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(verbose)
        self._timesteps_counter = 0
        self._writer: TensorBoardOutputFormat | None = None

    def _init_callback(self) -> None:
        writers = [fmt for fmt in self.logger.output_formats if isinstance(fmt, TensorBoardOutputFormat)]
        if not writers:
            raise ValueError("RawStatisticsCallback writes to TensorBoard: train with a tensorboard_log folder")
        self._writer = writers[0]

    def _on_step(self) -> bool:
        assert self._writer is not None
        for info in self.locals.get("infos", []):
            episode = info.get("episode")
            if episode is None:
                continue
            self._timesteps_counter += int(episode["l"])
            values = {"raw/rollouts/episodic_return": episode["r"], "raw/rollouts/episodic_length": episode["l"]}
            self._writer.write(values, dict.fromkeys(values, ()), self._timesteps_counter)
        return True


class ParallelTrainCallback(BaseCallback):
    """Collect experience and train at the same time: a copy of the model takes `gradient_steps` gradient steps
    in a thread on a snapshot of the replay buffer, while the model acts with the newest weights the copy has
    finished. For off-policy models (SAC, TD3, DDPG), usually with `train_freq=(1, "episode")`.

    The model's own gradient steps are switched off during `learn()` (its `gradient_steps` is 0 meanwhile) and
    restored at the end, after the last weights are copied back. `sleep_time` seconds are waited at each env
    step, to slow a fast simulator down to the learner's pace."""

    def __init__(self, gradient_steps: int = 100, verbose: int = 0, sleep_time: float = 0.0) -> None:
        if int(gradient_steps) < 1:
            raise ValueError(f"ParallelTrainCallback: gradient_steps must be >= 1, got {gradient_steps}")
        super().__init__(verbose)
        self.gradient_steps = int(gradient_steps)
        self.sleep_time = float(sleep_time)
        self._learner: Any = None
        self._thread: threading.Thread | None = None
        self._saved_gradient_steps = 0

    def _init_callback(self) -> None:
        model = self._require_model()
        if getattr(model, "replay_buffer", None) is None or not hasattr(model, "gradient_steps"):
            raise ValueError(f"ParallelTrainCallback needs an off-policy model (SAC, TD3, DDPG), got {type(model)}")
        buffer = io.BytesIO()
        model.save(buffer)
        buffer.seek(0)
        self._learner = type(model).load(buffer, device=model.device)
        self._learner.set_logger(model.logger)
        self._saved_gradient_steps = model.gradient_steps  # type: ignore[attr-defined]
        model.gradient_steps = 0  # type: ignore[attr-defined]

    def _on_step(self) -> bool:
        if self.sleep_time > 0:
            time.sleep(self.sleep_time)
        return True

    def _learner_busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _on_rollout_end(self) -> None:
        if self._learner_busy():
            return  # keep acting with the weights we have; the learner is still working
        model = self._require_model()
        model.set_parameters(copy.deepcopy(self._learner.get_parameters()))
        if self.num_timesteps < self._learner.learning_starts:
            return
        self._learner.replay_buffer = copy.deepcopy(model.replay_buffer)  # type: ignore[attr-defined]
        # the learner's learning-rate schedule and logs follow the acting model's progress
        self._learner.num_timesteps = model.num_timesteps
        self._learner._current_progress_remaining = model._current_progress_remaining
        self._thread = threading.Thread(
            target=self._learner.train, args=(self.gradient_steps, self._learner.batch_size), daemon=True
        )
        self._thread.start()

    def _on_training_end(self) -> None:
        if self._thread is not None:
            if self.verbose > 0:
                print("Waiting for the training thread to finish")
            self._thread.join()
        model = self._require_model()
        model.set_parameters(copy.deepcopy(self._learner.get_parameters()))
        model.gradient_steps = self._saved_gradient_steps  # type: ignore[attr-defined]
