"""The torch thread default of `learn()` (baselines3.common.threads): one thread for small models or a busy
machine, the free cores for large models, and the user's own setting always kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from baselines3.common import threads
from baselines3.common.threads import LARGE_STEP_FLOPS, choose_thread_count


def test_small_models_get_one_thread_even_on_an_idle_machine():
    assert choose_thread_count(3.5e6, has_conv=False, cores=16, busy=0.0, default=16) == 1  # PPO CartPole


def test_large_models_get_the_free_cores_at_most_torchs_default():
    sac = 5.2e8  # SAC's default [256, 256] networks at batch 256
    assert sac > LARGE_STEP_FLOPS
    assert choose_thread_count(sac, has_conv=False, cores=16, busy=0.0, default=16) == 16
    assert choose_thread_count(sac, has_conv=False, cores=16, busy=5.6, default=16) == 10
    assert choose_thread_count(sac, has_conv=False, cores=16, busy=0.0, default=8) == 8


def test_any_convolution_counts_as_large():
    assert choose_thread_count(1e6, has_conv=True, cores=4, busy=0.0, default=4) == 4


def test_a_busy_machine_gives_one_thread_to_large_models_too():
    # 2 cores, one kept busy by another process: two threads made every step 7-100x slower (docs/speed.md)
    assert choose_thread_count(1e9, has_conv=True, cores=2, busy=1.0, default=2) == 1
    assert choose_thread_count(1e9, has_conv=True, cores=2, busy=0.8, default=2) == 1
    assert choose_thread_count(1e9, has_conv=True, cores=2, busy=0.1, default=2) == 2


def test_the_environment_variables_are_the_users_setting(monkeypatch):
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.user_thread_setting() == "OMP_NUM_THREADS=3"
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setenv("MKL_NUM_THREADS", "2")
    assert threads.user_thread_setting() == "MKL_NUM_THREADS=2"


def test_a_count_other_than_the_last_chosen_is_the_users(monkeypatch):
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    current = torch.get_num_threads()
    monkeypatch.setattr(threads, "_last_chosen", current)
    assert threads.user_thread_setting() is None
    monkeypatch.setattr(threads, "_last_chosen", current + 1)
    assert threads.user_thread_setting() == f"torch.set_num_threads({current})"


def run_fresh(code: str, **env: str) -> str:
    """`code` in a new interpreter (torch at its own default), without the thread variables unless given."""
    clean = {key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout.strip()


LEARN = """
    import torch
    from baselines3 import PPO
    {before}
    print(torch.get_num_threads())
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, n_epochs=1)
    model.learn(64)
    print(torch.get_num_threads())
"""


@pytest.mark.skipif(threads.physical_cores() < 2, reason="one core: torch's default is already one thread")
def test_learn_gives_a_small_model_one_thread_and_keeps_a_users_count():
    other = threads.physical_cores() + 1  # a count torch would not pick by itself
    # one thread from the import on (building the model too), and for a small model's learn(); a count the user
    # sets between two learn() calls stays for the second
    again = LEARN.format(before="") + "    torch.set_num_threads(2)\n    model.learn(64)\n"
    again += "    print(torch.get_num_threads())\n"
    assert run_fresh(again).split() == ["1", "1", "2"]
    before_import = f"import torch\ntorch.set_num_threads({other})\n" + textwrap.dedent(LEARN.format(before=""))
    assert run_fresh(before_import).split() == [str(other)] * 2
    assert run_fresh(LEARN.format(before=""), OMP_NUM_THREADS="2").split() == ["2", "2"]
