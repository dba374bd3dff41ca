"""Tests for baselines3.common.callbacks, driven by a small training loop that calls the hooks
the way the algorithms do (a fake model; the algorithms' own learn() is tested elsewhere)."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from baselines3.common.callbacks import (
    BaseCallback,
    CallbackList,
    CheckpointCallback,
    ConvertCallback,
    EvalCallback,
    EveryNTimesteps,
    ProgressBarCallback,
    StopTrainingOnMaxEpisodes,
    StopTrainingOnNoModelImprovement,
    StopTrainingOnRewardThreshold,
)
from baselines3.common.logger import Logger


class CountingEnv(gym.Env):
    """Reward `reward` per step, episodes of `length` steps; reports is_success at the end if asked."""

    def __init__(self, length: int = 3, reward: float = 1.0, success: bool | None = None) -> None:
        self.observation_space = spaces.Box(-1.0, 100.0, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.length, self.reward, self.success = length, reward, success
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        terminated = self.t >= self.length
        info: dict[str, Any] = {}
        if terminated and self.success is not None:
            info["is_success"] = self.success
        return np.array([self.t], dtype=np.float32), self.reward, terminated, False, info


class FakeVecEnv:
    """Just enough of a VecEnv for the training loop: n envs whose episodes last `length` steps."""

    def __init__(self, num_envs: int = 1, length: int = 3) -> None:
        self.num_envs, self.length = num_envs, length
        self.t = np.zeros(num_envs, dtype=np.int64)

    def reset(self):
        self.t[:] = 0
        return np.zeros((self.num_envs, 1), dtype=np.float32)

    def step(self, actions):
        self.t += 1
        dones = self.t >= self.length
        self.t[dones] = 0
        infos = [{} for _ in range(self.num_envs)]
        return self.t[:, None].astype(np.float32), np.ones(self.num_envs, dtype=np.float32), dones, infos


class FakeVecNormalize:
    def __init__(self) -> None:
        self.saved: list[str] = []

    def save(self, path: str) -> None:
        self.saved.append(path)
        with open(path, "w") as file:
            file.write("stats")


class FakeModel:
    """The model interface callbacks rely on."""

    def __init__(self, env: Any, vec_normalize: FakeVecNormalize | None = None) -> None:
        self.env = env
        self.num_timesteps = 0
        self._total_timesteps = 0
        self.logger = Logger(None, [])
        self.vec_normalize = vec_normalize
        self.saved: list[str] = []
        self.replay_buffer = None

    def get_env(self):
        return self.env

    def get_vec_normalize_env(self):
        return self.vec_normalize

    def save(self, path: str) -> None:
        self.saved.append(path)
        with open(path, "w") as file:
            file.write("model")

    def predict(self, obs, state=None, episode_start=None, deterministic=False):
        n = obs.shape[0] if isinstance(obs, np.ndarray) else 1
        return np.zeros(n, dtype=np.int64), state


class FakeOffPolicyModel(FakeModel):
    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.replay_buffer = object()

    def save_replay_buffer(self, path: str) -> None:
        with open(path, "w") as file:
            file.write("buffer")


def fake_learn(model: FakeModel, callback: BaseCallback, total_timesteps: int, n_steps: int = 4) -> None:
    """Call the hooks in the order the algorithms do."""
    model._total_timesteps = model.num_timesteps + total_timesteps
    callback.init_callback(model)  # type: ignore[arg-type]
    callback.on_training_start(locals(), globals())
    env = model.get_env()
    obs = env.reset()
    while model.num_timesteps < model._total_timesteps:
        callback.on_rollout_start()
        for _ in range(n_steps):
            actions, _ = model.predict(obs)
            obs, rewards, dones, infos = env.step(actions)
            model.num_timesteps += env.num_envs
            callback.update_locals(locals())
            if not callback.on_step():
                callback.on_training_end()
                return
        callback.on_rollout_end()
    callback.on_training_end()


class RecordingCallback(BaseCallback):
    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__()
        self.events: list[str] = []
        self.stop_at = stop_at
        self.seen_timesteps: list[int] = []
        self.seen_dones: list[np.ndarray] = []

    def _init_callback(self) -> None:
        self.events.append("init")

    def _on_training_start(self) -> None:
        self.events.append("training_start")

    def _on_rollout_start(self) -> None:
        self.events.append("rollout_start")

    def _on_step(self) -> bool:
        self.events.append("step")
        self.seen_timesteps.append(self.num_timesteps)
        self.seen_dones.append(np.array(self.locals["dones"]))
        return self.stop_at is None or self.n_calls < self.stop_at

    def _on_rollout_end(self) -> None:
        self.events.append("rollout_end")

    def _on_training_end(self) -> None:
        self.events.append("training_end")


def test_hook_order_and_counters():
    model = FakeModel(FakeVecEnv(num_envs=2))
    callback = RecordingCallback()
    fake_learn(model, callback, total_timesteps=16, n_steps=4)
    step4 = ["step"] * 4
    assert callback.events == [
        "init",
        "training_start",
        *(["rollout_start", *step4, "rollout_end"] * 2),
        "training_end",
    ]
    assert callback.n_calls == 8
    assert callback.seen_timesteps == [2, 4, 6, 8, 10, 12, 14, 16]
    assert callback.num_timesteps == 16
    assert callback.training_env is model.env
    assert callback.logger is model.logger
    assert callback.locals["total_timesteps"] == 16  # from on_training_start
    assert callback.seen_dones[2].tolist() == [True, True]  # locals refreshed each step


def test_false_return_stops_training():
    model = FakeModel(FakeVecEnv())
    callback = RecordingCallback(stop_at=3)
    fake_learn(model, callback, total_timesteps=100)
    assert callback.n_calls == 3
    assert model.num_timesteps == 3
    assert callback.events[-1] == "training_end"


def test_callback_without_model_has_clear_error():
    with pytest.raises(RuntimeError, match="init_callback"):
        _ = RecordingCallback().training_env


def test_callback_list_runs_all_and_stops_if_any_says_so():
    model = FakeModel(FakeVecEnv())
    first, second, third = RecordingCallback(), RecordingCallback(stop_at=2), RecordingCallback()
    fake_learn(model, CallbackList([first, second, third]), total_timesteps=100)
    for callback in (first, second, third):
        # every callback saw every hook, including the step on which the second asked to stop
        assert callback.events == ["init", "training_start", "rollout_start", "step", "step", "training_end"]
    with pytest.raises(TypeError, match="list"):
        CallbackList(first)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="BaseCallback"):
        CallbackList([first, 3])  # type: ignore[list-item]


def test_callback_list_wraps_functions():
    seen: list[int] = []
    recorder = RecordingCallback()
    model = FakeModel(FakeVecEnv())
    callbacks = CallbackList([recorder, lambda locals_, _g: seen.append(locals_["model"].num_timesteps)])  # type: ignore[list-item]
    fake_learn(model, callbacks, total_timesteps=4)
    assert isinstance(callbacks.callbacks[1], ConvertCallback)
    assert seen == [1, 2, 3, 4] and recorder.n_calls == 4


def test_convert_callback_wraps_function():
    calls: list[int] = []

    def func(locals_, globals_):
        calls.append(int(locals_["model"].num_timesteps))
        return len(calls) < 4

    model = FakeModel(FakeVecEnv())
    fake_learn(model, ConvertCallback(func), total_timesteps=100)
    assert calls == [1, 2, 3, 4]

    # No explicit return value does not stop training.
    model = FakeModel(FakeVecEnv())
    fake_learn(model, ConvertCallback(lambda _l, _g: None), total_timesteps=8)
    assert model.num_timesteps == 8


def test_checkpoint_file_names(tmp_path):
    model = FakeModel(FakeVecEnv(num_envs=2), vec_normalize=FakeVecNormalize())
    callback = CheckpointCallback(save_freq=3, save_path=str(tmp_path / "ckpt"), save_vecnormalize=True)
    fake_learn(model, callback, total_timesteps=16, n_steps=4)  # 8 calls: saves at calls 3 and 6
    assert sorted(os.listdir(tmp_path / "ckpt")) == [
        "rl_model_12_steps.zip",
        "rl_model_6_steps.zip",
        "rl_model_vecnormalize_12_steps.pkl",
        "rl_model_vecnormalize_6_steps.pkl",
    ]


def test_checkpoint_replay_buffer_and_prefix(tmp_path):
    model = FakeOffPolicyModel(FakeVecEnv())
    callback = CheckpointCallback(2, str(tmp_path), name_prefix="sac", save_replay_buffer=True)
    fake_learn(model, callback, total_timesteps=4)
    assert sorted(os.listdir(tmp_path)) == [
        "sac_2_steps.zip",
        "sac_4_steps.zip",
        "sac_replay_buffer_2_steps.npz",
        "sac_replay_buffer_4_steps.npz",
    ]
    with pytest.raises(ValueError, match="save_freq"):
        CheckpointCallback(0, str(tmp_path))


def test_stop_on_max_episodes_counts_dones_across_envs():
    # 2 envs, episodes of 3 steps: both finish on calls 3, 6, 9 ... -> 2 episodes each time.
    model = FakeModel(FakeVecEnv(num_envs=2, length=3))
    callback = StopTrainingOnMaxEpisodes(max_episodes=2)  # 2 per env -> 4 in total
    fake_learn(model, callback, total_timesteps=1000)
    assert callback.n_episodes == 4
    assert callback.n_calls == 6

    model = FakeModel(FakeVecEnv(num_envs=1, length=5))
    callback = StopTrainingOnMaxEpisodes(max_episodes=3)
    fake_learn(model, callback, total_timesteps=1000)
    assert callback.n_calls == 15


def test_every_n_timesteps():
    model = FakeModel(FakeVecEnv(num_envs=2))
    inner = RecordingCallback()
    fake_learn(model, EveryNTimesteps(n_steps=5, callback=inner), total_timesteps=20)
    # 3 rollouts of 4 steps: timesteps go 2, 4, ..., 24; the child runs once 5 or more passed since it last ran
    assert inner.seen_timesteps == [6, 12, 18, 24]


def _vec_env(env: gym.Env):
    from baselines3.common.vec_env import DummyVecEnv

    return DummyVecEnv([lambda: env])


def test_eval_callback_writes_npz_and_best_model(tmp_path):
    train_env = _vec_env(CountingEnv())
    model = FakeModel(train_env)
    eval_env = CountingEnv(length=4, reward=0.5, success=True)
    callback = EvalCallback(
        eval_env,
        n_eval_episodes=3,
        eval_freq=5,
        log_path=str(tmp_path / "logs"),
        best_model_save_path=str(tmp_path / "best"),
        verbose=0,
        warn=False,
    )
    fake_learn(model, callback, total_timesteps=12, n_steps=4)  # evaluations at calls 5 and 10
    data = np.load(tmp_path / "logs" / "evaluations.npz")
    assert data["timesteps"].tolist() == [5, 10]
    assert data["results"].shape == (2, 3)
    assert np.allclose(data["results"], 2.0)
    assert data["ep_lengths"].tolist() == [[4, 4, 4], [4, 4, 4]]
    assert data["successes"].tolist() == [[True] * 3] * 2
    assert os.listdir(tmp_path / "best") == ["best_model.zip"]
    assert model.saved == [os.path.join(str(tmp_path / "best"), "best_model.zip")]  # not better the 2nd time
    assert callback.best_mean_reward == pytest.approx(2.0)
    assert callback.last_mean_reward == pytest.approx(2.0)


def test_eval_callback_logs_eval_keys():
    model = FakeModel(_vec_env(CountingEnv()))
    dumped: list[dict[str, Any]] = []

    class Capture:
        def write(self, key_values, key_excluded, step=0):
            dumped.append(dict(key_values))

        def close(self):
            pass

    from baselines3.common.logger import KVWriter

    capture = type("CaptureWriter", (Capture, KVWriter), {})()
    model.logger = Logger(None, [capture])
    callback = EvalCallback(CountingEnv(length=2, success=False), n_eval_episodes=2, eval_freq=3, verbose=0)
    with pytest.warns(UserWarning, match="Monitor"):
        fake_learn(model, callback, total_timesteps=3)
    assert dumped == [
        {
            "eval/mean_reward": 2.0,
            "eval/mean_ep_length": 2.0,
            "eval/success_rate": 0.0,
            "time/total_timesteps": 3,
        }
    ]


def test_stop_on_reward_threshold_through_eval_callback():
    model = FakeModel(_vec_env(CountingEnv()))
    stop = StopTrainingOnRewardThreshold(reward_threshold=2.5, verbose=0)
    eval_cb = EvalCallback(
        CountingEnv(length=3),
        callback_on_new_best=stop,
        n_eval_episodes=2,
        eval_freq=4,
        verbose=0,
        warn=False,
    )
    fake_learn(model, eval_cb, total_timesteps=100)
    assert stop.parent is eval_cb
    assert model.num_timesteps == 4  # first evaluation returns 3 > 2.5: stop

    model = FakeModel(_vec_env(CountingEnv()))
    stop = StopTrainingOnRewardThreshold(reward_threshold=3.5, verbose=0)
    eval_cb = EvalCallback(
        CountingEnv(length=3),
        callback_on_new_best=stop,
        n_eval_episodes=2,
        eval_freq=4,
        verbose=0,
        warn=False,
    )
    fake_learn(model, eval_cb, total_timesteps=12)
    assert model.num_timesteps == 12  # never reached


def test_stop_on_reward_threshold_needs_eval_parent():
    model = FakeModel(FakeVecEnv())
    with pytest.raises(RuntimeError, match="EvalCallback"):
        fake_learn(model, StopTrainingOnRewardThreshold(1.0), total_timesteps=4)


def test_stop_on_no_model_improvement():
    model = FakeModel(_vec_env(CountingEnv()))
    # The eval return never changes: first eval is an improvement over -inf, then none.
    stop = StopTrainingOnNoModelImprovement(max_no_improvement_evals=2, min_evals=1)
    eval_cb = EvalCallback(
        CountingEnv(length=2), callback_after_eval=stop, n_eval_episodes=1, eval_freq=1, verbose=0, warn=False
    )
    fake_learn(model, eval_cb, total_timesteps=100)
    # eval 1: skipped (min_evals); evals 2, 3, 4: no improvement -> stop when 3 > 2
    assert stop.n_calls == 4
    assert model.num_timesteps == 4


def test_progress_bar_counts_timesteps(capsys):
    pytest.importorskip("tqdm")
    model = FakeModel(FakeVecEnv(num_envs=2))
    callback = ProgressBarCallback()
    bars: list[Any] = []

    class Spy(RecordingCallback):
        def _on_training_end(self) -> None:
            bars.append((callback.pbar.n, callback.pbar.total))

    fake_learn(model, CallbackList([Spy(), callback]), total_timesteps=10, n_steps=5)
    assert bars == [(10, 10)]
    assert callback.pbar is None  # closed


def test_eval_callback_syncs_vec_normalize():
    from baselines3.common.vec_env import VecNormalize

    train_env = VecNormalize(_vec_env(CountingEnv(length=5)))
    model = FakeModel(train_env)
    model.vec_normalize = train_env  # type: ignore[assignment]
    eval_env = VecNormalize(_vec_env(CountingEnv(length=5)), training=False)
    callback = EvalCallback(eval_env, n_eval_episodes=1, eval_freq=4, verbose=0, warn=False)
    fake_learn(model, callback, total_timesteps=4, n_steps=4)
    # the training env saw observations 0..4 (reset + 4 steps): its statistics moved away from 0
    assert train_env.obs_rms.mean[0] > 0.5
    assert np.allclose(eval_env.obs_rms.mean, train_env.obs_rms.mean)
    assert eval_env.obs_rms is not train_env.obs_rms

    # an eval env without VecNormalize cannot be synced: clear error
    model = FakeModel(train_env)
    model.vec_normalize = train_env  # type: ignore[assignment]
    callback = EvalCallback(_vec_env(CountingEnv()), n_eval_episodes=1, eval_freq=1, verbose=0, warn=False)
    with (
        pytest.raises(AssertionError, match="not wrapped the same way"),
        pytest.warns(UserWarning, match=r"not wrapped the same way: \['VecNormalize'\] != \[\]"),
    ):
        fake_learn(model, callback, total_timesteps=1)


def test_eval_callback_warns_about_different_wrappers_not_different_vec_env_classes():
    import warnings as warnings_module

    from baselines3.common.vec_env import VecFrameStack, as_vec_env

    model = FakeModel(_vec_env(CountingEnv(length=5)))
    # a gymnasium vector env (adapted) evaluating a model trained in a DummyVecEnv: nothing to warn about
    vector_env = gym.vector.SyncVectorEnv([lambda: CountingEnv(length=5)])
    callback = EvalCallback(vector_env, n_eval_episodes=1, eval_freq=1, verbose=0, warn=False)
    assert type(callback.eval_env) is not type(model.env)
    with warnings_module.catch_warnings():
        warnings_module.simplefilter("error")
        fake_learn(model, callback, total_timesteps=1)
    # frames stacked for training but not for evaluation: warned
    model = FakeModel(VecFrameStack(_vec_env(CountingEnv(length=5)), 2))
    callback = EvalCallback(as_vec_env(CountingEnv(length=5)), n_eval_episodes=1, eval_freq=10, warn=False)
    with pytest.warns(UserWarning, match=r"\['VecFrameStack'\] != \[\]"):
        fake_learn(model, callback, total_timesteps=1)


@pytest.mark.parametrize("algo", ["PPO", "DQN"])
def test_log_every_n_timesteps_writes_the_logs_at_that_pace(tmp_path, algo: str) -> None:
    import baselines3
    from baselines3.common.callbacks import LogEveryNTimesteps
    from baselines3.common.logger import configure, read_csv

    if algo == "PPO":
        model = baselines3.PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, n_epochs=1, seed=0)
        log_interval = 1000  # the algorithm's own logging never fires
    else:
        model = baselines3.DQN("MlpPolicy", "CartPole-v1", learning_starts=1000, seed=0)
        log_interval = 10_000
    model.set_logger(configure(str(tmp_path), ["csv"]))
    model.learn(256, callback=LogEveryNTimesteps(n_steps=100), log_interval=log_interval)
    model.logger.close()
    steps = list(read_csv(str(tmp_path / "progress.csv"))["time/total_timesteps"])
    assert steps == [100, 200]  # the callback runs at every env step, whatever the rollout length


@pytest.mark.parametrize("algo", ["PPO", "SAC"])
def test_function_callbacks_see_the_model_as_self_in_locals(algo):
    import baselines3

    seen = []

    def record(locals_, globals_):
        seen.append(locals_["self"])
        return True

    env = "CartPole-v1" if algo == "PPO" else "Pendulum-v1"
    kwargs = dict(n_steps=64, batch_size=64) if algo == "PPO" else dict(learning_starts=10, buffer_size=200)
    model = getattr(baselines3, algo)("MlpPolicy", env, **kwargs)
    model.learn(64, callback=record)
    assert seen and all(entry is model for entry in seen)
