"""Thread-default benchmark: two training processes side by side, under each thread setting in turn.

    python -m benchmarks.threads                    # PPO CartPole-v1 30k steps beside SAC Pendulum-v1 3k steps
    python -m benchmarks.threads --repeats 2 --modes default one
    python -m benchmarks.threads --step-times       # one gradient step of typical networks at 1 and 2 threads

For each mode, both jobs start at the same moment, each in its own process, and the wall time of each is
printed with the torch thread count it trained with:

- `default`: nothing set, so `learn()` picks the count (baselines3.common.threads);
- `one`: `torch.set_num_threads(1)` before the model is built;
- `torch`: `OMP_NUM_THREADS=<cores>`, torch's own default of one thread per core, as before the thread default.

`--step-times` times a gradient step (forward, backward, Adam) of MLPs and the DQN-paper CNN at the batch sizes
the algorithms use, with one thread and with two, in this process.

The machine's load (`os.getloadavg`) is printed before each mode: other work on the machine changes the
figures, and running the modes one after the other in one invocation keeps the comparison fair.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

#: name -> (algorithm, env id, steps, keywords)
JOBS: dict[str, tuple[str, str, int, dict[str, object]]] = {
    "ppo_cartpole": ("PPO", "CartPole-v1", 30_000, {}),
    "sac_pendulum": ("SAC", "Pendulum-v1", 3_000, {"learning_starts": 100}),
}
MODES = ("default", "one", "torch")


def worker(job: str, mode: str) -> None:
    """Train `job` under `mode` and print one JSON line: wall seconds of learn() and the thread count."""
    import torch

    import baselines3

    if mode == "one":
        torch.set_num_threads(1)
    algo, env_id, steps, kwargs = JOBS[job]
    model = getattr(baselines3, algo)("MlpPolicy", env_id, seed=0, **kwargs)
    start = time.perf_counter()
    model.learn(steps)
    elapsed = time.perf_counter() - start
    print(json.dumps({"job": job, "mode": mode, "seconds": elapsed, "threads": torch.get_num_threads()}))


def step_times(seconds: float = 1.5) -> None:
    """Print the time of one gradient step of typical networks with one and with two torch threads."""
    import torch
    from torch import nn

    def mlp(n_in: int, hidden: list[int], n_out: int) -> nn.Module:
        layers: list[nn.Module] = []
        for size in hidden:
            layers += [nn.Linear(n_in, size), nn.ReLU()]
            n_in = size
        return nn.Sequential(*layers, nn.Linear(n_in, n_out))

    def nature_cnn() -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(4, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(), nn.Conv2d(64, 64, 3, 1),
            nn.ReLU(), nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, 6),
        )  # fmt: skip

    cases = [
        ("[64, 64] MLP, batch 64", lambda: mlp(4, [64, 64], 2), (64, 4)),
        ("[64, 64] MLP, batch 256", lambda: mlp(4, [64, 64], 2), (256, 4)),
        ("[256, 256] MLP, batch 64", lambda: mlp(20, [256, 256], 2), (64, 20)),
        ("[256, 256] MLP, batch 256", lambda: mlp(20, [256, 256], 2), (256, 20)),
        ("[400, 300] MLP, batch 100", lambda: mlp(20, [400, 300], 6), (100, 20)),
        ("[400, 300] MLP, batch 256", lambda: mlp(20, [400, 300], 6), (256, 20)),
        ("DQN-paper CNN, batch 32", nature_cnn, (32, 4, 84, 84)),
        ("DQN-paper CNN, batch 256", nature_cnn, (256, 4, 84, 84)),
    ]
    for threads in (1, 2):
        torch.set_num_threads(threads)
        print(f"{threads} thread(s), load {', '.join(f'{value:.2f}' for value in os.getloadavg())}")
        for name, make, shape in cases:
            torch.manual_seed(0)
            net = make()
            optimizer = torch.optim.Adam(net.parameters(), 1e-3)
            x = torch.randn(*shape)
            steps, start = -5, 0.0  # 5 warm-up steps, then as many as fit in `seconds`
            while steps < 0 or time.perf_counter() - start < seconds:
                optimizer.zero_grad()
                net(x).pow(2).mean().backward()
                optimizer.step()
                steps += 1
                if steps == 0:
                    start = time.perf_counter()
            print(f"  {name:26s} {1e3 * (time.perf_counter() - start) / steps:8.2f} ms", flush=True)


def side_by_side(jobs: list[str], mode: str, cores: int) -> list[dict[str, object]]:
    """Start every job at once under `mode`; their results when all have finished."""
    env = {key: value for key, value in os.environ.items() if key not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    if mode == "torch":
        env["OMP_NUM_THREADS"] = str(cores)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.threads", "--worker", job, "--mode", mode],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    results = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"a {mode} job failed with exit status {process.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.threads", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", nargs="+", choices=sorted(JOBS), default=list(JOBS), help="run side by side")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeats", type=int, default=1, help="rounds of all modes (in reverse order every other)")
    parser.add_argument("--step-times", action="store_true", help="time gradient steps at 1 and 2 threads instead")
    parser.add_argument("--worker", choices=sorted(JOBS), help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.mode)
        return 0
    if args.step_times:
        step_times()
        return 0
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    from baselines3.common.threads import physical_cores

    cores = physical_cores()
    print(f"{cores} physical cores; jobs side by side: {', '.join(args.jobs)}")
    for round_ in range(args.repeats):
        for mode in args.modes if round_ % 2 == 0 else reversed(args.modes):  # alternate: load drifts
            load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
            start = time.perf_counter()
            results = side_by_side(args.jobs, mode, cores)
            total = time.perf_counter() - start
            each = "; ".join(f"{r['job']} {r['seconds']:.1f} s ({r['threads']} thread(s))" for r in results)
            print(f"round {round_ + 1} {mode:8s} load {load}: {each}; both done in {total:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
