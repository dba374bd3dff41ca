"""Train the MuJoCo rows with baselines3 and with Stable-Baselines3 on the same zoo entry and the same reduced
budget, and evaluate both the same way.

    python -m benchmarks.side_by_side --list                          # every (library, row, seed): done, part-way
    python -m benchmarks.side_by_side                                 # the 12 MuJoCo rows, 3 seeds, both libraries
    python -m benchmarks.side_by_side --rows sac:HalfCheetah-v5 --seeds 0 --libs sb3
    python -m benchmarks.side_by_side --rows ppo:Hopper-v5 --dry-run  # what would run, and from which step
    python -m benchmarks.side_by_side --estimate 1000                 # steps/s of each row and library, hours per run

One harness serves both libraries, so the library is the only thing that differs: the env is built from the
entry with the library's own `make_vec_env` and `VecNormalize`, the model with the library's class and the entry's
keywords (seed, CPU, one torch thread), and it trains for `BUDGETS[algo]` steps (200k for SAC and TD3, 1M for
PPO and A2C: what fits a 2-core CPU; the published runs train 1M for all four). Every tenth of the budget the
run saves a checkpoint with the library's own functions (model, replay buffer of off-policy algorithms,
normalization statistics) and, last, a manifest that marks it complete; a run that was stopped goes on from its
newest complete checkpoint with `reset_num_timesteps=False`, so schedules still span the whole budget. The final
model is evaluated by one procedure for both (`evaluate`): 10 deterministic episodes of `gym.make(env)` seeded
10000 + seed, observations normalized with the run's frozen statistics, returns summed from the env's rewards.

Each (library, row, seed) writes `<results>/<library>/<algo>/<env>/seed<S>.json` (default results folder
`benchmarks/results_side_by_side/`, runs under `benchmarks/runs/side_by_side/`, which is not committed); pairs
whose file exists are skipped. `python -m benchmarks.report --side-by-side-only` puts the comparison table into
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import gymnasium as gym
import numpy as np

from benchmarks.run import (
    REPO,
    RunFailed,
    child_env,
    display_path,
    finished_line,
    git_commit,
    load_average,
    run_in_pool,
    write_json,
)
from zoo import checkpoints
from zoo.checkpoints import Checkpoint
from zoo.config import ConfigError, Experiment, load_experiment

#: The two libraries: our name for each and the package it imports.
LIBRARIES = {"baselines3": "baselines3", "sb3": "stable_baselines3"}
#: Algorithms both libraries have under the same class name.
ALGOS = ("a2c", "ppo", "sac", "td3", "dqn", "ddpg")
OFF_POLICY = ("sac", "td3", "dqn", "ddpg")
MUJOCO_ENVS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5")
#: Training steps per algorithm: what fits a 2-core CPU (others train their zoo entry's n_timesteps).
BUDGETS = {"sac": 200_000, "td3": 200_000, "ppo": 1_000_000, "a2c": 1_000_000}
DEFAULT_ROWS = tuple(f"{algo}:{env}" for algo in ("sac", "td3", "ppo", "a2c") for env in MUJOCO_ENVS)
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_RESULTS = REPO / "benchmarks" / "results_side_by_side"
DEFAULT_RUNS = REPO / "benchmarks" / "runs" / "side_by_side"
#: A checkpoint every budget / CHECKPOINTS steps.
CHECKPOINTS = 10
EVAL_EPISODES = 10
#: The final evaluation's env is seeded with this plus the run's seed (as in benchmarks.run).
EVAL_SEED_OFFSET = 10_000
SCHEMA = 1
#: Exit code of a training process that stopped after a checkpoint because --stop-after asked it to.
STOPPED = 3
#: what a sweep's worker reports for a run that another process is training (not an exit code)
SKIPPED = -1


class StopRequested(Exception):
    """Raised after the checkpoint --stop-after asked for: the process ends as if it had been stopped there."""


# ---------------------------------------------------------------- planning


@dataclass(frozen=True)
class Job:
    """One library, row and seed, trained for `budget` steps."""

    library: str
    algo: str
    env: str
    seed: int
    budget: int

    @property
    def row(self) -> str:
        return f"{self.algo}:{self.env}"

    @property
    def checkpoint_every(self) -> int:
        return max(self.budget // CHECKPOINTS, 1)

    def result_path(self, results: pathlib.Path) -> pathlib.Path:
        return pathlib.Path(results) / self.library / self.algo / self.env.replace("/", "-") / f"seed{self.seed}.json"

    def run_dir(self, runs: pathlib.Path) -> pathlib.Path:
        return pathlib.Path(runs) / self.library / self.algo / self.env.replace("/", "-") / f"seed{self.seed}"


@dataclass
class Plan:
    todo: list[Job] = field(default_factory=list)
    done: list[Job] = field(default_factory=list)
    #: result files of another budget that a run would overwrite: (job, message)
    conflicts: list[tuple[Job, str]] = field(default_factory=list)


def parse_row(key: str) -> tuple[str, str]:
    """`algo:env` -> (algo, env), checked against the algorithms both libraries have and the zoo's entries."""
    algo, sep, env = key.partition(":")
    if not sep or not algo or not env:
        raise ValueError(f"a row is ALGO:ENV, e.g. sac:HalfCheetah-v5; got {key!r}")
    if algo not in ALGOS:
        raise ValueError(f"row {key!r}: algorithm {algo!r} is not one both libraries have ({', '.join(ALGOS)})")
    try:
        load_experiment(algo, env, use_default=False)
    except ConfigError as error:
        raise ValueError(f"row {key!r}: {error}") from None
    return algo, env


