"""Reproduce the published RL Zoo scores: train each (row, seed) with the ordinary zoo command, evaluate the final
model and write one JSON result per run.

    python -m benchmarks.run --list                              # rows, thresholds, seeds done or stopped part-way
    python -m benchmarks.run --all-feasible --seeds 0 1 2        # every row that fits a small CPU
    python -m benchmarks.run --rows ppo:CartPole-v1 dqn:LunarLander-v3 --seeds 0 1 2 --jobs 2
    python -m benchmarks.run --rows ppo:CartPole-v1 --dry-run    # print the zoo commands only

Each run is `python -m zoo.train --algo A --env E --seed S -f <runs folder> -uuid --eval-freq F --eval-episodes 5
--verbose 0` in its own process (one BLAS/OpenMP thread, so parallel runs do not fight over cores), so a score here
is what a user of the zoo gets. The final model is then evaluated deterministically in a second process and
`<results>/<algo>/<env>/seed<S>.json` is written. Pairs whose result file exists are skipped: an interrupted sweep
resumes where it stopped, and a sweep can be spread over machines by running different `--rows`/`--seeds` on each
and copying the result files back.

Runs checkpoint at every evaluation point (`--save-freq`, with the replay buffer and normalization statistics), so
a run that was stopped goes on from its newest checkpoint with `-i <checkpoint> -n <steps left>` in the next sweep
instead of starting over. Its result then lists each training process as a segment, with the learning curve
stitched from their evaluations; the checkpoints are deleted once the result is written.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import platform
import re
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar, cast

import numpy as np
import yaml

from baselines3.common.save_util import atomic_write_text
from benchmarks.rows import ROWS, Row, find_row
from zoo.runs import checkpoint_companions, checkpoint_steps, env_folder_name, run_numbers

REPO = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_RESULTS = REPO / "benchmarks" / "results"
DEFAULT_RUNS = REPO / "benchmarks" / "runs"
#: Evaluation points during training (the learning curve): eval-freq is the budget divided by this.
N_EVAL_POINTS = 20
#: Episodes per evaluation during training (zoo.train's --eval-episodes).
TRAIN_EVAL_EPISODES = 5
#: The final evaluation's env is seeded with this plus the run's seed (training evaluations use seed + 1000).
FINAL_EVAL_SEED_OFFSET = 10_000
#: Version of the result-file layout (2: training segments of resumed runs).
SCHEMA = 2
#: Episodes of the final evaluation unless --eval-episodes says otherwise.
FINAL_EVAL_EPISODES = 10
#: Seeds of a sweep unless --seeds says otherwise.
DEFAULT_SEEDS = (0, 1, 2)
#: Algorithms whose checkpoints need their replay buffer to resume.
OFF_POLICY = ("dqn", "sac", "td3")


JobT = TypeVar("JobT")
ResultT = TypeVar("ResultT")


class RunFailed(RuntimeError):
    """A training or evaluation subprocess exited non-zero (the message holds its stderr tail)."""


@dataclass(frozen=True)
class Job:
    """One (row, seed) to train, for `n_timesteps` steps, and where its result goes."""

    row: Row
    seed: int
    n_timesteps: int
    result_path: pathlib.Path
    # pass `-n n_timesteps` (a smoke-test override, or a zoo entry whose budget is not the published one)
    pass_budget: bool = False
    # train with this hyperparameter file (zoo.train's `-conf`) instead of zoo/hyperparams/<algo>.yml
    conf_file: pathlib.Path | None = None

    @property
    def eval_freq(self) -> int:
        return eval_freq(self.n_timesteps)


@dataclass
class Plan:
    """What a sweep will do: pairs to run, pairs already done, and rows the zoo cannot train yet."""

    todo: list[Job] = field(default_factory=list)
    done: list[Job] = field(default_factory=list)
    no_entry: list[tuple[Row, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def eval_freq(n_timesteps: int) -> int:
    """Evaluate every `budget / N_EVAL_POINTS` steps: about 20 points on the learning curve."""
    return max(n_timesteps // N_EVAL_POINTS, 1)


def result_path(results: pathlib.Path, algo: str, env_id: str, seed: int) -> pathlib.Path:
    return pathlib.Path(results) / algo / env_id.replace("/", "-") / f"seed{seed}.json"


def zoo_budget(algo: str, env_id: str) -> int | str:
    """The zoo entry's n_timesteps, or why the zoo cannot train this pair (a message string)."""
    from zoo.config import ConfigError, load_experiment

    try:
        return load_experiment(algo, env_id, use_default=False).n_timesteps
    except ConfigError as error:
        return str(error)


