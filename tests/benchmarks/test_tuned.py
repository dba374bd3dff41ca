"""Our tuned entries for failing rows: a real (tiny) Optuna search summarized, a trial turned into a zoo entry,
the fresh-seed rule, the accept rule, and the report's section."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys

import pytest
import yaml

from benchmarks import report, run, tuned
from benchmarks.rows import find_row
from zoo.config import load_experiment

pytest.importorskip("optuna")

ROW = find_row("dqn:CartPole-v1")  # threshold 452.2, budget 50k
#: A search small enough for a test: 2 trials of 300 steps (a search at a shorter budget than the published 50k, so
#: its study is dqn-CartPole-v1-300steps and its candidates train 300 steps), one evaluation of 2 episodes each.
TINY = tuned.SearchSpec(n_trials=2, n_timesteps=300, n_evaluations=1, eval_episodes=2)
STUDY = "dqn-CartPole-v1-300steps"
#: The same on 2 seeds per trial; its own sampler seed, so that its trials draw other settings than TINY's.
TWO_SEEDS = dataclasses.replace(TINY, trial_seeds=2, seed=500)
STUDY_2SEEDS = "dqn-CartPole-v1-300steps-2seeds"


def run_search(spec, folder):
    """Run the search `spec` with the command the tool prints (from a scratch folder, so that zoo.tune's own
    output folder `logs/` lands there)."""
    command = spec.command(ROW, folder, sys.executable)
    done = subprocess.run(
        command, cwd=folder, env=run.child_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    """The folder of a real 2-trial search."""
    return run_search(TINY, tmp_path_factory.mktemp("tuning"))


@pytest.fixture(scope="module")
def search_2seeds(tmp_path_factory):
    """The folder of a real 2-trial search of 2 seeds per trial."""
    return run_search(TWO_SEEDS, tmp_path_factory.mktemp("tuning2"))


def main(*argv, spec=TINY):
    return tuned.main([str(arg) for arg in argv], spec=spec)


def test_the_search_command_is_the_zoo_tuning_command():
    command = tuned.SearchSpec().command(ROW)
    assert command[:7] == ["python", "-m", "zoo.train", "--algo", "dqn", "--env", "CartPole-v1"]
    text = " ".join(command)
    assert "-optimize --n-trials 30 --max-total-trials 30 --sampler tpe --pruner median --seed 1000" in text
    assert "--storage sqlite:///benchmarks/runs/tuning/dqn-CartPole-v1.db --study-name dqn-CartPole-v1" in text
    assert "--optimization-log-path benchmarks/runs/tuning/dqn-CartPole-v1" in text and " -n " not in text
    assert text.endswith("--num-threads 1 --eval-episodes 10 --no-optim-plots")
    assert tuned.SearchSpec().budget(ROW) == 50_000  # the published entry's budget


def test_search_summary_reads_the_study(search, tmp_path, capsys):
    assert main("search-summary", "--row", ROW.key, "--tuning-dir", search, "--results", tmp_path) == 0
    path = tmp_path / "searches" / f"{STUDY}.json"
    assert str(path) in capsys.readouterr().out
    summary = json.loads(path.read_text())
    assert summary["study"] == STUDY and summary["published_budget"] == 50_000
    assert summary["trials"] == {"total": 2, "complete": 2, "pruned": 0, "failed": 0, "running": 0, "rerun": 0}
    assert (summary["sampler"], summary["pruner"], summary["n_trials_asked"]) == ("tpe", "median", 2)
    assert summary["steps_per_trial"] == 300 and summary["evaluation_steps"] == [300]
    assert summary["trial_seeds"] == [1000, 1001] and summary["threshold"] == pytest.approx(ROW.threshold)
    assert "-n 300" in summary["command"] and f"sqlite:///{search}/{STUDY}.db" in summary["command"]
    assert summary["recorded_settings"]["n_timesteps"] == 300  # what zoo.tune recorded agrees
    top = summary["top_trials"]
    assert [t["number"] for t in top] == sorted((0, 1), key=lambda n: -dict(summary["complete_values"])[n])
    assert top[0]["value"] >= top[1]["value"]
    assert summary["best"] == {"number": top[0]["number"], "value": top[0]["value"]}
    assert top[0]["evaluations"] == [top[0]["value"]] and top[0]["seed"] == 1000 + top[0]["number"]
    assert {"learning_rate", "gamma", "policy_kwargs"} <= set(top[0]["params"])  # the zoo's names, not Optuna's
    assert summary["at_or_above_threshold"] == []  # 300 steps of DQN do not balance a pole
    assert summary["finding"].startswith("no trial reached the threshold 452.2 (best: trial")


def test_a_trial_run_again_after_its_process_died_counts_once_with_its_first_seed(search, tmp_path, capsys):
    import optuna

    shutil.copy(search / f"{STUDY}.db", tmp_path / f"{STUDY}.db")
    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{tmp_path / STUDY}.db")
    done = study.trials[0]
    # what zoo.tune's storage records when trial 2's process dies and the next process reruns it as trial 3
    study.add_trial(optuna.create_trial(state=optuna.trial.TrialState.FAIL, params=done.params,
                                        distributions=done.distributions, user_attrs=done.user_attrs))  # fmt: skip
    rerun = {"failed_trial": 2, "retry_history": [2]}
    study.add_trial(optuna.create_trial(value=-1.0, params=done.params, distributions=done.distributions,
                                        user_attrs=done.user_attrs, system_attrs=rerun))  # fmt: skip
    assert main("search-summary", "--row", ROW.key, "--tuning-dir", tmp_path, "--results", tmp_path) == 0
    summary = json.loads((tmp_path / "searches" / f"{STUDY}.json").read_text())
    assert summary["trials"] == {"total": 3, "complete": 3, "pruned": 0, "failed": 0, "running": 0, "rerun": 1}
    assert summary["trial_seeds"] == [1000, 1001, 1002]  # trial 3 trained trial 2's seed
    assert [t["seed"] for t in summary["top_trials"] if t["number"] == 3] == [1002]
    assert "3 trials of 300 steps (3 complete, 0 pruned, 0 failed; 1 more cut short and run again)" in (
        tuned._search_cell(summary)
    )


def test_search_summary_names_a_missing_database_or_study(search, tmp_path, capsys):
    assert main("search-summary", "--row", ROW.key, "--tuning-dir", tmp_path) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path}/{STUDY}.db does not exist" in err and "python -m zoo.train --algo dqn" in err
    assert not (tmp_path / f"{STUDY}.db").exists()  # reading never creates a study
    shutil.copy(search / f"{STUDY}.db", tmp_path / "dqn-MountainCar-v0-300steps.db")
    assert main("search-summary", "--row", "dqn:MountainCar-v0", "--tuning-dir", tmp_path) == 2
    assert f"holds no study 'dqn-MountainCar-v0-300steps' (it holds: {STUDY})" in capsys.readouterr().err
    assert main("search-summary", "--row", "dqn:Nope-v0", "--tuning-dir", tmp_path) == 2
    assert "No benchmark row 'dqn:Nope-v0'" in capsys.readouterr().err


def test_candidate_is_the_published_entry_with_the_trial_values(search, capsys):
    assert main("candidate", "--row", ROW.key, "--trial", 1, "--tuning-dir", search) == 0
    out = capsys.readouterr().out
    path = search / f"{STUDY}-trial1.yml"
    command = "python -m benchmarks.tuned validate --row dqn:CartPole-v1 --trial 1 --n-timesteps 300 --seeds 0 1 2 3 4"
    assert command in out
    text = path.read_text()
    comment = " ".join(line[2:] for line in text.splitlines() if line.startswith("# "))
    assert f"trial 1 of study '{STUDY}'" in comment and "300 steps each" in comment and "(seed 1001)" in comment
    assert "n_timesteps is the search's budget: found at 300 steps per trial (published budget 50,000)" in comment
    (entry,) = yaml.safe_load(text).values()
    study = tuned.load_study(ROW, TINY, search)
    values = study.trials[1].user_attrs["zoo_params"]
    published = load_experiment("dqn", "CartPole-v1").raw
    assert entry == {**published, **values, "n_timesteps": 300}  # the search's budget, not the published 50k
    assert list(entry)[:2] == ["n_timesteps", "policy"]  # in the published entry's order, its values replaced
    experiment = load_experiment("dqn", "CartPole-v1", path, use_default=False)  # what zoo.train -conf reads
    assert experiment.algo_kwargs["learning_rate"] == values["learning_rate"] and experiment.n_timesteps == 300


def test_only_a_complete_trial_with_zoo_values_becomes_a_candidate(tmp_path):
    import optuna

    study = optuna.create_study(direction="maximize", study_name="s")
    study.enqueue_trial({})

    def objective(trial):
        if trial.number == 1:
            raise optuna.TrialPruned()
        if trial.number == 2:
            raise ValueError("bad combination")
        return 1.0  # trial 0: complete, but no zoo values

    study.optimize(objective, n_trials=3, catch=(ValueError,))
    for number, message in [(0, "holds no zoo values"), (1, "is pruned, not complete"), (2, "is fail"), (7, "0-2")]:
        with pytest.raises(tuned.TuningError, match=message):
            tuned.trial_of(study, number)


def test_validation_seeds_must_be_fresh():
    assert tuned.check_seeds([0, 1, 1, 2], TINY, accept=False) == [0, 1, 2]
    with pytest.raises(tuned.TuningError, match=r"--seeds \[1000\]: .* must be 0 to 999.*not fresh"):
        tuned.check_seeds([0, 1000], TINY, accept=False)
    with pytest.raises(tuned.TuningError, match=r"--seeds \[-1\]"):
        tuned.check_seeds([-1], TINY, accept=False)
    with pytest.raises(tuned.TuningError, match="--accept needs at least 5 validation seeds, got 3"):
        tuned.check_seeds([0, 1, 2], TINY, accept=True)
    with pytest.raises(SystemExit):
        tuned.main(["validate", "--row", ROW.key, "--trial", "0", "--force"])  # --force goes with --accept


def test_a_job_with_a_conf_file_trains_with_it_and_resumes_only_its_own_runs(tmp_path):
    conf = tmp_path / "candidate.yml"
    job = run.Job(ROW, 0, 2000, tmp_path / "seed0.json", conf_file=conf)
    command = run.train_command(job, tmp_path / "runs")
    assert command[command.index("-conf") + 1] == str(conf)
    assert "-conf" not in run.train_command(run.Job(ROW, 0, 2000, tmp_path / "seed0.json"), tmp_path)
    # a stopped run of the published entry is not a segment of the tuned job, and the other way round
    folder = tmp_path / "runs" / "dqn" / "CartPole-v1_1"
    (folder / "CartPole-v1").mkdir(parents=True)
    args = {"seed": 0, "eval_freq": job.eval_freq, "save_freq": job.eval_freq, "n_timesteps": -1, "conf_file": None}
    (folder / "CartPole-v1" / "args.yml").write_text(yaml.safe_dump(args))
    (folder / f"rl_model_{job.eval_freq}_steps.zip").write_bytes(b"")
    (folder / f"rl_model_replay_buffer_{job.eval_freq}_steps.npz").write_bytes(b"")
    plain = run.Job(ROW, 0, 2000, tmp_path / "seed0.json")
    assert [s.end for s in run.interrupted_segments(plain, tmp_path / "runs")] == [job.eval_freq]
    assert run.interrupted_segments(job, tmp_path / "runs") == []
    (folder / "CartPole-v1" / "args.yml").write_text(yaml.safe_dump({**args, "conf_file": str(conf)}))
    assert [s.end for s in run.interrupted_segments(job, tmp_path / "runs")] == [job.eval_freq]
    assert run.interrupted_segments(plain, tmp_path / "runs") == []


def fake_run_jobs(finals):
    """Stands in for benchmarks.run.run_jobs: writes each job's result file with the final score given for its
    seed and the hyperparameters its conf file holds (as a real run records them)."""

    def run_jobs(jobs, runs_folder, eval_episodes, parallel):
        for job in jobs:
            (entry,) = yaml.safe_load(job.conf_file.read_text()).values()
            result = {
                "algo": job.row.algo,
                "env": job.row.env,
                "seed": job.seed,
                "n_timesteps": job.n_timesteps,
                "final_eval": {"mean": finals[job.seed]},
                "hyperparams": {"env_id": job.row.env, **entry},
            }
            run.write_json(job.result_path, result)
        return [], []

    return run_jobs


def validate(search, tmp_path, trial, *extra):
    return main(
        "validate", "--row", ROW.key, "--trial", trial, "--tuning-dir", search, "--results", tmp_path / "results",
        "--entries", tmp_path / "entries", "--runs-folder", tmp_path / "runs", *extra,
    )  # fmt: skip


def test_an_entry_is_accepted_only_when_its_mean_on_fresh_seeds_meets_the_threshold(
    search, tmp_path, monkeypatch, capsys
):
    entries = tmp_path / "entries" / "dqn.yml"
    below = {0: 500.0, 1: 500.0, 2: 500.0, 3: 500.0, 4: 250.0}  # mean 450.0 < 452.2
    monkeypatch.setattr(tuned, "run_jobs", fake_run_jobs(below))
    assert validate(search, tmp_path, 1, "--accept") == 1
    captured = capsys.readouterr()
    assert "mean 450.0 over seeds 0-4 at 300 steps, threshold 452.2: FAIL" in captured.out
    assert "not accepted" in captured.err and not entries.exists()
    result = json.loads((tmp_path / "results" / "dqn" / "CartPole-v1" / "300steps-trial1" / "seed4.json").read_text())
    assert (result["final_eval"]["mean"], result["n_timesteps"]) == (250.0, 300)  # trained at the search's budget

    monkeypatch.setattr(tuned, "run_jobs", fake_run_jobs({seed: 480.0 for seed in range(5)}))
    assert validate(search, tmp_path, 0, "--accept") == 0
    assert "accepted" in capsys.readouterr().out
    text = entries.read_text()
    comment = " ".join(line[2:] for line in text.splitlines() if line.startswith("# "))
    assert f"dqn:CartPole-v1, trial 0 of study '{STUDY}': Optuna search of 2 trials" in comment
    assert "Validated on seeds 0-4, which the search never used" in comment
    assert "mean final evaluation 480.0 (480.0, 480.0, 480.0, 480.0, 480.0;" in comment
    assert ">= threshold 452.2" in comment and "results/dqn/CartPole-v1/300steps-trial0/." in comment
    assert "n_timesteps is the search's budget: found and validated at 300 steps (published budget 50,000)" in comment
    candidate = yaml.safe_load((search / f"{STUDY}-trial0.yml").read_text())
    assert yaml.safe_load(text) == candidate  # the trial's entry, nothing else
    experiment = load_experiment("dqn", "CartPole-v1", entries, use_default=False)  # zoo.train -conf reads it
    assert experiment.n_timesteps == 300  # our entry at the budget it was found and validated at

    assert validate(search, tmp_path, 0, "--accept") == 0  # nothing to train again, the same entry
    assert "already holds this entry" in capsys.readouterr().out
    monkeypatch.setattr(tuned, "run_jobs", fake_run_jobs({seed: 490.0 for seed in range(5)}))
    shutil.rmtree(tmp_path / "results" / "dqn" / "CartPole-v1" / "300steps-trial1")
    assert validate(search, tmp_path, 1, "--accept") == 2  # a different entry is there
    assert "already holds a different entry for CartPole-v1" in capsys.readouterr().err
    assert "trial 0 of study" in entries.read_text()
    assert validate(search, tmp_path, 1, "--accept", "--force") == 0
    assert "trial 1 of study" in entries.read_text() and "trial 0 of study" not in entries.read_text()


def test_validation_refuses_results_of_other_settings_and_smoke_budgets(search, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tuned, "run_jobs", fake_run_jobs({0: 1.0}))
    assert validate(search, tmp_path, 1, "--seeds", 0) == 0
    assert "mean 1.0 over seeds 0 at 300 steps, threshold 452.2: incomplete" in capsys.readouterr().out
    result = tmp_path / "results" / "dqn" / "CartPole-v1" / "300steps-trial1" / "seed0.json"
    data = json.loads(result.read_text())
    data["hyperparams"]["gamma"] = 0.5
    run.write_json(result, data)
    assert validate(search, tmp_path, 1, "--seeds", 0) == 2
    assert "seed0.json was trained with other settings" in capsys.readouterr().err
    assert validate(search, tmp_path, 1, "--smoke-timesteps", 200, "--accept") == 2
    assert "--accept judges runs of the search's budget: leave out --smoke-timesteps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        validate(search, tmp_path, 1, "--smoke-timesteps", 0)
    assert "--smoke-timesteps must be at least 1, got 0" in capsys.readouterr().err
    assert validate(search, tmp_path, 9, "--seeds", 0) == 2
    assert "has no trial 9" in capsys.readouterr().err


def test_a_smoke_validation_trains_the_candidate_through_the_benchmark_runner(search, tmp_path, capsys):
    assert validate(search, tmp_path, 0, "--seeds", 3, "--smoke-timesteps", 200, "--eval-episodes", 2) == 0
    out = capsys.readouterr().out
    assert "[1/1] dqn CartPole-v1 seed 3: final" in out and "at 200 steps" in out and "incomplete" in out
    result = json.loads((tmp_path / "results" / "dqn" / "CartPole-v1" / "300steps-trial0" / "seed3.json").read_text())
    assert f"-conf {search}/{STUDY}-trial0.yml" in result["command"] and result["command"].endswith("-n 200")
    assert result["n_timesteps"] == 200 and result["final_eval"]["env_seed"] == run.FINAL_EVAL_SEED_OFFSET + 3
    assert len(result["final_eval"]["returns"]) == 2
    assert tuned.load_tuned_results(tmp_path / "results") == {}  # a smoke test's budget: never in the report
    (candidate,) = yaml.safe_load((search / f"{STUDY}-trial0.yml").read_text()).values()
    assert tuned._same_entry(result["hyperparams"], candidate)  # trained with the candidate's settings


# ---------------------------------------------------------------- the report's section


def search_summary(row, best, at_or_above, running=0):
    return {
        "row": row.key,
        "n_trials_asked": 30,
        "trials": {"total": 30, "complete": 25, "pruned": 4, "failed": 1, "running": running},
        "steps_per_trial": row.budget,
        "best": {"number": 7, "value": best},
        "at_or_above_threshold": at_or_above,
    }


def tuned_result(row, trial, seed, final):
    entry = {"n_timesteps": row.budget, "policy": "MlpPolicy", "gamma": 0.9 + trial / 1000}
    return {
        "algo": row.algo,
        "env": row.env,
        "seed": seed,
        "n_timesteps": row.budget,
        "final_eval": {"mean": final},
        "hyperparams": {"env_id": row.env, **entry},
    }


def test_report_section_shows_the_rl_zoo_entry_the_search_and_the_tuned_entry(tmp_path):
    tuned_dir, entries = tmp_path / "results_tuned", tmp_path / "entries"
    cartpole, mountain, lunar = find_row("dqn:CartPole-v1"), find_row("dqn:MountainCar-v0"), find_row("a2c:LunarLander")
    td3 = find_row("td3:MountainCarContinuous-v0")
    run.write_json(tuned_dir / "searches" / "dqn-CartPole-v1.json", search_summary(cartpole, 500.0, [7, 9]))
    run.write_json(tuned_dir / "searches" / "dqn-MountainCar-v0.json", search_summary(mountain, -130.0, []))
    run.write_json(tuned_dir / "searches" / "td3-MountainCarContinuous-v0.json", search_summary(td3, 95.0, [7]))
    for seed, final in enumerate([500.0, 500.0, 470.0, 480.0, 500.0]):  # mean 490.0: passes 452.2
        run.write_json(tuned.tuned_result_path(tuned_dir, cartpole, 7, seed), tuned_result(cartpole, 7, seed, final))
    for seed, final in enumerate([500.0, 100.0]):  # 2 of 5 seeds so far
        run.write_json(tuned.tuned_result_path(tuned_dir, cartpole, 9, seed), tuned_result(cartpole, 9, seed, final))
    smoke = {**tuned_result(lunar, 1, 0, 200.0), "n_timesteps": 300}  # a smoke test: not counted
    run.write_json(tuned.tuned_result_path(tuned_dir, lunar, 1, 0), smoke)
    (entry,) = [{k: v for k, v in tuned_result(cartpole, 7, 0, 0.0)["hyperparams"].items() if k != "env_id"}]
    tuned.write_entries(entries / "dqn.yml", "dqn", {"CartPole-v1": (["# trial 7"], entry)})

    rl_zoo = {
        "dqn:CartPole-v1": [(0, 43.8), (1, 500.0), (2, 258.7)],
        "dqn:MountainCar-v0": [(0, -108.0), (1, -129.1), (2, -128.6)],
        "a2c:LunarLander-v3": [(0, 81.3), (1, -103.7), (2, 18.0)],
        "td3:MountainCarContinuous-v0": [(0, 93.7), (1, -99.9), (2, 93.7)],
        "ppo:CartPole-v1": [(0, 500.0), (1, 500.0), (2, 500.0)],  # passes: not in the section
    }
    lines = tuned.tuned_section(rl_zoo, tuned_dir, entries)
    text = "\n".join(lines)
    assert lines[0] == "## Our tuned entries (rows the RL Zoo entry does not pass)"
    by_row = {line.split(" | ")[0][2:]: line for line in lines if line.startswith(("| a2c", "| dqn", "| td3"))}
    assert list(by_row) == ["a2c:LunarLander-v3", "dqn:CartPole-v1", "dqn:MountainCar-v0", td3.key]
    lunar_line = by_row["a2c:LunarLander-v3"]
    assert "| 121.0 | -1.5 (seeds 0-2: 81.3, -103.7, 18.0) | - | - | search not run yet |" in lunar_line
    dqn = by_row["dqn:CartPole-v1"]
    assert "| 452.2 | 267.5 (seeds 0-2: 43.8, 500.0, 258.7) | 30 trials of 50,000 steps (25 complete, 4 pruned" in dqn
    assert "best #7: 500.0; 2 at or above the threshold" in dqn
    assert "trial 7: 490.0 (seeds 0-4: 500.0, 500.0, 470.0, 480.0, 500.0), pass, accepted" in dqn
    assert "trial 9: 300.0 (seeds 0 1: 500.0, 100.0), incomplete" in dqn
    assert dqn.endswith("| **pass**: `zoo/hyperparams/tuned/dqn.yml` (trial 7) |")
    assert by_row["dqn:MountainCar-v0"].endswith("| - | no setting found meets the threshold |")
    assert by_row["td3:MountainCarContinuous-v0"].endswith("| validation not run yet |")
    assert "ppo:CartPole-v1" not in text
    assert "- td3:MountainCarContinuous-v0: `python -m benchmarks.tuned validate --row td3:MountainCarContinuous-v0 " \
        "--trial 7 --seeds 0 1 2 3 4`" in text  # fmt: skip
    assert "- a2c:LunarLander-v3: `python -m zoo.train --algo a2c --env LunarLander-v3 -optimize" in text
    assert "- dqn:CartPole-v1: `python -m benchmarks.tuned validate --row dqn:CartPole-v1 --trial 9" in text

    # a search stopped early has not shown that nothing works: it says so, with the command that goes on
    stopped = {
        **search_summary(lunar, -113.3, []),
        "trials": {"total": 2, "complete": 1, "pruned": 0, "failed": 1, "running": 0},
    }
    run.write_json(tuned_dir / "searches" / "a2c-LunarLander-v3.json", stopped)
    lines = tuned.tuned_section(rl_zoo, tuned_dir, entries)
    lunar_line = next(line for line in lines if line.startswith("| a2c:"))
    assert lunar_line.endswith("| search stopped after 2 of 30 trials |")
    assert any(line.startswith("- a2c:LunarLander-v3: `python -m zoo.train --algo a2c") for line in lines)
    # a trial still marked running (its process may have stopped): the same command goes on to 30 in all
    running = {**stopped, "trials": {**stopped["trials"], "running": 1}}
    run.write_json(tuned_dir / "searches" / "a2c-LunarLander-v3.json", running)
    lines = tuned.tuned_section(rl_zoo, tuned_dir, entries)
    assert next(line for line in lines if line.startswith("| a2c:")).endswith("| search running |")
    go_on = [line for line in lines if line.startswith("- a2c:LunarLander-v3: `python -m zoo.train --algo a2c")]
    assert len(go_on) == 1 and "--n-trials 30 --max-total-trials 30" in go_on[0]

    # a validated trial below the threshold: no setting found, even though the search pointed at it
    for seed in range(5):
        run.write_json(tuned.tuned_result_path(tuned_dir, td3, 7, seed), tuned_result(td3, 7, seed, -99.9 + seed))
    td3_line = next(line for line in tuned.tuned_section(rl_zoo, tuned_dir, entries) if line.startswith("| td3:"))
    assert "trial 7: -97.9 (seeds 0-4: -99.9, -98.9, -97.9, -96.9, -95.9), FAIL" in td3_line
    assert td3_line.endswith("| no setting found meets the threshold |")


def test_the_report_page_holds_the_section(tmp_path):
    results = tmp_path / "results"
    for seed, final in enumerate([43.8, 500.0, 258.7]):
        data = {"algo": "dqn", "env": "CartPole-v1", "seed": seed, "n_timesteps": 50_000, "steps_per_s": 800.0,
                "final_eval": {"mean": final}, "best_eval": {"mean": 500.0, "timestep": 50_000}}  # fmt: skip
        run.write_json(run.result_path(results, "dqn", "CartPole-v1", seed), data)
    output = tmp_path / "docs" / "benchmarks.md"
    report.write_report(results, output, tmp_path / "img", tuned_entries=tmp_path / "none")
    text = output.read_text()
    section = text[text.index("## Our tuned entries") : text.index("<!-- side-by-side:start -->")]
    assert "| dqn:CartPole-v1 | 452.2 | 267.5 (seeds 0-2: 43.8, 500.0, 258.7) | - | - | search not run yet |" in section
    assert text.index("## Results") < text.index("## Our tuned entries")


# ---------------------------------------------------------------- searches of several seeds per trial


def test_a_multi_seed_search_has_its_own_study_and_files_and_one_seed_keeps_todays():
    one, three = tuned.SearchSpec(), tuned.SearchSpec(trial_seeds=3)
    assert one.command(ROW) == tuned.SearchSpec(trial_seeds=1).command(ROW)
    assert "--trial-seeds" not in one.command(ROW)
    assert (one.study_name(ROW), one.storage_path(ROW).name, one.log_path(ROW).name) == (
        "dqn-CartPole-v1", "dqn-CartPole-v1.db", "dqn-CartPole-v1"
    )  # fmt: skip
    # the command the DQN CartPole search of 3 seeds per trial runs with, as given to zoo.train
    assert " ".join(three.command(ROW)) == (
        "python -m zoo.train --algo dqn --env CartPole-v1 -optimize --n-trials 30 --max-total-trials 30 --sampler tpe "
        "--pruner median --seed 1000 --trial-seeds 3 "
        "--storage sqlite:///benchmarks/runs/tuning/dqn-CartPole-v1-3seeds.db "
        "--study-name dqn-CartPole-v1-3seeds --optimization-log-path benchmarks/runs/tuning/dqn-CartPole-v1-3seeds "
        "--num-threads 1 --eval-episodes 10 --no-optim-plots"
    )
    assert tuned.candidate_path(ROW, 12).name == "dqn-CartPole-v1-trial12.yml"
    assert tuned.candidate_path(ROW, 12, spec=three).name == "dqn-CartPole-v1-3seeds-trial12.yml"
    assert tuned.search_summary_path(ROW).name == "dqn-CartPole-v1.json"
    assert tuned.search_summary_path(ROW, spec=three).name == "dqn-CartPole-v1-3seeds.json"
    assert (one.seeds(12), three.seeds(12)) == ([1012], [1036, 1037, 1038])  # zoo.tune's seeds of trial 12
    # validations of trial 12 of each search go to folders of their own
    a, b = tuned.tuned_result_path("r", ROW, 12, 0), tuned.tuned_result_path("r", ROW, 12, 0, n_seeds=3)
    assert (str(a), str(b)) == ("r/dqn/CartPole-v1/trial12/seed0.json", "r/dqn/CartPole-v1/3seeds-trial12/seed0.json")
    with pytest.raises(tuned.TuningError, match="trial_seeds must be at least 1"):
        tuned.SearchSpec(trial_seeds=0)


@pytest.mark.parametrize("command", ["search-command", "search-summary", "candidate", "validate"])
def test_the_trial_seeds_flag_is_checked(command, capsys):
    trial = ["--trial", "0"] if command in ("candidate", "validate") else []
    for value, message in [("0", "--trial-seeds must be at least 1"), ("two", "invalid int value: 'two'")]:
        with pytest.raises(SystemExit):
            tuned.main([command, "--row", ROW.key, *trial, "--trial-seeds", value])
        assert message in capsys.readouterr().err
    if command == "search-command":
        assert tuned.main([command, "--row", ROW.key, "--trial-seeds", "3"]) == 0
        assert "--seed 1000 --trial-seeds 3 --storage sqlite:///" in capsys.readouterr().out


def test_a_multi_seed_search_is_summarized_validated_and_reported_beside_the_one_seed_search(
    search, search_2seeds, tmp_path, monkeypatch, capsys
):
    results = tmp_path / "results"
    assert main("search-summary", "--row", ROW.key, "--tuning-dir", search, "--results", results) == 0
    flag = ("--trial-seeds", 2)
    assert main("search-summary", "--row", ROW.key, *flag, "--tuning-dir", search_2seeds, "--results", results,
                spec=dataclasses.replace(TWO_SEEDS, trial_seeds=1)) == 0  # the flag sets the seeds  # fmt: skip
    assert sorted(p.name for p in (results / "searches").iterdir()) == [f"{STUDY_2SEEDS}.json", f"{STUDY}.json"]
    summary = json.loads((results / "searches" / f"{STUDY_2SEEDS}.json").read_text())
    assert summary["study"] == STUDY_2SEEDS and "--seed 500 --trial-seeds 2 --storage" in summary["command"]
    assert summary["seeds_per_trial"] == 2 and summary["trial_seeds"] == [500, 501, 502, 503]
    assert summary["recorded_settings"]["trial_seeds"] == 2  # what zoo.tune recorded agrees
    assert summary["evaluation_steps"] == [300]  # read from trial_<k>/seed_<first seed>/evaluations.npz
    assert summary["objective"].startswith("mean over 2 seeds of the mean return of each seed's last evaluation")
    for record in summary["top_trials"]:
        first = 500 + 2 * record["number"]
        assert record["seeds"] == [first, first + 1] and "seed" not in record
        assert record["value"] == pytest.approx(sum(record["seed_values"]) / 2)
        assert record["evaluations"] == record["seed_values"]  # one evaluation per seed, seed after seed
    assert [s["seeds_per_trial"] for s in tuned.load_search_summaries(results)[ROW.key]] == [1, 2]  # both kept

    # the flag must agree with what the study was run with: its seeds follow from it
    import optuna

    source = f"sqlite:///{search_2seeds / f'{STUDY_2SEEDS}.db'}"
    target = f"sqlite:///{tmp_path / f'{STUDY}.db'}"
    optuna.copy_study(from_study_name=STUDY_2SEEDS, from_storage=source, to_storage=target, to_study_name=STUDY)
    assert main("search-summary", "--row", ROW.key, "--tuning-dir", tmp_path, "--results", tmp_path / "x") == 2
    assert "trained each trial on 2 seed(s), not 1: pass --trial-seeds 2" in capsys.readouterr().err

    assert main("candidate", "--row", ROW.key, "--trial", 1, *flag, "--tuning-dir", search_2seeds, spec=TWO_SEEDS) == 0
    out = capsys.readouterr().out
    assert "validate --row dqn:CartPole-v1 --trial 1 --n-timesteps 300 --trial-seeds 2 --seeds 0 1 2 3 4" in out
    text = (search_2seeds / f"{STUDY_2SEEDS}-trial1.yml").read_text()
    origin = " ".join(line[2:] for line in text.splitlines() if line.startswith("# "))
    assert f"trial 1 of study '{STUDY_2SEEDS}'" in origin and "2 seeds per trial (trial seeds 500-503)" in origin
    assert (
        "this trial (seeds 502 503) scored" in origin and "the mean over its seeds of their last evaluation" in origin
    )

    # trial 1 of each search, validated on the same seeds: two folders, neither overwriting the other
    monkeypatch.setattr(tuned, "run_jobs", fake_run_jobs({seed: 100.0 for seed in range(5)}))
    assert validate(search, tmp_path, 1) == 0
    monkeypatch.setattr(tuned, "run_jobs", fake_run_jobs({seed: 480.0 + seed for seed in range(5)}))
    with pytest.raises(tuned.TuningError, match=r"--seeds \[500\]: validation seeds must be 0 to 499; the search "
                       r"trains trial k with seeds 500 \+ 2k to 500 \+ 2k \+ 1"):  # fmt: skip
        tuned.check_seeds([0, 500], TWO_SEEDS, accept=False)
    assert main(
        "validate", "--row", ROW.key, "--trial", 1, *flag, "--tuning-dir", search_2seeds, "--results", results,
        "--entries", tmp_path / "entries", "--runs-folder", tmp_path / "runs", "--accept", spec=TWO_SEEDS,
    ) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert f"trial 1 of {STUDY_2SEEDS}: mean 482.0 over seeds 0-4" in out and "accepted" in out
    folder = results / "dqn" / "CartPole-v1"
    one_seed = json.loads((tmp_path / "results" / "dqn" / "CartPole-v1" / "300steps-trial1" / "seed4.json").read_text())
    two_seeds = json.loads((folder / "300steps-2seeds-trial1" / "seed4.json").read_text())
    assert (one_seed["final_eval"]["mean"], two_seeds["final_eval"]["mean"]) == (100.0, 484.0)
    assert one_seed["hyperparams"] != two_seeds["hyperparams"]  # each trial's own settings
    entries = (tmp_path / "entries" / "dqn.yml").read_text()
    assert "2 seeds per trial" in entries and "results/dqn/CartPole-v1/300steps-2seeds-trial1/." in entries

    # the report lists both searches and both trials 1, and says which search the accepted entry came from
    rl_zoo = {ROW.key: [(0, 43.8), (1, 500.0), (2, 258.7)]}
    lines = tuned.tuned_section(rl_zoo, results, tmp_path / "entries")
    line = next(line for line in lines if line.startswith("| dqn:CartPole-v1 |"))
    search_cell, trials_cell, status = line.split(" | ")[3:6]
    one, two = search_cell.split("<br>")
    shorter = "a shorter budget than the published 50,000; best #"
    assert one.startswith(f"2 trials of 300 steps (2 complete, 0 pruned, 0 failed), one seed each, {shorter}")
    assert two.startswith("2 trials of 2 seeds x 300 steps (2 complete, 0 pruned, 0 failed), scored by the mean")
    assert trials_cell == (
        "trial 1 (300-step search): 100.0 (seeds 0-4: 100.0, 100.0, 100.0, 100.0, 100.0) at 300 steps (published: "
        "50,000), FAIL<br>trial 1 (300-step 2-seed search): 482.0 (seeds 0-4: 480.0, 481.0, 482.0, 483.0, 484.0) at "
        "300 steps (published: 50,000), pass, accepted"
    )
    assert status == "**pass**: `zoo/hyperparams/tuned/dqn.yml` (trial 1 of the 300-step 2-seed search) |"


def test_report_says_what_is_left_of_each_search_of_a_row(tmp_path):
    """DQN CartPole's case: the one-seed search's best trial fell short on fresh seeds; a 3-seed search found
    trials at the threshold that are not validated yet."""
    tuned_dir, cartpole = tmp_path / "results_tuned", find_row("dqn:CartPole-v1")
    run.write_json(tuned_dir / "searches" / "dqn-CartPole-v1.json", search_summary(cartpole, 500.0, [7, 9]))
    three = {**search_summary(cartpole, 470.0, [4, 12]), "seeds_per_trial": 3, "best": {"number": 12, "value": 470.0}}
    run.write_json(tuned_dir / "searches" / "dqn-CartPole-v1-3seeds.json", three)
    for seed, final in enumerate([43.8, 500.0, 9.4, 9.3, 9.3]):
        run.write_json(tuned.tuned_result_path(tuned_dir, cartpole, 9, seed), tuned_result(cartpole, 9, seed, final))
    rl_zoo = {cartpole.key: [(0, 43.8), (1, 500.0), (2, 258.7)]}
    lines = tuned.tuned_section(rl_zoo, tuned_dir, tmp_path / "none")
    line = next(line for line in lines if line.startswith("| dqn:CartPole-v1 |"))
    assert "| trial 9: 114.4 (seeds 0-4: 43.8, 500.0, 9.4, 9.3, 9.3), FAIL |" in line
    assert "<br>30 trials of 3 seeds x 50,000 steps (25 complete" in line and "best #12: 470.0; 2 at or above" in line
    assert line.endswith("| validation not run yet (3-seed search) |")
    command = "python -m benchmarks.tuned validate --row dqn:CartPole-v1 --trial 12 --trial-seeds 3 --seeds 0 1 2 3 4"
    assert f"- dqn:CartPole-v1: `{command}`" in lines

    # two seeds of the 3-seed search's trial 12 so far: its own folder, its own command to go on
    for seed in (0, 1):
        result = tuned_result(cartpole, 12, seed, 480.0)
        run.write_json(tuned.tuned_result_path(tuned_dir, cartpole, 12, seed, n_seeds=3), result)
    assert sorted(tuned.load_tuned_results(tuned_dir)[cartpole.key]) == [(None, 1, 9), (None, 3, 12)]
    lines = tuned.tuned_section(rl_zoo, tuned_dir, tmp_path / "none")
    line = next(line for line in lines if line.startswith("| dqn:CartPole-v1 |"))
    assert "FAIL<br>trial 12 (3-seed search): 480.0 (seeds 0 1: 480.0, 480.0), incomplete |" in line
    assert line.endswith("| validation running |") and f"- dqn:CartPole-v1: `{command}`" in lines

    # every search done and nothing met the threshold: one verdict for the row
    for seed in range(5):
        result = tuned_result(cartpole, 12, seed, 200.0)
        run.write_json(tuned.tuned_result_path(tuned_dir, cartpole, 12, seed, n_seeds=3), result)
    lines = tuned.tuned_section(rl_zoo, tuned_dir, tmp_path / "none")
    line = next(line for line in lines if line.startswith("| dqn:CartPole-v1 |"))
    assert line.endswith("| no setting found meets the threshold |") and "Still to run:" not in lines


# ---------------------------------------------------------------- searches at a shorter budget than the published one

TD3 = find_row("td3:MountainCarContinuous-v0")  # published budget 300k, threshold about 63.5


def test_a_shorter_budget_search_has_its_own_study_and_files():
    short, both = tuned.SearchSpec(n_timesteps=50_000), tuned.SearchSpec(n_timesteps=50_000, trial_seeds=3)
    assert (short.study_name(TD3), both.study_name(TD3)) == (
        "td3-MountainCarContinuous-v0-50000steps", "td3-MountainCarContinuous-v0-50000steps-3seeds"
    )  # fmt: skip
    # the command the TD3 MountainCarContinuous search at 50k steps per trial runs with, as given to zoo.train
    assert " ".join(short.command(TD3)) == (
        "python -m zoo.train --algo td3 --env MountainCarContinuous-v0 -n 50000 -optimize --n-trials 30 "
        "--max-total-trials 30 --sampler tpe --pruner median --seed 1000 --storage sqlite:///benchmarks/runs/tuning/td3-MountainCarContinuous-v0-50000steps"
        ".db --study-name td3-MountainCarContinuous-v0-50000steps --optimization-log-path "
        "benchmarks/runs/tuning/td3-MountainCarContinuous-v0-50000steps --num-threads 1 --eval-episodes 10 "
        "--no-optim-plots"
    )
    assert "-n 50000 -optimize" in " ".join(both.command(TD3)) and "--trial-seeds 3" in " ".join(both.command(TD3))
    assert (short.budget(TD3), short.published_budget(TD3), tuned.SearchSpec().budget(TD3)) == (
        50_000,
        300_000,
        300_000,
    )
    assert short.storage_path(TD3).name == "td3-MountainCarContinuous-v0-50000steps.db"
    assert short.log_path(TD3).name == "td3-MountainCarContinuous-v0-50000steps"
    assert tuned.candidate_path(TD3, 7, spec=both).name == "td3-MountainCarContinuous-v0-50000steps-3seeds-trial7.yml"
    assert tuned.search_summary_path(TD3, spec=short).name == "td3-MountainCarContinuous-v0-50000steps.json"
    folders = [tuned.tuned_result_path("r", TD3, 7, 0, n_seeds, steps).parent.name
               for steps in (None, 50_000) for n_seeds in (1, 3)]  # fmt: skip
    assert folders == ["trial7", "3seeds-trial7", "50000steps-trial7", "50000steps-3seeds-trial7"]
    assert all(tuned.TRIAL_FOLDER.fullmatch(folder) for folder in folders)
    with pytest.raises(tuned.TuningError, match="n_timesteps must be at least 1"):
        tuned.SearchSpec(n_timesteps=0)


def test_the_budget_flag_prints_the_search_and_refuses_a_budget_not_below_the_published_one(capsys):
    row = ["--row", TD3.key]
    assert tuned.main(["search-command", *row, "--n-timesteps", "50000", "--trial-seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "--env MountainCarContinuous-v0 -n 50000 -optimize" in out
    assert (
        "--trial-seeds 2 --storage sqlite:///benchmarks/runs/tuning/td3-MountainCarContinuous-v0-50000steps-2seeds.db"
        in out
    )
    assert tuned.main(["search-command", *row, "--n-timesteps", "300000"]) == 2
    err = capsys.readouterr().err
    assert "--n-timesteps 300000 is the published budget of td3:MountainCarContinuous-v0" in err
    assert "leave the flag out to search at it (study 'td3-MountainCarContinuous-v0')" in err
    assert tuned.main(["candidate", *row, "--trial", "0", "--n-timesteps", "400000"]) == 2
    assert "is above the published budget of td3:MountainCarContinuous-v0 (300000 steps)" in capsys.readouterr().err
    for command in ("search-command", "search-summary", "candidate", "validate"):
        trial = ["--trial", "0"] if command in ("candidate", "validate") else []
        for value, message in [("0", "--n-timesteps must be at least 1"), ("5e4", "invalid int value: '5e4'")]:
            with pytest.raises(SystemExit):
                tuned.main([command, *row, *trial, "--n-timesteps", value])
            assert message in capsys.readouterr().err


def test_a_study_of_another_budget_is_refused(search, tmp_path, capsys):
    import optuna

    source = f"sqlite:///{search / f'{STUDY}.db'}"
    for name in ("dqn-CartPole-v1", "dqn-CartPole-v1-200steps"):  # the study a 300-step search is not
        target = f"sqlite:///{tmp_path / f'{name}.db'}"
        optuna.copy_study(from_study_name=STUDY, from_storage=source, to_storage=target, to_study_name=name)
    published = dataclasses.replace(TINY, n_timesteps=None)
    assert main("search-summary", "--row", ROW.key, "--tuning-dir", tmp_path, spec=published) == 2
    assert "'dqn-CartPole-v1' in " in (err := capsys.readouterr().err)
    assert (
        "trained each trial for 300 steps, not 50,000 (the published budget is 50,000): pass --n-timesteps 300" in err
    )
    assert main("candidate", "--row", ROW.key, "--trial", 0, "--n-timesteps", 200, "--tuning-dir", tmp_path) == 2
    assert "trained each trial for 300 steps, not 200 (the published budget is 50,000): pass --n-timesteps 300" in (
        capsys.readouterr().err
    )
    # a study recorded at the published budget, read as a shorter one
    study = optuna.load_study(
        study_name="dqn-CartPole-v1-200steps", storage=f"sqlite:///{tmp_path / 'dqn-CartPole-v1-200steps.db'}"
    )
    study.set_user_attr("search", {**study.user_attrs["search"], "n_timesteps": 50_000})
    assert main("search-summary", "--row", ROW.key, "--n-timesteps", 200, "--tuning-dir", tmp_path) == 2
    assert "trained each trial for 50,000 steps, not 200 (the published budget is 50,000): leave out --n-timesteps" in (
        capsys.readouterr().err
    )


def test_report_shows_a_shorter_budget_search_and_its_validation_at_that_budget(tmp_path):
    tuned_dir = tmp_path / "results_tuned"
    summary = {**search_summary(TD3, 93.0, [3]), "steps_per_trial": 50_000, "published_budget": 300_000}
    run.write_json(tuned_dir / "searches" / "td3-MountainCarContinuous-v0-50000steps.json", summary)
    rl_zoo = {TD3.key: [(0, 93.7), (1, -99.9), (2, 93.7)]}
    lines = tuned.tuned_section(rl_zoo, tuned_dir, tmp_path / "none")
    line = next(line for line in lines if line.startswith("| td3:"))
    assert "| 30 trials of 50,000 steps (25 complete, 4 pruned, 1 failed), one seed each, a shorter budget than the " \
        "published 300,000; best #7: 93.0; 1 at or above the threshold | - |" in line  # fmt: skip
    assert line.endswith("| validation not run yet (50,000-step search) |")
    command = f"python -m benchmarks.tuned validate --row {TD3.key} --trial 7 --n-timesteps 50000"
    assert f"- {TD3.key}: `{command} --seeds 0 1 2 3 4`" in lines

    for seed in range(5):
        result = {**tuned_result(TD3, 7, seed, 90.0 + seed), "n_timesteps": 50_000}
        run.write_json(tuned.tuned_result_path(tuned_dir, TD3, 7, seed, n_timesteps=50_000), result)
    smoke = {**tuned_result(TD3, 7, 0, 0.0), "n_timesteps": 1_000}  # a smoke test in the same folder: left out
    run.write_json(tuned.tuned_result_path(tuned_dir, TD3, 7, 5, n_timesteps=50_000), smoke)
    assert list(tuned.load_tuned_results(tuned_dir)[TD3.key]) == [(50_000, 1, 7)]
    lines = tuned.tuned_section(rl_zoo, tuned_dir, tmp_path / "none")
    line = next(line for line in lines if line.startswith("| td3:"))
    assert "| trial 7 (50,000-step search): 92.0 (seeds 0-4: 90.0, 91.0, 92.0, 93.0, 94.0) at 50,000 steps " \
        "(published: 300,000), pass |" in line  # fmt: skip
    assert line.endswith("| **pass** (trial 7 of the 50,000-step search), not accepted yet |")
    assert f"- {TD3.key}: `{command} --seeds 0-4 --accept`" in lines

    # a stopped search goes on with its own budget and study
    stopped = {**summary, "trials": {"total": 2, "complete": 1, "pruned": 0, "failed": 1, "running": 0}}
    stopped["at_or_above_threshold"] = []
    run.write_json(tuned_dir / "searches" / "td3-MountainCarContinuous-v0-50000steps.json", stopped)
    shutil.rmtree(tuned_dir / "td3")
    lines = tuned.tuned_section(rl_zoo, tuned_dir, tmp_path / "none")
    todo = next(line for line in lines if line.startswith(f"- {TD3.key}: `python -m zoo.train"))
    assert "-n 50000 -optimize" in todo and "--study-name td3-MountainCarContinuous-v0-50000steps " in todo

    # a finished shorter search that found nothing: the search at the published budget is still owed
    done = {**stopped, "trials": {"total": 30, "complete": 29, "pruned": 0, "failed": 1, "running": 0}}
    run.write_json(tuned_dir / "searches" / "td3-MountainCarContinuous-v0-50000steps.json", done)
    lines = tuned.tuned_section(rl_zoo, tuned_dir, tmp_path / "none")
    line = next(line for line in lines if line.startswith("| td3:"))
    assert line.endswith(
        "| no setting found meets the threshold (50,000-step search); search at the published budget not run yet |"
    )
    (todo,) = [line for line in lines if line.startswith(f"- {TD3.key}: ")]
    assert "-optimize" in todo and "-n 50000" not in todo and "--study-name td3-MountainCarContinuous-v0 " in todo
