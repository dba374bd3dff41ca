"""Speed race with the contenders taking turns inside one process: ratios that hold on a machine whose speed drifts.

    python -m benchmarks.interleaved --races sac_halfcheetah --libs baselines3 sb3 sbx --precision fp32 compiled
    python -m benchmarks.interleaved --races sac_pendulum td3_pendulum --libs baselines3 sbx --threads 1 all

`benchmarks.speed` trains each contender in a fresh process, one after the other, so a host whose speed moves by
tens of percent within minutes (shared or throttled machines) moves the ratios with it. Here one process per race
and thread count builds every contender's model (the race's settings, seed 0), trains each past its warm-up
(learning starts, then one untimed round: SBX's and the compiled step's compilation happen there), and then lets
them take turns, `--rounds` rounds of `--round-steps` training steps each, the order reversed every other round.
Every contender sees the same machine within a round, so the per-round ratio is the steady-state speed ratio of the
whole learn loop (acting, env stepping, replay buffer, gradient steps; no evaluation). Printed per contender: the
median steps/s over rounds and the median per-round ratio against SB3 and SBX with its range. Returns are not
compared here (the training is cut into rounds): `benchmarks.speed` races full runs for that.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time
from typing import Any

from baselines3.common.fast.precision import PRECISIONS
from baselines3.common.save_util import atomic_write_text
from benchmarks.run import git_commit
from benchmarks.speed import (
    COMPILED_PRECISIONS,
    RACES,
    _available,
    _library,
    _runs,
    _thread_count,
    build_race_model,
    cpu_model,
    label,
    run_worker,
    set_compiled_turn,
)


def run_interleaved(
    race_name: str, contenders: list[tuple[str, str]], threads: int, rounds: int, round_steps: int
) -> dict[str, Any]:
    """Each contender's steps/s in each round (inside the worker subprocess, with `threads` torch threads)."""
    import torch

    for lib_name, _ in contenders:
        _library(lib_name)  # imports baselines3's thread default before the explicit setting below
    torch.set_num_threads(threads)
    models: dict[str, Any] = {}
    for lib_name, precision in contenders:
        set_compiled_turn(lib_name, precision)
        models[label(lib_name, precision)] = build_race_model(lib_name, race_name, 0, precision).model
    rates: dict[str, list[float]] = {name: [] for name in models}
    names = list(models)
    for round_index in range(-1, rounds):  # round -1: the untimed warm-up
        order = names if round_index % 2 == 0 else list(reversed(names))
        for name in order:
            lib_name, precision = contenders[names.index(name)]
            model = models[name]
            set_compiled_turn(lib_name, precision)
            steps = round_steps + (int(getattr(model, "learning_starts", 0)) if round_index < 0 else 0)
            before = model.num_timesteps
            start = time.perf_counter()
            model.learn(total_timesteps=steps, reset_num_timesteps=round_index < 0)
            seconds = time.perf_counter() - start
            if round_index >= 0:
                rates[name].append((model.num_timesteps - before) / seconds)
    for model in models.values():
        model.get_env().close()
    return dict(
        race=race_name,
        threads=threads,
        round_steps=round_steps,
        steps_per_second=rates,
        cpu=cpu_model(),
        commit=git_commit(),
    )


def paired_ratios(rates: dict[str, list[float]], ours: str, other: str) -> list[float]:
    """`ours`' steps/s over `other`'s, round by round (both ran in each round)."""
    return [a / b for a, b in zip(rates[ours], rates[other])]


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The printed table of one worker's result: median steps/s and median per-round ratios with their range."""
    rates = result["steps_per_second"]
    others = [name for name in ("sb3", "sbx") if name in rates]
    header = f"{'race':16s} {'threads':>7s} {'contender':26s} {'steps/s':>8s}"
    lines = [header + "".join(f"  {'vs ' + other + ' [range]':>22s}" for other in others)]
    for name, each in rates.items():
        line = f"{result['race']:16s} {result['threads']:7d} {name:26s} {statistics.median(each):8.1f}"
        for other in others:
            if name in ("sb3", "sbx"):
                line += f"  {'':>22s}"
                continue
            ratios = paired_ratios(rates, name, other)
            line += f"  {statistics.median(ratios):6.2f}x [{min(ratios):.2f}, {max(ratios):.2f}]".rjust(24)
        lines.append(line)
    return lines