def make_plan(rows: list[Row], seeds: list[int], results: pathlib.Path, n_timesteps: int | None = None) -> Plan:
    """Split the (row, seed) pairs into those to run and those whose result file exists (skipped, so a sweep
    resumes). Rows without a zoo hyperparameter entry cannot be run and are listed apart."""
    plan = Plan()
    for row in rows:
        budget = zoo_budget(row.algo, row.env)
        if isinstance(budget, str):
            plan.no_entry.append((row, budget))
            continue
        pass_budget = n_timesteps is not None or budget != row.budget
        if n_timesteps is None and budget != row.budget:
            plan.notes.append(
                f"{row.key}: the zoo entry trains {budget:,} steps, the published budget is {row.budget:,}: "
                f"passing -n {row.budget}"
            )
        for seed in seeds:
            path = result_path(results, row.algo, row.env, seed)
            job = Job(row, seed, n_timesteps or row.budget, path, pass_budget)
            (plan.done if path.exists() else plan.todo).append(job)
    return plan


def display_path(path: pathlib.Path) -> str:
    """`path` relative to the repository when inside it (as the commands are run from there)."""
    path = pathlib.Path(path).resolve()
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def train_command(
    job: Job, runs_folder: pathlib.Path, python: str = "python", resume: Segment | None = None
) -> list[str]:
    """The zoo command that trains `job` (run from the repository root), checkpointing at every evaluation; with
    `resume`, the command that continues from the checkpoint that segment ended at."""
    command = [python, "-m", "zoo.train", "--algo", job.row.algo, "--env", job.row.env, "--seed", str(job.seed)]
    command += ["-f", display_path(runs_folder), "-uuid", "--eval-freq", str(job.eval_freq)]
    command += ["--eval-episodes", str(TRAIN_EVAL_EPISODES), "--verbose", "0"]
    command += ["--save-freq", str(job.eval_freq), "--save-replay-buffer"]
    if job.conf_file is not None:
        command += ["-conf", display_path(job.conf_file)]
    if resume is not None:
        assert resume.checkpoint is not None
        command += ["-i", display_path(resume.checkpoint), "-n", str(job.n_timesteps - resume.end)]
    elif job.pass_budget:
        command += ["-n", str(job.n_timesteps)]
    return command


@dataclass(frozen=True)
class Segment:
    """One training process of a run: its run folder, the timesteps it trained (`start` to `end`), its wall time,
    and the checkpoint at `end` a later process can continue from (None once the run is complete)."""

    folder: pathlib.Path
    start: int
    end: int
    wall_time_s: float
    checkpoint: pathlib.Path | None
    git_commit: str | None = None
    # the machine's 1-minute load average as the process started and ended (None: not seen by this runner)
    load_average: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_folder": display_path(self.folder),
            "from_timestep": self.start,
            "to_timestep": self.end,
            "wall_time_s": round(self.wall_time_s, 2),
            "git_commit": self.git_commit,
            "load_average": None if self.load_average is None else [round(x, 2) for x in self.load_average],
        }


