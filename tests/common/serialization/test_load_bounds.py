"""Bounded loading: small files that would inflate or allocate without bound are refused quickly, in little memory.

The two cases from the hardening work: a 4 MB zip whose data.json inflates to 4 GiB, and a VectorizedActionNoise
with n_envs=10**9 in data.json. Each is loaded in a fresh subprocess that reports its time and peak memory.
Also: forged zip headers, .npy headers that declare more than their member holds, the limits' overrides, and
temp files of killed saves removed by the next save.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from baselines3 import PPO, SAC
from baselines3.common.noise import NormalActionNoise, VectorizedActionNoise
from baselines3.common.serialization.atomic import TEMP_NAME, remove_stale_temp_files
from baselines3.common.serialization.errors import ModelLoadError
from baselines3.common.serialization.limits import (
    DEFAULT_LOAD_LIMITS,
    LoadLimits,
    current_limits,
    load_limits,
    set_load_limits,
)

REPO = Path(__file__).resolve().parents[3]
_MIB = 2**20


def _deflated_zeros(mib: int) -> bytes:
    """A raw deflate stream of ``mib`` MiB of spaces, built from one independently decodable 1 MiB block (a full
    flush ends each block on a byte boundary with an empty window), so a 4 GiB stream takes milliseconds."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b" " * _MIB) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * mib + b"\x03\x00"  # a final empty fixed-Huffman block


def replace_member(source: Path, target: Path, name: str, payload: bytes) -> None:
    """Copy the zip ``source`` to ``target`` with member ``name`` replaced by ``payload`` (deflated)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, payload if info.filename == name else old.read(info))


def zip_bomb(source: Path, target: Path, name: str, inflated_mib: int, declared: int | None = None) -> None:
    """``source`` with member ``name`` replaced by a deflate stream inflating to ``inflated_mib`` MiB; its headers
    declare ``declared`` bytes (default: the true size, at most 4 GiB - 1 without zip64)."""
    stream = _deflated_zeros(inflated_mib)
    size = min(inflated_mib * _MIB, 2**32 - 1) if declared is None else declared
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            new.writestr(item.filename, stream if item.filename == name else old.read(item), zipfile.ZIP_STORED)
    raw = bytearray(target.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        local = archive.getinfo(name).header_offset
    # the stream was stored raw: mark it deflated and give it the declared size, in both headers
    central = _central_entry(raw, name)
    for method_at, size_at in ((local + 8, local + 22), (central + 10, central + 24)):
        struct.pack_into("<H", raw, method_at, zipfile.ZIP_DEFLATED)
        struct.pack_into("<I", raw, size_at, size)
    target.write_bytes(bytes(raw))


def _central_entry(raw: bytearray, name: str) -> int:
    """Offset of ``name``'s entry in the central directory."""
    encoded = name.encode()
    position = 0
    while True:
        position = raw.find(b"PK\x01\x02", position)
        assert position >= 0, name
        length = struct.unpack_from("<H", raw, position + 28)[0]
        if raw[position + 46 : position + 46 + length] == encoded:
            return position
        position += 4


_MEASURE = r"""
import json, resource, sys, time
from baselines3 import PPO, SAC
from baselines3.common.serialization.errors import ModelLoadError
cls = {"PPO": PPO, "SAC": SAC}[sys.argv[2]]

def peak_mb():
    # VmHWM belongs to this program's memory map; ru_maxrss would carry the parent's peak across fork + exec
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

before = peak_mb()
start = time.perf_counter()
try:
    cls.load(sys.argv[1])
    outcome = "loaded"
except ModelLoadError as error:
    outcome = "ModelLoadError: " + str(error)
except BaseException as error:
    outcome = "RAW " + type(error).__name__ + ": " + str(error)[:300]
seconds = time.perf_counter() - start
print(json.dumps(dict(seconds=seconds, peak_rss_mb=peak_mb(), rss_after_import_mb=before, outcome=outcome)))
"""


