"""The load fuzzer's two halves: mutations of good files (run under Hypothesis by test_load_fuzz.py, beside this
file), and the worker process that loads each mutated file under a memory limit and reports what happened.

Run the long campaign with ``make fuzz`` (``python -m tests.common.serialization.fuzz_loading --examples 3000``):
it prints cases tried, raw exceptions, marker files written (code run from a file), peak memory and the slowest case.

Worker protocol: one JSON request per line on stdin ``{"kind": "model"|"vecnorm"|"buffer", "path": ..., "algo": ...}``,
one JSON reply per line on stdout ``{"outcome": "loaded"|"refused"|"raw", "error": ..., "seconds": ...,
"peak_mb": ...}``.
An error is the library's own when it is a ``ModelLoadError``, or a ``ValueError`` raised by baselines3 code
itself (not by NumPy or PyTorch underneath); anything else is raw. A file that loads must also work: a model
predicts, a buffer samples finite values, a VecNormalize normalizes to finite values.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import resource
import subprocess
import sys
import time
import traceback
import zipfile
from pathlib import Path
from typing import Any

MEMORY_CAP_MB = 1024  # address space a worker may add to what it holds after its imports
MARKER_NAME = "fuzz_marker"


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmSize")) * 1024


def _library_error(error: BaseException) -> bool:
    from baselines3.common.serialization.errors import ModelLoadError

    if isinstance(error, ModelLoadError):
        return True
    if type(error) is not ValueError:
        return False
    innermost = traceback.extract_tb(error.__traceback__)[-1].filename
    return f"{os.sep}baselines3{os.sep}" in innermost


def _exercise(kind: str, loaded: Any) -> None:
    """What a loaded object must still do (a file that loads but breaks later is a failure too)."""
    import numpy as np

    if kind == "model":
        obs = loaded.observation_space.sample()
        action, _ = loaded.predict(obs, deterministic=True)
        if not np.all(np.isfinite(np.asarray(action, dtype=np.float64))):
            raise AssertionError(f"the loaded model predicts {action}")
    elif kind == "buffer":
        if loaded.replay_buffer.size() > 0:
            batch = loaded.replay_buffer.sample(4)
            for value in (batch.rewards, batch.actions, batch.observations):
                if not bool(value.isfinite().all()):
                    raise AssertionError("the loaded buffer samples non-finite values")
    elif kind == "vecnorm":
        normalized = loaded.normalize_obs(loaded.venv.observation_space.sample()[None])
        if not np.all(np.isfinite(normalized)):
            raise AssertionError("the loaded VecNormalize normalizes to non-finite values")


def worker() -> None:
    """The child: imports everything, then caps its address space and serves requests until stdin closes."""
    import gymnasium as gym
    import torch

    from baselines3 import PPO, SAC
    from baselines3.common.vec_env import DummyVecEnv, VecNormalize

    torch.set_num_threads(1)
    algos = {"PPO": PPO, "SAC": SAC}
    sac_models: dict[str, Any] = {}
    venv = DummyVecEnv([lambda: gym.make("Pendulum-v1")])
    baseline = _peak_mb()
    limit = _vm_size() + MEMORY_CAP_MB * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    print(json.dumps({"ready": True, "baseline_mb": baseline}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        start = time.perf_counter()
        reply: dict[str, Any] = {"outcome": "loaded", "error": ""}
        try:
            if request["kind"] == "model":
                loaded: Any = algos[request["algo"]].load(request["path"])
            elif request["kind"] == "vecnorm":
                loaded = VecNormalize.load(request["path"], venv)
            else:
                model = sac_models.get(request["base"])
                if model is None:
                    model = sac_models[request["base"]] = SAC.load(request["base"])
                model.load_replay_buffer(request["path"], truncate_last_traj=False)
                loaded = model
            _exercise(request["kind"], loaded)
        except BaseException as error:  # everything is classified, nothing escapes the worker
            reply["outcome"] = "refused" if _library_error(error) else "raw"
            reply["error"] = f"{type(error).__name__}: {str(error)[:300]}"
            if reply["outcome"] == "raw":
                reply["traceback"] = traceback.format_exc()[-1500:]
        reply["seconds"] = time.perf_counter() - start
        reply["peak_mb"] = _peak_mb() - baseline
        print(json.dumps(reply), flush=True)


class Worker:
    """One worker process reused for many cases (imports cost seconds; a case costs milliseconds)."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.baseline_mb = 0.0

    def _start(self) -> subprocess.Popen[str]:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        process = subprocess.Popen(
            [sys.executable, "-c", "from tests.common.serialization.fuzz_loading import worker; worker()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[3],
            env=env,
        )
        assert process.stdout is not None
        hello = json.loads(process.stdout.readline())
        self.baseline_mb = hello["baseline_mb"]
        return process

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:  # the worker died: a crash is a raw failure too
            code = self.process.wait()
            self.process = None
            return {"outcome": "raw", "error": f"worker died with exit code {code}", "seconds": 0.0, "peak_mb": 0.0}
        reply: dict[str, Any] = json.loads(line)
        return reply

    def close(self) -> None:
        if self.process is not None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=60)
            self.process = None


# ----------------------------------------------------------------------------------------------------------
# Good files and mutations
# ----------------------------------------------------------------------------------------------------------


class Payload:
    """Unpickling this writes the marker file: proof that a loader ran code from a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def make_good_files(folder: Path) -> dict[str, Path]:
    import gymnasium as gym
    import numpy as np

    from baselines3 import PPO, SAC
    from baselines3.common.noise import NormalActionNoise, VectorizedActionNoise
    from baselines3.common.vec_env import DummyVecEnv, VecNormalize

    files = {name: folder / name for name in ("ppo.zip", "sac.zip", "buffer.npz", "vecnorm.json")}
    PPO("MlpPolicy", "Pendulum-v1", n_steps=16, batch_size=16, policy_kwargs=dict(net_arch=[8, 8])).save(
        files["ppo.zip"]
    )
    sac = SAC("MlpPolicy", "Pendulum-v1", buffer_size=32, learning_starts=4, policy_kwargs=dict(net_arch=[8]))
    sac.action_noise = VectorizedActionNoise(NormalActionNoise(np.zeros(1), np.ones(1)), 1)
    sac.learn(12)
    sac.save(files["sac.zip"])
    sac.save_replay_buffer(files["buffer.npz"])
    norm = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    norm.reset()
    norm.save(files["vecnorm.json"])
    return files


def zip_members(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def write_zip(path: Path, members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are one of the mutations
        with zipfile.ZipFile(path, "w", method) as archive:
            for name, data in members:
                archive.writestr(name, data)


def torch_bytes(obj: Any) -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def pickle_bytes(obj: Any) -> bytes:
    return pickle.dumps(obj)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Fuzz the loaders of models, VecNormalize files and replay buffers.")
    parser.add_argument("--examples", type=int, default=3000, help="cases to try (default 3000)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    args = parser.parse_args()
    os.environ["BASELINES3_FUZZ_EXAMPLES"] = str(args.examples)
    if args.seed is not None:
        os.environ["BASELINES3_FUZZ_SEED"] = str(args.seed)
    import pytest

    sys.exit(pytest.main(["-q", "-s", "-p", "no:cacheprovider", str(Path(__file__).with_name("test_load_fuzz.py"))]))


if __name__ == "__main__":
    main()