def interrupted_segments(job: Job, runs_folder: pathlib.Path) -> list[Segment]:
    """The training processes of `job` that were stopped before the end, oldest first, ending at the newest
    complete checkpoint ([] when there is nothing to resume). A segment is a run folder of this algorithm, env,
    seed, evaluation frequency and hyperparameter file (`-conf`) without a final model; it continued the previous
    segment's checkpoint (its `-i`). Wall times are read from the files: from `args.yml` (written as training
    starts) to the checkpoint."""
    found: dict[pathlib.Path, tuple[int, pathlib.Path | None, dict[int, pathlib.Path], float]] = {}
    name = env_folder_name(job.row.env)
    for _, folder in run_numbers(pathlib.Path(runs_folder) / job.row.algo, job.row.env):
        args_file = folder / name / "args.yml"
        if (folder / f"{name}.zip").exists() or not args_file.exists():
            continue
        args = yaml.safe_load(args_file.read_text()) or {}
        if (args.get("seed"), args.get("eval_freq"), args.get("save_freq")) != (job.seed, job.eval_freq, job.eval_freq):
            continue
        conf = args.get("conf_file")  # relative paths are the repository's (the runner's working folder)
        trained_with = (REPO / conf).resolve() if conf else None
        if trained_with != (pathlib.Path(job.conf_file).resolve() if job.conf_file is not None else None):
            continue  # trained from another hyperparameter file: not this job's run
        trained_agent = pathlib.Path(args["trained_agent"]) if args.get("trained_agent") else None
        start = checkpoint_steps(trained_agent) if trained_agent else 0
        steps = args.get("n_timesteps", -1)
        if start is None or start + (steps if steps > 0 else job.n_timesteps) != job.n_timesteps:
            continue
        # the parent run folder, looked up in this runs folder by name: a relative path in args.yml is relative to
        # the folder the sweep ran from, which may have been another checkout
        parent = (
            (pathlib.Path(runs_folder) / job.row.algo / trained_agent.parent.name).resolve() if trained_agent else None
        )
        found[folder.resolve()] = (start, parent, complete_checkpoints(folder, job), args_file.stat().st_mtime)
    resumable = [(max(checkpoints), folder) for folder, (_, _, checkpoints, _) in found.items() if checkpoints]
    if not resumable:
        return []
    end, folder = max(resumable)
    commits = read_commits(job, runs_folder)
    chain: list[Segment] = []
    while True:
        start, parent, checkpoints, started = found[folder]
        # an earlier segment's checkpoint only has to name where it ended (its replay buffer may be gone)
        checkpoint = checkpoints.get(end, folder / f"rl_model_{end}_steps.zip")
        wall = max(checkpoint.stat().st_mtime - started, 0.0) if checkpoint.exists() else 0.0
        chain.insert(0, Segment(folder, start, end, wall, checkpoint, commits.get(str(start))))
        if parent is None or parent not in found:
            return chain  # the first segment (or its folder is gone: the curve then starts later)
        folder, end = parent, start


def complete_checkpoints(folder: pathlib.Path, job: Job) -> dict[int, pathlib.Path]:
    """{steps: model} of the checkpoints in `folder` saved with everything a resume needs (the replay buffer of
    off-policy algorithms, the statistics of normalized envs): the files are written one after the other, so the
    newest may be incomplete when the process was stopped."""
    config = folder / env_folder_name(job.row.env) / "config.yml"
    normalized = bool((yaml.safe_load(config.read_text()) or {}).get("normalize")) if config.exists() else False
    checkpoints = {}
    for model in folder.glob("rl_model_*_steps.zip"):
        steps = checkpoint_steps(model)
        if steps is None or steps <= 0:
            continue
        companions = checkpoint_companions(model)
        assert companions is not None
        if job.row.algo in OFF_POLICY and not companions.replay_buffer.exists():
            continue
        if normalized and not companions.normalize_stats.exists():
            continue
        checkpoints[steps] = model
    return checkpoints


def commits_path(job: Job, runs_folder: pathlib.Path) -> pathlib.Path:
    name = env_folder_name(job.row.env)
    return pathlib.Path(runs_folder) / job.row.algo / f"{name}_seed{job.seed}_commits.json"


def read_commits(job: Job, runs_folder: pathlib.Path) -> dict[str, str | None]:
    """{start timestep: git commit} of the training processes the runner started for `job`."""
    path = commits_path(job, runs_folder)
    return cast(dict[str, str | None], json.loads(path.read_text())) if path.exists() else {}


def record_commit(job: Job, runs_folder: pathlib.Path, start: int, commit: str | None) -> None:
    """Remember the commit a training process of `job` starts from (a later sweep that resumes it reports it)."""
    commits = read_commits(job, runs_folder)
    commits[str(start)] = commit
    path = commits_path(job, runs_folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, commits)