def measure_load(path: Path, algo: str) -> dict[str, Any]:
    """Load ``path`` in a fresh process: seconds spent in load, peak RSS (MB) and the outcome."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), algo], capture_output=True, text=True, timeout=300, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"{path.name}: {result['outcome'][:110]}... in {result['seconds'] * 1000:.1f} ms, peak RSS "
        f"{result['peak_rss_mb']:.0f} MB ({result['rss_after_import_mb']:.0f} MB after importing)"
    )
    return result


@pytest.fixture(scope="module")
def ppo_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "ppo.zip"
    PPO("MlpPolicy", "Pendulum-v1", n_steps=64, policy_kwargs=dict(net_arch=[64, 64])).save(path)
    return path


def test_zip_bomb_data_json_is_refused_fast_in_little_memory(ppo_zip: Path, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    zip_bomb(ppo_zip, bomb, "data.json", inflated_mib=4095)  # 4 GiB - 1 MiB of JSON whitespace
    assert bomb.stat().st_size < 6 * _MIB
    result = measure_load(bomb, "PPO")
    assert result["outcome"].startswith("ModelLoadError") and "data.json" in result["outcome"]
    assert "4293918720 bytes" in result["outcome"]
    assert result["seconds"] < 1.0
    assert result["peak_rss_mb"] - result["rss_after_import_mb"] < 50
    assert result["peak_rss_mb"] < 300


def test_vectorized_noise_with_a_billion_envs_is_refused_fast(tmp_path: Path) -> None:
    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8]))
    model.action_noise = VectorizedActionNoise(NormalActionNoise(np.zeros(1), np.ones(1)), 1)
    model.save(tmp_path / "noise.zip")
    with zipfile.ZipFile(tmp_path / "noise.zip") as archive:
        data = json.loads(archive.read("data.json"))
    data["action_noise"]["spec"]["n_envs"] = 10**9
    replace_member(tmp_path / "noise.zip", tmp_path / "forged.zip", "data.json", json.dumps(data).encode())
    result = measure_load(tmp_path / "forged.zip", "SAC")
    assert result["outcome"].startswith("ModelLoadError") and "n_envs" in result["outcome"]
    assert "1000000000" in result["outcome"]
    assert result["seconds"] < 1.0
    assert result["peak_rss_mb"] - result["rss_after_import_mb"] < 50
    assert result["peak_rss_mb"] < 300


def test_noise_envs_must_match_the_model(tmp_path: Path) -> None:
    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[8]))
    model.action_noise = VectorizedActionNoise(NormalActionNoise(np.zeros(1), np.ones(1)), 1)
    model.save(tmp_path / "noise.zip")
    with zipfile.ZipFile(tmp_path / "noise.zip") as archive:
        data = json.loads(archive.read("data.json"))
    data["action_noise"]["spec"]["n_envs"] = 3
    replace_member(tmp_path / "noise.zip", tmp_path / "forged.zip", "data.json", json.dumps(data).encode())
    with pytest.raises(ModelLoadError, match=r"n_envs=3.*n_envs=1"):
        SAC.load(tmp_path / "forged.zip")


def test_a_lying_directory_cannot_inflate_past_its_declared_size(ppo_zip: Path, tmp_path: Path) -> None:
    """The directory says 200 bytes; the stream holds 64 MiB: reading stops at 200 and the member is refused."""
    liar = tmp_path / "liar.zip"
    zip_bomb(ppo_zip, liar, "data.json", inflated_mib=64, declared=200)
    with pytest.raises(ModelLoadError, match=r"data\.json"):
        PPO.load(liar)


def test_compression_ratio_limit(ppo_zip: Path, tmp_path: Path) -> None:
    """Under the size cap but over the ratio: 48 MiB that compress ~1000:1 are refused, and load with a higher
    ratio limit (then fail as the malformed JSON they are)."""
    bomb = tmp_path / "ratio.zip"
    zip_bomb(ppo_zip, bomb, "data.json", inflated_mib=48)
    with pytest.raises(ModelLoadError, match="compression ratio"):
        PPO.load(bomb)
    with load_limits(max_compression_ratio=5000), pytest.raises(ModelLoadError, match=r"malformed|CRC|corrupt"):
        PPO.load(bomb)


def test_limits_are_overridable_and_validated(ppo_zip: Path) -> None:
    assert current_limits() == DEFAULT_LOAD_LIMITS
    with load_limits(max_json_bytes=100) as limits:
        assert limits.max_json_bytes == 100
        with pytest.raises(ModelLoadError, match=r"'data\.json' would decompress to \d+ bytes.*limit of 100"):
            PPO.load(ppo_zip)
    PPO.load(ppo_zip)  # the default limits are back
    previous = set_load_limits(max_layer_width=8)
    try:
        with pytest.raises(ModelLoadError, match=r"net_arch.*64.*max_layer_width"):
            PPO.load(ppo_zip)
    finally:
        set_load_limits(previous)
    assert current_limits() == DEFAULT_LOAD_LIMITS
    with pytest.raises(ValueError, match="max_members must be a positive number"):
        LoadLimits(max_members=0)
    with pytest.raises(TypeError), load_limits(no_such_limit=1):
        pass


def test_npy_header_that_declares_more_than_its_member_is_refused(tmp_path: Path) -> None:
    """An .npy header whose shape needs more bytes than its member holds is refused before NumPy allocates."""
    model = SAC("MlpPolicy", "Pendulum-v1", buffer_size=100, policy_kwargs=dict(net_arch=[8]))
    model.learn(20)
    path = model.save_replay_buffer(tmp_path / "buffer.npz")
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(tmp_path / "forged.npz", "w") as new:
        for info in old.infolist():
            member = old.read(info)
            if info.filename == "rewards.npy":
                assert b"'shape': (100, 1)" in member
                member = member.replace(b"'shape': (100, 1)", b"'shape': (900, 1)")
            new.writestr(info.filename, member)
    with pytest.raises(ModelLoadError, match=r"shape \(900, 1\).*does not match the member's size"):
        model.load_replay_buffer(tmp_path / "forged.npz")


def test_replay_buffer_sizes_must_agree_with_the_saved_arrays(tmp_path: Path) -> None:
    from baselines3.common.serialization.arrays import load_arrays, save_arrays

    model = SAC("MlpPolicy", "Pendulum-v1", buffer_size=100, policy_kwargs=dict(net_arch=[8]))
    model.learn(20)
    path = model.save_replay_buffer(tmp_path / "buffer.npz")
    meta, arrays = load_arrays(path)
    save_arrays(tmp_path / "big.npz", {**meta, "buffer_size": 10**8}, arrays)
    with pytest.raises(ModelLoadError, match=r"'rewards' should have shape \(100000000, 1\)"):
        model.replay_buffer.load(tmp_path / "big.npz")
    assert model.replay_buffer.buffer_size == 100  # unchanged


_SLOW_SAVE = r"""
import sys, time
from pathlib import Path
from baselines3.common.serialization.atomic import atomic_write

