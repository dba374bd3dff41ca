"""The benchmark machinery: rows and thresholds, statistics, sweep planning and resuming, the report, the CI gate,
and one tiny real run through the zoo command."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import gate, report, rows, run, stats
from benchmarks.rows import ROWS, find_row, threshold

# ---------------------------------------------------------------- rows and thresholds


def test_threshold_is_published_less_a_tenth_of_the_score_range():
    assert threshold(500.0, 20.0) == pytest.approx(452.0)
    assert threshold(-150.0, -1250.0) == pytest.approx(-260.0)  # negative scores: the range is still positive
    assert threshold(100.0, 0.0, tolerance=0.25) == pytest.approx(75.0)
    row = find_row("ppo:CartPole-v1")
    assert row.threshold == pytest.approx(500.0 - 0.1 * (500.0 - rows.RANDOM_SCORES["CartPole-v1"]))


def test_rows_cover_the_published_table_with_todays_env_ids():
    assert len(ROWS) == 48
    assert len({row.key for row in ROWS}) == 48
    assert find_row("ppo:LunarLander").env == "LunarLander-v3"  # published name maps to today's id
    assert find_row("sac:HalfCheetah-v5").published == 9535.5
    assert find_row("td3:Humanoid").budget == 2_000_000
    assert find_row("dqn:MountainCar-v0").budget == 120_000
    assert find_row("a2c:LunarLanderContinuous-v3").feasible  # long (5M steps) but within a few CPU hours
    bipedal = find_row("a2c:BipedalWalker-v3")
    assert not bipedal.feasible and "5M" in bipedal.reason
    for row in ROWS:
        assert row.env in rows.RANDOM_SCORES, row.key
        assert row.feasible or row.reason, row.key
        if "MuJoCo" in row.reason or "Atari" in row.reason:
            assert not row.feasible
        # every row has a measured random score, so every row can be judged once it has run
        assert row.threshold is not None and row.random_score < row.threshold < row.published, row.key


def test_find_row_rejects_bad_keys():
    with pytest.raises(ValueError, match="ALGO:ENV"):
        find_row("ppo-CartPole-v1")
    with pytest.raises(ValueError, match="No benchmark row 'ppo:Nope-v0'"):
        find_row("ppo:Nope-v0")


def test_every_feasible_row_has_a_zoo_entry_with_the_published_budget():
    for row in ROWS:
        if row.feasible:
            assert run.zoo_budget(row.algo, row.env) == row.budget, row.key


def test_random_score_is_seeded_and_matches_the_stored_constant():
    first = rows.random_score("CartPole-v1", episodes=100, seed=0)
    assert first == rows.random_score("CartPole-v1", episodes=100, seed=0)
    assert round(first, 1) == rows.RANDOM_SCORES["CartPole-v1"]
    assert rows.measure_random_scores(["NoSuchEnv-v0"], episodes=1) == {"NoSuchEnv-v0": None}


# ---------------------------------------------------------------- statistics


def test_iqm_trims_a_quarter_from_each_end():
    assert stats.iqm([1, 2, 3, 4]) == pytest.approx(2.5)
    assert stats.iqm([1, 2, 3, 100, 5, 6, 7, 8]) == pytest.approx((3 + 5 + 6 + 7) / 4)
    assert stats.iqm([10, 20, 60]) == pytest.approx(30.0)  # nothing trimmed below 4 values
    with pytest.raises(ValueError, match="at least one"):
        stats.iqm([])


def test_bootstrap_ci_needs_three_seeds_and_is_reproducible():
    assert stats.bootstrap_ci([1.0, 2.0]) is None
    assert stats.bootstrap_ci([500.0, 500.0, 500.0]) == (500.0, 500.0)
    data = [100.0, 200.0, 300.0, 400.0, 500.0]
    low, high = stats.bootstrap_ci(data)
    assert 100.0 <= low < stats.iqm(data) < high <= 500.0
    assert stats.bootstrap_ci(data) == (low, high)
    wide = stats.bootstrap_ci(data, confidence=0.99)
    assert wide[0] <= low and wide[1] >= high
    with pytest.raises(ValueError, match="confidence"):
        stats.bootstrap_ci(data, confidence=95)


# ---------------------------------------------------------------- planning, resuming, result files


def test_plan_skips_pairs_whose_result_exists(tmp_path):
    row = find_row("ppo:CartPole-v1")
    run.write_json(run.result_path(tmp_path, "ppo", "CartPole-v1", 1), {"seed": 1})
    plan = run.make_plan([row], [0, 1, 2], tmp_path)
    assert [job.seed for job in plan.todo] == [0, 2]
    assert [job.seed for job in plan.done] == [1]
    assert all(job.n_timesteps == row.budget and not job.pass_budget for job in plan.todo)
    assert plan.todo[0].result_path == tmp_path / "ppo" / "CartPole-v1" / "seed0.json"


def test_plan_with_a_budget_override_and_a_row_without_zoo_entry(tmp_path, monkeypatch):
    row = find_row("ppo:CartPole-v1")
    plan = run.make_plan([row], [0], tmp_path, n_timesteps=512)
    (job,) = plan.todo
    assert job.n_timesteps == 512 and job.pass_budget and job.eval_freq == 512 // run.N_EVAL_POINTS
    command = run.train_command(job, tmp_path / "runs")
    assert command[:3] == ["python", "-m", "zoo.train"]
    assert command[command.index("-n") + 1] == "512"
    assert {"-uuid", "--seed", "--eval-freq"} <= set(command)
    assert command[command.index("--eval-episodes") + 1] == str(run.TRAIN_EVAL_EPISODES)

    monkeypatch.setattr(run, "zoo_budget", lambda algo, env: "no entry for it")
    plan = run.make_plan([row], [0], tmp_path)
    assert not plan.todo and plan.no_entry == [(row, "no entry for it")]


def test_plan_passes_the_published_budget_when_the_zoo_entry_differs(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "zoo_budget", lambda algo, env: 12_345)
    plan = run.make_plan([find_row("dqn:CartPole-v1")], [0], tmp_path)
    (job,) = plan.todo
    assert job.pass_budget and job.n_timesteps == 50_000 and "12,345" in plan.notes[0]
    assert run.train_command(job, tmp_path)[-2:] == ["-n", "50000"]


def test_child_processes_get_one_blas_thread():
    env = run.child_env()
    assert env["OMP_NUM_THREADS"] == "1" and env["MKL_NUM_THREADS"] == "1"
    assert env["PYTHONPATH"].split(":")[0] == str(run.REPO)


def test_write_json_is_atomic(tmp_path):
    path = tmp_path / "a" / "seed0.json"
    run.write_json(path, {"returns": [1.0, 2.5], "name": "x"})
    assert json.loads(path.read_text()) == {"returns": [1.0, 2.5], "name": "x"}
    assert '"returns": [1.0, 2.5]' in path.read_text()  # number lists on one line
    with pytest.raises(TypeError):
        run.write_json(path, {"bad": object()})
    assert json.loads(path.read_text())["name"] == "x"  # the old file is intact
    assert [p.name for p in path.parent.iterdir()] == ["seed0.json"]  # no temporary left behind


def test_run_folder_is_read_from_the_zoo_output(tmp_path):
    assert run._run_folder(f"noise\nSaved the run to {tmp_path}/ppo/CartPole-v1_1\n") == tmp_path / "ppo" / (
        "CartPole-v1_1"
    )
    with pytest.raises(run.RunFailed, match="did not report"):
        run._run_folder("Traceback ...")


def test_a_failed_run_writes_nothing_and_the_runner_exits_non_zero(tmp_path, monkeypatch, capsys):
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('boom: no learning today'); sys.exit(3)"]
    monkeypatch.setattr(run, "train_command", lambda job, runs_folder, python="python", resume=None: failing)
    arguments = ["--rows", "ppo:CartPole-v1", "--seeds", "0", "--results", str(tmp_path / "results"), "--jobs", "1"]
    code = run.main([*arguments, "--runs-folder", str(tmp_path / "runs")])
    assert code == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "boom: no learning today" in err and "ppo:CartPole-v1 seed 0" in err
    assert not list((tmp_path / "results").rglob("*.json"))  # no result (the runs folder notes the commit tried)


def test_a_result_records_the_commit_its_training_started_from(tmp_path, monkeypatch):
    """A long sweep outlives commits made meanwhile: each run names the code its training process imported."""
    head = {"commit": "aaaa"}
    monkeypatch.setattr(run, "git_commit", lambda: head["commit"])
    evaluation = {"trained_timesteps": 10, "final_eval": {"mean": 1.0}, "best_eval": None}

    def fake_subprocess_run(command, **kwargs):
        if "zoo.train" in command:
            head["commit"] = "bbbb+dirty"  # the checkout moves on while the run trains
            return run.subprocess.CompletedProcess(command, 0, f"Saved the run to {tmp_path}\n", "")
        return run.subprocess.CompletedProcess(command, 0, json.dumps(evaluation) + "\n", "")

    monkeypatch.setattr(run.subprocess, "run", fake_subprocess_run)
    job = run.make_plan([find_row("ppo:CartPole-v1")], [0], tmp_path / "results").todo[0]
    result = run.run_job(job, tmp_path / "runs", eval_episodes=1)
    assert result["git_commit"] == "aaaa"
    assert json.loads(job.result_path.read_text())["git_commit"] == "aaaa"


def test_runner_arguments_are_checked(capsys):
    with pytest.raises(SystemExit):
        run.main(["--seeds", "0"])  # no rows chosen
    assert "--all-feasible" in capsys.readouterr().err
    assert run.main(["--rows", "ppo:Nope-v0"]) == 2
    with pytest.raises(SystemExit):
        run.main(["--rows", "ppo:CartPole-v1", "--jobs", "0"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        run.main(["--rows", "ppo:CartPole-v1", "--seeds", "0", "-1"])
    assert "--seeds must be 0 or more, got [0, -1]" in capsys.readouterr().err


def test_dry_run_prints_the_zoo_commands(tmp_path, capsys):
    assert run.main(["--rows", "sac:Pendulum-v1", "--seeds", "3", "3", "--results", str(tmp_path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 run(s) to do" in out  # a seed given twice is one run
    assert "python -m zoo.train --algo sac --env Pendulum-v1 --seed 3" in out and "--eval-freq 1000" in out
    assert not list(tmp_path.iterdir())


def test_sb3_check_names_a_bad_entry_or_the_missing_package(monkeypatch, capsys):
    from benchmarks import sb3_check

    if importlib.util.find_spec("stable_baselines3") is None:
        assert sb3_check.main(["--algo", "ppo", "--env", "CartPole-v1"]) == 2
        assert "pip install stable-baselines3" in capsys.readouterr().err
        return
    assert sb3_check.main(["--algo", "ppo", "--env", "Nope-v0"]) == 2
    assert "no entry for 'Nope-v0'" in capsys.readouterr().err
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "stable_baselines3" else real_find_spec(name, *a)
    )
    assert sb3_check.main(["--algo", "ppo", "--env", "CartPole-v1"]) == 2
    assert "pip install stable-baselines3" in capsys.readouterr().err


# ---------------------------------------------------------------- report


def fake_result(algo: str, env: str, seed: int, final: float, n_timesteps: int, curve: list[float]) -> dict:
    steps = [n_timesteps * (i + 1) // len(curve) for i in range(len(curve))]
    return {
        "schema": 1,
        "algo": algo,
        "env": env,
        "seed": seed,
        "n_timesteps": n_timesteps,
        "trained_timesteps": n_timesteps,
        "final_eval": {"mean": final, "std": 0.0, "returns": [final] * 10},
        "best_eval": {"mean": max(curve), "timestep": steps[int(np.argmax(curve))]},
        "learning_curve": {"timesteps": steps, "mean_returns": curve},
        "steps_per_s": 1000.0 + seed,
        "versions": {"baselines3": "0.1.0", "torch": "2.13.0"},
        "git_commit": "abcdef1234567890",
    }


@pytest.fixture
def result_files(tmp_path):
    results = tmp_path / "results"
    for seed, final in enumerate([500.0, 500.0, 480.0]):  # meets 452.2
        result = fake_result("ppo", "CartPole-v1", seed, final, 100_000, [20.0, 300.0, final])
        if seed == 2:  # stopped at 65,000 steps and continued
            result["segments"] = [{"from_timestep": 0, "to_timestep": 65_000}, {"from_timestep": 65_000}]
        run.write_json(run.result_path(results, "ppo", "CartPole-v1", seed), result)
    for seed, final in enumerate([100.0, 200.0]):  # far below; two seeds: no CI
        result = fake_result("dqn", "CartPole-v1", seed, final, 50_000, [10.0, 150.0, final])
        run.write_json(run.result_path(results, "dqn", "CartPole-v1", seed), result)
    smoke = fake_result("a2c", "CartPole-v1", 0, 9.0, 512, [9.0])  # a smoke test's budget: not counted
    run.write_json(run.result_path(results, "a2c", "CartPole-v1", 0), smoke)
    speed = {
        "seeds": [0, 1],
        "races": [
            {
                "race": "ppo_cartpole",
                "steps": 100_000,
                "baselines3": {"mean_steps_per_s": 9800.0, "final_returns": [500.0, 500.0], "best_returns": [500, 500]},
                "sb3": {"mean_steps_per_s": 4900.0, "final_returns": [500.0, 480.0], "best_returns": [500, 480]},
                "ratio": 2.0,
            }
        ],
        "runs": [{"load_average": [1.02, 1.1]}, {"load_average": [0.98, 1.3]}],
        "versions": {"torch": "2.13.0"},
    }
    (results / "speed.json").write_text(json.dumps(speed))
    return results


def test_report_table_verdicts_and_not_run_rows(tmp_path, result_files):
    output, img = tmp_path / "docs" / "benchmarks.md", tmp_path / "docs" / "img" / "benchmarks"
    img.mkdir(parents=True)
    (img / "Stale-v0.png").write_bytes(b"old")
    summaries = report.write_report(result_files, output, img)
    text = output.read_text()

    by_key = {s.row.key: s for s in summaries}
    assert by_key["ppo:CartPole-v1"].passed is True and by_key["ppo:CartPole-v1"].mean == pytest.approx(493.333, 1e-4)
    assert by_key["dqn:CartPole-v1"].passed is False
    assert by_key["a2c:CartPole-v1"].passed is None and by_key["a2c:CartPole-v1"].set_aside

    assert "**1 of 2 rows run meet the published score.**" in text
    assert "1 of the 24 rows that fit a 2-core CPU have all 3 seeds; 24 rows need MuJoCo" in text
    ppo_line = next(line for line in text.splitlines() if line.startswith("| PPO | CartPole-v1 |"))
    assert "| 100k | 500.0 | 452.2 | 0 1 2 | 493.3 |" in ppo_line and "**pass**" in ppo_line
    assert "493.3 [480.0, 500.0]" in ppo_line and "1,001" in ppo_line
    dqn_line = next(line for line in text.splitlines() if line.startswith("| DQN | CartPole-v1 |"))
    assert "150.0 CI n/a" in dqn_line and "**FAIL**" in dqn_line
    assert "- dqn:CartPole-v1: 2 seeds, `python -m benchmarks.run --rows dqn:CartPole-v1 --seeds 2`" in text
    assert "seed 0 trained 512 steps, not the published 500,000" in text
    assert "- ppo:CartPole-v1 seed 2: 2 training processes, continued from checkpoints at 65,000 steps" in text
    assert "ppo:CartPole-v1 seed 1:" not in text

    not_run = text[text.index("## Not run yet") :]
    assert "| A2C | CartPole-v1 | 500k | 500.0 | 452.2 | feasible, not run yet |" in not_run  # its result set aside
    assert "`python -m benchmarks.run --rows sac:Pendulum-v1 --seeds 0 1 2`" in not_run
    assert "| SAC | Humanoid-v5 | 2M | 6,232.3 | 5,620.1 | MuJoCo" in not_run
    assert "PPO | CartPole-v1" not in not_run
    assert len([line for line in not_run.splitlines() if line.startswith("| ") and "`python" in line]) == 46

    assert "| `ppo_cartpole` | 100k | 9,800 | 4,900 | 2.00x | 500, 500 | 500, 480 |" in text
    assert "load average at the start and end of the timed runs: 0.98 to 1.30" in text
    assert "![CartPole-v1 learning curves](img/benchmarks/CartPole-v1.png)" in text
    assert (img / "CartPole-v1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (img / "Stale-v0.png").exists()
    assert "abcdef123456" in text and "baselines3 0.1.0, torch 2.13.0 (5 runs)" in text

    again = tmp_path / "again"
    report.write_report(result_files, again / "benchmarks.md", again / "img" / "benchmarks")
    assert (again / "benchmarks.md").read_text() == text  # the same files give the same page


def test_a_row_whose_interval_is_wide_asks_for_five_seeds(tmp_path):
    results = tmp_path / "results"
    # MountainCar-v0's range is published - random = -100.8 - -200 = 99.2; the IQM interval over these three
    # seeds is [-129.1, -108.0], 21.1 wide: more than 20 % of the range
    for seed, final in enumerate([-108.0, -129.1, -128.6]):
        result = fake_result("dqn", "MountainCar-v0", seed, final, 120_000, [-200.0, final])
        run.write_json(run.result_path(results, "dqn", "MountainCar-v0", seed), result)
    for seed, final in enumerate([500.0, 500.0, 490.0]):  # 10 wide out of 478: three seeds are enough
        result = fake_result("ppo", "CartPole-v1", seed, final, 100_000, [final])
        run.write_json(run.result_path(results, "ppo", "CartPole-v1", seed), result)
    summaries = {s.row.key: s for s in report.write_report(results, tmp_path / "b.md", tmp_path / "img")}
    assert summaries["dqn:MountainCar-v0"].wide and summaries["dqn:MountainCar-v0"].seeds_wanted == 5
    assert not summaries["ppo:CartPole-v1"].wide and summaries["ppo:CartPole-v1"].seeds_wanted == 3
    text = (tmp_path / "b.md").read_text()
    command = "python -m benchmarks.run --rows dqn:MountainCar-v0 --seeds 3 4"
    assert f"- dqn:MountainCar-v0 (wide interval): 3 seeds, `{command}`" in text
    assert "- ppo:CartPole-v1" not in text


def test_report_without_results_says_how_to_produce_them(tmp_path):
    output = tmp_path / "benchmarks.md"
    (tmp_path / "results").mkdir()
    summaries = report.write_report(tmp_path / "results", output, tmp_path / "img")
    text = output.read_text()
    assert not any(s.results for s in summaries)
    assert "**0 of 0 rows run meet the published score.**" in text
    assert "python -m benchmarks.speed --json" in text and "No speed results yet" in text
    assert "## Learning curves" not in text and not (tmp_path / "img").exists()


def test_report_from_a_missing_results_folder_keeps_the_page_and_plots(tmp_path, capsys):
    output, img = tmp_path / "benchmarks.md", tmp_path / "img"
    img.mkdir()
    (img / "CartPole-v1.png").write_bytes(b"plot")
    output.write_text("the committed page")
    code = report.main(["--results", str(tmp_path / "typo"), "--output", str(output), "--img-dir", str(img)])
    assert code == 2 and "no results folder" in capsys.readouterr().err
    assert output.read_text() == "the committed page" and (img / "CartPole-v1.png").exists()


def test_seed_band_interpolates_curves_on_different_grids():
    a = {"learning_curve": {"timesteps": [0, 10, 20], "mean_returns": [0.0, 10.0, 20.0]}}
    b = {"learning_curve": {"timesteps": [0, 20], "mean_returns": [0.0, 40.0]}}
    grid, mean, low, high = report.seed_band([a, b])
    assert grid.tolist() == [0, 10, 20] and mean.tolist() == [0.0, 15.0, 30.0]
    assert low.tolist() == [0.0, 10.0, 20.0] and high.tolist() == [0.0, 20.0, 40.0]
    assert report.seed_band([{"learning_curve": {"timesteps": [], "mean_returns": []}}]) is None


def test_report_rejects_a_file_that_is_not_a_result(tmp_path):
    (tmp_path / "ppo" / "CartPole-v1").mkdir(parents=True)
    (tmp_path / "ppo" / "CartPole-v1" / "seed0.json").write_text('{"algo": "ppo"}')
    with pytest.raises(ValueError, match="missing"):
        report.load_results(tmp_path)


# ---------------------------------------------------------------- gate


def test_gate_judges_final_and_best_scores(monkeypatch, capsys):
    monkeypatch.setattr(gate, "missing_modules", lambda row: [])  # judged the same whether mujoco is here or not
    scores = {
        "ppo:CartPole-v1": 500.0,
        "a2c:CartPole-v1": 20.0,
        "dqn:CartPole-v1": 480.0,
        "sac:Pendulum-v1": -150.0,
        "sac:HalfCheetah-v5": 2000.0,
    }
    assert set(scores) == {row.name for row in gate.GATE_ROWS}
    seen = []

    def fake_train(row, seed, folder, precision):
        seen.append((row.name, seed))
        result = {"final_eval": {"mean": scores[row.name]}, "best_eval": {"mean": scores[row.name] + 1}}
        if row.algo == "dqn":
            result["final_eval"]["mean"] = 9.0  # judged on the best evaluation, not the final one
        return result

    outcomes = gate.run_gate(train=fake_train)
    assert {o.row.name: o.ok for o in outcomes} == {name: name != "a2c:CartPole-v1" for name in scores}
    assert sorted(seen) == sorted((row.name, row.seed) for row in gate.GATE_ROWS)
    table = gate.format_table(outcomes)
    assert "a2c:CartPole-v1" in table and "FAIL" in table and table.count(" ok ") == len(scores) - 1

    monkeypatch.setattr(gate, "train_row", fake_train)
    assert gate.main(["--seed", "7"]) == 1
    out = capsys.readouterr().out
    n = len(gate.GATE_ROWS)
    assert "learning gate FAILED for a2c:CartPole-v1" in out and all(seed == 7 for _, seed in seen[-n:])
    scores["a2c:CartPole-v1"] = 450.0
    assert gate.main([]) == 0 and f"learning gate passed: {n} rows (" in capsys.readouterr().out
    assert gate.main(["--rows", "td3:Pendulum-v1"]) == 2


def test_gate_skips_a_row_whose_env_cannot_be_imported(monkeypatch, capsys):
    row = next(row for row in gate.GATE_ROWS if row.env == "HalfCheetah-v5")
    assert row.requires == ("mujoco",)
    assert gate.missing_modules(gate.GateRow("sac", "X-v0", 1, "final", 0.0, 1, "", ("no_such_module_here",))) == [
        "no_such_module_here"
    ]
    monkeypatch.setattr(gate, "missing_modules", lambda r: list(r.requires))
    trained = []

    def fake_train(r, seed, folder, precision):
        trained.append(r.name)
        return {"final_eval": {"mean": 10_000.0}, "best_eval": {"mean": 10_000.0}}

    monkeypatch.setattr(gate, "train_row", fake_train)
    assert gate.main(["--rows", row.name, "sac:Pendulum-v1"]) == 0
    out = capsys.readouterr().out
    assert trained == ["sac:Pendulum-v1"]  # the skipped row is never trained
    assert f"{row.name} SKIPPED: mujoco cannot be imported" in out and "skip" in out
    assert "learning gate passed: 1 rows, 1 skipped" in out


def test_gate_counts_a_broken_run_as_a_failure():
    def broken(row, seed, folder, precision):
        if row.algo == "sac":
            raise run.RunFailed("training exited with 1: Traceback ...")
        return {"final_eval": {"mean": 500.0}, "best_eval": None}

    outcomes = gate.run_gate(tuple(r for r in gate.GATE_ROWS if not r.requires), train=broken)
    by_algo = {o.row.algo: o for o in outcomes}
    assert not by_algo["sac"].ok and "Traceback" in by_algo["sac"].error
    assert by_algo["ppo"].ok
    assert not by_algo["dqn"].ok and "no best evaluation" in by_algo["dqn"].error  # metric "best", none recorded
    with pytest.raises(ValueError, match="metric"):
        gate.score_of({"final_eval": {"mean": 1.0}}, "median")


def test_gate_trains_each_row_in_each_precision_on_each_seed(monkeypatch, capsys):
    monkeypatch.setattr(gate, "missing_modules", lambda row: [])
    scores = {("fp32", 1): -150.0, ("fp32", 2): -200.0, ("bf16", 1): -180.0, ("bf16", 2): -190.0}
    trained = []

    def fake_train(row, seed, folder, precision):
        trained.append((seed, precision, folder.name))
        shift = 0.0 if row.algo == "sac" else 700.0  # PPO: bf16 below fp32's spread, fp32 scoring 550 and 500
        return {"final_eval": {"mean": scores[precision, seed] + (shift if precision == "fp32" else 0.0)}}

    monkeypatch.setattr(gate, "train_row", fake_train)
    code = gate.main(["--rows", "sac:Pendulum-v1", "ppo:CartPole-v1", "--seeds", "1", "2", "--precision", "fp32",
                      "bf16", "--jobs", "1"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1  # PPO's bf16 scores are below its threshold
    assert sorted(trained) == sorted((seed, p, p) for seed in (1, 2) for p in ("fp32", "bf16") for _ in range(2))
    assert "sac:Pendulum-v1 seed 2 bf16: final -190.0 (ok, 0 s)" in out  # a line as each run ends
    assert "ppo:CartPole-v1 seed 1 bf16: final -180.0 (FAIL, 0 s)" in out
    scores.update({("bf16", 1): 450.0, ("bf16", 2): 450.0})
    monkeypatch.setattr(gate, "GATE_ROWS", tuple(r for r in gate.GATE_ROWS if r.name == "ppo:CartPole-v1"))
    assert gate.main(["--seeds", "1", "2", "--precision", "fp32", "bf16"]) == 0
    assert "learning gate passed: 4 runs of 1 rows (" in capsys.readouterr().out
    sac = next(line for line in out.splitlines() if line.startswith("sac:Pendulum-v1    bf16"))
    assert sac.split()[2:6] == ["-185.0", "[-200.0,", "-150.0]", "within"]
    ppo = next(line for line in out.splitlines() if line.startswith("ppo:CartPole-v1    bf16"))
    assert "[500.0, 550.0]" in ppo and "below fp32's spread" in ppo
    with pytest.raises(SystemExit):
        gate.main(["--seed", "1", "--seeds", "2"])


def test_gate_thresholds_separate_learning_from_random_play():
    for row in gate.GATE_ROWS:
        table_row = find_row(row.name)
        assert table_row.random_score < row.threshold < table_row.published, row.name
        assert row.metric in ("final", "best") and row.seed != 0  # seed 0's untrained CartPole policy scores 500


# ---------------------------------------------------------------- one real run


def test_tiny_real_run_writes_a_valid_result_and_resumes(tmp_path, capsys):
    args = ["--rows", "ppo:CartPole-v1", "--seeds", "1", "--n-timesteps", "512", "--eval-episodes", "3"]
    args += ["--results", str(tmp_path / "results"), "--runs-folder", str(tmp_path / "runs"), "--jobs", "1"]
    assert run.main(args) == 0
    assert "[1/1] ppo CartPole-v1 seed 1: final" in capsys.readouterr().out
    result = json.loads((tmp_path / "results" / "ppo" / "CartPole-v1" / "seed1.json").read_text())
    assert (result["algo"], result["env"], result["seed"], result["n_timesteps"]) == ("ppo", "CartPole-v1", 1, 512)
    assert result["trained_timesteps"] >= 512
    final = result["final_eval"]
    assert len(final["returns"]) == 3 and final["mean"] == pytest.approx(np.mean(final["returns"]))
    assert final["deterministic"] and final["env_seed"] == run.FINAL_EVAL_SEED_OFFSET + 1
    curve = result["learning_curve"]
    assert len(curve["timesteps"]) == len(curve["mean_returns"]) >= 15  # about 20 evaluation points
    assert result["best_eval"]["mean"] == max(curve["mean_returns"])
    assert result["hyperparams"]["n_envs"] == 8 and result["hyperparams"]["env_id"] == "CartPole-v1"
    assert result["command"].startswith("python -m zoo.train --algo ppo --env CartPole-v1 --seed 1 -f ")
    assert result["command"].endswith("-n 512")
    assert set(result["versions"]) == {"python", "torch", "numpy", "gymnasium", "baselines3"}
    assert result["train_wall_time_s"] > 0 and result["steps_per_s"] > 0 and "evaluations" in result["timing_note"]
    assert (tmp_path / result["run_folder"]).is_dir() or (run.REPO / result["run_folder"]).is_dir()

    assert run.main(args) == 0  # resumed: nothing left to do
    assert "0 run(s) to do, 1 already" in capsys.readouterr().out


def test_a_stopped_run_resumes_from_its_newest_complete_checkpoint(tmp_path, capsys):
    """A run stopped part-way goes on from its newest checkpoint that has its replay buffer, and its result
    stitches the two training processes together."""
    runs, results = tmp_path / "runs", tmp_path / "results"
    job = run.make_plan([find_row("dqn:CartPole-v1")], [0], results, n_timesteps=2000).todo[0]
    run.record_commit(job, runs, 0, "c0ffee")  # as the runner does before it starts a training process
    first = subprocess.run(run.train_command(job, runs, sys.executable), cwd=run.REPO, env=run.child_env(),
                           capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert first.returncode == 0, first.stderr
    folder = run._run_folder(first.stdout)
    assert {path.name for path in folder.glob("rl_model_replay_buffer_*")} == {
        f"rl_model_replay_buffer_{steps}_steps.npz" for steps in range(100, 2001, 100)
    }
    # what a stop after the checkpoint at 1000 steps leaves, with the replay buffer of that one not yet written
    (folder / "CartPole-v1.zip").unlink()
    for path in folder.glob("rl_model_*_steps.*"):
        if int(path.name.split("_")[-2]) > 1000:
            path.unlink()
    (folder / "rl_model_replay_buffer_1000_steps.npz").unlink()
    (segment,) = run.interrupted_segments(job, runs)
    assert (segment.folder, segment.start, segment.end) == (folder.resolve(), 0, 900)
    assert run.main(["--rows", "dqn:CartPole-v1", "--seeds", "0", "--n-timesteps", "2000", "--results",
                     str(results), "--runs-folder", str(runs), "--dry-run"]) == 0  # fmt: skip
    assert f"-i {folder}/rl_model_900_steps.zip -n 1100" in capsys.readouterr().out

    result = run.run_job(job, runs, eval_episodes=2)
    first_segment, second_segment = result["segments"]
    assert (first_segment["from_timestep"], first_segment["to_timestep"]) == (0, 900)
    assert (second_segment["from_timestep"], second_segment["to_timestep"]) == (900, 2000)
    assert first_segment["wall_time_s"] > 0 and first_segment["git_commit"] == "c0ffee"
    assert second_segment["git_commit"] == result["git_commit"] == run.git_commit()
    assert first_segment["load_average"] is None  # read back from the files: not seen by this runner
    assert len(second_segment["load_average"]) == 2 and min(second_segment["load_average"]) >= 0
    # DQN collects 256 steps between updates here: the resumed process overshoots the budget by less than that
    assert 2000 <= result["trained_timesteps"] < 2256
    assert "resumed from checkpoints at 900 steps" in result["timing_note"]
    timesteps = result["learning_curve"]["timesteps"]
    assert timesteps[:20] == list(range(100, 2001, 100)) and len(timesteps) == len(set(timesteps))
    assert result["run_folder"] != run.display_path(folder) and result["command"] == shlex.join(
        run.train_command(job, runs)
    )
    assert not list(runs.rglob("rl_model_*")) and not list(runs.rglob("replay_buffer.npz"))  # only served resuming
    assert run.interrupted_segments(job, runs) == []


def fake_segment(runs, number: int, seed: int, checkpoints: list[int], trained_agent: str = "", n: int = -1):
    """A DQN CartPole-v1 run folder as zoo.train leaves it when stopped (empty checkpoint files)."""
    folder = runs / "dqn" / f"CartPole-v1_{number}_0000000{number}"
    (folder / "CartPole-v1").mkdir(parents=True)
    args = {"seed": seed, "eval_freq": 2500, "save_freq": 2500, "n_timesteps": n, "trained_agent": trained_agent}
    (folder / "CartPole-v1" / "args.yml").write_text(json.dumps(args))
    (folder / "CartPole-v1" / "config.yml").write_text("{}")
    for steps in checkpoints:
        (folder / f"rl_model_{steps}_steps.zip").write_bytes(b"")
        (folder / f"rl_model_replay_buffer_{steps}_steps.npz").write_bytes(b"")
    return folder


def test_the_segments_of_a_run_stopped_twice_are_chained_and_listed(tmp_path, capsys):
    runs, results = tmp_path / "runs", tmp_path / "results"
    first = fake_segment(runs, 1, 0, [2500, 5000, 7500])
    second = fake_segment(runs, 2, 0, [10_000, 12_500], f"{first}/rl_model_5000_steps.zip", n=45_000)
    fake_segment(runs, 3, 1, [2500])  # another seed
    fake_segment(runs, 4, 0, [2500, 5000], n=3000)  # another budget
    (fake_segment(runs, 5, 0, [2500, 5000, 7500, 10_000, 12_500, 15_000]) / "CartPole-v1.zip").write_bytes(b"")
    job = run.make_plan([find_row("dqn:CartPole-v1")], [0], results).todo[0]
    segments = run.interrupted_segments(job, runs)
    assert [(s.folder, s.start, s.end) for s in segments] == [(first, 0, 5000), (second, 5000, 12_500)]
    assert segments[-1].checkpoint == second / "rl_model_12500_steps.zip"
    assert f"-i {second}/rl_model_12500_steps.zip -n 37500" in " ".join(
        run.train_command(job, runs, resume=segments[-1])
    )
    assert run.main(["--list", "--results", str(results), "--runs-folder", str(runs)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("dqn:CartPole-v1 "))
    assert "seed 0 stopped at 12,500 steps, seed 1 stopped at 2,500 steps (continues from there)" in line


def test_a_run_continued_from_another_checkout_keeps_its_first_segment(tmp_path):
    """The second segment names its parent's checkpoint relative to the folder its sweep ran from (another
    checkout of the repository), and that checkpoint has lost its replay buffer: the chain still starts at 0."""
    runs, results = tmp_path / "runs", tmp_path / "results"
    first = fake_segment(runs, 1, 0, [2500, 5000])
    (first / "rl_model_replay_buffer_5000_steps.npz").unlink()
    relative = f"elsewhere/benchmarks/runs/dqn/{first.name}/rl_model_5000_steps.zip"
    second = fake_segment(runs, 2, 0, [7500], relative, n=45_000)
    third = fake_segment(runs, 3, 0, [10_000], f"{second}/rl_model_7500_steps.zip", n=42_500)
    job = run.make_plan([find_row("dqn:CartPole-v1")], [0], results).todo[0]
    segments = run.interrupted_segments(job, runs)
    assert [(s.folder, s.start, s.end) for s in segments] == [
        (first, 0, 5000),
        (second, 5000, 7500),
        (third, 7500, 10_000),
    ]


def test_only_checkpoints_saved_with_all_they_need_count(tmp_path):
    job = run.make_plan([find_row("a2c:Acrobot-v1")], [0], tmp_path).todo[0]  # normalized: statistics needed
    folder = tmp_path / "Acrobot-v1_1"
    (folder / "Acrobot-v1").mkdir(parents=True)
    (folder / "Acrobot-v1" / "config.yml").write_text("normalize: true\n")
    for name in ("rl_model_100_steps.zip", "rl_model_vecnormalize_100_steps.pkl", "rl_model_200_steps.zip"):
        (folder / name).write_bytes(b"")
    assert run.complete_checkpoints(folder, job) == {100: folder / "rl_model_100_steps.zip"}


def test_a_second_sweep_cannot_take_a_run_that_is_training(tmp_path):
    job = run.make_plan([find_row("ppo:CartPole-v1")], [0], tmp_path).todo[0]
    taken = pytest.raises(run.RunFailed, match="another sweep is running ppo:CartPole-v1 seed 0")
    with run.job_lock(job, tmp_path), taken, run.job_lock(job, tmp_path):
        pass
    with run.job_lock(job, tmp_path):  # released
        pass


def test_speed_race_writes_its_json_with_the_machine_load(tmp_path, capsys):
    from benchmarks import speed

    path = tmp_path / "speed.json"
    speed.main(
        ["--races", "ppo_cartpole", "--seeds", "0", "--libs", "baselines3", "--timesteps", "256", "--json", str(path)]
    )
    data = json.loads(path.read_text())
    (race,) = data["races"]
    assert race["race"] == "ppo_cartpole" and race["sb3"] is None and race["ratio"] is None
    assert race["baselines3"]["seeds"] == [0] and race["baselines3"]["mean_steps_per_s"] > 0
    (single_run,) = data["runs"]
    assert single_run["steps"] >= 256 and len(single_run["load_average"]) == 2
    assert race["by_threads"]["1"]["baselines3"]["seeds"] == [0] and race["by_threads"]["1"]["ratio_sbx"] is None
    assert single_run["threads"] == 1 and single_run["precision"] == "fp32" and data["precisions"] == ["fp32"]
    assert "ppo_cartpole     baselines3      1 thread(s) seed 0" in capsys.readouterr().out


def test_speed_race_races_each_precision_and_resumes_where_it_stopped(tmp_path, monkeypatch, capsys):
    from benchmarks import speed

    monkeypatch.setattr(speed, "_available", lambda libs, races: list(libs))
    spawned = []
    rates = {("baselines3", "fp32"): 200.0, ("baselines3", "bf16"): 300.0, ("sb3", "fp32"): 100.0}

    def fake_spawn(lib_name, race_name, seed, total_timesteps, threads, precision="fp32"):
        spawned.append((lib_name, precision, threads, seed))
        rate = rates[lib_name, precision] * (1.5 if threads > 1 and lib_name == "sb3" else 1.0)
        return dict(lib=lib_name, race=race_name, seed=seed, threads=threads, precision=precision, steps=100,
                    seconds=100 / rate, steps_per_second=rate, final_return=-150.0, best_return=-140.0,
                    load_average=[0.0, 0.0])  # fmt: skip

    monkeypatch.setattr(speed, "_spawn", fake_spawn)
    monkeypatch.setattr(speed, "_thread_count", lambda setting: 1 if setting == "1" else 2)
    path = tmp_path / "speed.json"
    args = ["--races", "sac_pendulum", "--libs", "baselines3", "sb3", "--precision", "fp32", "bf16",
            "--threads", "1", "all", "--json", str(path)]  # fmt: skip
    speed.main([*args, "--seeds", "0"])
    assert sorted(spawned) == sorted(
        (lib, precision, threads, 0) for lib, precision in rates for threads in (1, 2)
    )  # SB3 once per thread count, ours once per precision and thread count
    data = json.loads(path.read_text())
    (race,) = data["races"]
    one = race["by_threads"]["1"]
    assert one["ratio_sb3"] == 2.0 and one["ratio_sb3_bf16"] == 3.0 and one["ratio_sbx"] is None
    # each contender at its best thread count: SB3 is faster at 2, ours alike at both
    assert race["best"]["sb3"]["threads"] == 2 and race["best"]["ratio_sb3"] == pytest.approx(200 / 150)
    assert race["best"]["ratio_sb3_bf16"] == pytest.approx(2.0) and data["precisions"] == ["fp32", "bf16"]
    assert "sac_pendulum        best baselines3-bf16" in capsys.readouterr().out

    capsys.readouterr()
    assert speed.main(["--markdown", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == (
        "| race | threads | baselines3 | baselines3-bf16 | sb3 | baselines3 / sb3 | baselines3-bf16 / sb3 |"
    )
    assert "| `sac_pendulum` | best | 200.0 (1) | 300.0 (1) | 150.0 (2) | 1.33x | 2.00x |" in table
    assert "| `sac_pendulum` | 1 | -150 | -150 | -150 |" in table  # the returns table: each seed's final return

    spawned.clear()
    speed.main([*args, "--seeds", "0", "1", "--resume"])
    assert {seed for *_, seed in spawned} == {1} and len(spawned) == 6  # seed 0's runs were kept, not run again
    assert len(json.loads(path.read_text())["runs"]) == 12
    # resuming with a narrower invocation keeps the file's other races, seeds and precisions in its summary
    speed.main(["--races", "td3_pendulum", "--libs", "sb3", "--seeds", "0", "--json", str(path), "--resume"])
    data = json.loads(path.read_text())
    assert [race["race"] for race in data["races"]] == ["td3_pendulum", "sac_pendulum"]
    assert data["seeds"] == [0, 1] and data["precisions"] == ["fp32", "bf16"] and len(data["runs"]) == 13
    with pytest.raises(SystemExit, match="--timesteps None, this invocation asks for 500"):
        speed.main([*args, "--seeds", "0", "--resume", "--timesteps", "500"])


def test_speed_race_records_the_processor_and_refuses_to_mix_machines_in_a_race(tmp_path, monkeypatch, capsys):
    from benchmarks import speed

    monkeypatch.setattr(speed, "_available", lambda libs, races: list(libs))
    machine = {"cpu": "CPU A"}
    monkeypatch.setattr(speed, "cpu_model", lambda: machine["cpu"])

    def fake_spawn(lib_name, race_name, seed, total_timesteps, threads, precision="fp32"):
        return dict(lib=lib_name, race=race_name, seed=seed, threads=threads, precision=precision, steps=100,
                    seconds=1.0, steps_per_second=100.0, final_return=-150.0, best_return=-140.0,
                    load_average=[0.0, 0.0], cpu=speed.cpu_model())  # fmt: skip

    monkeypatch.setattr(speed, "_spawn", fake_spawn)
    path = tmp_path / "speed.json"
    args = ["--libs", "baselines3", "sb3", "--json", str(path), "--resume"]
    speed.main(["--races", "sac_pendulum", "--seeds", "0", *args])
    machine["cpu"] = "CPU B"
    # another race may run on the new machine; the first race's remaining seeds may not
    speed.main(["--races", "sac_pendulum", "td3_pendulum", "--seeds", "0", *args])
    with pytest.raises(SystemExit, match="sac_pendulum's runs in the file ran on CPU A; this machine is CPU B"):
        speed.main(["--races", "sac_pendulum", "--seeds", "0", "1", *args])
    data = json.loads(path.read_text())
    assert {race["race"]: race["cpu"] for race in data["races"]} == {
        "sac_pendulum": ["CPU A"],
        "td3_pendulum": ["CPU B"],
    }
    capsys.readouterr()
    speed.main(["--markdown", str(path)])
    table = capsys.readouterr().out.splitlines()
    assert "| `sac_pendulum` | CPU A |" in table and "| `td3_pendulum` | CPU B |" in table


def test_speed_step_times_write_their_figures_to_json_but_never_over_race_runs(tmp_path, monkeypatch):
    from benchmarks import speed

    monkeypatch.setattr(speed, "_available", lambda libs, races: list(libs))
    monkeypatch.setattr(speed, "_spawn", lambda *args, **kwargs: {"ms_per_step": 2.0 if args[0] == "sb3" else 1.0})
    path = tmp_path / "steps.json"
    argv = ["--races", "sac_pendulum", "--libs", "baselines3", "sb3", "--step-times", "--seeds", "0", "1"]
    assert speed.main([*argv, "--json", str(path)]) == 0
    rows = json.loads(path.read_text())["step_times"]
    assert [(row["contender"], row["ms_per_step"], row["rounds"]) for row in rows] == [
        ("baselines3", 1.0, [1.0, 1.0]),
        ("sb3", 2.0, [2.0, 2.0]),
    ]
    races = tmp_path / "races.json"
    races.write_text(json.dumps({"runs": []}))
    assert speed.main([*argv, "--json", str(races)]) == 2 and json.loads(races.read_text()) == {"runs": []}


def test_speed_race_runs_baselines3_in_the_precision_asked_for():
    from benchmarks import speed

    result = speed.run_one("baselines3", "ppo_cartpole", 0, 256, precision="bf16")
    assert result["precision"] == "bf16" and result["steps"] >= 256


def test_library_route_times_each_route_of_an_update():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.library_route", "--algos", "dqn", "--routes", "hand", "plain", "bf16",
         "--repeats", "1", "--threads", "2"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    lines = {line.split()[1]: line.split() for line in out.splitlines() if line.startswith("dqn ")}
    assert set(lines) == {"hand", "plain", "bf16"}
    assert lines["hand"][3] == "1.00x" and float(lines["plain"][2]) > 0
    assert all(0 < float(fields[-1]) < 1 for fields in lines.values())  # each route's TD loss after training


@pytest.mark.parametrize("route, seam", [("hand", True), ("plain", False)])
def test_library_route_update_runs_its_route_whatever_the_switch_says(route, seam):
    from baselines3.common import fast
    from benchmarks.library_route import build

    model, update = build("dqn", route)
    seen = []
    train = model.train
    model.train = lambda *args, **kwargs: (seen.append(fast.enabled()), train(*args, **kwargs))
    was_enabled = fast.enabled()
    for switch in (not was_enabled, was_enabled):  # either setting (another route's call, BASELINES3_FAST=0)
        fast.set_enabled(switch)
        update()
        assert fast.enabled() == switch  # and left as it was
    assert seen == [seam, seam]


def test_speed_step_times_times_the_gradient_step_of_each_contender(monkeypatch, capsys):
    from benchmarks import speed

    result = speed.time_gradient_steps("baselines3", "sac_pendulum", steps=2, repeats=2)
    assert result["precision"] == "fp32" and len(result["ms_per_step_each"]) == 2 and result["ms_per_step"] > 0
    with pytest.raises(ValueError, match="ppo_cartpole is not an off-policy race"):
        speed.time_gradient_steps("baselines3", "ppo_cartpole", steps=1, repeats=1)

    monkeypatch.setattr(speed, "_available", lambda libs, races: list(libs))
    calls = []

    def fake_spawn(lib_name, race_name, seed, total_timesteps, threads, precision="fp32", step_times=False):
        assert step_times
        calls.append((lib_name, precision))
        return {"ms_per_step": 5.0 if lib_name == "sbx" else 8.0 + len(calls)}

    monkeypatch.setattr(speed, "_spawn", fake_spawn)
    args = ["--races", "sac_pendulum", "ppo_cartpole", "--libs", "baselines3", "sbx", "--step-times"]
    assert speed.main([*args, "--seeds", "0", "1", "2"]) == 0
    out = capsys.readouterr().out
    ours, theirs = ("baselines3", "fp32"), ("sbx", "fp32")
    assert calls[:4] == [ours, theirs, theirs, ours]  # the contenders take turns
    assert "sac_pendulum           1 baselines3         12.00  9.00 12.00 13.00" in out  # median of 3 rounds
    assert "ppo_cartpole" not in out  # on-policy races have no separate gradient step to time
    assert speed.main(["--races", "ppo_cartpole", "--step-times"]) == 2


def test_a_speed_worker_applies_baselines3s_thread_default_before_it_sets_its_own_count():
    # the count a race worker sets must be the one learn() trains at, also when it equals torch's default (the
    # thread default, applied at a later import, would take it for no setting and train at one thread)
    code = (
        "import torch; default = torch.get_num_threads(); from benchmarks import speed; speed._library('baselines3'); "
        "torch.set_num_threads(default); from baselines3.common.threads import user_thread_setting; "
        "print(default, user_thread_setting() is not None)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=run.REPO, env=env
    )
    default, kept = out.stdout.split()
    if default == "1":
        pytest.skip("torch's default here is one thread: nothing to tell apart")
    assert kept == "True"


def test_interleaved_race_trains_each_contender_in_turns_in_one_process():
    from benchmarks import interleaved

    contenders = [("baselines3", "fp32"), ("baselines3", "bf16"), ("sb3", "fp32")]
    result = interleaved.run_interleaved("ppo_cartpole", contenders, threads=1, rounds=2, round_steps=256)
    rates = result["steps_per_second"]
    assert list(rates) == ["baselines3", "baselines3-bf16", "sb3"]
    assert all(len(each) == 2 and all(rate > 0 for rate in each) for each in rates.values())
    assert result["threads"] == 1 and result["round_steps"] == 256 and "commit" in result


def test_interleaved_race_prints_median_rates_and_paired_ratios(tmp_path, monkeypatch, capsys):
    from benchmarks import interleaved

    rates = {"baselines3": [300.0, 200.0, 330.0], "sb3": [100.0, 100.0, 110.0], "sbx": [150.0, 200.0, 110.0]}
    seen = []

    def fake_spawn(race_name, contenders, threads, rounds, round_steps):
        seen.append((race_name, contenders, threads, rounds, round_steps))
        return dict(race=race_name, threads=threads, round_steps=round_steps, steps_per_second=rates, cpu="x")

    monkeypatch.setattr(interleaved, "_spawn", fake_spawn)
    monkeypatch.setattr(interleaved, "_available", lambda libs, races: list(libs))
    path = tmp_path / "interleaved.json"
    argv = ["--races", "sac_pendulum", "--libs", "baselines3", "sb3", "sbx", "--rounds", "3", "--json", str(path)]
    assert interleaved.main(argv) == 0
    assert seen == [("sac_pendulum", [("baselines3", "fp32"), ("sb3", "fp32"), ("sbx", "fp32")], 1, 3, 1000)]
    assert interleaved.paired_ratios(rates, "baselines3", "sb3") == [3.0, 2.0, 3.0]
    ours = next(line for line in capsys.readouterr().out.splitlines() if " baselines3 " in line)
    # median 300 steps/s; against SB3 the median of (3, 2, 3), against SBX of (2, 1, 3)
    assert "300.0" in ours and "3.00x [2.00, 3.00]" in ours and "2.00x [1.00, 3.00]" in ours
    assert json.loads(path.read_text())["interleaved"][0]["steps_per_second"] == rates
    capsys.readouterr()
    assert interleaved.main(["--markdown", str(path)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("| race | threads | baselines3 | sb3 | sbx | baselines3 / sb3 | baselines3 / sbx |")
    assert table[2] == "| sac_pendulum | 1 | 300.0 | 100.0 | 150.0 | 3.00x | 2.00x |"
    assert table[3] == "| sac_pendulum | best | 300.0 (1) | 100.0 (1) | 150.0 (1) | 3.00x | 2.00x |"
    with pytest.raises(SystemExit):
        interleaved.main(["--rounds", "0"])