def default_budget(algo: str, env: str) -> int:
    """`BUDGETS[algo]`, or the zoo entry's n_timesteps for the other algorithms."""
    return BUDGETS.get(algo) or load_experiment(algo, env, use_default=False).n_timesteps


def make_plan(
    rows: Sequence[str],
    seeds: Sequence[int],
    libraries: Sequence[str],
    results: pathlib.Path,
    n_timesteps: int | None = None,
) -> Plan:
    """Every (row, seed, library), libraries side by side so that `--jobs 2` trains both on the same seed at
    once. Done: its result file exists for the same budget; a file of another budget is a conflict (a smoke
    test's result left in the folder), not silently overwritten."""
    plan = Plan()
    for key in rows:
        algo, env = parse_row(key)
        budget = n_timesteps or default_budget(algo, env)
        for seed in seeds:
            for library in libraries:
                job = Job(library, algo, env, seed, budget)
                path = job.result_path(results)
                if not path.exists():
                    plan.todo.append(job)
                    continue
                found = json.loads(path.read_text()).get("budget")
                if found == budget:
                    plan.done.append(job)
                else:
                    plan.conflicts.append(
                        (
                            job,
                            f"{display_path(path)} holds a run of {found} steps, this one trains {budget}: move it "
                            "aside or pass --results",
                        )
                    )
    return plan


def budget_flag(job: Job) -> int | None:
    """The --n-timesteps a command needs to train `job` again: None for the default budget."""
    return None if job.budget == default_budget(job.algo, job.env) else job.budget


def sweep_command(rows: Sequence[str], seeds: Sequence[int], libraries: Sequence[str], budget: int | None) -> str:
    """The command that runs (or completes) these rows, seeds and libraries."""
    command = ["python", "-m", "benchmarks.side_by_side", "--rows", *rows, "--seeds", *map(str, seeds)]
    command += ["--libs", *libraries]
    if budget is not None:
        command += ["--n-timesteps", str(budget)]
    return shlex.join(command)


# ---------------------------------------------------------------- checkpoints


def job_identity(job: Job) -> dict[str, Any]:
    """What a checkpoint's manifest must hold to be continued by `job`: its library, algo, env, seed and budget."""
    return {"library": job.library, "algo": job.algo, "env": job.env, "seed": job.seed, "budget": job.budget}


def newest_checkpoint(run_dir: pathlib.Path, job: Job) -> Checkpoint | None:
    """The complete checkpoint of `job` with the most steps in `run_dir` (a process stopped while saving leaves a
    folder without a manifest, which is passed over)."""
    return checkpoints.newest_checkpoint([run_dir], job_identity(job))


