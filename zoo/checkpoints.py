"""Checkpoints a stopped training run continues from.

A run folder holds at most one complete checkpoint, ``checkpoint_<steps>``: the model, its replay buffer and its
VecNormalize statistics (each saved with the library's own functions, so a Stable-Baselines3 model works too) and
a manifest, ``checkpoint.json``, written last. A folder whose manifest is missing or unreadable is a save that was
stopped part way and is passed over. The manifest names the run (``identity``), so a checkpoint of another run in
the same folder is never continued.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from baselines3.common.serialization.atomic import atomic_write_text

MANIFEST = "checkpoint.json"


@dataclass(frozen=True)
class Checkpoint:
    """A complete checkpoint: its folder, the steps it was saved at and its manifest."""

    folder: pathlib.Path
    steps: int
    manifest: dict[str, Any]

    def file(self, kind: str) -> pathlib.Path | None:
        """The path of the file saved for `kind` ("model", "replay_buffer", "vecnormalize"), None if none was."""
        name = self.manifest["files"].get(kind)
        return None if name is None else self.folder / name

    @property
    def final(self) -> bool:
        """Whether the run had finished when it was saved."""
        return bool(self.manifest.get("final"))


def checkpoint_folders(run_dir: str | pathlib.Path) -> list[pathlib.Path]:
    """The checkpoint folders in `run_dir`, complete or not, fewest steps first."""
    return sorted(pathlib.Path(run_dir).glob("checkpoint_*"))


def save_checkpoint(
    model: Any,
    run_dir: str | pathlib.Path,
    manifest: dict[str, Any],
    *,
    save_model: bool = True,
    save_replay_buffer: bool = False,
    replay_suffix: str = ".npz",
    normalize_suffix: str = ".json",
) -> pathlib.Path:
    """Save `model` at its step count in `run_dir`: the model (`save_model`), its replay buffer
    (`save_replay_buffer`) and its VecNormalize statistics (with the model), then `manifest` with "steps" and
    "files" added, which makes the checkpoint complete; then delete every other checkpoint folder of `run_dir`
    (older ones, or a stale incomplete one). Without `save_model` the checkpoint is the manifest alone (a finished
    run's result). The suffixes are the library's file types (Stable-Baselines3 pickles both)."""
    steps = int(model.num_timesteps)
    folder = pathlib.Path(run_dir) / f"checkpoint_{steps:012d}"
    shutil.rmtree(folder, ignore_errors=True)  # an incomplete save of an earlier process at the same step
    folder.mkdir(parents=True)
    files: dict[str, str] = {}
    if save_model:
        files["model"] = "model.zip"
        model.save(folder / files["model"])
        normalize = model.get_vec_normalize_env()
        if normalize is not None:
            files["vecnormalize"] = f"vecnormalize{normalize_suffix}"
            normalize.save(str(folder / files["vecnormalize"]))
    if save_replay_buffer:
        files["replay_buffer"] = f"replay_buffer{replay_suffix}"
        model.save_replay_buffer(folder / files["replay_buffer"])
    atomic_write_text(folder / MANIFEST, json.dumps({**manifest, "steps": steps, "files": files}, indent=1) + "\n")
    remove_checkpoints(run_dir, keep=folder)
    return folder


def remove_checkpoints(run_dir: str | pathlib.Path, keep: pathlib.Path | None = None) -> None:
    """Delete the checkpoint folders of `run_dir` (complete or not), all but `keep`."""
    for folder in checkpoint_folders(run_dir):
        if folder != keep:
            shutil.rmtree(folder, ignore_errors=True)


def newest_checkpoint(run_dirs: Iterable[str | pathlib.Path], identity: dict[str, Any]) -> Checkpoint | None:
    """The checkpoint with the most steps among the complete ones in `run_dirs`: its manifest is there, holds
    `identity` (each key with the same value) and every file it lists exists."""
    best: Checkpoint | None = None
    for run_dir in run_dirs:
        for folder in checkpoint_folders(run_dir):
            try:
                manifest = json.loads((folder / MANIFEST).read_text())
                steps = int(manifest["steps"])
                files = dict(manifest["files"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if any(manifest.get(key) != value for key, value in identity.items()):
                continue
            if not all((folder / name).exists() for name in files.values()):
                continue
            if best is None or steps > best.steps:
                best = Checkpoint(folder, steps, manifest)
    return best


@contextlib.contextmanager
def compiled_as_uninterrupted(algo: str, budget: int) -> Iterator[None]:
    """Inside: baselines3's SAC/TD3 step compiled where an uninterrupted run of `budget` steps would compile it under
    the automatic setting, also when a continued run's own learn() call is shorter than the setting's threshold
    (otherwise the rest of a stopped run would train eagerly). An explicit setting is left as it is."""
    if algo not in ("sac", "td3"):
        yield
        return
    from baselines3.common.fast import compiled

    setting = compiled.compiled_updates_setting()
    if setting is None and compiled.auto_reason(budget) is None:
        compiled.set_compiled_updates(True)
    try:
        yield
    finally:
        compiled.set_compiled_updates(setting)
