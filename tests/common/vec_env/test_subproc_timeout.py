"""SubprocVecEnv(timeout=...): a worker that is alive but does not answer (stopped with SIGSTOP) is reported with
its index and the timeout, the VecEnv refuses further use, and close() still returns promptly."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import time

import gymnasium as gym
import numpy as np
import pytest

from baselines3.common.vec_env import SubprocVecEnv, VecEnvTimeoutError, VecEnvWorkerError
from baselines3.common.vec_env.subproc_vec_env import DEFAULT_WORKER_TIMEOUT

FAST_START = "fork" if "fork" in mp.get_all_start_methods() else None

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs POSIX SIGSTOP")


def make_cartpole() -> gym.Env:
    return gym.make("CartPole-v1")


@pytest.mark.timeout(60)
def test_stopped_worker_raises_timeout_error_and_close_returns() -> None:
    venv = SubprocVecEnv([make_cartpole] * 3, start_method=FAST_START, timeout=1.0)
    stopped = venv.processes[1]
    try:
        venv.reset()
        os.kill(stopped.pid, signal.SIGSTOP)
        start = time.monotonic()
        with pytest.raises(VecEnvTimeoutError) as info:
            venv.step(np.zeros(3, dtype=np.int64))
        waited = time.monotonic() - start
        assert 0.9 < waited < 10.0
        error = info.value
        assert error.env_index == 1 and error.timeout == 1.0
        assert "env 1" in str(error) and "timeout=1 s" in str(error) and str(stopped.pid) in str(error)
        # the batch cannot go on: a late reply would be read as the answer to the next command
        with pytest.raises(VecEnvWorkerError, match="earlier failure"):
            venv.reset()
    finally:
        start = time.monotonic()
        venv.close()
        closing = time.monotonic() - start
    assert closing < 4.0, closing  # the stopped worker is killed at once, not after the close grace period
    assert stopped.exitcode == -signal.SIGKILL
    assert all(not process.is_alive() for process in venv.processes)


@pytest.mark.timeout(60)
def test_timeout_applies_to_env_method_and_reset() -> None:
    venv = SubprocVecEnv([make_cartpole] * 2, start_method=FAST_START, timeout=0.5)
    try:
        venv.reset()
        os.kill(venv.processes[0].pid, signal.SIGSTOP)
        with pytest.raises(VecEnvTimeoutError, match=r"env 0 .* did not answer env_method"):
            venv.env_method("reset")
    finally:
        venv.close()
    assert not venv.processes[0].is_alive()


@pytest.mark.timeout(60)
def test_a_slow_but_answering_env_within_timeout_is_fine() -> None:
    venv = SubprocVecEnv([make_cartpole], start_method=FAST_START, timeout=5.0)
    try:
        venv.reset()
        os.kill(venv.processes[0].pid, signal.SIGSTOP)
        venv.step_async(np.zeros(1, dtype=np.int64))
        time.sleep(0.6)  # longer than a step, shorter than the timeout
        os.kill(venv.processes[0].pid, signal.SIGCONT)
        obs, rewards, _, _ = venv.step_wait()
        assert obs.shape == (1, 4) and rewards.shape == (1,)
    finally:
        venv.close()


def test_timeout_default_and_validation() -> None:
    assert DEFAULT_WORKER_TIMEOUT == 600.0
    for bad in (0, -1.0, float("inf"), "10", True):
        with pytest.raises(ValueError, match="timeout must be a number of seconds > 0, or None"):
            SubprocVecEnv([make_cartpole], start_method=FAST_START, timeout=bad)  # type: ignore[arg-type]


@pytest.mark.timeout(60)
def test_no_timeout_waits_like_sb3() -> None:
    venv = SubprocVecEnv([make_cartpole], start_method=FAST_START, timeout=None)
    try:
        assert venv.timeout is None
        venv.reset()
    finally:
        venv.close()


def test_timeout_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(VecEnvTimeoutError("env 2 hung", 2, 3.0)))
    assert isinstance(error, VecEnvTimeoutError) and error.env_index == 2 and error.timeout == 3.0