@contextlib.contextmanager
def job_lock(job: Job, runs_folder: pathlib.Path) -> Iterator[None]:
    """Hold `<runs>/<algo>/<env>_seed<S>.lock` while `job` runs, so a second sweep started by mistake does not
    resume from (and race with) the checkpoints of a run still training. POSIX only; elsewhere no lock."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = pathlib.Path(runs_folder) / job.row.algo / f"{env_folder_name(job.row.env)}_seed{job.seed}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFailed(f"another sweep is running {job.row.key} seed {job.seed} ({path} is locked)") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def learning_curve(segments: list[Segment]) -> dict[str, list[float]]:
    """The mean return of every evaluation, stitched over the segments: each contributes those after its start
    and up to the checkpoint the next one continued from (the last one, all it made)."""
    curve: dict[str, list[float]] = {"timesteps": [], "mean_returns": []}
    for segment in segments:
        last = segment is segments[-1]
        evaluations = segment.folder / "evaluations.npz"
        if not evaluations.exists():
            continue
        with np.load(evaluations) as data:
            means = data["results"].mean(axis=1) if data["results"].size else np.zeros(0)
            for timestep, mean in zip(data["timesteps"], means):
                if segment.start < timestep and (last or timestep <= segment.end):
                    curve["timesteps"].append(int(timestep))
                    curve["mean_returns"].append(float(mean))
    return curve


def best_evaluation(curve: dict[str, list[float]]) -> dict[str, Any] | None:
    if not curve["mean_returns"]:
        return None
    index = int(np.argmax(curve["mean_returns"]))
    return {"mean": curve["mean_returns"][index], "timestep": curve["timesteps"][index]}


def delete_checkpoints(segments: list[Segment]) -> None:
    """Remove what only served to resume: checkpoints and the final replay buffer (models, evaluations and
    monitor files stay)."""
    for segment in segments:
        for path in segment.folder.glob("rl_model_*_steps.*"):
            path.unlink()
        (segment.folder / "replay_buffer.npz").unlink(missing_ok=True)


def load_average() -> float | None:
    """The machine's 1-minute load average (None where the OS has none): how busy the cores were around a run,
    whatever else ran beside this sweep."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def child_env() -> dict[str, str]:
    """The environment of the training and evaluation processes: one BLAS/OpenMP thread each (parallel runs
    would otherwise oversubscribe the cores) and this checkout first on the import path."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def _tail(text: str, chars: int = 3000) -> str:
    return text[-chars:].rstrip()


def run_job(job: Job, runs_folder: pathlib.Path, eval_episodes: int, parallel_jobs: int = 1) -> dict[str, Any]:
    """Train `job` with the zoo command (continuing a stopped run from its newest checkpoint), evaluate its final
    model and write its result JSON; return the result. Raises RunFailed (nothing written) when a process fails."""
    with job_lock(job, runs_folder):
        segments = interrupted_segments(job, runs_folder)
        resume = segments[-1] if segments else None
        command = train_command(job, runs_folder, sys.executable, resume)
        start_step = resume.end if resume else 0
        commit = git_commit()  # the code the training process imports now, whatever changes later in the sweep
        record_commit(job, runs_folder, start_step, commit)
        start, load_before = time.perf_counter(), load_average()
        train = subprocess.run(
            command, cwd=REPO, env=child_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - start
        if train.returncode != 0:
            raise RunFailed(f"training exited with {train.returncode}:\n{_tail(train.stderr or train.stdout)}")
        run = _run_folder(train.stdout)
        load_after = load_average()
        load = (load_before, load_after) if load_before is not None and load_after is not None else None
        segments.append(Segment(run, start_step, job.n_timesteps, wall, None, commit, load))
        result = evaluate_and_write(job, segments, runs_folder, eval_episodes, parallel_jobs)
        delete_checkpoints(segments)
        return result


def evaluate_and_write(
    job: Job, segments: list[Segment], runs_folder: pathlib.Path, eval_episodes: int, parallel_jobs: int
) -> dict[str, Any]:
    """Evaluate the final model in a second process and write the result file of the run made of `segments`."""
    run = segments[-1].folder
    evaluate_command = [sys.executable, "-m", "benchmarks.run", "--evaluate", str(run), job.row.algo, job.row.env]
    evaluate = subprocess.run(
        [*evaluate_command, str(job.seed), str(eval_episodes)],
        cwd=REPO,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if evaluate.returncode != 0:
        raise RunFailed(f"evaluation of {run} exited with {evaluate.returncode}:\n{_tail(evaluate.stderr)}")
    evaluation = json.loads(evaluate.stdout.strip().splitlines()[-1])
    steps = evaluation.pop("trained_timesteps")
    wall = sum(segment.wall_time_s for segment in segments)
    curve = learning_curve(segments)
    resumed = ""
    if len(segments) > 1:
        points = ", ".join(f"{segment.start:,}" for segment in segments[1:])
        resumed = (
            f"; summed over {len(segments)} training processes (resumed from checkpoints at {points} steps; "
            "an earlier process counts until its checkpoint)"
        )
    result: dict[str, Any] = {
        "schema": SCHEMA,
        "algo": job.row.algo,
        "env": job.row.env,
        "seed": job.seed,
        "n_timesteps": job.n_timesteps,
        "trained_timesteps": steps,
        **evaluation,
        "best_eval": best_evaluation(curve),
        "learning_curve": curve,
        "train_wall_time_s": round(wall, 2),
        "steps_per_s": round(steps / wall, 1),
        "timing_note": (
            "wall time of the training process: interpreter start, env creation and the periodic evaluations "
            f"({TRAIN_EVAL_EPISODES} episodes every {job.eval_freq} steps) included; {parallel_jobs} run(s) in "
            f"parallel in this sweep (other work on the machine shows in each segment's load_average){resumed}"
        ),
        "eval_freq": job.eval_freq,
        "command": shlex.join(train_command(job, runs_folder)),
        "run_folder": display_path(run),
        "segments": [segment.to_json() for segment in segments],
        "git_commit": segments[-1].git_commit,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "parallel_jobs": parallel_jobs},
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(job.result_path, result)
    return result


def _run_folder(stdout: str) -> pathlib.Path:
    """The run folder zoo.train reports on its last line ("Saved the run to <folder>")."""
    prefix = "Saved the run to "
    for line in reversed(stdout.splitlines()):
        if line.startswith(prefix):
            folder = pathlib.Path(line[len(prefix) :].strip())
            return folder if folder.is_absolute() else REPO / folder
    raise RunFailed(f"zoo.train did not report its run folder; its output ended with:\n{_tail(stdout)}")


def write_json(path: pathlib.Path, data: Any) -> None:
    """Write `data` as JSON atomically (a temporary file beside `path`, then moved over it)."""
    text = to_json(data) + "\n"
    atomic_write_text(pathlib.Path(path), text)


_NUMBER_LIST = re.compile(r"\[\s+([-+0-9.eE,\s]+?)\s+\]")


def to_json(data: Any) -> str:
    """Indented JSON with lists of numbers on one line (returns, learning curves), so files stay readable."""
    text = json.dumps(data, indent=1)
    return _NUMBER_LIST.sub(lambda match: "[" + ", ".join(x.strip() for x in match.group(1).split(",")) + "]", text)


def git_commit() -> str | None:
    """HEAD of this checkout (with "+dirty" when tracked files are modified), or None outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    """Versions of what a result depends on (taken in the evaluation process, the same interpreter)."""
    import gymnasium
    import numpy
    import torch

    import baselines3

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "gymnasium": gymnasium.__version__,
        "baselines3": baselines3.__version__,
    }


