"""Training curves from zoo runs: episode return against timesteps, mean and spread over runs (seeds).

    python -m zoo.plot --algos ppo a2c --env CartPole-v1 -o cartpole.png
    python -m zoo.plot --algos dqn --env CartPole-v1 --source evaluations -o dqn_eval.png

Each algorithm is one curve: every run folder `<folder>/<algo>/<env>_<N>` contributes its monitor CSVs (training
episodes, smoothed over `--window` episodes) or its `evaluations.npz` (`--source evaluations`); runs are
interpolated onto a common timestep grid, and the curve shows their mean with a min-max band.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

from baselines3.common.monitor import load_results
from baselines3.common.results_plotter import X_TIMESTEPS, ts2xy, window_func
from zoo.config import ALGOS, ConfigError
from zoo.runs import env_folder_name


def run_folders(folder: str, algo: str, env_id: str) -> list[pathlib.Path]:
    # every run folder, numbered or with a -uuid suffix
    return sorted(p for p in (pathlib.Path(folder) / algo).glob(f"{env_folder_name(env_id)}_*") if p.is_dir())


def run_curve(run: pathlib.Path, source: str, window: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(timesteps, returns) of one run, or None when it has no data of that kind."""
    if source == "evaluations":
        path = run / "evaluations.npz"
        if not path.exists():
            return None
        with np.load(path) as data:
            return data["timesteps"].astype(float), data["results"].mean(axis=1)
    if not list(run.glob("*.monitor.csv")):
        return None
    x, y = ts2xy(load_results(str(run)), X_TIMESTEPS)
    if len(y) >= window > 1:
        x, y = window_func(x, y, window, np.mean)
    return x.astype(float), y.astype(float)


def mean_and_band(curves: list[tuple[np.ndarray, np.ndarray]], points: int = 200) -> tuple[np.ndarray, ...]:
    """Curves interpolated onto a common grid (up to the shortest run): (grid, mean, min, max)."""
    end = min(x[-1] for x, _ in curves)
    start = max(x[0] for x, _ in curves)
    grid = np.linspace(start, end, points) if end > start else np.array([end])
    values = np.stack([np.interp(grid, x, y) for x, y in curves])
    return grid, values.mean(axis=0), values.min(axis=0), values.max(axis=0)


def plot(args: argparse.Namespace) -> pathlib.Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    plotted = 0
    for algo in args.algos:
        runs = run_folders(args.folder, algo, args.env)
        curves = [c for c in (run_curve(r, args.source, args.window) for r in runs) if c is not None and len(c[0])]
        if not curves:
            print(f"no {args.source} data for {algo} on {args.env} in {args.folder}", file=sys.stderr)
            continue
        grid, mean, low, high = mean_and_band(curves)
        axes.plot(grid, mean, label=f"{algo} ({len(curves)} runs)")
        axes.fill_between(grid, low, high, alpha=0.2)
        plotted += 1
    if not plotted:
        raise ConfigError(f"Nothing to plot for {args.env} in {args.folder}")
    axes.set_xlabel("timesteps")
    axes.set_ylabel("episode return" + (" (evaluation)" if args.source == "evaluations" else ""))
    axes.set_title(args.env)
    axes.legend()
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Plot training curves of zoo runs")
    parser.add_argument("--algos", nargs="+", required=True, choices=ALGOS)
    parser.add_argument("--env", required=True)
    parser.add_argument("-f", "--folder", default="logs")
    parser.add_argument("--source", choices=["monitor", "evaluations"], default="monitor")
    parser.add_argument("--window", type=int, default=10, help="episodes to average over (monitor curves)")
    parser.add_argument("-o", "--output", default="training_curves.png")
    args = parser.parse_args(argv)
    try:
        output = plot(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Saved the plot to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
