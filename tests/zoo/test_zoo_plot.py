"""`python -m zoo.plot --aggregate`: final scores of run folders, normalized per env, drawn as IQM intervals, a
performance profile and the probability of improvement; from hand-written evaluations.npz and monitor files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from zoo import plot

PNG = b"\x89PNG\r\n\x1a\n"

#: algo -> env -> last-evaluation mean return of seeds 1, 2, 3
FINALS = {
    "ppo": {"CartPole-v1": [500.0, 480.0, 490.0], "Pendulum-v1": [-150.0, -170.0, -160.0]},
    "a2c": {"CartPole-v1": [200.0, 300.0, 100.0], "Pendulum-v1": [-900.0, -700.0, -800.0]},
}


def write_run(logs, algo, env_id, number, final, monitor_returns=None):
    run = logs / algo / f"{env_id}_{number}"
    run.mkdir(parents=True)
    # two evaluations of 5 episodes; the last one's mean is the run's final score
    results = np.array([[final - 50.0] * 5, [final - 2.0, final - 1.0, final, final + 1.0, final + 2.0]])
    np.savez(run / "evaluations.npz", timesteps=np.array([1000, 2000]), results=results, ep_lengths=np.ones((2, 5)))
    if monitor_returns is not None:
        rows = "\n".join(f"{r},10,{index * 0.1:.1f}" for index, r in enumerate(monitor_returns))
        header = json.dumps({"t_start": 0.0, "env_id": env_id})
        (run / "0.monitor.csv").write_text(f"#{header}\nr,l,t\n{rows}\n")
    return run


@pytest.fixture
def logs(tmp_path):
    folder = tmp_path / "logs"
    for algo, per_env in FINALS.items():
        for env_id, finals in per_env.items():
            for number, final in enumerate(finals, start=1):
                write_run(folder, algo, env_id, number, final)
    return folder


def test_final_score_is_the_last_evaluation_or_the_last_monitor_episodes(tmp_path):
    both = write_run(tmp_path, "ppo", "CartPole-v1", 1, 300.0, monitor_returns=[10, 20, 30, 40, 50])
    assert plot.final_score(both, "auto", window=2) == pytest.approx(300.0)
    assert plot.final_score(both, "evaluations", window=2) == pytest.approx(300.0)
    assert plot.final_score(both, "monitor", window=2) == pytest.approx(45.0)  # mean of the last 2 episodes
    (both / "evaluations.npz").unlink()
    assert plot.final_score(both, "auto", window=3) == pytest.approx(40.0)
    assert plot.final_score(both, "evaluations", window=3) is None


def test_scores_are_normalized_per_env_from_worst_to_best_run(logs):
    scores = plot.run_scores(str(logs), ["ppo", "a2c"], ["CartPole-v1", "Pendulum-v1"], "auto", 10)
    assert scores["ppo"]["CartPole-v1"] == pytest.approx([500.0, 480.0, 490.0])
    ranges = plot.score_ranges(scores, {"Pendulum-v1": (-1200.0, -150.0)})
    assert ranges == {"CartPole-v1": (100.0, 500.0), "Pendulum-v1": (-1200.0, -150.0)}
    normalized = plot.normalize_scores(scores, ranges)
    assert normalized["a2c"]["CartPole-v1"] == pytest.approx([0.25, 0.5, 0.0])  # (200 - 100) / 400, ...
    assert normalized["ppo"]["Pendulum-v1"] == pytest.approx([1.0, 1030 / 1050, 1040 / 1050])
    # every run the same: nothing to tell apart, all 1
    assert plot.normalize_scores({"x": {"e": [5.0, 5.0]}}, {"e": (5.0, 5.0)})["x"]["e"] == pytest.approx([1, 1])


def test_aggregate_plot_of_two_algos_on_two_envs(logs, tmp_path):
    png = tmp_path / "aggregate.png"
    done = subprocess.run(
        [sys.executable, "-m", "zoo.plot", "--aggregate", "--algos", "ppo", "a2c", "--env", "CartPole-v1",
         "Pendulum-v1", "-f", str(logs), "-o", str(png)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert png.read_bytes()[:8] == PNG
    lines = done.stdout.splitlines()
    # ppo's 6 normalized runs: CartPole 1, 0.95, 0.975; Pendulum 1, 0.975, 0.9875 -> IQM of the middle 4
    # (sorted 0.95, 0.975, 0.975, 0.9875, 1, 1 -> int(1.5) = 1 cut each end) = 0.984375
    ppo = next(line for line in lines if line.startswith("ppo (2 tasks, 6 runs): IQM 0.984 ["))
    assert "Optimality gap" in ppo
    # every ppo run beats every a2c run on both envs
    assert "P(ppo > a2c) = 1.000 [1.000, 1.000]" in lines
    assert lines[-1] == f"Saved the plot to {png}"


def test_aggregate_plot_of_benchmark_results(tmp_path):
    for algo, per_env in FINALS.items():
        for env_id, finals in per_env.items():
            for seed, final in enumerate(finals):
                path = tmp_path / "results" / algo / env_id / f"seed{seed}.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({"algo": algo, "env": env_id, "seed": seed, "final_eval": {"mean": final}}))
    png = tmp_path / "results.png"
    code = plot.main(
        ["--aggregate", "--results", str(tmp_path / "results"), "--algos", "a2c", "-o", str(png), "--normalize",
         "none"]
    )  # fmt: skip
    assert code == 0 and png.read_bytes()[:8] == PNG
    scores = plot.result_scores(str(tmp_path / "results"), env_ids=["Pendulum-v1"])
    assert scores == {"a2c": {"Pendulum-v1": [-900.0, -700.0, -800.0]}, "ppo": {"Pendulum-v1": [-150, -170, -160]}}


def test_aggregate_errors_exit_with_2(tmp_path, capsys):
    assert plot.main(["--aggregate", "--algos", "ppo", "--env", "CartPole-v1", "-f", str(tmp_path)]) == 2
    assert "Nothing to plot" in capsys.readouterr().err
    assert plot.main(["--aggregate", "--results", str(tmp_path / "missing")]) == 2
    assert "No results folder" in capsys.readouterr().err
    assert plot.main(["--aggregate", "--results", str(tmp_path), "--score-range", "CartPole-v1=1"]) == 2
    assert "ENV=LOW,HIGH" in capsys.readouterr().err
    # the curve mode still takes exactly one env
    with pytest.raises(SystemExit):
        plot.main(["--algos", "ppo", "--env", "CartPole-v1", "Pendulum-v1"])


def test_benchmark_report_draws_its_aggregate_with_the_same_functions(tmp_path):
    from benchmarks import report, run

    results = tmp_path / "results"
    # ppo:CartPole-v1: random 21.6, published 500 -> 500, 500, 260.8 normalize to 1, 1, 0.5 (mean 5/6; the IQM of
    # 3 values cuts nothing)
    for seed, final in enumerate([500.0, 500.0, 260.8]):
        result = {"algo": "ppo", "env": "CartPole-v1", "seed": seed, "n_timesteps": 100_000}
        result |= {"final_eval": {"mean": final}, "best_eval": {"mean": final}}
        run.write_json(run.result_path(results, "ppo", "CartPole-v1", seed), result)
    # the speed race of that row: baselines3 500, 500 and SB3 500, 260.8 -> P(baselines3 > SB3) = (0.5 + 1) / 2
    race = {"race": "ppo_cartpole", "steps": 100_000, "ratio": 2.0}
    race["baselines3"] = {"mean_steps_per_s": 2.0, "final_returns": [500.0, 500.0], "best_returns": [500, 500]}
    race["sb3"] = {"mean_steps_per_s": 1.0, "final_returns": [500.0, 260.8], "best_returns": [500, 500]}
    speed = {"seeds": [0, 1], "races": [race], "versions": {"stable_baselines3": "2.9.2"}}
    (results / "speed.json").write_text(json.dumps(speed))
    output, img = tmp_path / "docs" / "benchmarks.md", tmp_path / "docs" / "img" / "benchmarks"
    report.write_report(results, output, img)
    text = output.read_text()
    section = text[text.index("## Aggregate") : text.index("## Not run yet")]
    assert "| baselines3 (1 row) | 0.833 [" in section
    assert "| SB3 2.9.2, race (1 row) | 0.750 [" in section  # 1 and 0.5: the mean of 2
    assert "P(baselines3 > SB3): **0.75**" in section
    for name in (report.AGGREGATE_IQM, report.AGGREGATE_PROFILE):
        assert f"(img/benchmarks/{name})" in section
        assert (img / name).read_bytes()[:8] == PNG
