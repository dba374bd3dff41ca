"""The bad-input catalog of runtime cases: hyperparameters, spaces, envs that break gymnasium's API, NaN data and
hung or dead workers. Each case asserts the library's error type and a fragment of its message (what is wrong and
what would be right), or a documented behaviour; none passes silently and none hangs (each has a time limit).
Loading files has its own catalog (the fuzzer and the load tests)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from baselines3.common.env_util import make_vec_env
from baselines3.common.evaluation import evaluate_policy
from baselines3.common.finite import NonFiniteTrainingError
from baselines3.common.noise import NormalActionNoise
from baselines3.common.preprocessing import check_predict_observation
from baselines3.common.vec_env import (
    DummyVecEnv,
    EnvContractError,
    SubprocVecEnv,
    VecCheckNan,
    VecEnvTimeoutError,
    VecEnvWorkerError,
    VecFrameStack,
    VecNormalize,
)

FAST_START = "fork" if "fork" in mp.get_all_start_methods() else None
SMALL_PPO = {"n_steps": 16, "batch_size": 8}


class ToyEnv(gym.Env):
    """A 10-step env whose results can be broken one at a time (module level: SubprocVecEnv pickles it)."""

    def __init__(
        self,
        continuous: bool = False,
        action_space: spaces.Space[Any] | None = None,
        obs: Callable[[], Any] | None = None,
        step_result: Callable[[], Any] | None = None,
        reset_result: Callable[[], Any] | None = None,
        reward: float = 0.0,
        bad_reward_at: int | None = None,
    ) -> None:
        self.observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        if action_space is None:
            action_space = spaces.Box(-1.0, 1.0, (1,), np.float32) if continuous else spaces.Discrete(2)
        self.action_space = action_space
        self._obs = obs or (lambda: np.zeros(3, np.float32))
        self._step_result, self._reset_result = step_result, reset_result
        self._reward, self._bad_reward_at = reward, bad_reward_at
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        return self._reset_result() if self._reset_result else (self._obs(), {})

    def step(self, action: Any) -> Any:
        self.steps += 1
        if self._step_result:
            return self._step_result()
        reward = self._reward if self.steps == self._bad_reward_at else 0.0
        return self._obs(), reward, False, self.steps % 10 == 0, {}


def four_tuple() -> Any:
    return np.zeros(3, np.float32), 0.0, False, {}


def obs_only() -> Any:
    return np.zeros(3, np.float32)


def short_obs() -> Any:
    return np.zeros(2, np.float32)


def nan_obs() -> Any:
    return np.full(3, np.nan, np.float32)


def raise_in_step() -> Any:
    raise RuntimeError("the simulator crashed")


def exit_in_step() -> Any:
    os._exit(3)


def dummy(**kwargs: Any) -> DummyVecEnv:
    return DummyVecEnv([lambda: ToyEnv(**kwargs)])


def run_env(venv: Any, steps: int = 3) -> None:
    try:
        venv.reset()
        for _ in range(steps):
            venv.step(np.array([venv.action_space.sample() for _ in range(venv.num_envs)]))
    finally:
        venv.close()


def hung_worker() -> None:
    venv = SubprocVecEnv([ToyEnv, ToyEnv], start_method=FAST_START, timeout=0.5)
    try:
        venv.reset()
        os.kill(venv.processes[1].pid, signal.SIGSTOP)
        venv.step(np.zeros(2, dtype=np.int64))
    finally:
        venv.close()


def killed_worker() -> None:
    venv = SubprocVecEnv([ToyEnv, ToyEnv], start_method=FAST_START)
    try:
        venv.reset()
        os.kill(venv.processes[0].pid, signal.SIGKILL)
        venv.step(np.zeros(2, dtype=np.int64))
    finally:
        venv.close()


class Case(NamedTuple):
    run: Callable[[], Any]
    error: type[BaseException]
    fragment: str  # a regular expression searched in the message


def unbounded(algo: type) -> Callable[[], Any]:
    space = spaces.Box(-np.inf, np.inf, (2,), np.float32)
    return lambda: algo("MlpPolicy", ToyEnv(action_space=space))


CASES: dict[str, Case] = {
    # --- hyperparameters
    "PPO negative learning_rate": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", learning_rate=-1.0), ValueError, "learning.rate.*-1"
    ),
    "PPO NaN learning_rate": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", learning_rate=float("nan")), ValueError, "finite.*nan"
    ),
    "PPO batch_size 0": Case(lambda: PPO("MlpPolicy", "CartPole-v1", batch_size=0), ValueError, "batch_size.*0"),
    "PPO n_steps * n_envs < 2": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", n_steps=1, batch_size=2), ValueError, r"n_steps \* n_envs must be > 1"
    ),
    "PPO gamma > 1": Case(lambda: PPO("MlpPolicy", "CartPole-v1", gamma=1.5), ValueError, r"gamma.*\[0, 1\].*1\.5"),
    "PPO gae_lambda > 1": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", gae_lambda=1.5), ValueError, r"gae_lambda.*\[0, 1\]"
    ),
    "PPO negative clip_range": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", clip_range=-0.1), ValueError, "clip_range must be > 0"
    ),
    "PPO n_epochs 0": Case(lambda: PPO("MlpPolicy", "CartPole-v1", n_epochs=0), ValueError, "n_epochs must be >= 1"),
    "PPO negative max_grad_norm": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", max_grad_norm=-1), ValueError, "max_grad_norm must be > 0"
    ),
    "PPO NaN vf_coef: caught at the first update": Case(
        lambda: PPO("MlpPolicy", ToyEnv(), vf_coef=float("nan"), **SMALL_PPO).learn(32),
        NonFiniteTrainingError,
        r"update 1 .*actor-critic loss",
    ),
    "A2C n_steps 0": Case(lambda: A2C("MlpPolicy", "CartPole-v1", n_steps=0), ValueError, "n_steps must be >= 1"),
    "DQN buffer_size 0": Case(
        lambda: DQN("MlpPolicy", "CartPole-v1", buffer_size=0), ValueError, "buffer_size must be >= 1"
    ),
    "DQN exploration_fraction > 1": Case(
        lambda: DQN("MlpPolicy", "CartPole-v1", exploration_fraction=2.0), ValueError, r"\[0, 1\], got 2\.0"
    ),
    "SAC tau > 1": Case(lambda: SAC("MlpPolicy", "Pendulum-v1", tau=2.0), ValueError, r"tau must be in \[0, 1\]"),
    "SAC ent_coef typo": Case(
        lambda: SAC("MlpPolicy", "Pendulum-v1", ent_coef="autox"), ValueError, "'auto' or 'auto_<initial value>'"
    ),
    "SAC negative ent_coef": Case(
        lambda: SAC("MlpPolicy", "Pendulum-v1", ent_coef=-1.0), ValueError, "ent_coef must be >= 0"
    ),
    "SAC train_freq unit": Case(
        lambda: SAC("MlpPolicy", "Pendulum-v1", train_freq=(1, "minute")), ValueError, "'step' or 'episode'"
    ),
    "SAC replay buffer larger than memory": Case(
        lambda: SAC("MlpPolicy", "Pendulum-v1", buffer_size=10**13), MemoryError, "buffer_size=10000000000000"
    ),
    "TD3 policy_delay 0": Case(
        lambda: TD3("MlpPolicy", "Pendulum-v1", policy_delay=0), ValueError, "policy_delay must be >= 1"
    ),
    "TD3 action noise of the wrong shape": Case(
        lambda: TD3("MlpPolicy", "Pendulum-v1", action_noise=NormalActionNoise(np.zeros(3), np.ones(3))),
        ValueError,
        r"action_noise samples have shape \(3,\).*need \(1,\)",
    ),
    "negative total_timesteps": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", **SMALL_PPO).learn(-5), ValueError, "total_timesteps must be >= 0"
    ),
    "callback of the wrong type": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", **SMALL_PPO).learn(16, callback=42),
        TypeError,
        "callback must be a BaseCallback",
    ),
    "unknown device": Case(lambda: PPO("MlpPolicy", "CartPole-v1", device="tpu"), ValueError, "Invalid device 'tpu'"),
    "negative layer width": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [64, -1]}),
        ValueError,
        "net_arch layer sizes must be positive",
    ),
    # --- policies and spaces
    "wrong policy string": Case(lambda: PPO("MlpPolcy", "CartPole-v1"), ValueError, "Unknown policy 'MlpPolcy'"),
    "Discrete actions for SAC": Case(
        lambda: SAC("MlpPolicy", "CartPole-v1"), ValueError, r"SAC does not support .*Discrete.*supported: Box"
    ),
    "Box actions for DQN": Case(
        lambda: DQN("MlpPolicy", "Pendulum-v1"), ValueError, "DQN does not support .*Box.*supported: Discrete"
    ),
    "gSDE with Discrete actions": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", use_sde=True), ValueError, "gSDE .* needs a Box action space"
    ),
    "SAC unbounded actions": Case(unbounded(SAC), ValueError, "SAC needs finite action bounds"),
    "TD3 unbounded actions": Case(unbounded(TD3), ValueError, "TD3 needs finite action bounds"),
    "DDPG unbounded actions": Case(unbounded(DDPG), ValueError, "DDPG needs finite action bounds"),
    "set_env with other spaces": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", **SMALL_PPO).set_env(make_vec_env("Pendulum-v1")),
        ValueError,
        "Observation spaces do not match",
    ),
    "unknown env id": Case(lambda: PPO("MlpPolicy", "CartPol-v9"), gym.error.NameNotFound, "Did you mean"),
    "predict on an (obs, info) tuple": Case(
        lambda: check_predict_observation(gym.make("CartPole-v1").reset(seed=0), spaces.Box(-1, 1, (4,))),
        ValueError,
        r"\(observation, info\) tuple.*obs, info = env.reset\(\)",
    ),
    "predict with a dict for a Box policy": Case(
        lambda: check_predict_observation({"obs": np.zeros(4)}, spaces.Box(-1, 1, (4,))),
        ValueError,
        "got a dict observation",
    ),
    "predict with the wrong shape": Case(
        lambda: PPO("MlpPolicy", "CartPole-v1", **SMALL_PPO).predict(np.zeros(3)),
        ValueError,
        r"Unexpected observation shape \(3,\).*expected \(4,\)",
    ),
    # --- vectorized envs and wrappers
    "make_vec_env n_envs 0": Case(lambda: make_vec_env("CartPole-v1", n_envs=0), ValueError, "n_envs must be"),
    "one env instance for several envs": Case(
        lambda: (lambda env: DummyVecEnv([lambda: env, lambda: env]))(ToyEnv()), ValueError, "same env instance"
    ),
    "env instance instead of functions": Case(
        lambda: DummyVecEnv(ToyEnv()),  # type: ignore[arg-type]
        TypeError,
        "list of functions that create envs",
    ),
    "wrong number of actions": Case(
        lambda: make_vec_env("CartPole-v1", n_envs=2).step(np.zeros(3, dtype=np.int64)),
        ValueError,
        r"one action per env \(2\), got 3",
    ),
    "VecFrameStack n_stack 0": Case(
        lambda: VecFrameStack(make_vec_env("CartPole-v1"), n_stack=0), ValueError, "n_stack must be a positive"
    ),
    "VecNormalize of Discrete observations": Case(
        lambda: VecNormalize(make_vec_env("FrozenLake-v1")), ValueError, "norm_obs=False"
    ),
    "evaluate_policy with 0 episodes": Case(
        lambda: evaluate_policy(PPO("MlpPolicy", "CartPole-v1", **SMALL_PPO), make_vec_env("CartPole-v1"), 0),
        ValueError,
        "n_eval_episodes must be at least 1",
    ),
    "SubprocVecEnv timeout 0": Case(
        lambda: SubprocVecEnv([ToyEnv], timeout=0), ValueError, "timeout must be a number of seconds > 0"
    ),
    # --- envs that break gymnasium's API
    "observation of the wrong shape": Case(
        lambda: run_env(dummy(obs=short_obs)), EnvContractError, r"Env 0 \(ToyEnv\): reset\(\).*shape \(2,\).*\(3,\)"
    ),
    "observation of the wrong shape (subprocess)": Case(
        lambda: run_env(SubprocVecEnv([lambda: ToyEnv(obs=short_obs)], start_method=FAST_START)),
        EnvContractError,
        r"Env 0: reset\(\).*shape \(2,\)",
    ),
    "4-tuple step (old gym API)": Case(
        lambda: run_env(dummy(step_result=four_tuple)), EnvContractError, "returned 4 values.*old gym API"
    ),
    "reset without info": Case(
        lambda: run_env(dummy(reset_result=obs_only)), EnvContractError, r"reset\(\) must return \(observation, info\)"
    ),
    "4-tuple step inside PPO": Case(
        lambda: PPO("MlpPolicy", ToyEnv(step_result=four_tuple), **SMALL_PPO).learn(16),
        EnvContractError,
        "returned 4 values",
    ),
    "env error in a worker": Case(
        lambda: run_env(SubprocVecEnv([lambda: ToyEnv(step_result=raise_in_step)], start_method=FAST_START)),
        VecEnvWorkerError,
        "Env 0 raised RuntimeError during step.*the simulator crashed",
    ),
    "worker exits during step": Case(
        lambda: run_env(SubprocVecEnv([lambda: ToyEnv(step_result=exit_in_step)], start_method=FAST_START)),
        VecEnvWorkerError,
        "env 0 .* exited with code 3",
    ),
    "killed worker": Case(killed_worker, VecEnvWorkerError, "env 0 .*killed by signal SIGKILL"),
    "hung worker (SIGSTOP)": Case(hung_worker, VecEnvTimeoutError, r"env 1 .*did not answer step within timeout=0\.5"),
    # --- NaN and inf
    "NaN reward, PPO": Case(
        lambda: PPO("MlpPolicy", ToyEnv(reward=float("nan"), bad_reward_at=5), **SMALL_PPO).learn(64),
        NonFiniteTrainingError,
        r"rewards\[.*\] = nan.*VecCheckNan",
    ),
    "inf reward, SAC": Case(
        lambda: SAC("MlpPolicy", ToyEnv(True, reward=float("inf"), bad_reward_at=12), learning_starts=10).learn(60),
        NonFiniteTrainingError,
        r"critic.*rewards\[.*\] = inf",
    ),
    "NaN observations, DQN": Case(
        lambda: DQN("MlpPolicy", ToyEnv(obs=nan_obs), learning_starts=5, train_freq=1, batch_size=4).learn(20),
        NonFiniteTrainingError,
        r"observations\[.*\] = nan",
    ),
    "NaN reward under VecCheckNan": Case(
        lambda: run_env(VecCheckNan(dummy(reward=float("nan"), bad_reward_at=2), raise_exception=True)),
        ValueError,
        "rewards",
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_refused_clearly(name: str) -> None:
    case = CASES[name]
    if "SIG" in name and not hasattr(signal, "SIGSTOP"):
        pytest.skip("needs POSIX signals")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium's passive checker warns about some of these envs first
        with pytest.raises(case.error, match=case.fragment):
            case.run()


def test_catalog_size() -> None:
    assert len(CASES) >= 35


@pytest.mark.timeout(60)
def test_model_predict_on_reset_tuple_names_the_fix() -> None:
    model = PPO("MlpPolicy", "CartPole-v1", **SMALL_PPO)
    with pytest.raises(ValueError, match=r"\(observation, info\) tuple"):
        model.predict(gym.make("CartPole-v1").reset(seed=0))  # type: ignore[arg-type]