def write(file):  # the writer every save goes through, fed slowly so that the kill lands mid-write
    for _ in range(2000):
        file.write(b"x" * 65536)
        file.flush()
        time.sleep(0.005)

print("ready", flush=True)
atomic_write(Path(sys.argv[1]), write)
"""


def test_temp_files_of_killed_saves_are_removed_by_the_next_save(tmp_path: Path) -> None:
    """Four saves to one folder, killed with SIGKILL mid-write, leave four temp files: while they ran, none removed
    another's (each was started before the others' files were abandoned). A process started later removes them
    all with its next save to that folder, and nothing else."""
    target = tmp_path / "buffer.npz"
    children = [
        subprocess.Popen([sys.executable, "-c", _SLOW_SAVE, str(target)], stdout=subprocess.PIPE) for _ in range(4)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + 60
    while len([p for p in tmp_path.iterdir() if TEMP_NAME.fullmatch(p.name) and p.stat().st_size > 0]) < 4:
        assert time.monotonic() < deadline and all(child.poll() is None for child in children)
        time.sleep(0.005)
    for child in children:
        child.send_signal(signal.SIGKILL)
        child.wait()
    leftovers = [p for p in tmp_path.iterdir() if TEMP_NAME.fullmatch(p.name)]
    assert len(leftovers) == 4 and not target.exists()
    (tmp_path / ".keep.me.tmp").write_text("not ours")
    (tmp_path / "notes.txt").write_text("user file")
    # this test process started before the killed ones: their files are too new for it to remove
    assert remove_stale_temp_files(tmp_path) == []
    time.sleep(1.5)  # a file is stale when modified at least a second before the saving process started
    later = "import sys; from baselines3 import PPO; PPO('MlpPolicy', 'CartPole-v1', n_steps=8).save(sys.argv[1])"
    subprocess.run([sys.executable, "-c", later, str(tmp_path / "model.zip")], check=True, timeout=300)
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == [".keep.me.tmp", "model.zip", "notes.txt"]
