"""What a model zip keeps for resuming training exactly: RNG states and the collector's episode statistics.

The optional member ``training_state.json`` holds the states of PyTorch's RNG (CPU, and CUDA devices when there
are any), NumPy's global RNG (which the action noise and the replay buffer's sampling draw from), Python's
``random``, the action space's own generator (random actions before ``learning_starts``), the action noise's
own state (Ornstein-Uhlenbeck's last value) and the finished episodes' statistics. Loading restores them after
the model is rebuilt (the constructor's seeding would otherwise overwrite them); files without the member load
as before.

Guarantee (see ``docs/save_format.md``): on CPU, with a deterministic env, a model saved between ``learn()``
calls at an episode boundary of every env (and, off-policy, its replay buffer) continues with
``learn(..., reset_num_timesteps=False)`` to the same parameters, bit for bit, as training straight through.
"""

from __future__ import annotations

import base64
import json
import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from baselines3.common.noise import ActionNoise, OrnsteinUhlenbeckActionNoise, VectorizedActionNoise
from baselines3.common.serialization.errors import ModelLoadError

if TYPE_CHECKING:
    from baselines3.common.base_class import BaseAlgorithm

__all__ = ["TRAINING_STATE_VERSION", "check_training_state", "dumps", "read_training_state", "training_state"]

TRAINING_STATE_VERSION = 1
_MT_WORDS = 624


def _tensor_state(state: torch.Tensor) -> str:
    return base64.b64encode(state.numpy().tobytes()).decode("ascii")


def _noise_state(noise: Any) -> Any:
    """The part of a noise object that changes while it is used (memoryless noise has none)."""
    if isinstance(noise, OrnsteinUhlenbeckActionNoise):
        return noise.noise_prev.tolist()
    if isinstance(noise, VectorizedActionNoise):
        return [_noise_state(sub) for sub in noise.noises]
    return None


def training_state(model: BaseAlgorithm) -> dict[str, Any]:
    """The RNG states, action-noise state and episode statistics of ``model``, as JSON. Reads only: no RNG is
    advanced (an action space that never drew keeps no generator and none is saved)."""
    np_state = np.random.get_state(legacy=True)
    assert isinstance(np_state, tuple)
    py_version, py_words, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "version": TRAINING_STATE_VERSION,
        "torch": _tensor_state(torch.get_rng_state()),
        "numpy": {
            "key": np_state[1].tolist(),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {"version": py_version, "words": list(py_words), "gauss_next": py_gauss},
    }
    if torch.cuda.is_available():
        state["torch_cuda"] = [_tensor_state(s) for s in torch.cuda.get_rng_state_all()]
    generator = getattr(getattr(model, "action_space", None), "_np_random", None)
    if isinstance(generator, np.random.Generator):
        state["action_space"] = generator.bit_generator.state
    noise = getattr(model, "action_noise", None)
    if isinstance(noise, ActionNoise) and _noise_state(noise) is not None:
        state["action_noise"] = _noise_state(noise)
    runner = getattr(model, "runner", None)
    if runner is not None and runner.ep_info_buffer is not None:
        state["ep_info_buffer"] = [
            {
                key: float(value)
                for key, value in info.items()
                if isinstance(value, (int, float, np.number)) and np.isfinite(value)
            }
            for info in runner.ep_info_buffer
        ]
        state["ep_success_buffer"] = [bool(flag) for flag in (runner.ep_success_buffer or ())]
    return state


def read_training_state(raw: bytes | None, label: str) -> dict[str, Any] | None:
    """The JSON object of a ``training_state.json`` member (None when the file has none)."""
    if raw is None:
        return None
    try:
        state = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ModelLoadError(f"{label}: member 'training_state.json' is malformed: {error!r}") from error
    if not isinstance(state, dict):
        raise ModelLoadError(f"{label}: member 'training_state.json' must hold a JSON object")
    return state


def _words(value: Any, count: int, field: str, label: str) -> list[int]:
    if (
        not isinstance(value, list)
        or len(value) != count
        or not all(isinstance(w, int) and not isinstance(w, bool) and 0 <= w < 2**32 for w in value)
    ):
        raise ModelLoadError(f"{label}: training_state.json: {field!r} must be {count} integers in [0, 2**32)")
    return value


def _generator_state(value: Any, field: str, label: str) -> torch.Tensor:
    reference = torch.get_rng_state()
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True) if isinstance(value, str) else b""
    except (ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != reference.numel():
        raise ModelLoadError(
            f"{label}: training_state.json: {field!r} must be {reference.numel()} bytes (base64), got {len(raw)}"
        )
    tensor = torch.frombuffer(bytearray(raw), dtype=torch.uint8).clone()
    try:
        torch.Generator().set_state(tensor)  # on a scratch generator: nothing changes until everything is checked
    except (RuntimeError, ValueError) as error:
        raise ModelLoadError(f"{label}: training_state.json: {field!r} is not a PyTorch RNG state: {error}") from error
    return tensor


def _noise_arrays(noise: Any, value: Any, at: str, label: str) -> list[tuple[Any, np.ndarray]]:
    """(noise object, its new last value) pairs, checked against the model's own noise."""
    if isinstance(noise, VectorizedActionNoise):
        if not isinstance(value, list) or len(value) != len(noise.noises):
            raise ModelLoadError(f"{label}: training_state.json: {at!r} must list {len(noise.noises)} noise states")
        return [pair for sub, item in zip(noise.noises, value) for pair in _noise_arrays(sub, item, at, label)]
    if isinstance(noise, OrnsteinUhlenbeckActionNoise):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError) as error:
            raise ModelLoadError(f"{label}: training_state.json: {at!r} is not numeric: {error}") from error
        if array.shape != noise.noise_prev.shape or not np.all(np.isfinite(array)):
            raise ModelLoadError(
                f"{label}: training_state.json: {at!r} must be finite values of shape {noise.noise_prev.shape}, "
                f"got shape {array.shape}"
            )
        return [(noise, array)]
    return []


