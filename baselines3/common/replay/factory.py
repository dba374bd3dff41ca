"""Which replay buffer an off-policy model gets: one explicit rule, used when the model is built and when a saved
buffer is loaded into it.

1. ``n_steps > 1``: ``NStepReplayBuffer`` (a ``replay_buffer_class`` given with it must be that class);
2. a ``replay_buffer_class``: that class, handed the model's env when it takes one (``takes_env``: HER);
3. no class, and the env stacks image frames (a ``VecFrameStack`` with ``n_stack > 1``) in a layout that
   frame-by-frame storage handles: ``FrameStackReplayBuffer`` (same samples, each frame stored once);
4. otherwise ``DictReplayBuffer`` for Dict observations, else ``ReplayBuffer``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from baselines3.common.buffers import (
    NStepReplayBuffer,
    ReplayBuffer,
    default_replay_buffer_class,
    saved_buffer_kinds,
)
from baselines3.common.frame_stack_buffer import FrameStackReplayBuffer
from baselines3.common.preprocessing import is_image_space
from baselines3.common.replay.frame_storage import FrameLayout, resolve_frame_layout
from baselines3.common.vec_env import VecFrameStack, unwrap_vec_wrapper

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm


def stacked_frames(model: BaseAlgorithm) -> int:
    """n_stack of the model env's VecFrameStack when it stacks image frames, else 0."""
    if model.env is None or not is_image_space(model.observation_space):
        return 0
    frame_stack = unwrap_vec_wrapper(model.env, VecFrameStack)
    return 0 if frame_stack is None else int(frame_stack.n_stack)


def make_replay_buffer(
    model: BaseAlgorithm,
    buffer_size: int,
    optimize_memory_usage: bool,
    replay_buffer_class: type[ReplayBuffer] | None,
    replay_buffer_kwargs: dict[str, Any] | None,
    n_steps: int = 1,
    gamma: float = 0.99,
) -> ReplayBuffer:
    """The replay buffer chosen by the rule in this module's docstring, for `model`'s spaces, device and envs."""
    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps}")
    kwargs = dict(replay_buffer_kwargs or {})
    if n_steps > 1:
        if replay_buffer_class not in (None, NStepReplayBuffer):
            raise ValueError(f"n_steps > 1 needs NStepReplayBuffer, got replay_buffer_class={replay_buffer_class}")
        buffer_class: type[ReplayBuffer] = NStepReplayBuffer
        kwargs.update(n_steps=n_steps, gamma=gamma)
    elif replay_buffer_class is not None:
        buffer_class = replay_buffer_class
    else:
        buffer_class = default_replay_buffer_class(model.observation_space)
        n_stack = stacked_frames(model)
        if n_stack > 1:
            kwargs = {"n_stack": n_stack, **kwargs}
            layout = resolve_frame_layout(model.observation_space, kwargs["n_stack"], kwargs.get("stack_axis"))
            if isinstance(layout, FrameLayout):
                buffer_class = FrameStackReplayBuffer
            else:  # a layout frame storage does not handle: plain storage
                kwargs = dict(replay_buffer_kwargs or {})
    if not (isinstance(buffer_class, type) and issubclass(buffer_class, ReplayBuffer)):
        raise TypeError(f"replay_buffer_class must be a ReplayBuffer subclass, got {buffer_class!r}")
    if buffer_class.takes_env:
        if model.env is None:
            raise ValueError(
                f"{buffer_class.__name__} needs the model's env (to recompute rewards): pass env to the model"
            )
        kwargs["env"] = model.env
    return buffer_class(
        buffer_size,
        model.observation_space,
        model.action_space,
        device=model.device,
        n_envs=model.n_envs,
        optimize_memory_usage=optimize_memory_usage,
        **kwargs,
    )


def buffer_for_saved(model: BaseAlgorithm, buffer: ReplayBuffer, meta: dict[str, Any]) -> ReplayBuffer:
    """The buffer to load a file with metadata `meta` into: `buffer` itself, or, when the model chose it by rule
    3 or 4 (no `replay_buffer_class`, uniform sampling) and the file holds the other of those two kinds (plain
    or frame-by-frame storage, which sample the same), a fresh buffer of the saved kind. A model loaded without
    its frame-stacked env can so still take its saved Atari buffer."""
    storage, sampling = saved_buffer_kinds(meta)
    chosen_by_rule = getattr(model, "replay_buffer_class", None) is None and buffer.sampler.kind == "uniform"
    if not chosen_by_rule or sampling != "uniform":
        return buffer
    has_frames = buffer.storage.layout.kind == "frames"
    if (storage == "frames") == has_frames:
        return buffer
    size, n_envs = int(meta["buffer_size"]) * int(meta["n_envs"]), int(meta["n_envs"])
    spaces_ = (model.observation_space, model.action_space)
    optimize_memory_usage = bool(meta["optimize_memory_usage"])
    if has_frames:
        return ReplayBuffer(size, *spaces_, model.device, n_envs, optimize_memory_usage)
    layout = resolve_frame_layout(model.observation_space, int(meta["n_stack"]), int(meta["stack_axis"]))
    if not isinstance(layout, FrameLayout):
        return buffer  # the spaces differ: loading says so
    return FrameStackReplayBuffer(
        size, *spaces_, model.device, n_envs, optimize_memory_usage, n_stack=layout.n_stack, stack_axis=layout.axis
    )