def evaluate_run(run: pathlib.Path, algo: str, env_id: str, seed: int, episodes: int) -> dict[str, Any]:
    """Deterministic evaluation of a run's final model in the env it trained with (its wrappers and frozen
    VecNormalize statistics), plus the folder's learning curve, best evaluation and resolved hyperparameters.
    Returns are the Monitor's, i.e. before any normalization."""
    from baselines3.common.evaluation import evaluate_policy
    from zoo.config import algorithm_class
    from zoo.envs import register_zoo_envs
    from zoo.runs import model_path, replay_env

    register_zoo_envs()
    eval_seed = FINAL_EVAL_SEED_OFFSET + seed
    path = model_path(run, env_id, False, None)
    env = replay_env(run, path, algo, env_id, eval_seed, None)
    model = algorithm_class(algo).load(path, env=env)
    episodes_run = evaluate_policy(
        model, env, n_eval_episodes=episodes, deterministic=True, return_episode_rewards=True
    )
    returns, lengths = cast(tuple[list[float], list[int]], episodes_run)
    env.close()
    config = yaml.safe_load((run / env_folder_name(env_id) / "config.yml").read_text())
    # this folder's own curve: a runner started before resuming existed reads these (a sweep outlives commits)
    curve = learning_curve([Segment(run, 0, int(model.num_timesteps), 0.0, None)])
    return {
        "final_eval": {
            "mean": float(np.mean(returns)),
            "std": float(np.std(returns)),
            "returns": [float(r) for r in returns],
            "lengths": [int(n) for n in lengths],
            "episodes": episodes,
            "deterministic": True,
            "env_seed": eval_seed,
        },
        "best_eval": best_evaluation(curve),
        "learning_curve": curve,
        "hyperparams": config,
        "trained_timesteps": int(model.num_timesteps),
        "versions": versions(),
    }


