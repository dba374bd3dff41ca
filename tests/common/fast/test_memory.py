"""The heap policy for CPU training (`baselines3.common.fast.memory`): freed batch-sized blocks stay in the
process, set once by the first update on CPU, and never where the user or the platform chose otherwise."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap

import pytest

from baselines3.common.fast import memory

ON_GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
glibc_only = pytest.mark.skipif(not ON_GLIBC, reason="the policy is glibc's mallopt")


def _run(code: str, **environment: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "BASELINES3_FAST"}
    env.update(environment)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


# Three 24 MB blocks filled and freed per round, as a CNN minibatch allocates its images and activations. glibc's
# own thresholds move with the process's history, so the script first fixes them at their initial values (128 KiB):
# every round then maps its blocks afresh and faults their pages in; the policy must undo that.
FAULTS_PER_ROUND = """
import ctypes
import resource
import torch
from baselines3.common.fast import memory

def median_faults_per_round():
    def one_round():
        blocks = [torch.ones(6 * 1024 * 1024) for _ in range(3)]
        del blocks
    rounds = []
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        one_round()
        rounds.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return sorted(rounds)[2]

mallopt = ctypes.CDLL(None).mallopt
mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
assert mallopt(-1, 128 * 1024) == 1 and mallopt(-3, 128 * 1024) == 1  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
initial = median_faults_per_round()
applied = memory.retain_freed_memory()
median_faults_per_round()  # the first round after the change maps the heap's new memory once
print(initial, applied, median_faults_per_round())
"""


@glibc_only
def test_freed_blocks_stay_in_the_process_once_the_policy_is_set():
    initial, applied, retained = _run(FAULTS_PER_ROUND).split()
    assert applied == "True"
    assert float(initial) > 10_000  # 72 MB in 4 KiB pages, faulted in again each round
    assert float(retained) < 100


@glibc_only
def test_the_first_update_on_cpu_sets_it_unless_the_environment_chose():
    code = """
    from baselines3 import PPO
    from baselines3.common.fast import memory
    before = memory._applied
    PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, n_epochs=1, device="cpu").learn(32)
    print(before, memory._applied)
    """
    assert _run(code) == "False True"
    assert _run(code, MALLOC_TRIM_THRESHOLD_="1000000") == "False False"
    assert _run(code, BASELINES3_FAST="0") == "False False"


def test_the_reason_names_what_the_user_chose(monkeypatch):
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.setattr(memory.switch, "_ENABLED", True)  # the seam on, whatever BASELINES3_FAST says
    with monkeypatch.context() as patched:
        patched.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
        reason = memory.heap_policy_reason()
        assert reason is not None and "MALLOC_MMAP_THRESHOLD_" in reason
    with monkeypatch.context() as patched:
        patched.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=1000")
        assert "GLIBC_TUNABLES" in (memory.heap_policy_reason() or "")
    with monkeypatch.context() as patched:
        patched.setenv("LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
        assert "another allocator" in (memory.heap_policy_reason() or "")
    with monkeypatch.context() as patched:
        patched.setattr(memory.switch, "_ENABLED", False)
        assert "BASELINES3_FAST" in (memory.heap_policy_reason() or "")
    if ON_GLIBC:
        assert memory.heap_policy_reason() is None