def markdown_table(results: list[dict[str, Any]]) -> list[str]:
    """The results of a --json file as one markdown table: per race and thread count, each contender's median
    steps/s, then each of our contenders' median per-round ratio against SB3 and SBX; per race, a *best* row
    with each contender at its faster thread count (in brackets) and the ratios of those medians."""
    names: list[str] = []
    for result in results:
        names += [name for name in result["steps_per_second"] if name not in names]
    ours = [name for name in names if name not in ("sb3", "sbx")]
    others = [name for name in ("sb3", "sbx") if name in names]
    pairs = [(mine, other) for other in others for mine in ours]
    header = ["race", "threads", *names, *(f"{mine} / {other}" for mine, other in pairs)]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    best: dict[str, dict[str, tuple[float, int]]] = {}
    for result in results:
        rates, threads = result["steps_per_second"], result["threads"]
        medians = {name: statistics.median(each) for name, each in rates.items()}
        for name, median in medians.items():
            kept = best.setdefault(result["race"], {}).get(name)
            if kept is None or median > kept[0]:
                best[result["race"]][name] = (median, threads)
        cells = [f"{medians[name]:.1f}" if name in medians else "-" for name in names]
        for mine, other in pairs:
            both = mine in rates and other in rates
            cells.append(f"{statistics.median(paired_ratios(rates, mine, other)):.2f}x" if both else "-")
        lines.append(f"| {result['race']} | {threads} | " + " | ".join(cells) + " |")
        if result is results[-1] or results[results.index(result) + 1]["race"] != result["race"]:
            race_best = best[result["race"]]
            cells = [f"{race_best[name][0]:.1f} ({race_best[name][1]})" if name in race_best else "-" for name in names]
            for mine, other in pairs:
                both = mine in race_best and other in race_best
                cells.append(f"{race_best[mine][0] / race_best[other][0]:.2f}x" if both else "-")
            lines.append(f"| {result['race']} | best | " + " | ".join(cells) + " |")
    return lines


def _spawn(race_name: str, contenders: list[tuple[str, str]], threads: int, rounds: int, round_steps: int) -> Any:
    args = ["benchmarks.interleaved", "--worker", race_name, "--worker-threads", str(threads)]
    args += ["--contenders", *(f"{lib}:{precision}" for lib, precision in contenders)]
    args += ["--rounds", str(rounds), "--round-steps", str(round_steps)]
    return run_worker(args, threads, f"{race_name} at {threads} thread(s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", nargs="+", default=["sac_pendulum"], choices=list(RACES))
    parser.add_argument("--libs", nargs="+", default=["baselines3", "sb3"], choices=["baselines3", "sb3", "sbx"])
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["fp32"],
        choices=[*PRECISIONS, *COMPILED_PRECISIONS],
        help="baselines3's settings, each a contender of its own (the others train in float32)",
    )
    parser.add_argument(
        "--threads", nargs="+", default=["1"], choices=["1", "all"], help="1: one thread on one core; all: every core"
    )
    parser.add_argument("--rounds", type=int, default=6, help="timed rounds (each contender trains once per round)")
    parser.add_argument("--round-steps", type=int, default=1000, help="training steps per contender and round")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="also write the results to this JSON file")
    parser.add_argument(
        "--markdown", type=pathlib.Path, default=None, help="print this --json file as a markdown table, run nothing"
    )
    parser.add_argument("--worker", metavar="RACE", help=argparse.SUPPRESS)
    parser.add_argument("--worker-threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--contenders", nargs="+", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.round_steps < 1:
        parser.error("--rounds and --round-steps must be at least 1")

    if args.markdown is not None:
        print("\n".join(markdown_table(json.loads(args.markdown.read_text())["interleaved"])))
        return 0
    if args.worker:
        contenders = [tuple(c.split(":", 1)) for c in args.contenders]
        result = run_interleaved(args.worker, contenders, args.worker_threads, args.rounds, args.round_steps)  # type: ignore[arg-type]
        print(json.dumps(result))
        return 0

    libs = _available(list(args.libs), args.races)
    precisions = list(dict.fromkeys(args.precision))
    results = []
    for race_name in args.races:
        contenders = [
            (lib, precision)
            for lib in libs
            if _runs(RACES[race_name], lib)
            for precision in (precisions if lib == "baselines3" else ["fp32"])
        ]
        for threads in sorted({_thread_count(setting) for setting in args.threads}):
            result = _spawn(race_name, contenders, threads, args.rounds, args.round_steps)
            results.append(result)
            print("\n".join(summary_lines(result)), flush=True)
            if args.json is not None:  # after every race, so a stopped invocation keeps what it measured
                atomic_write_text(args.json, json.dumps({"interleaved": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
