"""CI learning gate: a few short zoo runs that must still learn, run after the tests.

    python -m benchmarks.gate                 # every gate row, two at a time
    python -m benchmarks.gate --rows sac:Pendulum-v1 --seed 2 --jobs 1
    python -m benchmarks.gate --seeds 1 2 3 --precision fp32 bf16   # does bfloat16 learn as float32 does?

Each row trains with the ordinary zoo command (`python -m zoo.train ...`, the zoo's tuned hyperparameters and a
fixed budget) into a temporary folder, then its final model is evaluated deterministically for 10 episodes, as
`benchmarks.run` does. Thresholds are learning results, not timings: each sits well below what working code
reaches at that budget (measured, see GATE_ROWS) and well above what a broken learner reaches. Prints a table and
exits 1 when any row fails. Needs no network and no input.

With several precisions (`--precision fp32 bf16`, the algorithms' `precision` setting) every row trains in each,
on each seed, and a second table sets each precision's scores beside float32's: a precision whose mean falls
below the lowest float32 seed learns worse than float32's seed-to-seed spread allows.
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from baselines3.common.fast.precision import PRECISIONS
from benchmarks import run
from benchmarks.rows import find_row
from benchmarks.run import Job, RunFailed, result_path, run_job

FINAL_EVAL_EPISODES = 10


@dataclass(frozen=True)
class GateRow:
    """A zoo run that must reach `threshold` on `metric`: "final" (the final model's mean over 10 deterministic
    episodes) or "best" (the best of the evaluations during training, 5 episodes each, for learners whose final
    return at this budget swings from seed to seed)."""

    algo: str
    env: str
    n_timesteps: int
    metric: str
    threshold: float
    seed: int
    measured: str  # what working code reached when the threshold was set
    requires: tuple[str, ...] = ()  # modules the env needs; the row is skipped (not failed) when one is missing
    hyperparams: tuple[str, ...] = ()  # zoo.train `-params KEY:VALUE` overrides of the zoo entry for this budget

    @property
    def name(self) -> str:
        return f"{self.algo}:{self.env}"


def missing_modules(row: GateRow) -> list[str]:
    """The modules of `row.requires` that cannot be imported here."""
    missing = []
    for module in row.requires:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    return missing


#: Measured with this gate's command (2-core CPU, torch 2.13 CPU): final / best evaluation per seed. A broken
#: learner stays near a random policy (CartPole ~22, Pendulum ~-1230; SAC's first evaluations here: -1670).
#: Seed 1, not 0: with seed 0 the untrained PPO and A2C CartPole policies already balance the pole
#: (deterministic return 500 before any update), so a learner that learned nothing would pass.
#: The SAC rows come first: they are the longest (about 3-5 minutes each), and the CartPole rows run after them.
#: HalfCheetah at 20k steps (learning_starts lowered from the entry's 10,000 to 1,000, the same override for SB3)
#: is early in learning: the untrained deterministic policy scores -2, more than SB3 reaches (-99), so this row
#: cannot catch a learner that does nothing; it catches one that learns the wrong way (actor-loss sign flipped:
#: -599) and sits above a uniformly random policy (-283). Skipped, with a message, where mujoco cannot be imported.
GATE_ROWS: tuple[GateRow, ...] = (
    GateRow(
        "sac",
        "HalfCheetah-v5",
        20_000,
        "final",
        -250.0,
        1,
        "final 237 (seed 1; SB3 2.9.2 same settings -99); untrained -2, random -283, actor-loss sign flipped -599",
        requires=("mujoco",),
        hyperparams=("learning_starts:1000",),
    ),
    GateRow("sac", "Pendulum-v1", 20_000, "final", -300.0, 1, "final -121 / -110 (seeds 1, 2)"),
    GateRow("ppo", "CartPole-v1", 100_000, "final", 400.0, 1, "final 500 / 500 (seeds 0, 1)"),
    GateRow("a2c", "CartPole-v1", 200_000, "best", 400.0, 1, "best 500 / 500, final 83 / 500 (seeds 1, 2)"),
    GateRow("dqn", "CartPole-v1", 50_000, "best", 400.0, 1, "best 500 / 500, final 44 / 500 (seeds 0, 1)"),
)


@dataclass
class GateOutcome:
    row: GateRow
    seed: int
    score: float | None
    wall_s: float
    error: str = ""
    skipped: str = ""  # why the row was not run (a missing optional dependency); a skipped row does not fail
    precision: str = "fp32"

    @property
    def ok(self) -> bool:
        return bool(self.skipped) or (self.score is not None and self.score >= self.row.threshold)


def score_of(result: dict[str, Any], metric: str) -> float:
    """The figure a gate row is judged on, from a benchmarks.run result."""
    if metric == "final":
        return float(result["final_eval"]["mean"])
    if metric == "best":
        best = result.get("best_eval")
        if not best:
            raise ValueError("the run has no evaluations during training, so no best evaluation")
        return float(best["mean"])
    raise ValueError(f"Unknown gate metric {metric!r}; expected 'final' or 'best'")


def train_row(row: GateRow, seed: int, folder: pathlib.Path, precision: str = "fp32") -> dict[str, Any]:
    """Train and evaluate one gate row with the zoo command (runs and results under `folder`), its updates in
    `precision`."""
    table_row = find_row(row.name)
    path = result_path(folder / "results", row.algo, row.env, seed)
    job = Job(table_row, seed, row.n_timesteps, path, pass_budget=row.n_timesteps != table_row.budget)
    params = [*row.hyperparams, *([] if precision == "fp32" else [f"precision:{precision}"])]
    if not params:
        return run_job(job, folder / "runs", FINAL_EVAL_EPISODES, parallel_jobs=2)
    # the benchmark command plus the row's `-params`: one fresh process (a gate run is never resumed)
    command = [*run.train_command(job, folder / "runs", sys.executable), "-params", *params]
    start = time.perf_counter()
    train = subprocess.run(
        command, cwd=run.REPO, env=run.child_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if train.returncode != 0:
        raise RunFailed(f"training exited with {train.returncode}:\n{(train.stderr or train.stdout)[-3000:]}")
    segment = run.Segment(
        run._run_folder(train.stdout), 0, job.n_timesteps, time.perf_counter() - start, None, run.git_commit()
    )
    return run.evaluate_and_write(job, [segment], folder / "runs", FINAL_EVAL_EPISODES, parallel_jobs=2)


def run_gate(
    rows: tuple[GateRow, ...] = GATE_ROWS,
    seed: int | None = None,
    jobs: int = 2,
    train: Callable[[GateRow, int, pathlib.Path, str], dict[str, Any]] | None = None,
    seeds: list[int] | None = None,
    precisions: tuple[str, ...] = ("fp32",),
) -> list[GateOutcome]:
    """Train every row (`jobs` at a time) on each of `seeds` (default: `seed` if given, else each row's own)
    in each of `precisions`, in a temporary folder, and judge it; `train` defaults to `train_row`."""
    train = train or train_row
    runs = [
        (row, row_seed, precision)
        for row in rows
        for row_seed in (seeds or [row.seed if seed is None else seed])
        for precision in precisions
    ]

    with tempfile.TemporaryDirectory(prefix="benchmarks-gate-") as tmp:

        def one(task: tuple[GateRow, int, str]) -> GateOutcome:
            row, row_seed, precision = task
            missing = missing_modules(row)
            if missing:
                reason = (
                    f"{', '.join(missing)} cannot be imported, so {row.env} cannot be created "
                    '(pip install -e ".[mujoco]" to run this row)'
                )
                return GateOutcome(row, row_seed, None, 0.0, skipped=reason, precision=precision)
            start = time.perf_counter()
            folder = pathlib.Path(tmp) / precision  # each precision's results apart: their paths are alike
            try:
                score = score_of(train(row, row_seed, folder, precision), row.metric)
                outcome = GateOutcome(row, row_seed, score, time.perf_counter() - start, precision=precision)
            except (RunFailed, ValueError) as error:
                outcome = GateOutcome(row, row_seed, None, time.perf_counter() - start, str(error), precision=precision)
            # a line as each run ends: the whole gate takes minutes, with several seeds or precisions an hour
            score_text = "no score" if outcome.score is None else f"{row.metric} {outcome.score:.1f}"
            print(
                f"{row.name} seed {row_seed} {precision}: {score_text} ({'ok' if outcome.ok else 'FAIL'}, "
                f"{outcome.wall_s:.0f} s)",
                flush=True,
            )
            return outcome

        with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
            return list(pool.map(one, runs))


def format_table(outcomes: list[GateOutcome]) -> str:
    """One line per row: budget, seed, metric, score against threshold, ok/FAIL and wall time."""
    header = f"{'row':18s} {'budget':>8s} {'seed':>4s} {'metric':>6s} {'score':>8s} {'threshold':>9s} {'result':>6s}"
    several = len({outcome.precision for outcome in outcomes}) > 1
    lines = [header + f" {'wall':>6s}" + (" precision" if several else "")]
    for outcome in outcomes:
        row = outcome.row
        score = "-" if outcome.score is None else f"{outcome.score:.1f}"
        verdict = "skip" if outcome.skipped else "ok" if outcome.ok else "FAIL"
        lines.append(
            f"{row.name:18s} {row.n_timesteps:8,d} {outcome.seed:4d} {row.metric:>6s} {score:>8s} "
            f"{row.threshold:9.1f} {verdict:>6s} {outcome.wall_s:5.0f}s" + (f" {outcome.precision}" if several else "")
        )
    return "\n".join(lines)


def precision_table(outcomes: list[GateOutcome]) -> str:
    """Per row and precision other than float32: the scores over the seeds, their mean, and whether the mean is
    within (or above) the spread of float32's scores on the same seeds."""
    lines = [f"{'row':18s} {'precision':9s} {'mean':>8s} {'fp32 range':>19s} {'verdict':>18s}  scores"]
    for row in dict.fromkeys(outcome.row for outcome in outcomes):
        scores_of: dict[str, list[float]] = {}  # precision -> the scores of the runs that finished
        for outcome in outcomes:
            if outcome.row == row and outcome.score is not None:
                scores_of.setdefault(outcome.precision, []).append(outcome.score)
        reference = scores_of.get("fp32", [])
        for precision, scores in scores_of.items():
            if precision == "fp32":
                continue
            mean = sum(scores) / len(scores)
            if reference:
                low, high = min(reference), max(reference)
                spread = f"[{low:.1f}, {high:.1f}]"
                verdict = "below fp32's spread" if mean < low else "within fp32's" if mean <= high else "above fp32's"
            else:
                spread, verdict = "-", "no fp32 run"
            listed = ", ".join(f"{score:.1f}" for score in scores)
            lines.append(f"{row.name:18s} {precision:9s} {mean:8.1f} {spread:>19s} {verdict:>18s}  {listed}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Short zoo runs that must still learn (CI)")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=int, default=None, help="one seed for every row (default: each row's)")
    seeds.add_argument("--seeds", type=int, nargs="+", default=None, help="each row on each of these seeds")
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["fp32"],
        choices=PRECISIONS,
        help="the algorithms' precision setting, each row trained in each (bf16: updates under bfloat16 autocast)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="runs at once")
    parser.add_argument("--rows", nargs="+", metavar="ALGO:ENV", help="a subset of the gate rows")
    args = parser.parse_args(argv)
    rows = GATE_ROWS
    if args.rows:
        known = {row.name: row for row in GATE_ROWS}
        unknown = [name for name in args.rows if name not in known]
        if unknown:
            print(f"error: not gate rows: {unknown}; gate rows: {', '.join(known)}", file=sys.stderr)
            return 2
        rows = tuple(known[name] for name in args.rows)
    start = time.perf_counter()
    precisions = tuple(dict.fromkeys(args.precision))
    outcomes = run_gate(rows, args.seed, args.jobs, seeds=args.seeds, precisions=precisions)
    print(format_table(outcomes))
    if precisions != ("fp32",):
        print()
        print(precision_table(outcomes))
    for outcome in outcomes:
        if outcome.skipped:
            print(f"{outcome.row.name} SKIPPED: {outcome.skipped}")
        if outcome.error:
            print(f"\n{outcome.row.name}: {outcome.error}", file=sys.stderr)
    failed = [outcome.row.name for outcome in outcomes if not outcome.ok]
    ran = sum(1 for outcome in outcomes if not outcome.skipped)
    skipped = len(outcomes) - ran
    minutes = (time.perf_counter() - start) / 60
    if failed:
        print(f"learning gate FAILED for {', '.join(failed)} ({minutes:.1f} min)")
        return 1
    note = f", {skipped} skipped" if skipped else ""
    counted = f"{ran} rows" if len(outcomes) == len(rows) else f"{ran} runs of {len(rows)} rows"
    print(f"learning gate passed: {counted}{note} ({minutes:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