@dataclass
class Segment:
    """One training process of a run: the steps it trained and the wall time it took to get there."""

    start: int
    end: int
    wall_time_s: float
    git_commit: str | None
    load_average: list[float] = field(default_factory=list)
    #: baselines3: whether the gradient step ran compiled (automatic for learn() calls of 100k steps or more);
    #: None for other libraries
    compiled_step: bool | None = None

    def to_json(self) -> dict[str, Any]:
        recorded: dict[str, Any] = {
            "from_timestep": self.start,
            "to_timestep": self.end,
            "wall_time_s": round(self.wall_time_s, 2),
            "git_commit": self.git_commit,
            "load_average": [round(x, 2) for x in self.load_average],
        }
        if self.compiled_step is not None:
            recorded["compiled_step"] = self.compiled_step
        return recorded


def compiled_step(model: Any) -> bool | None:
    """Whether a baselines3 SAC/TD3/DDPG `model` has run its compiled gradient step; None for other algorithms
    and libraries."""
    if type(model).__module__.split(".")[0] != "baselines3":
        return None
    from baselines3 import SAC, TD3  # DDPG is a TD3
    from baselines3.common.fast import compiled

    return compiled.compile_seconds(model) is not None if isinstance(model, (SAC, TD3)) else None


def compiled_as_uninterrupted(job: Job) -> contextlib.AbstractContextManager[None]:
    """baselines3's SAC/TD3 step compiled where the whole uninterrupted run would compile it (see
    `zoo.checkpoints.compiled_as_uninterrupted`); other libraries are left as they are."""
    if job.library != "baselines3":
        return contextlib.nullcontext()
    return checkpoints.compiled_as_uninterrupted(job.algo, job.budget)


def save_checkpoint(
    api: SimpleNamespace, model: Any, job: Job, run_dir: pathlib.Path, segments: list[dict[str, Any]], final: bool
) -> pathlib.Path:
    """Save the model at its step count with the library's own functions (plus its replay buffer, unless final,
    and its VecNormalize statistics), then the manifest that makes the checkpoint complete; then delete every
    other checkpoint folder (older ones, or a stale incomplete one)."""
    return checkpoints.save_checkpoint(
        model,
        run_dir,
        {**job_identity(job), "final": final, "segments": segments},
        save_replay_buffer=job.algo in OFF_POLICY and not final,
        replay_suffix=api.replay_suffix,
        normalize_suffix=api.normalize_suffix,
    )


# ---------------------------------------------------------------- the two libraries


def library_api(library: str) -> SimpleNamespace:
    """What the harness uses of a library, by the same names for both: its version, algorithm classes,
    `make_vec_env`, `VecNormalize`, `DummyVecEnv`, `BaseCallback`, action noises and file suffixes."""
    if library == "baselines3":
        import baselines3 as package
        from baselines3.common import callbacks, env_util, noise, vec_env

        suffixes = (".npz", ".json")  # its replay buffers are .npz, its VecNormalize files JSON
    elif library == "sb3":
        import stable_baselines3 as package  # type: ignore[no-redef]
        from stable_baselines3.common import callbacks, env_util, noise, vec_env  # type: ignore[no-redef]

        suffixes = (".pkl", ".pkl")
    else:
        raise ValueError(f"unknown library {library!r}; choose from {', '.join(LIBRARIES)}")
    return SimpleNamespace(
        name=library,
        version=package.__version__,
        algorithm=lambda algo: getattr(package, algo.upper()),
        make_vec_env=env_util.make_vec_env,
        VecNormalize=vec_env.VecNormalize,
        DummyVecEnv=vec_env.DummyVecEnv,
        BaseCallback=callbacks.BaseCallback,
        noises={"normal": noise.NormalActionNoise, "ornstein-uhlenbeck": noise.OrnsteinUhlenbeckActionNoise},
        replay_suffix=suffixes[0],
        normalize_suffix=suffixes[1],
    )


def check_entry(experiment: Experiment) -> None:
    """Refuse entries the harness would not build the same way for both libraries."""
    named = [key for key in ("env_wrapper", "vec_env_wrapper", "callback") if getattr(experiment, key)]
    if "replay_buffer_class" in experiment.algo_kwargs:
        named.append("replay_buffer_class")
    if experiment.frame_stack:
        named.append("frame_stack")
    if named:
        raise ConfigError(
            f"{experiment.algo} {experiment.env_id}: the side-by-side harness does not support entries with "
            f"{', '.join(named)} (they name one library's classes or change what the evaluation sees)"
        )