def run_in_pool(
    jobs: Sequence[JobT],
    run_one: Callable[[JobT], ResultT],
    name_of: Callable[[JobT], str],
    done: Callable[[str, JobT, ResultT], None],
    parallel: int,
    lock: threading.Lock,
) -> list[tuple[JobT, str]]:
    """`run_one(job)` for each job, `parallel` at a time; as each ends, `done("[count/total] name", job, value)`,
    or, when it raised RunFailed, a FAILED line on stderr. Returns the failures (job, message)."""
    failures: list[tuple[JobT, str]] = []
    with ThreadPoolExecutor(max_workers=max(parallel, 1)) as pool:
        futures = {pool.submit(run_one, job): job for job in jobs}
        for count, future in enumerate(as_completed(futures), start=1):
            job = futures[future]
            name = f"[{count}/{len(jobs)}] {name_of(job)}"
            try:
                value = future.result()
            except RunFailed as error:
                failures.append((job, str(error)))
                with lock:
                    print(f"{name}: FAILED, {error}", file=sys.stderr, flush=True)
                continue
            done(name, job, value)
    return failures


def run_jobs(
    jobs: list[Job], runs_folder: pathlib.Path, eval_episodes: int, parallel: int
) -> tuple[list[dict[str, Any]], list[tuple[Job, str]]]:
    """Run `jobs`, `parallel` at a time, printing a line as each starts and ends; (results, failures)."""
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def one(job: Job) -> dict[str, Any]:
        with lock:
            print(f"start {job.row.algo} {job.row.env} seed {job.seed} ({job.n_timesteps:,} steps)", flush=True)
        return run_job(job, runs_folder, eval_episodes, parallel)

    def done(name: str, job: Job, result: dict[str, Any]) -> None:
        results.append(result)
        with lock:
            print(finished_line(name, result), flush=True)

    failures = run_in_pool(jobs, one, lambda job: f"{job.row.algo} {job.row.env} seed {job.seed}", done, parallel, lock)
    return results, failures


def finished_line(name: str, result: dict[str, Any]) -> str:
    """The line printed when run `name` has written `result`: final score, best evaluation (where the result file
    has one), training speed and time."""
    final, best = result["final_eval"], result.get("best_eval")
    best_text = f", best {best['mean']:.1f}" if best else ""
    return (
        f"{name}: final {final['mean']:.1f} +/- {final['std']:.1f}{best_text}, "
        f"{result['steps_per_s']:,.0f} steps/s, {result['train_wall_time_s'] / 60:.1f} min"
    )


