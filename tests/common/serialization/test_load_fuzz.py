"""Fuzzing the loaders with Hypothesis: mutated model zips (member names, sizes, JSON fields and types, tensor
shapes, zip structure, pickled payloads), VecNormalize files and replay buffers, each loaded in a worker process
under a memory limit (RLIMIT_AS). Every case must load (and then work) or raise the library's own error; no marker
file may appear (no code from a file runs); the worker's peak memory stays under the cap.

``make test`` runs a short, derandomized campaign; ``make fuzz`` a long random one (BASELINES3_FUZZ_EXAMPLES). The
figures are printed at the end: cases tried, raw exceptions, markers written, peak memory, slowest case.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fuzz_loading import (
    MARKER_NAME,
    MEMORY_CAP_MB,
    Payload,
    Worker,
    make_good_files,
    pickle_bytes,
    torch_bytes,
    write_zip,
    zip_members,
)
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("BASELINES3_FUZZ_EXAMPLES", "150"))
LONG = "BASELINES3_FUZZ_EXAMPLES" in os.environ

# ----------------------------------------------------------------------------------------------------------
# Values a forged file may hold
# ----------------------------------------------------------------------------------------------------------

CLASS_PATHS = [
    "os.system",
    "subprocess.Popen",
    "builtins.eval",
    "torch.nn.modules.linear.Linear",
    "torch.nn.modules.activation.ReLU",
    "torch.optim.adam.Adam",
    "baselines3.common.logger.Logger",
    "baselines3.common.torch_layers.NatureCNN",
    "baselines3.common.buffers.ReplayBuffer",
    "baselines3.ppo.policies.ActorCriticPolicy",
    "baselines3.common.utils.os.system",
    "torch.nn.__class__",
]
HUGE = st.sampled_from([0, -1, 2**31, 2**63, 10**9, 10**12, 10**30])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
TAGGED = st.one_of(
    st.builds(lambda path: {"__class__": path}, st.sampled_from(CLASS_PATHS)),
    st.builds(
        lambda shape, kind: {"__space__": kind, "shape": shape, "dtype": "float32", "low": -1.0, "high": 1.0},
        st.lists(st.one_of(st.integers(-2, 8), HUGE), max_size=4),
        st.sampled_from(["Box", "Discrete", "Dict", "Nope"]),
    ),
    st.builds(lambda n: {"__space__": "Discrete", "n": n, "start": 0, "dtype": "int64"}, st.one_of(HUGE, SCALARS)),
    st.builds(
        lambda n: {
            "__object__": "baselines3.common.noise.VectorizedActionNoise",
            "spec": {"base_class": "NormalActionNoise", "base": {"mean": [0.0], "sigma": [1.0]}, "n_envs": n},
        },
        st.one_of(HUGE, SCALARS),
    ),
    st.builds(
        lambda data, shape, dtype: {"__ndarray__": data, "shape": shape, "dtype": dtype},
        st.lists(SCALARS, max_size=3),
        st.lists(st.integers(-1, 4), max_size=3),
        st.sampled_from(["float32", "object", "int8", "U3", "V8"]),
    ),
    st.builds(lambda spec: {"__schedule__": spec}, st.dictionaries(st.text(max_size=6), SCALARS, max_size=3)),
    st.builds(lambda v: {"__pickled__": v}, SCALARS),
    st.builds(lambda v: {"__tuple__": v, "__float__": "nan"}, SCALARS),
)
JSON_VALUES = st.recursive(
    st.one_of(SCALARS, TAGGED),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
FIELDS = [
    "algorithm",
    "policy_class",
    "observation_space",
    "action_space",
    "n_envs",
    "num_timesteps",
    "_total_timesteps",
    "_n_updates",
    "_current_progress_remaining",
    "policy_kwargs",
    "learning_rate",
    "buffer_size",
    "n_steps",
    "batch_size",
    "action_noise",
    "replay_buffer_class",
    "replay_buffer_kwargs",
    "ent_coef",
    "train_freq",
    "rollout_buffer",
    "lr_schedule",
    "policy",
    "predict",
    "__dict__",
    "_evil",
    "my_note",
]
POLICY_KWARGS = [
    "net_arch",
    "activation_fn",
    "features_extractor_class",
    "features_extractor_kwargs",
    "optimizer_class",
    "optimizer_kwargs",
    "n_critics",
    "log_std_init",
]
MEMBER_NAMES = [
    "data.json",
    "policy.pth",
    "policy.optimizer.pth",
    "pytorch_variables.pth",
    "_format_version",
    "unsafe_objects.pkl",
    "training_state.json",
    "actor.optimizer.pth",
    "../evil.pth",
    "x.pth",
]

# ----------------------------------------------------------------------------------------------------------
# Mutations
# ----------------------------------------------------------------------------------------------------------


def _json_member(members: list[tuple[str, bytes]], name: str) -> Any:
    for member, data in members:
        if member == name:
            return json.loads(data)
    return None


def _set_member(members: list[tuple[str, bytes]], name: str, data: bytes) -> list[tuple[str, bytes]]:
    out = [(m, d) for m, d in members if m != name]
    return [*out, (name, data)]


@st.composite
def model_mutation(draw: st.DrawFn, marker: Path) -> tuple[str, Any]:
    """One way to break a model zip, as (kind, parameters); applied by ``mutate_model``."""
    kind = draw(
        st.sampled_from(
            [
                "field",
                "field",
                "field",
                "policy_kwargs",
                "drop",
                "rename",
                "bytes",
                "truncate",
                "tensor_shape",
                "variable_name",
                "payload",
                "duplicate",
                "lying_size",
                "stored_bomb",
                "training_state",
            ]
        )
    )
    if kind == "field":
        return kind, (draw(st.sampled_from(FIELDS)), draw(JSON_VALUES))
    if kind == "policy_kwargs":
        return kind, (draw(st.sampled_from(POLICY_KWARGS)), draw(JSON_VALUES))
    if kind in ("drop", "truncate", "bytes", "duplicate", "lying_size"):
        return kind, (draw(st.sampled_from(MEMBER_NAMES[:7])), draw(st.binary(max_size=64)), draw(HUGE))
    if kind == "rename":
        return kind, (draw(st.sampled_from(MEMBER_NAMES[:7])), draw(st.sampled_from(MEMBER_NAMES)))
    if kind == "tensor_shape":
        shape = draw(st.lists(st.integers(0, 9), min_size=0, max_size=3))
        return kind, (draw(st.integers(0, 20)), shape)
    if kind == "variable_name":
        return kind, draw(st.sampled_from(["__class__.x", "policy.__dict__", "log_ent_coef", "policy", "a.b.c"]))
    if kind == "payload":
        return kind, draw(st.sampled_from(MEMBER_NAMES[:7]))
    if kind == "training_state":
        return kind, (
            draw(st.sampled_from(["version", "torch", "numpy", "python", "action_space", "x"])),
            draw(JSON_VALUES),
        )
    return kind, draw(st.integers(1, 64))


def mutate_model(members: list[tuple[str, bytes]], mutation: tuple[str, Any], marker: Path, path: Path) -> None:
    import torch

    kind, args = mutation
    method = zipfile.ZIP_DEFLATED
    if kind in ("field", "policy_kwargs"):
        data = _json_member(members, "data.json")
        key, value = args
        if kind == "field":
            data[key] = value
        else:
            data.setdefault("policy_kwargs", {})
            if isinstance(data["policy_kwargs"], dict):
                data["policy_kwargs"][key] = value
        members = _set_member(members, "data.json", json.dumps(data).encode())
    elif kind == "drop":
        members = [(m, d) for m, d in members if m != args[0]]
    elif kind == "rename":
        members = [(args[1] if m == args[0] else m, d) for m, d in members]
    elif kind == "bytes":
        members = _set_member(members, args[0], args[1])
    elif kind == "truncate":
        members = [(m, d[: len(d) // 2] if m == args[0] else d) for m, d in members]
    elif kind == "duplicate":
        members = [*members, (args[0], args[1])]
    elif kind == "tensor_shape":
        index, shape = args
        for member, data in members:
            if member == "policy.pth":
                state = torch.load(io.BytesIO(data), weights_only=True)
                key = sorted(state)[index % len(state)]
                state[key] = torch.zeros(shape)
                members = _set_member(members, "policy.pth", torch_bytes(state))
                break
    elif kind == "variable_name":
        members = _set_member(members, "pytorch_variables.pth", torch_bytes({args: torch.zeros(1)}))
    elif kind == "payload":
        payload = Payload(marker)
        blob = torch_bytes({"w": payload}) if args.endswith(".pth") else pickle_bytes({"x": payload})
        members = _set_member(members, args, blob)
    elif kind == "training_state":
        state = _json_member(members, "training_state.json") or {}
        state[args[0]] = args[1]
        members = _set_member(members, "training_state.json", json.dumps(state).encode())
    elif kind == "stored_bomb":
        members = _set_member(members, "data.json", b" " * (args * 2**20))
        method = zipfile.ZIP_STORED
    write_zip(path, members, method)
    if kind == "lying_size":
        _lie_about_size(path, args[0], args[2])


def _lie_about_size(path: Path, name: str, size: int) -> None:
    raw = bytearray(path.read_bytes())
    encoded = name.encode()
    position = 0
    while (position := raw.find(b"PK\x01\x02", position)) >= 0:
        length = struct.unpack_from("<H", raw, position + 28)[0]
        if raw[position + 46 : position + 46 + length] == encoded:
            struct.pack_into("<I", raw, position + 24, size % 2**32)
        position += 4
    path.write_bytes(bytes(raw))


@st.composite
def vecnorm_mutation(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["field", "field", "nested", "bytes", "payload"]))
    if kind == "field":
        return kind, (
            draw(st.sampled_from(["format", "version", "settings", "obs_rms", "ret_rms", "obs_rms_is_dict"])),
            draw(JSON_VALUES),
        )
    if kind == "nested":
        return kind, (
            draw(st.sampled_from(["obs_rms", "ret_rms", "settings"])),
            draw(st.sampled_from(["mean", "var", "count", "shape", "gamma", "clip_obs", "norm_obs", "norm_obs_keys"])),
            draw(JSON_VALUES),
        )
    return kind, draw(st.binary(max_size=64))


def mutate_vecnorm(good: Path, mutation: tuple[str, Any], marker: Path, path: Path) -> None:
    kind, args = mutation
    data = json.loads(good.read_text())
    if kind == "field":
        data[args[0]] = args[1]
    elif kind == "nested" and isinstance(data.get(args[0]), dict):
        data[args[0]][args[1]] = args[2]
    if kind == "bytes":
        path.write_bytes(args)
    elif kind == "payload":
        path.write_bytes(pickle_bytes(Payload(marker)))
    else:
        path.write_text(json.dumps(data))


@st.composite
def buffer_mutation(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["meta", "meta", "array_shape", "array_dtype", "nan", "drop", "bytes", "object"]))
    if kind == "meta":
        key = draw(
            st.sampled_from(["buffer_size", "n_envs", "pos", "full", "observation_space", "storage", "sampling"])
        )
        return kind, (key, draw(JSON_VALUES))
    names = ["observations", "next_observations", "actions", "rewards", "dones", "timeouts"]
    return kind, (
        draw(st.sampled_from(names)),
        draw(st.lists(st.integers(0, 70), max_size=3)),
        draw(st.binary(max_size=32)),
    )


def mutate_buffer(good: Path, mutation: tuple[str, Any], marker: Path, path: Path) -> None:
    from baselines3.common.serialization.arrays import ARRAYS_META_KEY, load_arrays

    kind, args = mutation
    meta, arrays = load_arrays(good)
    with zipfile.ZipFile(good) as archive:
        raw_meta = json.loads(str(np.load(archive.open(ARRAYS_META_KEY + ".npy"))))
    if kind == "meta":
        raw_meta[args[0]] = args[1]
    elif kind == "array_shape":
        arrays[args[0]] = np.zeros(args[1], dtype=np.float32)
    elif kind == "array_dtype":
        arrays[args[0]] = arrays[args[0]].astype(np.float64)
    elif kind == "nan":
        array = arrays[args[0]].astype(np.float32)
        array.reshape(-1)[0] = np.nan
        arrays[args[0]] = array
    elif kind == "drop":
        arrays.pop(args[0])
    members: list[tuple[str, bytes]] = []
    for name, array in arrays.items():
        handle = io.BytesIO()
        np.lib.format.write_array(handle, np.asarray(array), allow_pickle=False)
        members.append((name + ".npy", handle.getvalue()))
    handle = io.BytesIO()
    np.lib.format.write_array(handle, np.array(json.dumps(raw_meta)))
    members.append((ARRAYS_META_KEY + ".npy", handle.getvalue()))
    if kind == "object":
        handle = io.BytesIO()
        np.lib.format.write_array(handle, np.array([Payload(marker)], dtype=object), allow_pickle=True)
        members = _set_member(members, args[0] + ".npy", handle.getvalue())
    if kind == "bytes":
        members = _set_member(members, args[0] + ".npy", args[2])
    write_zip(path, members, zipfile.ZIP_STORED)


# ----------------------------------------------------------------------------------------------------------
# The campaign
# ----------------------------------------------------------------------------------------------------------


class Figures:
    def __init__(self) -> None:
        self.cases = 0
        self.outcomes: Counter[str] = Counter()
        self.raw: list[str] = []
        self.markers = 0
        self.peak_mb = 0.0
        self.slowest = (0.0, "")

    def record(self, label: str, reply: dict[str, Any], marker: Path) -> None:
        self.cases += 1
        self.outcomes[reply["outcome"]] += 1
        if reply["outcome"] == "raw":
            self.raw.append(f"{label}: {reply['error']}\n{reply.get('traceback', '')}")
        if marker.exists():
            self.markers += 1
            marker.unlink()
        self.peak_mb = max(self.peak_mb, reply["peak_mb"])
        if reply["seconds"] > self.slowest[0]:
            self.slowest = (reply["seconds"], label)

    def report(self) -> str:
        return (
            f"load fuzzer: {self.cases} cases tried ({dict(self.outcomes)}), {len(self.raw)} raw exceptions, "
            f"{self.markers} marker files written, peak memory {self.peak_mb:.1f} MB over the worker's baseline "
            f"(cap {MEMORY_CAP_MB} MB), slowest case {self.slowest[0] * 1000:.0f} ms ({self.slowest[1][:120]})"
        )


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Worker, dict[str, Path], Path, Figures]]:
    folder = tmp_path_factory.mktemp("fuzz")
    worker, figures = Worker(), Figures()
    good = make_good_files(folder)
    for algo, name in (("PPO", "ppo.zip"), ("SAC", "sac.zip")):  # warm up: first loads import lazily
        assert worker.run({"kind": "model", "path": str(good[name]), "algo": algo})["outcome"] == "loaded"
    yield worker, good, folder, figures
    worker.close()
    print("\n" + figures.report())
    assert figures.cases > 0


def _run(campaign: Any, kind: str, mutation: tuple[str, Any], extra: dict[str, Any]) -> None:
    worker, good, folder, figures = campaign
    marker = folder / MARKER_NAME
    path = folder / f"case.{ {'model': 'zip', 'vecnorm': 'json', 'buffer': 'npz'}[kind] }"
    if kind == "model":
        mutate_model(zip_members(good[extra["base"]]), mutation, marker, path)
    elif kind == "vecnorm":
        mutate_vecnorm(good["vecnorm.json"], mutation, marker, path)
    else:
        mutate_buffer(good["buffer.npz"], mutation, marker, path)
    request = {"kind": kind, "path": str(path), **extra}
    if kind == "buffer":
        request["base"] = str(good["sac.zip"])
    reply = worker.run(request)
    label = f"{kind} {extra} {mutation!r}"[:400]
    figures.record(label, reply, marker)
    assert reply["outcome"] != "raw", f"{label}\n{reply['error']}\n{reply.get('traceback', '')}"
    assert figures.markers == 0, f"code from a file ran: {label}"
    assert reply["peak_mb"] < MEMORY_CAP_MB, label


SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_SEED = int(os.environ.get("BASELINES3_FUZZ_SEED", "0"))


@seed(FUZZ_SEED)
@SETTINGS
@given(data=st.data())
def test_fuzz_model_archives(campaign: Any, data: st.DataObject) -> None:
    marker = campaign[2] / MARKER_NAME
    mutation = data.draw(model_mutation(marker))
    algo = data.draw(st.sampled_from(["PPO", "SAC"]))
    _run(campaign, "model", mutation, {"algo": algo, "base": "ppo.zip" if algo == "PPO" else "sac.zip"})


@seed(FUZZ_SEED + 1)
@settings(SETTINGS, max_examples=max(EXAMPLES // 3, 10))
@given(mutation=vecnorm_mutation())
def test_fuzz_vecnormalize_files(campaign: Any, mutation: tuple[str, Any]) -> None:
    _run(campaign, "vecnorm", mutation, {})


@seed(FUZZ_SEED + 2)
@settings(SETTINGS, max_examples=max(EXAMPLES // 3, 10))
@given(mutation=buffer_mutation())
def test_fuzz_replay_buffers(campaign: Any, mutation: tuple[str, Any]) -> None:
    _run(campaign, "buffer", mutation, {})
