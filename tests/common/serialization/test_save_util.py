"""Model archive format: JSON descriptions, safe loading, clear errors on bad files, atomic saves."""

from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import warnings
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium import spaces

from baselines3.common import save_util
from baselines3.common.save_util import (
    FORMAT_VERSION,
    ModelLoadError,
    UnsafeObjectsSkippedWarning,
    data_to_json,
    json_to_data,
    load_from_zip_file,
    save_to_zip_file,
    space_from_json,
    space_to_json,
)
from baselines3.common.schedules import ConstantSchedule, LinearSchedule, PiecewiseSchedule, get_schedule_fn
from baselines3.common.serialization import atomic

# ------------------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------------------


def _params() -> dict[str, Any]:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.randn(5, 3)).sum().backward()
    optimizer.step()  # creates optimizer state (exp_avg...) to save
    return {"policy": net.state_dict(), "policy.optimizer": optimizer.state_dict()}


def _write_zip(path: pathlib.Path, members: dict[str, bytes | str]) -> pathlib.Path:
    """A hand-made archive (to build files the library would never write)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _torch_bytes(obj: Any) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


class _WritesMarker:
    """Unpickling this runs ``Path.write_text(marker, "pwned")``: stands in for a malicious payload."""

    def __init__(self, marker: pathlib.Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.write_text, (self.marker, "pwned"))


class _UserClass:
    pass


# ------------------------------------------------------------------------------------------------------------
# Spaces
# ------------------------------------------------------------------------------------------------------------

SPACES = {
    "box_float32": spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32),
    "box_inf": spaces.Box(-np.inf, np.inf, shape=(2, 2), dtype=np.float32),
    "box_mixed_inf": spaces.Box(np.array([0.0, -np.inf, -1.5]), np.array([np.inf, 2.0, 1.5]), dtype=np.float64),
    "box_uint8_image": spaces.Box(0, 255, shape=(84, 84, 3), dtype=np.uint8),
    "box_int_per_element": spaces.Box(np.array([-3, 0]), np.array([3, 10]), dtype=np.int64),
    "box_scalar": spaces.Box(0.0, 1.0, shape=(), dtype=np.float32),
    "box_float16": spaces.Box(-2.0, 2.0, shape=(2,), dtype=np.float16),
    "discrete": spaces.Discrete(5),
    "discrete_start": spaces.Discrete(3, start=-1),
    "multi_discrete": spaces.MultiDiscrete([3, 4, 2]),
    "multi_discrete_2d_start": spaces.MultiDiscrete(np.array([[2, 3], [4, 5]]), start=np.array([[1, 0], [0, -2]])),
    "multi_binary": spaces.MultiBinary(4),
    "multi_binary_2d": spaces.MultiBinary([2, 3]),
    "dict": spaces.Dict(
        [
            ("zeta", spaces.Discrete(2)),
            ("alpha", spaces.Box(-np.inf, 0.0, shape=(1,))),
            ("nested", spaces.Dict({"b": spaces.MultiBinary(2), "a": spaces.Discrete(3)})),
        ]
    ),
    "tuple": spaces.Tuple([spaces.Discrete(2), spaces.Tuple([spaces.Box(0, 1, (2,)), spaces.MultiDiscrete([2])])]),
}


def _assert_same_space(restored: spaces.Space, original: spaces.Space) -> None:
    assert type(restored) is type(original)
    assert restored == original
    assert restored.dtype == original.dtype
    if isinstance(original, spaces.Box):
        assert isinstance(restored, spaces.Box)
        assert restored.shape == original.shape
        assert np.array_equal(restored.low, original.low) and np.array_equal(restored.high, original.high)
        assert restored.low.dtype == original.low.dtype
    if isinstance(original, spaces.Dict):
        assert isinstance(restored, spaces.Dict)
        assert list(restored.spaces) == list(original.spaces)  # order kept
        for key in original.spaces:
            _assert_same_space(restored[key], original[key])
    if isinstance(original, spaces.Tuple):
        assert isinstance(restored, spaces.Tuple)
        for sub_restored, sub_original in zip(restored.spaces, original.spaces):
            _assert_same_space(sub_restored, sub_original)


@pytest.mark.parametrize("name", list(SPACES))
def test_space_round_trip(name: str) -> None:
    space = SPACES[name]
    text = json.dumps(space_to_json(space), allow_nan=False)  # strict JSON: inf is written without Infinity
    _assert_same_space(space_from_json(json.loads(text)), space)


def test_dict_space_keeps_unsorted_key_order() -> None:
    space = SPACES["dict"]
    assert list(space.spaces) == ["zeta", "alpha", "nested"]
    restored = space_from_json(json.loads(json.dumps(space_to_json(space))))
    assert list(restored.spaces) == ["zeta", "alpha", "nested"]


def test_uniform_box_bounds_are_compact() -> None:
    description = space_to_json(SPACES["box_uint8_image"])
    assert description["low"] == 0 and description["high"] == 255
    assert len(json.dumps(description)) < 200


def test_unsupported_space_lists_supported_ones() -> None:
    with pytest.raises(ValueError, match="Text") as info:
        space_to_json(spaces.Text(5))
    for supported in ("Box", "Discrete", "MultiDiscrete", "MultiBinary", "Dict", "Tuple"):
        assert supported in str(info.value)


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ({"__space__": "Graph"}, "Graph"),
        ({"__space__": "Discrete", "n": 3}, "start"),
        ({"__space__": "Discrete", "n": "3", "start": 0, "dtype": "int64"}, "integer"),
        ({"__space__": "Box", "shape": [2], "dtype": "object", "low": 0, "high": 1}, "object"),
        ({"__space__": "Box", "shape": [2], "dtype": "float32", "low": [0, 1, 2], "high": 1}, "Box"),
        ({"__space__": "Dict", "spaces": {"a": 1}}, "pairs"),
    ],
)
def test_malformed_space_description(description: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        space_from_json(description)


# ------------------------------------------------------------------------------------------------------------
# Hyperparameters <-> JSON
# ------------------------------------------------------------------------------------------------------------


def _sample_data() -> dict[str, Any]:
    return {
        "learning_rate": LinearSchedule(3e-4, 0.0),
        "clip_range": ConstantSchedule(0.2),
        "ent_schedule": PiecewiseSchedule([[0.0, 0.01], [0.5, 0.0]]),
        "gamma": 0.99,
        "n_steps": 2048,
        "verbose": True,
        "tensorboard_log": None,
        "name": "ppo",
        "max_grad_norm": float("inf"),
        "net_arch": [64, 64],
        "train_freq": (4, "step"),
        "policy_kwargs": {
            "activation_fn": torch.nn.ReLU,
            "optimizer_class": torch.optim.Adam,
            "net_arch": {"pi": [32], "vf": [32]},
            "optimizer_kwargs": {"eps": 1e-5, "betas": (0.9, 0.999)},
        },
        "int_keys": {0: "a", 1: "b"},
        "tag_like_key": {"__class__": "os.system", "x": 1},
        "obs_mean": np.array([[0.5, -np.inf], [np.nan, 2.0]], dtype=np.float32),
        "counts": np.arange(6, dtype=np.int16).reshape(2, 3),
        "mask": np.array([True, False]),
        "np_float": np.float32(0.125),
        "np_int": np.int64(-7),
        "np_bool": np.bool_(True),
        "device": torch.device("cpu"),
        "observation_space": SPACES["dict"],
        "action_space": SPACES["box_mixed_inf"],
    }


def _assert_equal_values(restored: Any, original: Any) -> None:
    assert type(restored) is type(original) or (type(original) is OrderedDict and type(restored) is dict)
    if isinstance(original, np.ndarray):
        assert restored.dtype == original.dtype and restored.shape == original.shape
        assert np.array_equal(restored, original, equal_nan=original.dtype.kind == "f")
    elif isinstance(original, np.generic):
        assert restored.dtype == original.dtype and restored == original
    elif isinstance(original, dict):
        assert list(restored) == list(original)
        for key in original:
            _assert_equal_values(restored[key], original[key])
    elif isinstance(original, (list, tuple)):
        assert len(restored) == len(original)
        for item_restored, item_original in zip(restored, original):
            _assert_equal_values(item_restored, item_original)
    elif isinstance(original, spaces.Space):
        _assert_same_space(restored, original)
    else:
        assert restored == original


def test_data_round_trip() -> None:
    data = _sample_data()
    json_dict, unserializable = data_to_json(data)
    assert unserializable == {}
    text = json.dumps(json_dict, allow_nan=False)
    restored = json_to_data(json.loads(text))
    _assert_equal_values(restored, data)
    assert restored["policy_kwargs"]["activation_fn"] is torch.nn.ReLU
    assert restored["policy_kwargs"]["optimizer_class"] is torch.optim.Adam
    assert restored["learning_rate"](0.5) == pytest.approx(1.5e-4)


def test_classes_are_recorded_as_import_paths() -> None:
    json_dict, _ = data_to_json({"act": torch.nn.Tanh, "opt": torch.optim.SGD})
    assert json_dict["act"] == {"__class__": "torch.nn.modules.activation.Tanh"}
    assert json_dict["opt"] == {"__class__": "torch.optim.sgd.SGD"}


def test_library_classes_round_trip() -> None:
    from baselines3.common.buffers import ReplayBuffer
    from baselines3.common.torch_layers import NatureCNN

    classes = {"features_extractor_class": NatureCNN, "replay_buffer_class": ReplayBuffer}
    json_dict, unserializable = data_to_json(classes)
    assert unserializable == {}
    assert json_dict["features_extractor_class"] == {"__class__": "baselines3.common.torch_layers.NatureCNN"}
    assert json_to_data(json_dict) == classes


def test_only_module_optimizer_and_buffer_classes_are_named_in_json() -> None:
    """A library class that does something when built (a logger opens a file) is never read from data.json;
    saving it is still lossless (it goes to the pickled member)."""
    from baselines3.common.logger import JSONOutputFormat

    json_dict, unserializable = data_to_json({"schedule_class": LinearSchedule, "writer": JSONOutputFormat})
    assert json_dict == {} and set(unserializable) == {"schedule_class", "writer"}
    for path in ("baselines3.common.logger.JSONOutputFormat", "baselines3.common.monitor.ResultsWriter"):
        with pytest.raises(ModelLoadError, match=r"activation_fn.*not a module, optimizer or buffer class"):
            json_to_data({"policy_kwargs": {"activation_fn": {"__class__": path}}})


def test_values_without_json_description_go_to_unserializable() -> None:
    def local_function(p: float) -> float:
        return p

    class LocalModule(torch.nn.Module):
        pass

    data = {
        "lambda": lambda p: p * 3e-4,
        "function": local_function,
        "user_class": _UserClass,
        "user_object": _UserClass(),
        "local_torch_subclass": LocalModule,
        "torch_function": torch.nn.functional.relu,
        "tensor": torch.zeros(2),
        "nested": {"ok": 1, "bad": [1, _UserClass]},
        "callable_schedule": get_schedule_fn(local_function),
        "text_space": spaces.Text(3),
        "gamma": 0.99,
        "linear": LinearSchedule(1.0, 0.0),
    }
    json_dict, unserializable = data_to_json(data)
    assert set(json_dict) == {"gamma", "linear"}
    assert set(unserializable) == set(data) - {"gamma", "linear"}
    assert unserializable["nested"] is data["nested"]  # whole top-level entries, untouched


def test_tagged_import_outside_allow_list_is_refused() -> None:
    for path in ("os.system", "subprocess.Popen", "builtins.eval", "torch.nnx.Evil"):
        with pytest.raises(ModelLoadError, match="refusing to import"):
            json_to_data({"activation_fn": {"__class__": path}})
    # Allowed prefix, but the name leads outside it (re-exported modules) or is not a class.
    for path in (
        "baselines3.common.save_util.os.system",
        "baselines3.common.save_util.pickle.Unpickler",
        "torch.nn.functional.relu",
        "torch.nn.modules.activation.ReLU.__init__",
    ):
        with pytest.raises(ModelLoadError, match="activation_fn"):
            json_to_data({"activation_fn": {"__class__": path}})


def test_object_spec_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    """Objects of library classes with to_spec()/from_spec() are stored as JSON and rebuilt from it."""

    class Noise:
        def __init__(self, sigma: float) -> None:
            self.sigma = sigma

        def to_spec(self) -> dict[str, Any]:
            return {"sigma": self.sigma}

        @classmethod
        def from_spec(cls, spec: dict[str, Any]) -> Noise:
            return cls(**spec)

    Noise.__module__ = "baselines3.common.save_util"
    Noise.__qualname__ = "_TestNoise"
    monkeypatch.setattr(save_util, "_TestNoise", Noise, raising=False)
    json_dict, unserializable = data_to_json({"action_noise": Noise(0.3)})
    assert unserializable == {}
    assert json_dict["action_noise"] == {
        "__object__": "baselines3.common.save_util._TestNoise",
        "spec": {"sigma": 0.3},
    }
    restored = json_to_data(json.loads(json.dumps(json_dict)))["action_noise"]
    assert isinstance(restored, Noise) and restored.sigma == 0.3
    # torch.nn classes may be named, but never instantiated from a spec.
    with pytest.raises(ModelLoadError, match="refusing to import"):
        json_to_data({"x": {"__object__": "torch.nn.modules.linear.Linear", "spec": {}}})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"__float__": "big"}, "inf"),
        ({"__tuple__": 3}, "tuple"),
        ({"__ndarray__": [1, 2], "dtype": "float32", "shape": [3]}, "shape"),
        ({"__ndarray__": [1, 2], "dtype": "object", "shape": [2]}, "object"),
        ({"__schedule__": {"type": "cosine"}}, "cosine"),
        ({"__class__": "torch.nn.ReLU", "extra": 1}, "exactly"),
        ({"__class__": 3}, "import path"),
        ({"__tuple__": [], "__float__": "inf"}, "several"),
        ({"inner": {"__pickled__": "unsafe_objects.pkl"}}, "top-level"),
    ],
)
def test_malformed_tagged_values(value: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        json_to_data({"key": value})


# ------------------------------------------------------------------------------------------------------------
# Archive round trips
# ------------------------------------------------------------------------------------------------------------


def test_archive_round_trip(tmp_path: pathlib.Path) -> None:
    data = _sample_data()
    params = _params()
    variables = {"log_ent_coef": torch.tensor([-0.5])}
    save_to_zip_file(tmp_path / "model.zip", data=data, params=params, pytorch_variables=variables)

    with zipfile.ZipFile(tmp_path / "model.zip") as archive:
        names = archive.namelist()
        assert {"data.json", "policy.pth", "policy.optimizer.pth", "pytorch_variables.pth"} <= set(names)
        assert {"system_info.txt", "_format_version"} <= set(names)
        assert "unsafe_objects.pkl" not in names
        assert archive.read("_format_version").decode().strip() == str(FORMAT_VERSION)
        json.loads(archive.read("data.json"), parse_constant=lambda c: pytest.fail(f"non-strict JSON {c}"))
        assert "PyTorch" in archive.read("system_info.txt").decode()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing skipped, nothing to warn about
        restored, restored_params, restored_variables = load_from_zip_file(tmp_path / "model.zip", device="cpu")
    assert restored is not None
    _assert_equal_values(restored, data)
    assert list(restored_params) == ["policy", "policy.optimizer"]
    for key, tensor in params["policy"].items():
        assert torch.equal(restored_params["policy"][key], tensor)
    optimizer = torch.optim.Adam(
        torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).parameters()
    )
    optimizer.load_state_dict(restored_params["policy.optimizer"])
    assert torch.equal(optimizer.state_dict()["state"][0]["exp_avg"], params["policy.optimizer"]["state"][0]["exp_avg"])
    assert restored_variables is not None and torch.equal(restored_variables["log_ent_coef"], torch.tensor([-0.5]))


def test_file_object_round_trip() -> None:
    buffer = io.BytesIO()
    save_to_zip_file(buffer, data={"gamma": 0.9, "lr": LinearSchedule(1e-3, 0.0)}, params=_params())
    buffer.seek(0)
    data, params, variables = load_from_zip_file(buffer)
    assert data == {"gamma": 0.9, "lr": LinearSchedule(1e-3, 0.0)}
    assert set(params) == {"policy", "policy.optimizer"}
    assert variables is None


def test_load_data_false_returns_no_data(tmp_path: pathlib.Path) -> None:
    save_to_zip_file(tmp_path / "m", data={"f": lambda p: p}, params=_params())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # data is not read, so nothing is skipped either
        data, params, _ = load_from_zip_file(tmp_path / "m", load_data=False)
    assert data is None and "policy" in params


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("model", "model.zip"),
        ("model.zip", "model.zip"),
        ("run_0.5", "run_0.5.zip"),
        ("sub/dir/m", "sub/dir/m.zip"),
    ],
)
def test_zip_suffix(tmp_path: pathlib.Path, given: str, written: str) -> None:
    save_to_zip_file(str(tmp_path / given), data={"x": 1})
    assert (tmp_path / written).is_file()
    assert sorted(p.name for p in (tmp_path / written).parent.iterdir()) == [pathlib.Path(written).name]
    # Loading finds the file with or without the suffix, from str or Path.
    assert load_from_zip_file(tmp_path / given)[0] == {"x": 1}
    assert load_from_zip_file(str(tmp_path / written))[0] == {"x": 1}


# ------------------------------------------------------------------------------------------------------------
# Pickled values: opt-in only
# ------------------------------------------------------------------------------------------------------------


def test_lambda_is_skipped_with_warning_unless_allowed(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "model.zip"
    save_to_zip_file(path, data={"learning_rate": lambda p: p * 1e-3, "gamma": 0.99, "user": _UserClass})
    with zipfile.ZipFile(path) as archive:
        assert "unsafe_objects.pkl" in archive.namelist()
        stored = json.loads(archive.read("data.json"))
    assert stored["learning_rate"] == {"__pickled__": "unsafe_objects.pkl"}

    with pytest.warns(UnsafeObjectsSkippedWarning) as record:
        data, _, _ = load_from_zip_file(path)
    assert data == {"gamma": 0.99}
    message = str(record[0].message)
    assert "'learning_rate'" in message and "'user'" in message
    assert "allow_pickle=True" in message and "custom_objects" in message

    data, _, _ = load_from_zip_file(path, allow_pickle=True)
    assert data is not None and data["learning_rate"](0.5) == pytest.approx(5e-4)
    assert data["user"] is _UserClass


def test_custom_objects_override_in_both_modes(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "model.zip"
    save_to_zip_file(path, data={"learning_rate": lambda p: p, "gamma": 0.99})
    replacement = ConstantSchedule(1e-4)
    for allow_pickle in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the only pickled key is replaced: no warning
            data, _, _ = load_from_zip_file(
                path, custom_objects={"learning_rate": replacement, "gamma": 0.5}, allow_pickle=allow_pickle
            )
        assert data == {"learning_rate": replacement, "gamma": 0.5}


def test_custom_objects_replace_a_refused_class(tmp_path: pathlib.Path) -> None:
    path = _write_zip(
        tmp_path / "crafted.zip",
        {"_format_version": "1\n", "data.json": json.dumps({"activation_fn": {"__class__": "os.system"}})},
    )
    with pytest.raises(ModelLoadError, match=r"refusing to import 'os\.system'") as info:
        load_from_zip_file(path)
    assert "crafted.zip" in str(info.value) and "activation_fn" in str(info.value)
    data, _, _ = load_from_zip_file(path, custom_objects={"activation_fn": torch.nn.ReLU})
    assert data == {"activation_fn": torch.nn.ReLU}


def test_extra_pickled_values(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "model.zip"
    save_to_zip_file(path, data={"gamma": 0.9}, extra_pickled={"buffer_state": {"pos": 3, "items": [1, 2]}})
    with pytest.warns(UnsafeObjectsSkippedWarning, match="buffer_state"):
        assert load_from_zip_file(path)[0] == {"gamma": 0.9}
    assert load_from_zip_file(path, allow_pickle=True)[0] == {
        "gamma": 0.9,
        "buffer_state": {"pos": 3, "items": [1, 2]},
    }


def test_malicious_pickled_value_runs_only_when_allowed(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker.txt"
    path = tmp_path / "model.zip"
    save_to_zip_file(path, data={"gamma": 0.9}, extra_pickled={"payload": _WritesMarker(marker)})
    assert not marker.exists()
    with pytest.warns(UnsafeObjectsSkippedWarning, match="payload"):
        data, _, _ = load_from_zip_file(path)
    assert data == {"gamma": 0.9}
    assert not marker.exists()
    # The opt-in really unpickles (which is why it is only for trusted files).
    load_from_zip_file(path, allow_pickle=True)
    assert marker.read_text() == "pwned"


def test_hand_crafted_malicious_pickle_member_is_not_executed(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker.txt"
    members: dict[str, bytes | str] = {
        "_format_version": "1\n",
        "data.json": json.dumps({"payload": {"__pickled__": "unsafe_objects.pkl"}, "gamma": 0.5}),
        "unsafe_objects.pkl": pickle.dumps(_WritesMarker(marker)),  # the whole member is the payload
    }
    path = _write_zip(tmp_path / "evil.zip", members)
    with pytest.warns(UnsafeObjectsSkippedWarning, match="payload"):
        data, _, _ = load_from_zip_file(path)
    assert data == {"gamma": 0.5}
    assert not marker.exists()
    # Even with allow_pickle=True the member's outer layer is read without importing anything.
    with pytest.raises(ModelLoadError, match=r"unsafe_objects\.pkl"):
        load_from_zip_file(path, allow_pickle=True)
    assert not marker.exists()


def test_pth_member_with_pickled_object_is_refused(tmp_path: pathlib.Path) -> None:
    marker = tmp_path / "marker.txt"
    members: dict[str, bytes | str] = {
        "_format_version": "1\n",
        "data.json": "{}",
        "policy.pth": _torch_bytes({"weight": torch.zeros(2), "evil": _WritesMarker(marker)}),
    }
    path = _write_zip(tmp_path / "evil.zip", members)
    with pytest.raises(ModelLoadError, match=r"policy\.pth") as info:
        load_from_zip_file(path)
    assert "weights_only" in str(info.value)
    assert not marker.exists()


def test_saving_non_tensor_state_fails_early(tmp_path: pathlib.Path) -> None:
    with pytest.raises(TypeError, match=r"params\['policy'\]\['w'\].*numpy"):
        save_to_zip_file(tmp_path / "m.zip", params={"policy": {"w": np.zeros(2)}})
    with pytest.raises(TypeError, match="pytorch_variables"):
        save_to_zip_file(tmp_path / "m.zip", pytorch_variables={"x": _UserClass()})
    with pytest.raises(ValueError, match="reserved"):
        save_to_zip_file(tmp_path / "m.zip", params={"pytorch_variables": {}})
    with pytest.raises(ValueError, match="Invalid parameter name"):
        save_to_zip_file(tmp_path / "m.zip", params={"../policy": {}})
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------------------------
# Bad files
# ------------------------------------------------------------------------------------------------------------


def _valid_archive(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "model.zip"
    save_to_zip_file(path, data={"gamma": 0.99}, params=_params())
    return path


def test_missing_file_names_both_paths(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        load_from_zip_file(tmp_path / "nothing")
    assert str(tmp_path / "nothing") in str(info.value) and "nothing.zip" in str(info.value)


def test_directory_is_not_a_model(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ModelLoadError, match="directory"):
        load_from_zip_file(tmp_path)


def test_not_a_zip(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "model.zip"
    path.write_text("definitely not a zip archive")
    with pytest.raises(ModelLoadError, match="not a valid zip") as info:
        load_from_zip_file(path)
    assert str(path) in str(info.value)


def test_truncated_zip(tmp_path: pathlib.Path) -> None:
    path = _valid_archive(tmp_path)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    with pytest.raises(ModelLoadError, match="truncated") as info:
        load_from_zip_file(path)
    assert str(path) in str(info.value)


def test_corrupt_member_is_reported(tmp_path: pathlib.Path) -> None:
    path = _valid_archive(tmp_path)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("policy.pth")
    content = bytearray(path.read_bytes())
    # Flip bytes inside the stored (uncompressed) tensor data: the CRC check must catch it.
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.file_size // 2
    for i in range(start, start + 16):
        content[i] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(ModelLoadError, match=r"policy\.pth") as error:
        load_from_zip_file(path)
    assert "corrupt" in str(error.value) and str(path) in str(error.value)


def test_missing_data_json(tmp_path: pathlib.Path) -> None:
    path = _write_zip(tmp_path / "m.zip", {"_format_version": "1\n", "policy.pth": _torch_bytes({})})
    with pytest.raises(ModelLoadError, match=r"'data\.json' is missing"):
        load_from_zip_file(path)


def test_missing_format_version(tmp_path: pathlib.Path) -> None:
    path = _write_zip(tmp_path / "m.zip", {"data.json": "{}"})
    with pytest.raises(ModelLoadError, match="_format_version"):
        load_from_zip_file(path)
    sb3_like = _write_zip(tmp_path / "sb3.zip", {"data": "{}", "policy.pth": b""})
    with pytest.raises(ModelLoadError, match="Stable-Baselines3"):
        load_from_zip_file(sb3_like)


def test_newer_format_version(tmp_path: pathlib.Path) -> None:
    path = _write_zip(
        tmp_path / "m.zip",
        {"_format_version": f"{FORMAT_VERSION + 1}\n", "data.json": "{}", "_baselines3_version": "9.9.9"},
    )
    with pytest.raises(ModelLoadError) as info:
        load_from_zip_file(path)
    message = str(info.value)
    assert f"format version {FORMAT_VERSION + 1}" in message and "9.9.9" in message
    assert str(list(save_util.SUPPORTED_FORMAT_VERSIONS)) in message and "Upgrade baselines3" in message


def test_malformed_format_version(tmp_path: pathlib.Path) -> None:
    path = _write_zip(tmp_path / "m.zip", {"_format_version": "one", "data.json": "{}"})
    with pytest.raises(ModelLoadError, match="integer"):
        load_from_zip_file(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"gamma": 0.99,', "malformed"),
        ('{"gamma": NaN}', "malformed"),
        (b"\xff\xfe{}", "malformed"),
        ("[1, 2]", "JSON object"),
        ('{"x": {"__space__": "Box"}}', "x"),
    ],
)
def test_malformed_data_json(tmp_path: pathlib.Path, content: str | bytes, message: str) -> None:
    path = _write_zip(tmp_path / "m.zip", {"_format_version": "1\n", "data.json": content})
    with pytest.raises(ModelLoadError, match=message) as info:
        load_from_zip_file(path)
    assert "data.json" in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_deeply_nested_data_json_is_a_load_error(tmp_path: pathlib.Path, depth: int) -> None:
    for content in ('{"x": ' + "[" * depth + "]" * depth + "}", '{"x": ' + '{"a": ' * depth + "1" + "}" * depth + "}"):
        path = _write_zip(tmp_path / "deep.zip", {"_format_version": "1\n", "data.json": content})
        with pytest.raises(ModelLoadError, match=r"malformed|nested too deeply"):
            load_from_zip_file(path)


def test_model_load_error_is_a_value_error() -> None:
    assert issubclass(ModelLoadError, ValueError)


# ------------------------------------------------------------------------------------------------------------
# Atomic saves
# ------------------------------------------------------------------------------------------------------------


def test_failed_save_leaves_previous_file_untouched(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _valid_archive(tmp_path)
    before = path.read_bytes()
    real_save = torch.save
    calls = []

    def failing_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError, match="simulated"):
        save_to_zip_file(path, data={"gamma": 0.5}, params=_params())
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]  # no temp files left
    monkeypatch.undo()
    assert load_from_zip_file(path)[0] == {"gamma": 0.99}


def test_failed_first_save_creates_nothing(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_to_zip_file(tmp_path / "model", params=_params())
    assert list(tmp_path.iterdir()) == []


def test_unpicklable_value_fails_before_writing(tmp_path: pathlib.Path) -> None:
    path = _valid_archive(tmp_path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="generator"):
        save_to_zip_file(path, data={"gen": (i for i in range(3))})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]


def test_save_replaces_existing_file(tmp_path: pathlib.Path) -> None:
    path = _valid_archive(tmp_path)
    save_to_zip_file(path, data={"gamma": 0.5})
    assert load_from_zip_file(path)[0] == {"gamma": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]


def test_saved_file_gets_normal_permissions(tmp_path: pathlib.Path) -> None:
    old_umask = os.umask(0o022)
    try:
        path = _valid_archive(tmp_path)
    finally:
        os.umask(old_umask)
    # Like a plain open(): 0o666 minus the umask, not the 0o600 of a private temp file.
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_atomic_write_text_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "out.yml"
    save_util.atomic_write_text(target, "first\n")
    save_util.atomic_write_text(target, "second: é\n")
    assert target.read_text(encoding="utf-8") == "second: é\n"
    assert [p.name for p in target.parent.iterdir()] == ["out.yml"]


def test_atomic_writes_sync_the_folder_once_so_the_rename_survives_a_crash(tmp_path, monkeypatch):
    synced: list[pathlib.Path] = []
    monkeypatch.setattr(atomic, "_fsync_directory", synced.append)
    save_util.atomic_write(tmp_path / "model.zip", lambda file: file.write(b"zip"))
    save_util.atomic_write_text(tmp_path / "notes.yml", "a: 1\n")
    assert synced == [tmp_path, tmp_path]


def test_sb3_file_helpers_behave_as_sb3s_and_pickles_load_without_running_code(tmp_path: pathlib.Path) -> None:
    from types import SimpleNamespace

    from baselines3.common import save_util
    from baselines3.common.serialization.sb3.unpickler import RefusedPickleError

    obj = SimpleNamespace(policy=SimpleNamespace(optimizer=SimpleNamespace(lr=0.1)))
    assert save_util.recursive_getattr(obj, "policy.optimizer.lr") == 0.1
    assert save_util.recursive_getattr(obj, "policy.missing", None) is None
    save_util.recursive_setattr(obj, "policy.optimizer.lr", 0.5)
    assert obj.policy.optimizer.lr == 0.5
    assert save_util.is_json_serializable({"a": [1, 2.0, "x"]}) and not save_util.is_json_serializable(object())

    data = {"counts": np.arange(3), "name": "run", "nested": [1.5, (2, 3)]}
    save_util.save_to_pkl(tmp_path / "data", data)  # ".pkl" is appended, as in SB3
    loaded = save_util.load_from_pkl(tmp_path / "data")
    np.testing.assert_array_equal(loaded["counts"], data["counts"])
    assert loaded["name"] == "run" and loaded["nested"] == [1.5, (2, 3)]
    with save_util.open_path_str(str(tmp_path / "data.pkl"), "r") as file:
        assert file.read(1) == b"\x80"  # a pickle
    with save_util.open_path_pathlib(tmp_path / "data.pkl", "r") as file:
        assert file.read(1) == b"\x80"

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(RefusedPickleError, match="system"):
        save_util.load_from_pkl(tmp_path / "evil.pkl")
    assert not marker.exists()

    sb3_save_util = pytest.importorskip("stable_baselines3.common.save_util")
    sb3_save_util.save_to_pkl(tmp_path / "theirs", data)
    np.testing.assert_array_equal(save_util.load_from_pkl(tmp_path / "theirs.pkl")["counts"], data["counts"])
    assert sb3_save_util.recursive_getattr(obj, "policy.optimizer.lr") == save_util.recursive_getattr(
        obj, "policy.optimizer.lr"
    )
