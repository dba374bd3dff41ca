"""Replay buffer for stacked-frame image observations (Atari) that keeps each frame once.

``FrameStackReplayBuffer`` is a ``ReplayBuffer`` whose storage keeps observations in a
``FrameStackObservations`` layout (``baselines3/common/replay/frame_storage.py``): a frame store plus, per
transition, the index of each frame of its observation and next observation. Samples are bit-identical to a
``ReplayBuffer`` fed the same ``add()`` calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common.buffers import ReplayBuffer
from baselines3.common.replay.frame_storage import FrameStackObservations, frame_layout
from baselines3.common.replay.sampling import UniformSampler

__all__ = ["FrameStackReplayBuffer"]


class FrameStackReplayBuffer(ReplayBuffer):
    """``ReplayBuffer`` for stacked-frame uint8 images that stores each frame about once.

    ``frames`` holds the frames; ``observations`` and ``next_observations`` hold, per transition, ``n_stack``
    frame references (int indices), *not* images (see ``FrameStackObservations``). Sampling, index
    distribution (``optimize_memory_usage`` only changes which slots are drawn, exactly as in ``ReplayBuffer``),
    time-limit handling and save/load behave like ``ReplayBuffer``.

    :param n_stack: number of frames in one observation (``VecFrameStack``'s ``n_stack``)
    :param stack_axis: 0 for channel-first stacks (C*n_stack, H, W) (after ``VecTransposeImage``), -1 for
        channel-last stacks (H, W, C*n_stack); None infers it (the first or last axis divisible by n_stack,
        the smaller one if both are; an error if they are equal).
        The newest frame is the last C channels.
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        n_stack: int = 4,
        stack_axis: int | str | None = None,
    ) -> None:
        layout = frame_layout(observation_space, n_stack, stack_axis)  # TypeError/ValueError naming the space
        assert isinstance(observation_space, spaces.Box)
        self.frame_store = FrameStackObservations(observation_space, layout, excludes_oldest=optimize_memory_usage)
        self._assemble(
            self.frame_store,
            UniformSampler(),
            buffer_size,
            observation_space,
            action_space,
            device,
            n_envs,
            optimize_memory_usage,
            handle_timeout_termination,
        )

    @property
    def n_stack(self) -> int:
        return self.frame_store.n_stack

    @property
    def stack_axis(self) -> int:
        """0 (channel-first stacks) or -1 (channel-last)."""
        return self.frame_store.stack_axis

    @property
    def frame_shape(self) -> tuple[int, ...]:
        return self.frame_store.frame_shape

    @property
    def frames(self) -> np.ndarray:
        """The frame store: the newest frame of every stored next observation, plus one all-zero frame."""
        return self.frame_store.frames

    @property
    def n_extra_frames(self) -> int:
        """Frames currently held in the side store (episode starts and frames that did not match)."""
        return self.frame_store.n_extra_frames
