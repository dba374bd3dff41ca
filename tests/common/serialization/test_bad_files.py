"""Bad-input catalog for files: every broken, forged or oversized model zip, VecNormalize file and replay buffer
gives the library's own error naming the problem, or a documented behaviour (docs/save_format.md), quickly.

Each row: a name, how the bad file is made from a good one, how it is loaded, and the error type and message
fragment expected. Runtime, env and hyperparameter cases are in tests/test_bad_inputs.py.
"""

from __future__ import annotations

import io
import json
import pickle
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from baselines3 import PPO, SAC
from baselines3.common.serialization.arrays import load_arrays, save_arrays
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.vec_env import DummyVecEnv, VecNormalize

MARKER = Path("/tmp/baselines3_bad_files_marker")


class Payload:
    """Pickling this writes MARKER when unpickled: proof that a loader ran code from a file."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({str(MARKER)!r}, 'w').write('ran')",))


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("good")
    files = {
        "ppo": folder / "ppo.zip",
        "cartpole": folder / "cartpole.zip",
        "mountaincar": folder / "mountaincar.zip",
        "sac": folder / "sac.zip",
        "vecnorm": folder / "vecnorm.json",
        "buffer": folder / "buffer.npz",
    }
    PPO("MlpPolicy", "Pendulum-v1", n_steps=16, batch_size=16, policy_kwargs=dict(net_arch=[16, 16])).save(files["ppo"])
    PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16, policy_kwargs=dict(net_arch=[16, 16])).save(
        files["cartpole"]
    )
    mountain_car = PPO(
        "MlpPolicy", "MountainCarContinuous-v0", n_steps=16, batch_size=16, policy_kwargs=dict(net_arch=[16, 16])
    )
    mountain_car.save(files["mountaincar"])
    sac = SAC("MlpPolicy", "Pendulum-v1", buffer_size=64, learning_starts=8, policy_kwargs=dict(net_arch=[16]))
    sac.learn(24)
    sac.save(files["sac"])
    sac.save_replay_buffer(files["buffer"])
    norm = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    norm.reset()
    norm.save(files["vecnorm"])
    return files


# ----------------------------------------------------------------------------------------------------------
# Making bad files
# ----------------------------------------------------------------------------------------------------------


def rewrite(source: Path, target: Path, edit: Callable[[dict[str, bytes]], dict[str, bytes]]) -> Path:
    """``source`` zip with its members (name -> bytes) passed through ``edit``."""
    with zipfile.ZipFile(source) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in edit(members).items():
            archive.writestr(name, data)
    return target


def with_data(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    def edit(members: dict[str, bytes]) -> dict[str, bytes]:
        data = json.loads(members["data.json"])
        change(data)
        return {**members, "data.json": json.dumps(data).encode()}

    return edit


def with_member(name: str, value: bytes | None) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    def edit(members: dict[str, bytes]) -> dict[str, bytes]:
        members = dict(members)
        if value is None:
            members.pop(name)
        else:
            members[name] = value
        return members

    return edit


def tensors(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def edit_tensors(member: str, change: Callable[[Any], Any]) -> Callable[[dict[str, bytes]], dict[str, bytes]]:
    def edit(members: dict[str, bytes]) -> dict[str, bytes]:
        state = torch.load(io.BytesIO(members[member]), weights_only=True)
        return {**members, member: tensors(change(state))}

    return edit


def set_key(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def first_weight(state: dict[str, Any]) -> dict[str, Any]:
    key = next(iter(state))
    return {**state, key: torch.zeros(7, 7)}


def vecnorm(change: Callable[[dict[str, Any]], None], raw: str | None = None) -> Callable[..., Any]:
    def make(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
        data = json.loads(good["vecnorm"].read_text())
        change(data)
        path = tmp / "bad_vecnorm.json"
        path.write_text(raw if raw is not None else json.dumps(data))
        return lambda: VecNormalize.load(path, DummyVecEnv([lambda: gym.make("Pendulum-v1")]))

    return make


def buffer(meta_change: Callable[[dict[str, Any]], None], array_change: Callable[[dict[str, Any]], None]) -> Any:
    def make(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
        meta, arrays = load_arrays(good["buffer"])
        meta_change(meta)
        array_change(arrays)
        path = save_arrays(tmp / "bad_buffer.npz", meta, arrays)
        model = SAC.load(good["sac"])
        return lambda: model.load_replay_buffer(path)

    return make


def nan_reward(arrays: dict[str, Any]) -> None:
    arrays["rewards"] = arrays["rewards"].copy()
    arrays["rewards"][3, 0] = np.nan


def bad_done(arrays: dict[str, Any]) -> None:
    arrays["dones"] = arrays["dones"].copy()
    arrays["dones"][2, 0] = 2.0


def noop(_: Any) -> None:
    pass


def model_zip(base: str, edit: Callable[[dict[str, bytes]], dict[str, bytes]], cls: Any = PPO) -> Callable[..., Any]:
    def make(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
        path = rewrite(good[base], tmp / "bad.zip", edit)
        return lambda: cls.load(path)

    return make


def raw_file(content: bytes, loader: Callable[[Path], Any]) -> Callable[..., Any]:
    def make(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
        path = tmp / "raw.bin"
        path.write_bytes(content)
        return lambda: loader(path)

    return make


def truncated(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
    path = tmp / "truncated.zip"
    path.write_bytes(good["ppo"].read_bytes()[:-300])
    return lambda: PPO.load(path)


def duplicated(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
    path = tmp / "duplicate.zip"
    with zipfile.ZipFile(good["ppo"]) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
        with pytest.warns(UserWarning, match="Duplicate name"):
            target.writestr("data.json", b"{}")
    return lambda: PPO.load(path)


def bzip2_member(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
    path = tmp / "bzip2.zip"
    with zipfile.ZipFile(good["ppo"]) as source, zipfile.ZipFile(path, "w") as target:
        for info in source.infolist():
            method = zipfile.ZIP_BZIP2 if info.filename == "data.json" else zipfile.ZIP_STORED
            target.writestr(info.filename, source.read(info), method)
    return lambda: PPO.load(path)


def set_parameters_from(base: str) -> Callable[..., Any]:
    def make(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
        model = PPO.load(good["ppo"])
        return lambda: model.set_parameters(str(good[base]))

    return make


def extra_member(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
    path = rewrite(good["ppo"], tmp / "extra.zip", with_member("README.txt", b"notes"))
    return lambda: PPO.load(path)


def old_file(good: dict[str, Path], tmp: Path) -> Callable[[], Any]:
    path = rewrite(good["sac"], tmp / "old.zip", with_member("training_state.json", None))
    return lambda: SAC.load(path)


RELU = "torch.nn.modules.activation.ReLU"
ADAM = "torch.optim.adam.Adam"

#: name -> (bad file maker, expected error type or None for "loads, documented", message fragment)
CASES: dict[str, tuple[Callable[..., Any], type[BaseException] | None, str]] = {
    # --- the archive itself
    "not a zip": (raw_file(b"hello", PPO.load), ModelLoadError, "not a valid zip"),
    "empty file": (raw_file(b"", PPO.load), ModelLoadError, "not a valid zip"),
    "truncated zip": (truncated, ModelLoadError, "zip|truncated|corrupt"),
    "duplicate member names": (duplicated, ModelLoadError, "'data.json' twice"),
    "bzip2-compressed member": (bzip2_member, ModelLoadError, "compression method 12"),
    "missing _format_version": (
        model_zip("ppo", with_member("_format_version", None)),
        ModelLoadError,
        "_format_version",
    ),
    "newer format version": (
        model_zip("ppo", with_member("_format_version", b"99")),
        ModelLoadError,
        "format version 99",
    ),
    "format version not a number": (model_zip("ppo", with_member("_format_version", b"x")), ModelLoadError, "integer"),
    "missing data.json": (model_zip("ppo", with_member("data.json", None)), ModelLoadError, "'data.json' is missing"),
    "data.json not JSON": (model_zip("ppo", with_member("data.json", b"{oops")), ModelLoadError, "malformed"),
    "data.json a list": (model_zip("ppo", with_member("data.json", b"[1]")), ModelLoadError, "JSON object"),
    "data.json with NaN literal": (model_zip("ppo", with_member("data.json", b'{"x": NaN}')), ModelLoadError, "NaN"),
    # --- forged fields
    "algorithm not a string": (model_zip("ppo", with_data(set_key(["algorithm"], 5))), ModelLoadError, "'algorithm'"),
    "algorithm of another class": (
        model_zip("ppo", with_data(set_key(["algorithm"], "SAC"))),
        ModelLoadError,
        "holds a SAC",
    ),
    "policy_class os.system": (
        model_zip("ppo", with_data(set_key(["policy_class"], {"__class__": "os.system"}))),
        ModelLoadError,
        "refusing to import 'os.system'",
    ),
    "module that is not a features extractor": (
        model_zip(
            "ppo",
            with_data(
                set_key(
                    ["policy_kwargs", "features_extractor_class"], {"__class__": "torch.nn.modules.activation.ReLU"}
                )
            ),
        ),
        ModelLoadError,
        "features_extractor_class.*must be a features extractor",
    ),
    "optimizer as activation": (
        model_zip(
            "ppo", with_data(set_key(["policy_kwargs", "activation_fn"], {"__class__": "torch.optim.adam.Adam"}))
        ),
        ModelLoadError,
        "activation_fn.*must be an activation",
    ),
    "private field": (
        model_zip("ppo", with_data(set_key(["_evil"], 1))),
        ModelLoadError,
        "unexpected private field '_evil'",
    ),
    "field replacing the rollout buffer": (
        model_zip("ppo", with_data(set_key(["rollout_buffer"], 5))),
        ModelLoadError,
        "'rollout_buffer' would replace",
    ),
    "field replacing lr_schedule": (
        model_zip("ppo", with_data(set_key(["lr_schedule"], 0.1))),
        ModelLoadError,
        "'lr_schedule' would replace",
    ),
    "field replacing a method": (model_zip("ppo", with_data(set_key(["predict"], 1))), ModelLoadError, "PPO.predict"),
    "counter not a number": (
        model_zip("ppo", with_data(set_key(["num_timesteps"], "x"))),
        ModelLoadError,
        "must be a number",
    ),
    # --- sizes
    "layer wider than the limit": (
        model_zip("ppo", with_data(set_key(["policy_kwargs", "net_arch"], [10**7]))),
        ModelLoadError,
        "max_layer_width",
    ),
    "layers wider than the file's weights": (
        model_zip("ppo", with_data(set_key(["policy_kwargs", "net_arch"], [4096, 4096]))),
        ModelLoadError,
        "largest tensor in policy.pth",
    ),
    "observation space with 10**10 elements": (
        model_zip("ppo", with_data(set_key(["observation_space", "shape"], [10**5, 10**5]))),
        ModelLoadError,
        "max_space_elements",
    ),
    "a million discrete actions": (
        model_zip("cartpole", with_data(set_key(["action_space", "n"], 10**6))),
        ModelLoadError,
        "needs 1000000 outputs",
    ),
    "n_envs over the limit": (
        model_zip("ppo", with_data(set_key(["n_envs"], 10**7))),
        ModelLoadError,
        "'n_envs' is 10000000",
    ),
    "n_envs a string": (
        model_zip("ppo", with_data(set_key(["n_envs"], "4"))),
        ModelLoadError,
        "'n_envs' must be an integer",
    ),
    "rollout of 10**12 steps": (model_zip("ppo", with_data(set_key(["n_steps"], 10**12))), ModelLoadError, "n_steps"),
    "buffer_size 10**12": (
        model_zip("sac", with_data(set_key(["buffer_size"], 10**12)), SAC),
        ModelLoadError,
        "'buffer_size' is 1000000000000",
    ),
    # --- tensors
    "wrong weight shape": (
        model_zip("ppo", edit_tensors("policy.pth", first_weight)),
        ModelLoadError,
        r"has shape \(7, 7\) in the file",
    ),
    "variable name as attribute path": (
        model_zip("sac", edit_tensors("pytorch_variables.pth", lambda s: {"__class__.evil": torch.zeros(1)}), SAC),
        ModelLoadError,
        "'__class__.evil' has no place",
    ),
    "variable of the wrong shape": (
        model_zip("sac", edit_tensors("pytorch_variables.pth", lambda s: {"log_ent_coef": torch.zeros(5)}), SAC),
        ModelLoadError,
        r"'log_ent_coef' has shape \(5,\)",
    ),
    "optimizer with an extra group": (
        model_zip(
            "ppo",
            edit_tensors("policy.optimizer.pth", lambda s: {**s, "param_groups": s["param_groups"] * 2}),
        ),
        ModelLoadError,
        "2 parameter groups in the file, 1 in this model",
    ),
    "legacy or non-zip .pth": (
        model_zip("ppo", with_member("policy.pth", pickle.dumps({"w": 1}))),
        ModelLoadError,
        "not a PyTorch zip-format",
    ),
    "__reduce__ payload in a .pth": (
        model_zip("ppo", with_member("policy.pth", tensors({"w": Payload()}))),
        ModelLoadError,
        "'policy.pth' holds objects other than tensors",
    ),
    "set_parameters with another algorithm's file": (
        set_parameters_from("sac"),
        ModelLoadError,
        "Unknown parameter group",
    ),
    "set_parameters with another env's file": (
        set_parameters_from("mountaincar"),
        ModelLoadError,
        r"policy\.\S+ has shape \(\d+, 2\) in the file but \(\d+, 3\) in this model",
    ),
    # --- VecNormalize files
    "VecNormalize version [1]": (
        vecnorm(set_key(["version"], [1])),
        ModelLoadError,
        "'version' must be a non-negative integer",
    ),
    "VecNormalize negative variance": (
        vecnorm(set_key(["obs_rms", "var"], [1.0, -1.0, 1.0])),
        ModelLoadError,
        "variance of observations must be finite and >= 0",
    ),
    "VecNormalize NaN mean": (
        vecnorm(set_key(["obs_rms", "mean"], [float("nan"), 0.0, 0.0])),
        ModelLoadError,
        "mean of observations is not finite",
    ),
    "VecNormalize shape of 10**12 elements": (
        vecnorm(set_key(["obs_rms", "shape"], [10**6, 10**6])),
        ModelLoadError,
        "max_space_elements",
    ),
    "VecNormalize count -1": (vecnorm(set_key(["ret_rms", "count"], -1)), ModelLoadError, "count of returns"),
    "VecNormalize gamma a string": (vecnorm(set_key(["settings", "gamma"], "x")), ModelLoadError, "settings.gamma"),
    "VecNormalize not JSON": (vecnorm(noop, raw="{nope"), ModelLoadError, "not a VecNormalize JSON file"),
    # --- replay buffers
    "buffer pos past the end": (buffer(set_key(["pos"], 64), noop), ModelLoadError, r"'pos' is 64.*\[0, 64\)"),
    "buffer pos negative": (buffer(set_key(["pos"], -1), noop), ModelLoadError, "'pos' is -1"),
    "buffer full not a bool": (buffer(set_key(["full"], "yes"), noop), ModelLoadError, "'full' is 'yes'"),
    "buffer NaN reward": (buffer(noop, nan_reward), ModelLoadError, r"'rewards' holds nan at index \(3, 0\)"),
    "buffer done flag 2": (buffer(noop, bad_done), ModelLoadError, "flags are 0 or 1"),
    "buffer size not matching its arrays": (
        buffer(set_key(["buffer_size"], 10**6), noop),
        ModelLoadError,
        "'rewards' should have shape",
    ),
    "buffer not an npz": (
        raw_file(b"not a zip", lambda path: SAC("MlpPolicy", "Pendulum-v1").load_replay_buffer(path)),
        ModelLoadError,
        "not a valid array archive",
    ),
    # --- documented behaviour
    "unknown extra member is ignored": (extra_member, None, ""),
    "file without training_state.json loads (older files)": (old_file, None, ""),
}


def test_the_catalog_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file(case: str, good: dict[str, Path], tmp_path: Path) -> None:
    make, error, message = CASES[case]
    MARKER.unlink(missing_ok=True)
    load = make(good, tmp_path)
    start = time.perf_counter()
    if error is None:
        load()
    else:
        with pytest.raises(error, match=message):
            load()
    assert time.perf_counter() - start < 5.0
    assert not MARKER.exists()