def build_env(api: SimpleNamespace, experiment: Experiment, seed: int, stats: pathlib.Path | None) -> Any:
    """The training env of the entry, built by the library: `make_vec_env` (Monitor inside), then a fresh
    VecNormalize with the entry's keywords, or the checkpoint's statistics (`stats`) to go on with."""
    env = api.make_vec_env(experiment.env_id, n_envs=experiment.n_envs, seed=seed)
    if experiment.normalize:
        if stats is not None:
            env = api.VecNormalize.load(str(stats), env)
            env.training = True
        else:
            options = experiment.normalize if isinstance(experiment.normalize, dict) else {}
            env = api.VecNormalize(env, **options)
    return env


def model_kwargs(api: SimpleNamespace, experiment: Experiment, env: Any) -> dict[str, Any]:
    """The entry's algorithm keywords, with its action noise built from the library's noise classes."""
    kwargs = dict(experiment.algo_kwargs)
    if "action_noise" in kwargs:
        kind, std = kwargs["action_noise"]
        n_actions = int(np.prod(env.action_space.shape))
        kwargs["action_noise"] = api.noises[kind](np.zeros(n_actions), std * np.ones(n_actions))
    return kwargs


def checkpoint_callback(api: SimpleNamespace, save: Callable[[Any], None], every: int, start: int) -> Any:
    """A callback of the library that calls `save(model)` at the first rollout start at or past each multiple of
    `every` steps: between an update and the next collection, so nothing collected is lost with a stop."""

    class Checkpoints(api.BaseCallback):  # type: ignore[name-defined,misc]
        def __init__(self) -> None:
            super().__init__()
            self.next = (start // every + 1) * every

        def _on_rollout_start(self) -> None:
            if self.model.num_timesteps >= self.next:
                save(self.model)
                self.next = (self.model.num_timesteps // every + 1) * every

        def _on_step(self) -> bool:
            return True

    return Checkpoints()


# ---------------------------------------------------------------- one run (in its own process)


def train(job: Job, run_dir: pathlib.Path, stop_after: int | None = None, log: Callable[[str], None] = print) -> None:
    """Train `job` until its final checkpoint exists: from its newest complete checkpoint when there is one.
    With `stop_after`, raise StopRequested after the first checkpoint at or past that many steps."""
    import torch

    torch.set_num_threads(1)  # several runs share 2 cores: torch's default threads would fight over them
    api = library_api(job.library)
    experiment = load_experiment(job.algo, job.env, use_default=False)
    check_entry(experiment)
    checkpoint = newest_checkpoint(run_dir, job)
    if checkpoint is not None and checkpoint.final:
        return
    started, load_before = time.perf_counter(), load_average()
    commit = git_commit()
    done = checkpoint.steps if checkpoint else 0
    history: list[dict[str, Any]] = list(checkpoint.manifest["segments"]) if checkpoint else []
    algorithm = api.algorithm(job.algo)
    # a continued run reseeds everything (env, action space, torch, numpy) from seed + steps done, so it does
    # not replay the first segment's episodes
    env = build_env(api, experiment, job.seed + done, checkpoint.file("vecnormalize") if checkpoint else None)
    if checkpoint is None:
        kwargs = model_kwargs(api, experiment, env)
        model = algorithm(experiment.policy, env, seed=job.seed, device="cpu", verbose=0, **kwargs)
        log(f"{job.library} {job.row} seed {job.seed}: training {job.budget:,} steps from scratch")
    else:
        model = algorithm.load(checkpoint.file("model"), env=env, device="cpu")
        replay = checkpoint.file("replay_buffer")
        if replay is not None:
            model.load_replay_buffer(replay)
        model.set_random_seed(job.seed + done)
        log(f"{job.library} {job.row} seed {job.seed}: continuing from {done:,} steps ({checkpoint.folder.name})")

    def segments() -> list[dict[str, Any]]:
        load = [x for x in (load_before, load_average()) if x is not None]
        now = Segment(done, int(model.num_timesteps), time.perf_counter() - started, commit, load, compiled_step(model))
        return [*history, now.to_json()]

    def save(trained: Any) -> None:
        folder = save_checkpoint(api, trained, job, run_dir, segments(), final=False)
        rate = (trained.num_timesteps - done) / max(time.perf_counter() - started, 1e-9)
        log(f"checkpoint {folder.name}: {trained.num_timesteps:,} of {job.budget:,} steps, {rate:,.0f} steps/s")
        if stop_after is not None and trained.num_timesteps >= stop_after:
            raise StopRequested(f"stopped after the checkpoint at {trained.num_timesteps:,} steps (--stop-after)")

    callback = checkpoint_callback(api, save, job.checkpoint_every, done)
    with compiled_as_uninterrupted(job):
        model.learn(job.budget - done, callback=callback, reset_num_timesteps=checkpoint is None)
    save_checkpoint(api, model, job, run_dir, segments(), final=True)
    env.close()


def evaluate(
    predict: Callable[[np.ndarray], np.ndarray], env_id: str, env_seed: int, episodes: int
) -> tuple[list[float], list[int]]:
    """The evaluation both libraries get: `episodes` episodes of `gym.make(env_id)`, reset with `env_seed` once
    (the next resets go on from that seed's random stream), actions from `predict` (one observation in, one
    action out), returns summed from the env's own rewards up to termination or the time limit."""
    env = gym.make(env_id)
    returns, lengths = [], []
    observation, _ = env.reset(seed=env_seed)
    for episode in range(episodes):
        if episode:
            observation, _ = env.reset()
        total, length, finished = 0.0, 0, False
        while not finished:
            observation, reward, terminated, truncated, _ = env.step(predict(observation))
            total += float(reward)
            length += 1
            finished = terminated or truncated
        returns.append(total)
        lengths.append(length)
    env.close()
    return returns, lengths


def final_policy(api: SimpleNamespace, job: Job, checkpoint: Checkpoint) -> Callable[[np.ndarray], np.ndarray]:
    """The deterministic policy of a final checkpoint: the library loads the model and its VecNormalize
    statistics (frozen), and the observation goes through them as a batch of one."""
    model = api.algorithm(job.algo).load(checkpoint.file("model"), device="cpu")
    stats = checkpoint.file("vecnormalize")
    normalizer = None
    if stats is not None:
        normalizer = api.VecNormalize.load(str(stats), api.DummyVecEnv([lambda: gym.make(job.env)]))
        normalizer.training, normalizer.norm_reward = False, False

    def predict(observation: np.ndarray) -> np.ndarray:
        batch = np.asarray(observation)[None]
        if normalizer is not None:
            batch = normalizer.normalize_obs(batch)
        action, _ = model.predict(batch, deterministic=True)
        return action[0]  # type: ignore[no-any-return]

    return predict


def run_one(
    job: Job,
    results: pathlib.Path,
    runs: pathlib.Path,
    episodes: int = EVAL_EPISODES,
    stop_after: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train `job` (resuming), evaluate its final model, write and return its result (holding a lock on the run
    folder, so a second sweep started by mistake cannot train the same run at once)."""
    run_dir = job.run_dir(runs)
    with run_lock(run_dir, job):
        train(job, run_dir, stop_after, log)
        checkpoint = newest_checkpoint(run_dir, job)
        if checkpoint is None or not checkpoint.final:
            raise RunFailed(f"{display_path(run_dir)}: training ended without a final checkpoint")
        api = library_api(job.library)
        env_seed = EVAL_SEED_OFFSET + job.seed
        returns, lengths = evaluate(final_policy(api, job, checkpoint), job.env, env_seed, episodes)
        segments = checkpoint.manifest["segments"]
        wall = sum(segment["wall_time_s"] for segment in segments)
        experiment = load_experiment(job.algo, job.env, use_default=False)
        result = {
            "schema": SCHEMA,
            "library": job.library,
            "version": api.version,
            "algo": job.algo,
            "env": job.env,
            "seed": job.seed,
            "budget": job.budget,
            "trained_timesteps": checkpoint.steps,
            "final_eval": {
                "mean": float(np.mean(returns)),
                "std": float(np.std(returns)),
                "returns": returns,
                "lengths": lengths,
                "episodes": episodes,
                "deterministic": True,
                "env_seed": env_seed,
            },
            "train_wall_time_s": round(wall, 2),
            "steps_per_s": round(checkpoint.steps / max(wall, 1e-9), 1),
            "timing_note": (
                "wall time of training, from building the env and model to the final save, checkpoints included, "
                "evaluation excluded; summed over the training processes (segments) of a run that was stopped"
            ),
            "segments": segments,
            "git_commit": segments[-1]["git_commit"],
            "hyperparams": {"env_id": job.env, **experiment.raw, "n_timesteps": job.budget},
            "command": sweep_command([job.row], [job.seed], [job.library], budget_flag(job)),
            "versions": versions(api),
            "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count()},
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_json(job.result_path(results), result)
        checkpoints.remove_checkpoints(run_dir, keep=checkpoint.folder)  # the final model stays
        return result


def versions(api: SimpleNamespace) -> dict[str, str]:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "gymnasium": gym.__version__,
        LIBRARIES[api.name]: api.version,
    }


def lock_held(run_dir: pathlib.Path, job: Job) -> bool:
    """Whether another process holds `<run folder>/.lock` now (trains `job`; POSIX, elsewhere False)."""
    if not (run_dir / ".lock").exists():
        return False
    try:
        with run_lock(run_dir, job):
            return False
    except RunFailed:
        return True


@contextlib.contextmanager
def run_lock(run_dir: pathlib.Path, job: Job) -> Iterator[None]:
    """Hold `<run folder>/.lock` (POSIX; elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFailed(
                f"another process is training {job.library} {job.row} seed {job.seed} ({run_dir}/.lock is held)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---------------------------------------------------------------- the sweep (parent process)


def child_command(
    job: Job, results: pathlib.Path, runs: pathlib.Path, episodes: int, stop_after: int | None
) -> list[str]:
    command = [sys.executable, "-m", "benchmarks.side_by_side", "--child", job.library, job.algo, job.env]
    command += [str(job.seed), str(job.budget), "--results", str(results), "--runs-folder", str(runs)]
    command += ["--eval-episodes", str(episodes)]
    if stop_after is not None:
        command += ["--stop-after", str(stop_after)]
    return command


def run_jobs(
    jobs: list[Job], results: pathlib.Path, runs: pathlib.Path, episodes: int, parallel: int, stop_after: int | None
) -> tuple[int, list[tuple[Job, str]]]:
    """Run each job in its own process (one torch/BLAS thread), `parallel` at a time; (stopped, failures)."""
    stopped = 0
    lock = threading.Lock()

    def one(job: Job) -> int:
        log = job.run_dir(runs) / "train.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        if lock_held(job.run_dir(runs), job):  # another sweep trains it: leave it (and its log) to that one
            return SKIPPED
        with lock:
            print(
                f"start {job.library} {job.row} seed {job.seed} ({job.budget:,} steps; log {display_path(log)})",
                flush=True,
            )
        with open(log, "a") as handle:
            process = subprocess.run(
                child_command(job, results, runs, episodes, stop_after),
                cwd=REPO,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if process.returncode not in (0, STOPPED):
            tail = log.read_text()[-3000:].rstrip()
            raise RunFailed(f"exited with {process.returncode}; the end of {display_path(log)}:\n{tail}")
        return process.returncode

    def done(name: str, job: Job, code: int) -> None:
        nonlocal stopped
        if code == SKIPPED:
            with lock:
                print(f"{name}: skipped, another process is training it", flush=True)
            return
        if code == STOPPED:
            stopped += 1
            with lock:
                print(f"{name}: stopped after a checkpoint as asked (--stop-after)", flush=True)
            return
        result = json.loads(job.result_path(results).read_text())
        with lock:
            print(finished_line(name, result), flush=True)

    failures = run_in_pool(jobs, one, lambda job: f"{job.library} {job.row} seed {job.seed}", done, parallel, lock)
    return stopped, failures


def status(job: Job, results: pathlib.Path, runs: pathlib.Path) -> str:
    """Done (with its score), part-way (the newest complete checkpoint) or not started."""
    path = job.result_path(results)
    if path.exists():
        result = json.loads(path.read_text())
        if result.get("budget") != job.budget:
            return f"result of another budget ({result.get('budget')})"
        return f"done {result['final_eval']['mean']:.1f}"
    checkpoint = newest_checkpoint(job.run_dir(runs), job)
    if checkpoint is None:
        return "not started"
    if checkpoint.final:
        return "trained, not evaluated"
    return f"at {checkpoint.steps:,} ({100 * checkpoint.steps / job.budget:.0f} %)"


def list_jobs(plan: Plan, results: pathlib.Path, runs: pathlib.Path, libraries: Sequence[str]) -> None:
    by_key: dict[tuple[str, int, int], dict[str, str]] = {}
    for job in plan.done + plan.todo + [job for job, _ in plan.conflicts]:
        by_key.setdefault((job.row, job.budget, job.seed), {})[job.library] = status(job, results, runs)
    print((f"{'row':24s} {'budget':>9s} {'seed':>4s}  " + "  ".join(f"{lib:32s}" for lib in libraries)).rstrip())
    for (row, budget, seed), states in by_key.items():
        cells = "  ".join(f"{states.get(lib, '-'):32s}" for lib in libraries)
        print(f"{row:24s} {budget:9,d} {seed:4d}  {cells}".rstrip())


def estimate(job: Job, steps: int) -> dict[str, Any]:
    """Training steps/s of `job` over `steps` steps after learning starts (the untimed warm-up: the entry's
    learning_starts, or one rollout), in this process at one thread, and the hours its budget would take: by
    wall time (as busy as the machine is now) and by CPU time (on a core of its own)."""
    import torch

    torch.set_num_threads(1)
    api = library_api(job.library)
    experiment = load_experiment(job.algo, job.env, use_default=False)
    env = build_env(api, experiment, job.seed, None)
    model = api.algorithm(job.algo)(
        experiment.policy, env, seed=job.seed, device="cpu", verbose=0, **model_kwargs(api, experiment, env)
    )
    warm_up = int(getattr(model, "learning_starts", 0)) + 1 if job.algo in OFF_POLICY else 1
    model.learn(warm_up)
    before, start, cpu = model.num_timesteps, time.perf_counter(), time.process_time()
    model.learn(steps, reset_num_timesteps=False)
    trained = model.num_timesteps - before  # whole rollouts: can exceed `steps`
    rate, cpu_rate = trained / (time.perf_counter() - start), trained / max(time.process_time() - cpu, 1e-9)
    return {
        "library": job.library,
        "row": job.row,
        "steps_per_s": rate,
        "hours": job.budget / rate / 3600,
        # per second of this process's CPU time: what an idle core would give, whatever else shares the machine
        "cpu_steps_per_s": cpu_rate,
        "cpu_hours": job.budget / cpu_rate / 3600,
    }


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.side_by_side",
        description="Train zoo entries with baselines3 and Stable-Baselines3 for the same budget, resuming from "
        "checkpoints, and evaluate both the same way",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        metavar="ALGO:ENV",
        default=list(DEFAULT_ROWS),
        help="rows to run (default: SAC, TD3, PPO, A2C on HalfCheetah, Hopper, Walker2d v5)",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS))
    parser.add_argument("--libs", nargs="+", choices=list(LIBRARIES), default=list(LIBRARIES))
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (one core each; default 1)")
    parser.add_argument(
        "--n-timesteps",
        type=int,
        default=None,
        help="train this many steps instead of the budget (200k SAC/TD3, 1M PPO/A2C): smoke tests",
    )
    parser.add_argument("--results", type=pathlib.Path, default=DEFAULT_RESULTS)
    parser.add_argument("--runs-folder", type=pathlib.Path, default=DEFAULT_RUNS, help="checkpoints and logs")
    parser.add_argument("--eval-episodes", type=int, default=EVAL_EPISODES, help="episodes of the final evaluation")
    parser.add_argument("--list", action="store_true", help="show what is done and how far each run got")
    parser.add_argument("--dry-run", action="store_true", help="print what would run, run nothing")
    parser.add_argument(
        "--estimate",
        type=int,
        default=None,
        metavar="STEPS",
        help="time STEPS training steps after learning starts per row and library (seed 0)",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        metavar="STEPS",
        help="end each run after its first checkpoint at or past STEPS, as a stopped machine would (to try resuming)",
    )
    parser.add_argument("--child", nargs=5, metavar=("LIB", "ALGO", "ENV", "SEED", "BUDGET"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name in ("jobs", "n_timesteps", "eval_episodes", "estimate", "stop_after"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if any(seed < 0 for seed in args.seeds):
        parser.error(f"--seeds must be 0 or more, got {args.seeds}")
    args.seeds = list(dict.fromkeys(args.seeds))
    args.rows = list(dict.fromkeys(args.rows))
    args.libs = list(dict.fromkeys(args.libs))
    return args


def child_main(args: argparse.Namespace) -> int:
    library, algo, env, seed, budget = args.child
    job = Job(library, algo, env, int(seed), int(budget))
    if args.estimate:
        print(json.dumps(estimate(job, args.estimate)))
        return 0
    try:
        result = run_one(job, args.results, args.runs_folder, args.eval_episodes, args.stop_after)
    except StopRequested as stop:
        print(stop, flush=True)
        return STOPPED
    final = result["final_eval"]
    print(f"final evaluation: {final['mean']:.1f} +/- {final['std']:.1f} over {final['episodes']} episodes")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    missing = [lib for lib in args.libs if _not_installed(LIBRARIES[lib])]
    if missing and not args.list:
        print(f"error: {', '.join(missing)} is not installed (pip install stable-baselines3)", file=sys.stderr)
        return 2
    try:
        plan = make_plan(args.rows, args.seeds, args.libs, args.results, args.n_timesteps)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.list:
        list_jobs(plan, args.results, args.runs_folder, args.libs)
        return 0
    if args.estimate:
        return _estimate(plan, args.estimate)
    for _, message in plan.conflicts:
        print(f"error: {message}", file=sys.stderr)
    if plan.conflicts:
        return 2
    print(f"{len(plan.todo)} run(s) to do, {len(plan.done)} already in {display_path(args.results)}")
    if args.dry_run:
        for job in plan.todo:
            checkpoint = newest_checkpoint(job.run_dir(args.runs_folder), job)
            where = f"continues from {checkpoint.steps:,} steps" if checkpoint else "from scratch"
            command = child_command(job, args.results, args.runs_folder, args.eval_episodes, args.stop_after)
            print(f"{job.library} {job.row} seed {job.seed} ({job.budget:,} steps, {where}): {shlex.join(command)}")
        return 0
    stopped, failures = run_jobs(
        plan.todo, args.results, args.runs_folder, args.eval_episodes, args.jobs, args.stop_after
    )
    if stopped:
        print(f"{stopped} run(s) stopped after a checkpoint; the same command continues them")
    if failures:
        print(f"{len(failures)} run(s) failed (no result written; the next sweep retries them):", file=sys.stderr)
        for job, _ in failures:
            print(f"  {job.library} {job.row} seed {job.seed}", file=sys.stderr)
        return 1
    return 0


def _not_installed(package: str) -> bool:
    return importlib.util.find_spec(package) is None


def _estimate(plan: Plan, steps: int) -> int:
    """One process per (row, library), seed 0 only, one after the other."""
    seen = set()
    for job in plan.todo + plan.done + [job for job, _ in plan.conflicts]:
        if (job.row, job.library) in seen:
            continue
        seen.add((job.row, job.library))
        command = [sys.executable, "-m", "benchmarks.side_by_side", "--child", job.library, job.algo, job.env]
        command += ["0", str(job.budget), "--estimate", str(steps)]
        process = subprocess.run(command, cwd=REPO, env=child_env(), capture_output=True, text=True, check=False)
        if process.returncode != 0:
            print(f"{job.library} {job.row}: failed\n{process.stderr[-2000:]}", file=sys.stderr)
            return 1
        found = json.loads(process.stdout.strip().splitlines()[-1])
        print(
            f"{job.library:10s} {job.row:24s} {found['steps_per_s']:6,.0f} steps/s ({found['cpu_steps_per_s']:,.0f} "
            f"per CPU second)  {job.budget:>9,d} steps: {found['hours']:4.1f} h ({found['cpu_hours']:.1f} h on an "
            "idle core)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