def list_rows(results: pathlib.Path, runs_folder: pathlib.Path) -> None:
    """Print every row: budget, published score, threshold, feasibility, zoo entry, seeds done and seeds stopped
    part-way (with the step their newest checkpoint reached)."""
    print(f"{'row':36s} {'budget':>9s} {'published':>10s} {'threshold':>10s} {'seeds done':>11s}  status")
    for row in ROWS:
        folder = result_path(results, row.algo, row.env, 0).parent
        seeds = sorted(int(p.stem[4:]) for p in folder.glob("seed*.json") if p.stem[4:].isdigit())
        thr = "undefined" if row.threshold is None else f"{row.threshold:.1f}"
        budget = zoo_budget(row.algo, row.env)
        status = "feasible" if row.feasible else f"not run by default: {row.reason}"
        if isinstance(budget, str):
            status += "; no zoo entry yet"
        stopped = []
        for seed in (seed for seed in DEFAULT_SEEDS if seed not in seeds):
            job = Job(row, seed, row.budget, result_path(results, row.algo, row.env, seed))
            segments = interrupted_segments(job, runs_folder)
            if segments:
                stopped.append(f"seed {seed} stopped at {segments[-1].end:,} steps")
        if stopped:
            status += "; " + ", ".join(stopped) + " (continues from there)"
        done = " ".join(map(str, seeds)) or "-"
        print(f"{row.key:36s} {row.budget:9,d} {row.published:10.1f} {thr:>10s} {done:>11s}  {status}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Reproduce the published RL Zoo scores with zoo.train")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--rows", nargs="+", metavar="ALGO:ENV", help="rows to run, e.g. ppo:CartPole-v1")
    which.add_argument("--all-feasible", action="store_true", help="every row that fits a 2-core CPU")
    parser.add_argument("--seeds", nargs="+", type=int, default=list(DEFAULT_SEEDS))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runs at once (default: CPUs)")
    parser.add_argument("--results", type=pathlib.Path, default=DEFAULT_RESULTS)
    parser.add_argument("--runs-folder", type=pathlib.Path, default=DEFAULT_RUNS, help="zoo.train's -f")
    parser.add_argument(
        "--eval-episodes", type=int, default=FINAL_EVAL_EPISODES, help="episodes of the final evaluation"
    )
    parser.add_argument(
        "--n-timesteps", type=int, default=None, help="train this many steps instead of the budget (smoke tests)"
    )
    parser.add_argument("--list", action="store_true", help="list the rows and what is done, run nothing")
    parser.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    parser.add_argument(
        "--evaluate", nargs=5, metavar=("RUN", "ALGO", "ENV", "SEED", "EPISODES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.eval_episodes < 1:
        parser.error(f"--eval-episodes must be at least 1, got {args.eval_episodes}")
    if args.n_timesteps is not None and args.n_timesteps < 1:
        parser.error(f"--n-timesteps must be at least 1, got {args.n_timesteps}")
    if any(seed < 0 for seed in args.seeds):
        parser.error(f"--seeds must be 0 or more, got {args.seeds}")
    args.seeds = list(dict.fromkeys(args.seeds))  # a seed given twice is one run
    if not (args.list or args.evaluate or args.rows or args.all_feasible):
        parser.error("choose the rows: --rows ALGO:ENV ... or --all-feasible (or --list to see them)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.evaluate:
        run, algo, env_id, seed, episodes = args.evaluate
        print(json.dumps(evaluate_run(pathlib.Path(run), algo, env_id, int(seed), int(episodes))))
        return 0
    if args.list:
        list_rows(args.results, args.runs_folder)
        return 0
    try:
        rows = [find_row(key) for key in args.rows] if args.rows else [row for row in ROWS if row.feasible]
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    plan = make_plan(list(dict.fromkeys(rows)), args.seeds, args.results, args.n_timesteps)
    for note in plan.notes:
        print(f"note: {note}")
    for row, why in plan.no_entry:
        print(f"skipped {row.key}: {why}", file=sys.stderr)
    if plan.no_entry and args.rows:
        print("error: the zoo has no hyperparameters for the rows above", file=sys.stderr)
        return 2
    print(f"{len(plan.todo)} run(s) to do, {len(plan.done)} already in {display_path(args.results)}")
    if args.dry_run:
        for job in plan.todo:
            segments = interrupted_segments(job, args.runs_folder)
            print(shlex.join(train_command(job, args.runs_folder, resume=segments[-1] if segments else None)))
        return 0
    _, failures = run_jobs(plan.todo, args.runs_folder, args.eval_episodes, args.jobs)
    if failures:
        print(f"{len(failures)} run(s) failed (no result written; the next sweep retries them):", file=sys.stderr)
        for job, _ in failures:
            print(f"  {job.row.key} seed {job.seed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