def check_training_state(model: BaseAlgorithm, state: dict[str, Any], label: str) -> Callable[[], None]:
    """Check a saved training state against ``model`` and this process; returns the function that applies it
    (nothing is changed before every part has been checked)."""
    where = f"{label}: training_state.json"
    if state.get("version") != TRAINING_STATE_VERSION:
        raise ModelLoadError(f"{where}: version {state.get('version')!r} is not {TRAINING_STATE_VERSION}")
    known = {"version", "torch", "torch_cuda", "numpy", "python", "action_space", "action_noise"}
    known |= {"ep_info_buffer", "ep_success_buffer"}
    unknown = sorted(set(state) - known)
    if unknown:
        raise ModelLoadError(f"{where}: unknown fields {unknown}")
    torch_state = _generator_state(state.get("torch"), "torch", label)
    cuda_states: list[torch.Tensor] | None = None
    if "torch_cuda" in state and torch.cuda.is_available():
        saved = state["torch_cuda"]
        if isinstance(saved, list) and len(saved) == torch.cuda.device_count():
            cuda_states = [base64_tensor(item, label) for item in saved]
    np_saved = state.get("numpy")
    if not isinstance(np_saved, dict):
        raise ModelLoadError(f"{where}: 'numpy' must be an object")
    np_tuple: Any = (
        "MT19937",
        np.asarray(_words(np_saved.get("key"), _MT_WORDS, "numpy.key", label), dtype=np.uint32),
        np_saved.get("pos"),
        np_saved.get("has_gauss"),
        np_saved.get("cached_gaussian"),
    )
    try:
        np.random.RandomState().set_state(np_tuple)  # scratch generator
    except (ValueError, TypeError, OverflowError) as error:
        raise ModelLoadError(f"{where}: 'numpy' is not a NumPy RNG state: {error}") from error
    py_saved = state.get("python")
    if not isinstance(py_saved, dict):
        raise ModelLoadError(f"{where}: 'python' must be an object")
    py_state = (
        py_saved.get("version"),
        tuple(_words(py_saved.get("words"), _MT_WORDS + 1, "python.words", label)),
        py_saved.get("gauss_next"),
    )
    try:
        random.Random().setstate(py_state)  # scratch generator
    except (ValueError, TypeError, OverflowError) as error:
        raise ModelLoadError(f"{where}: 'python' is not a Python RNG state: {error}") from error
    space_state = state.get("action_space")
    if space_state is not None:
        generator = model.action_space.np_random
        try:
            type(generator.bit_generator)().state = space_state  # scratch bit generator of the same kind
        except (ValueError, TypeError, KeyError, OverflowError) as error:
            kind = type(generator.bit_generator).__name__
            raise ModelLoadError(f"{where}: 'action_space' is not a {kind} state: {error!r}") from error
    noise_pairs = []
    if "action_noise" in state:
        noise = getattr(model, "action_noise", None)
        noise_pairs = _noise_arrays(noise, state["action_noise"], "action_noise", label)
    episodes = _episode_stats(state, model, where)

    def apply() -> None:
        torch.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        np.random.set_state(np_tuple)
        random.setstate(py_state)
        if space_state is not None:
            model.action_space.np_random.bit_generator.state = space_state
        for noise_object, array in noise_pairs:
            noise_object.noise_prev = array
        if episodes is not None:
            window = model.runner.stats_window_size
            model.runner.ep_info_buffer = deque(episodes[0], maxlen=window)
            model.runner.ep_success_buffer = deque(episodes[1], maxlen=window)

    return apply


def base64_tensor(value: Any, label: str) -> torch.Tensor:
    """A CUDA RNG state (bytes in base64) as a uint8 tensor."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError, AttributeError) as error:
        raise ModelLoadError(f"{label}: training_state.json: 'torch_cuda' holds a malformed state") from error
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8).clone()


def _episode_stats(state: dict[str, Any], model: BaseAlgorithm, where: str) -> tuple[list[Any], list[bool]] | None:
    infos, successes = state.get("ep_info_buffer"), state.get("ep_success_buffer", [])
    if infos is None:
        return None
    window = getattr(getattr(model, "runner", None), "stats_window_size", None)
    if window is None:
        return None
    if (
        not isinstance(infos, list)
        or len(infos) > window
        or not all(isinstance(info, dict) for info in infos)
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for info in infos for v in info.values())
    ):
        raise ModelLoadError(f"{where}: 'ep_info_buffer' must be at most {window} objects of numbers")
    if not isinstance(successes, list) or len(successes) > window or not all(isinstance(s, bool) for s in successes):
        raise ModelLoadError(f"{where}: 'ep_success_buffer' must be at most {window} booleans")
    return infos, successes


def dumps(state: dict[str, Any]) -> bytes:
    """The member's bytes (strict JSON)."""
    return json.dumps(state, allow_nan=False).encode("utf-8")
