"""Where an off-policy learn loop spends each env step: the gradient step, and everything around it.

    python -m benchmarks.loop_split --races sac_halfcheetah --precision compiled compiled-bf16 --libs baselines3 sb3
    python -m benchmarks.loop_split --races sac_pendulum td3_halfcheetah --threads 2 --rounds 5 --round-steps 500

The speed races time a whole learn loop; `benchmarks.flop_bound` times the gradient step alone. This splits the loop
between them, for baselines3's SAC and TD3 on a race's settings: each contender's model (seed 0) trains past
learning starts and one untimed round, then `--rounds` rounds of `--round-steps` env steps, the contenders taking
turns in one process (so a change of the host's speed falls on all of them alike). Within each round the methods the
loop calls are timed where they are called: `train()` (sampling the replay batch, the gradient step, its
bookkeeping) and, of the rest, the actor's forward pass that picks the actions, the vec env's `step()` and the
replay buffer's `add()`; *other* is what is left (action scaling and noise, callbacks, the finite-value checks, the
loop itself). Printed per contender: the median over rounds of each, in milliseconds per env step. With `--libs
baselines3 sb3` SB3's loop is split the same way beside ours (its methods have the same names). The timers cost
about a microsecond per call.

The pieces are timed inside the loop, where the gradient step has just run: a forward pass on one observation costs
there several times what it costs on its own with warm caches, and that in-place figure is the one that bounds the
loop.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import time
from collections.abc import Callable
from typing import Any

from baselines3.common.fast.precision import PRECISIONS
from baselines3.common.save_util import atomic_write_text
from benchmarks.run import git_commit
from benchmarks.speed import COMPILED_PRECISIONS, RACES, build_race_model, cpu_model, label, set_compiled_turn

#: The pieces of one env step, in the order printed.
PIECES = ("total", "train", "acting", "env_step", "replay_add", "other")
OURS = "baselines3"
#: The libraries whose loops this can split (the methods it times have the same names in both).
LIBS = (OURS, "sb3")
#: Races whose algorithm acts through its actor's forward pass and trains with `train()` between env steps.
ACTOR_CRITIC = ("sac", "td3")


class Timers:
    """Seconds spent in each wrapped method since the last `reset()`. A wrapped method called while another one
    runs counts as part of that one (TD3's eager `train()` calls the actor's forward pass: that is training time,
    not acting)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._running: str | None = None

    def wrap(self, owner: Any, method: str, piece: str) -> None:
        """Replace `owner.method` by a timed call of it (an instance attribute, which the loop's lookups find)."""
        inner = getattr(owner, method)
        self.seconds[piece] = 0.0

        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._running is not None:
                return inner(*args, **kwargs)
            self._running = piece
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[piece] += time.perf_counter() - start
                self._running = None

        setattr(owner, method, timed)

    def reset(self) -> None:
        for piece in self.seconds:
            self.seconds[piece] = 0.0


def instrument(model: Any) -> Timers:
    timers = Timers()
    timers.wrap(model, "train", "train")
    timers.wrap(model.actor, "forward", "acting")
    timers.wrap(model.get_env(), "step", "env_step")
    timers.wrap(model.replay_buffer, "add", "replay_add")
    return timers


def split_round(model: Any, timers: Timers, steps: int) -> dict[str, float]:
    """Milliseconds per env step of each piece over `steps` env steps of `model.learn`."""
    timers.reset()
    before = model.num_timesteps
    start = time.perf_counter()
    model.learn(total_timesteps=steps, reset_num_timesteps=False)
    total = time.perf_counter() - start
    taken = model.num_timesteps - before
    parts = dict(timers.seconds)
    parts["total"] = total
    parts["other"] = total - sum(timers.seconds.values())
    return {piece: 1000.0 * parts[piece] / taken for piece in PIECES}


def run(
    races: list[str],
    precisions: list[str],
    threads: int,
    rounds: int,
    round_steps: int,
    libs: tuple[str, ...] = (OURS,),
) -> dict[str, Any]:
    """Each contender's per-round split, taking turns in this process: baselines3 at each of `precisions`, and
    each other library of `libs` (SB3: the same method names, so the same timers) in float32."""
    import torch

    from baselines3.common.fast import compiled

    setting = compiled.compiled_updates_setting()
    torch.set_num_threads(threads)
    contenders: dict[str, tuple[Any, Timers, str, str]] = {}
    try:
        for race in races:
            for lib in libs:
                for precision in precisions if lib == OURS else ["fp32"]:
                    model = build_race_model(lib, race, 0, precision).model
                    set_compiled_turn(lib, precision)
                    model.learn(total_timesteps=int(model.learning_starts) + round_steps)  # warm-up (and compiling)
                    contenders[f"{race} {label(lib, precision)}"] = (model, instrument(model), lib, precision)
        rounds_of: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
        names = list(contenders)
        for index in range(rounds):
            for name in names if index % 2 == 0 else reversed(names):
                model, timers, lib, precision = contenders[name]
                set_compiled_turn(lib, precision)
                rounds_of[name].append(split_round(model, timers, round_steps))
    finally:
        compiled.set_compiled_updates(setting)
        for model, *_ in contenders.values():
            model.get_env().close()
    medians = {
        name: {piece: statistics.median(split[piece] for split in splits) for piece in PIECES}
        for name, splits in rounds_of.items()
    }
    return dict(
        threads=threads,
        round_steps=round_steps,
        rounds=rounds_of,
        medians=medians,
        unit="ms/step",
        cpu=cpu_model(),
        commit=git_commit(),
    )


def table(result: dict[str, Any]) -> list[str]:
    lines = [
        f"ms per env step, median over {len(next(iter(result['rounds'].values())))} rounds of "
        f"{result['round_steps']} steps, {result['threads']} thread(s), {result['cpu']}",
        "",
        "| contender | steps/s | total | train() | acting | env step | replay add | other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, median in result["medians"].items():
        cells = " | ".join(f"{median[piece]:.3f}" for piece in PIECES)
        lines.append(f"| {name} | {1000.0 / median['total']:.1f} | {cells} |")
    return lines


def main(argv: list[str] | None = None, printer: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loop_split", description=__doc__.split("\n\n")[0])
    races = [name for name, race in RACES.items() if race.algo in ACTOR_CRITIC]
    parser.add_argument("--races", nargs="+", default=["sac_halfcheetah"], choices=races)
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["fp32", "compiled"],
        choices=[*PRECISIONS, *COMPILED_PRECISIONS],
        help="baselines3's precision, or a compiled step (compiled = float32, compiled-bf16)",
    )
    parser.add_argument("--libs", nargs="+", default=[OURS], choices=LIBS, help="sb3: SB3's loop beside ours")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (one count per invocation)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--round-steps", type=int, default=400, help="env steps per contender and round")
    parser.add_argument("--json", type=pathlib.Path, default=None, help="write the per-round figures here")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.rounds < 1 or args.round_steps < 1:
        parser.error("--threads, --rounds and --round-steps must be at least 1")
    result = run(args.races, args.precision, args.threads, args.rounds, args.round_steps, tuple(args.libs))
    for line in table(result):
        printer(line)
    if args.json is not None:
        atomic_write_text(args.json, json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
