"""Replay memory for Atari-shaped observations: bytes per transition and sampling time of each buffer.

    python -m benchmarks.replay_memory
    python -m benchmarks.replay_memory --transitions 50000 --batches 5000

Fills ``ReplayBuffer`` (``optimize_memory_usage`` False and True) and ``FrameStackReplayBuffer`` with the same
stream of 84x84x4 uint8 stacks, as DQN sees them after ``VecFrameStack(n_stack=4)`` and ``VecTransposeImage``
(episodes of random length, zero-filled stacks after a reset, terminal next observations), then prints the bytes
each buffer holds per transition (from ``nbytes()``), that figure extrapolated to 1 M transitions, the time of
one ``add()`` (including first writes to fresh memory) and of one ``sample(batch_size)`` (median of 5 rounds).

Sampling gathers frames at random places in a large array, so its time depends on the memory system (cache,
TLB, transparent huge pages) as much as on the code; compare the buffers within one run.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer
from baselines3.common.frame_stack_buffer import FrameStackReplayBuffer

N_STACK, SIZE = 4, 84


class _AtariLikeFrames:
    """Frames that look like a preprocessed Atari screen: a static background, moving objects, some noise."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        rows = np.linspace(0, 90, SIZE, dtype=np.float32)[:, None]
        self.background = (rows + np.zeros((1, SIZE), np.float32)).astype(np.uint8)
        self.background[70:74] = 140  # floor
        self.t = 0

    def __call__(self) -> np.ndarray:
        frame = self.background.copy()
        for k in range(3):  # three objects on different paths
            y = int(10 + 25 * k + 8 * np.sin(0.05 * self.t + k))
            x = (self.t * (k + 1)) % (SIZE - 6)
            frame[y : y + 6, x : x + 6] = 200 + 20 * k
        noisy = self.rng.random((SIZE, SIZE)) < 0.01
        frame[noisy] = self.rng.integers(0, 256, int(noisy.sum()), dtype=np.uint8)
        self.t += 1
        return frame


def atari_stream(n_steps: int, n_envs: int, seed: int = 0) -> Iterator[tuple[Any, ...]]:
    """``add()`` arguments of `n_steps` vec-env steps, as an off-policy algorithm stores them."""
    rng = np.random.default_rng(seed)
    frames = [_AtariLikeFrames(rng) for _ in range(n_envs)]
    stacks = np.zeros((n_envs, N_STACK, SIZE, SIZE), np.uint8)
    left = rng.integers(200, 2000, n_envs)  # steps until each env's episode ends (a lost life, say)
    for i, frame in enumerate(frames):
        stacks[i, -1] = frame()
    for _ in range(n_steps):
        next_stacks = np.concatenate([stacks[:, 1:], np.stack([f() for f in frames])[:, None]], axis=1)
        left -= 1
        dones = left <= 0
        infos: list[dict[str, Any]] = [{} for _ in range(n_envs)]
        new_obs = next_stacks.copy()
        for env in np.flatnonzero(dones):  # the env resets: the stack restarts from zeros
            infos[env]["TimeLimit.truncated"] = bool(rng.random() < 0.1)
            new_obs[env] = 0
            new_obs[env, -1] = frames[env]()
            left[env] = rng.integers(200, 2000)
        yield stacks, next_stacks, rng.integers(0, 6, n_envs), rng.normal(size=n_envs), dones, infos
        stacks = new_obs


def measure(name: str, buffer: ReplayBuffer, n_steps: int, n_envs: int, batch_size: int, n_batches: int) -> dict:
    start = time.perf_counter()
    for step in atari_stream(n_steps, n_envs):
        buffer.add(*step)
    add_s = (time.perf_counter() - start) / n_steps
    for _ in range(20):  # warm up
        buffer.sample(batch_size)
    rounds = []  # random gathers are memory-bound: time several rounds and keep the median
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(max(n_batches // 5, 1)):
            buffer.sample(batch_size)
        rounds.append((time.perf_counter() - start) / max(n_batches // 5, 1))
    sample_s = statistics.median(rounds)
    per_transition = buffer.nbytes() / (buffer.buffer_size * buffer.n_envs)
    return dict(name=name, per_transition=per_transition, add_us=add_s * 1e6, sample_us=sample_s * 1e6)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transitions", type=int, default=20_000, help="transitions stored in each buffer")
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=2_000, help="sample() calls timed")
    args = parser.parse_args(argv)

    space = spaces.Box(0, 255, (N_STACK, SIZE, SIZE), np.uint8)
    action_space = spaces.Discrete(6)
    n_steps = args.transitions // args.n_envs + 500  # wraps around a little
    makers = {
        "ReplayBuffer": lambda: ReplayBuffer(args.transitions, space, action_space, "cpu", args.n_envs),
        "ReplayBuffer(optimize_memory_usage)": lambda: ReplayBuffer(
            args.transitions, space, action_space, "cpu", args.n_envs, optimize_memory_usage=True
        ),
        "FrameStackReplayBuffer": lambda: FrameStackReplayBuffer(
            args.transitions, space, action_space, "cpu", args.n_envs, n_stack=N_STACK
        ),
    }
    print(
        f"{args.transitions} transitions of {N_STACK}x{SIZE}x{SIZE} uint8 stacks, n_envs={args.n_envs}, "
        f"sample(batch_size={args.batch_size}) timed over {args.batches} calls"
    )
    print(f"{'buffer':38s} {'bytes/transition':>17s} {'GB per 1M':>10s} {'add() us':>9s} {'sample() us':>12s}")
    for name, make in makers.items():
        buffer = make()
        row = measure(name, buffer, n_steps, args.n_envs, args.batch_size, args.batches)
        extra = ""
        if isinstance(buffer, FrameStackReplayBuffer):
            extra = f"  ({buffer.n_extra_frames} side frames)"
        print(
            f"{name:38s} {row['per_transition']:17,.0f} {row['per_transition'] * 1e6 / 1e9:10.2f} "
            f"{row['add_us']:9.1f} {row['sample_us']:12.1f}{extra}"
        )
        del buffer
        gc.collect()
    print(f"one {SIZE}x{SIZE} frame is {SIZE * SIZE:,} bytes")


if __name__ == "__main__":
    main()
