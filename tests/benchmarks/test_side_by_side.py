"""The side-by-side runs (baselines3 and SB3 on the same zoo entry and budget): planning, checkpoints and resuming,
the shared evaluation, the verdict rule and the report section, and tiny real runs of both libraries that are
stopped part-way and continued."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch

from benchmarks import report, run
from benchmarks import side_by_side as sbs
from zoo.checkpoints import MANIFEST, checkpoint_folders

needs_sb3 = pytest.mark.skipif(importlib.util.find_spec("stable_baselines3") is None, reason="needs SB3")

# ---------------------------------------------------------------- planning


def test_plan_covers_every_row_seed_and_library_with_the_reduced_budgets(tmp_path):
    plan = sbs.make_plan(sbs.DEFAULT_ROWS, [0, 1, 2], list(sbs.LIBRARIES), tmp_path)
    assert len(plan.todo) == 12 * 3 * 2 and not plan.done and not plan.conflicts
    first, second = plan.todo[:2]  # both libraries on the same row and seed next to each other
    assert (first.library, second.library) == ("baselines3", "sb3")
    assert (first.row, first.seed) == (second.row, second.seed) == ("sac:HalfCheetah-v5", 0)
    budgets = {job.algo: job.budget for job in plan.todo}
    assert budgets == {"sac": 200_000, "td3": 200_000, "ppo": 1_000_000, "a2c": 1_000_000}
    assert {job.env for job in plan.todo} == {"HalfCheetah-v5", "Hopper-v5", "Walker2d-v5"}
    assert first.checkpoint_every == 20_000
    assert first.result_path(tmp_path) == tmp_path / "baselines3" / "sac" / "HalfCheetah-v5" / "seed0.json"


def test_plan_skips_finished_runs_and_refuses_to_overwrite_another_budget(tmp_path):
    done = sbs.Job("sb3", "ppo", "Hopper-v5", 1, 1_000_000)
    run.write_json(done.result_path(tmp_path), {"budget": 1_000_000})
    smoke = sbs.Job("baselines3", "ppo", "Hopper-v5", 2, 1_000_000)
    run.write_json(smoke.result_path(tmp_path), {"budget": 500})
    plan = sbs.make_plan(["ppo:Hopper-v5"], [0, 1, 2], ["baselines3", "sb3"], tmp_path)
    assert plan.done == [done]
    assert [job for job, _ in plan.conflicts] == [smoke]
    assert "holds a run of 500 steps, this one trains 1000000" in plan.conflicts[0][1]
    assert len(plan.todo) == 4
    short = sbs.make_plan(["ppo:Hopper-v5"], [2], ["baselines3"], tmp_path, n_timesteps=500)
    assert short.done == [sbs.Job("baselines3", "ppo", "Hopper-v5", 2, 500)]


def test_bad_rows_and_arguments_are_refused(tmp_path, capsys):
    with pytest.raises(ValueError, match="a row is ALGO:ENV"):
        sbs.parse_row("sac-HalfCheetah-v5")
    with pytest.raises(ValueError, match="'her' is not one both libraries have"):
        sbs.parse_row("her:HalfCheetah-v5")
    with pytest.raises(ValueError, match="no entry for 'NoSuchEnv-v0'"):
        sbs.parse_row("sac:NoSuchEnv-v0")
    assert sbs.main(["--rows", "sac:NoSuchEnv-v0", "--results", str(tmp_path)]) == 2
    assert "no entry for 'NoSuchEnv-v0'" in capsys.readouterr().err
    for flag in (["--jobs", "0"], ["--n-timesteps", "0"], ["--seeds", "-1"]):
        with pytest.raises(SystemExit):
            sbs.parse_args(flag)
        assert flag[0] in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sbs.parse_args(["--libs", "sbx"])


def test_dry_run_prints_each_run_and_where_it_starts(tmp_path, capsys):
    job = sbs.Job("sb3", "td3", "Walker2d-v5", 0, 200_000)
    _fake_checkpoint(job.run_dir(tmp_path / "runs"), job, 60_000)
    args = ["--rows", "td3:Walker2d-v5", "--seeds", "0", "--dry-run"]
    assert sbs.main([*args, "--results", str(tmp_path / "results"), "--runs-folder", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "2 run(s) to do, 0 already" in out
    assert "baselines3 td3:Walker2d-v5 seed 0 (200,000 steps, from scratch)" in out
    assert "sb3 td3:Walker2d-v5 seed 0 (200,000 steps, continues from 60,000 steps)" in out
    assert not (tmp_path / "results").exists()


# ---------------------------------------------------------------- checkpoints


def _fake_checkpoint(run_dir, job, steps, files=("model.zip",), write=None, **changes):
    folder = run_dir / f"checkpoint_{steps:012d}"
    folder.mkdir(parents=True)
    for name in write if write is not None else files:
        (folder / name).write_bytes(b"x")
    manifest = {"library": job.library, "algo": job.algo, "env": job.env, "seed": job.seed, "budget": job.budget}
    manifest |= {"steps": steps, "final": False, "segments": [], "files": {name.split(".")[0]: name for name in files}}
    run.write_json(folder / MANIFEST, manifest | changes)
    return folder


def test_resume_picks_the_newest_complete_checkpoint(tmp_path):
    job = sbs.Job("baselines3", "sac", "Hopper-v5", 1, 200_000)
    assert sbs.newest_checkpoint(tmp_path, job) is None
    both = ("model.zip", "replay_buffer.npz")
    _fake_checkpoint(tmp_path, job, 20_000, both)
    _fake_checkpoint(tmp_path, job, 40_000, both)
    _fake_checkpoint(tmp_path, job, 60_000, both, write=("model.zip",))  # stopped before the buffer was saved
    (_fake_checkpoint(tmp_path, job, 80_000, both) / MANIFEST).unlink()  # stopped before the manifest
    _fake_checkpoint(tmp_path, job, 100_000, both, budget=300)  # another budget's run
    _fake_checkpoint(tmp_path, job, 120_000, both, seed=2)  # another seed's run
    (tmp_path / "checkpoint_000000140000").mkdir()
    (tmp_path / "checkpoint_000000140000" / MANIFEST).write_text('{"steps": 14')  # cut mid-write
    found = sbs.newest_checkpoint(tmp_path, job)
    assert found is not None and found.steps == 40_000 and not found.final
    assert found.file("replay_buffer") == tmp_path / "checkpoint_000000040000" / "replay_buffer.npz"
    assert found.file("vecnormalize") is None


class _Model:
    """What save_checkpoint uses of a model, writing marker files."""

    def __init__(self, steps, normalized):
        self.num_timesteps, self.normalized = steps, normalized

    def save(self, path):
        path.write_text("model")

    def save_replay_buffer(self, path):
        path.write_text("buffer")

    def get_vec_normalize_env(self):
        return _Stats() if self.normalized else None


class _Stats:
    def save(self, path):
        open(path, "w").close()


def test_a_checkpoint_holds_what_resuming_needs_and_replaces_the_older_ones(tmp_path):
    api = sbs.library_api("baselines3")
    job = sbs.Job("baselines3", "sac", "Hopper-v5", 0, 1000)
    old = _fake_checkpoint(tmp_path, job, 100)
    folder = sbs.save_checkpoint(api, _Model(200, False), job, tmp_path, [{"from_timestep": 0}], final=False)
    assert not old.exists() and checkpoint_folders(tmp_path) == [folder]
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["files"] == {"model": "model.zip", "replay_buffer": "replay_buffer.npz"}
    assert (manifest["steps"], manifest["final"], manifest["segments"]) == (200, False, [{"from_timestep": 0}])
    final = sbs.save_checkpoint(api, _Model(1000, False), job, tmp_path, [], final=True)
    assert json.loads((final / MANIFEST).read_text())["files"] == {"model": "model.zip"}  # no buffer at the end
    assert sbs.newest_checkpoint(tmp_path, job).final
    ppo = sbs.Job("sb3", "ppo", "Hopper-v5", 0, 1000)
    folder = sbs.save_checkpoint(sbs.library_api("sb3"), _Model(300, True), ppo, tmp_path / "ppo", [], final=False)
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint.json", "model.zip", "vecnormalize.pkl"]


def test_entries_the_harness_cannot_build_alike_are_refused():
    from zoo.config import ConfigError, load_experiment

    experiment = load_experiment("ppo", "CartPole-v1", use_default=False)
    sbs.check_entry(experiment)
    experiment.frame_stack = 4
    with pytest.raises(ConfigError, match="does not support entries with frame_stack"):
        sbs.check_entry(experiment)


# ---------------------------------------------------------------- the shared evaluation


def test_the_evaluation_is_seeded_and_counts_whole_episodes():
    def push(observation):
        return np.array([1.0], dtype=np.float32)

    returns, lengths = sbs.evaluate(push, "Pendulum-v1", 10_003, 3)
    assert lengths == [200, 200, 200] and len(set(returns)) == 3  # the resets after the first go on from the seed
    assert sbs.evaluate(push, "Pendulum-v1", 10_003, 3) == (returns, lengths)
    assert sbs.evaluate(push, "Pendulum-v1", 10_004, 3)[0] != returns


# ---------------------------------------------------------------- tiny real runs, stopped and continued


@pytest.mark.parametrize(
    ("library", "algo", "budget", "stop_after"),
    [
        ("baselines3", "sac", 160, 80),  # replay buffer
        pytest.param("sb3", "sac", 160, 80, marks=needs_sb3),
        ("baselines3", "a2c", 192, 64),  # VecNormalize statistics (8 envs x 8 steps a rollout)
        pytest.param("sb3", "a2c", 192, 64, marks=needs_sb3),
    ],
)
def test_a_stopped_run_continues_from_its_checkpoint(tmp_path, library, algo, budget, stop_after):
    job = sbs.Job(library, algo, "Pendulum-v1", 3, budget)
    results, runs = tmp_path / "results", tmp_path / "runs"
    lines = []
    with pytest.raises(sbs.StopRequested):
        sbs.run_one(job, results, runs, episodes=2, stop_after=stop_after, log=lines.append)
    assert torch.get_num_threads() == 1
    checkpoint = sbs.newest_checkpoint(job.run_dir(runs), job)
    assert checkpoint is not None and checkpoint.steps == stop_after and not checkpoint.final
    kinds = set(checkpoint.manifest["files"])
    assert kinds == ({"model", "replay_buffer"} if algo == "sac" else {"model", "vecnormalize"})
    assert not job.result_path(results).exists()

    result = sbs.run_one(job, results, runs, episodes=2, log=lines.append)
    assert f"{library} {algo}:Pendulum-v1 seed 3: continuing from {stop_after} steps" in "\n".join(lines)
    assert json.loads(job.result_path(results).read_text()) == result
    assert result["library"] == library and result["version"] == sbs.library_api(library).version
    assert (result["algo"], result["env"], result["seed"], result["budget"]) == (algo, "Pendulum-v1", 3, budget)
    assert result["trained_timesteps"] >= budget
    final = result["final_eval"]
    assert final["episodes"] == len(final["returns"]) == 2 and final["env_seed"] == 10_003 and final["deterministic"]
    assert final["mean"] == pytest.approx(np.mean(final["returns"])) and final["lengths"] == [200, 200]
    segments = result["segments"]
    assert [(s["from_timestep"], s["to_timestep"]) for s in segments] == [
        (0, stop_after),
        (stop_after, result["trained_timesteps"]),
    ]
    assert result["train_wall_time_s"] == pytest.approx(sum(s["wall_time_s"] for s in segments), abs=0.05)
    # a baselines3 SAC segment says whether its gradient step ran compiled (these short calls run it eagerly)
    expected = [False, False] if (library, algo) == ("baselines3", "sac") else [None, None]
    assert [s.get("compiled_step") for s in segments] == expected
    assert result["steps_per_s"] > 0 and result["git_commit"] == segments[-1]["git_commit"]
    assert result["command"].endswith(f"--libs {library} --n-timesteps {budget}")
    assert sbs.LIBRARIES[library] in result["versions"] and result["hyperparams"]["n_timesteps"] == budget
    left = checkpoint_folders(job.run_dir(runs))
    assert len(left) == 1 and set(json.loads((left[0] / MANIFEST).read_text())["files"]) <= {
        "model",
        "vecnormalize",
    }  # the final model stays, the replay buffer goes


def test_the_sweep_trains_in_child_processes_resumes_and_lists(tmp_path, capsys):
    args = ["--rows", "a2c:Pendulum-v1", "--seeds", "0", "--libs", "baselines3", "--n-timesteps", "128"]
    args += ["--results", str(tmp_path / "results"), "--runs-folder", str(tmp_path / "runs"), "--eval-episodes", "1"]
    assert sbs.main([*args, "--stop-after", "64"]) == 0
    out = capsys.readouterr().out
    assert "stopped after a checkpoint as asked" in out and "1 run(s) stopped" in out
    assert sbs.main([*args, "--list"]) == 0
    assert "at 64 (50 %)" in capsys.readouterr().out
    assert sbs.main(args) == 0
    assert "[1/1] baselines3 a2c:Pendulum-v1 seed 0: final" in capsys.readouterr().out
    log = (tmp_path / "runs" / "baselines3" / "a2c" / "Pendulum-v1" / "seed0" / "train.log").read_text()
    assert "continuing from 64 steps" in log
    assert sbs.main(args) == 0
    assert "0 run(s) to do, 1 already" in capsys.readouterr().out
    assert sbs.main([*args, "--list"]) == 0
    assert "done " in capsys.readouterr().out


def test_a_run_another_process_trains_is_skipped_and_its_log_left_alone(tmp_path, capsys):
    job = sbs.Job("baselines3", "a2c", "Pendulum-v1", 0, 128)
    runs = tmp_path / "runs"
    assert not sbs.lock_held(job.run_dir(runs), job)
    with sbs.run_lock(job.run_dir(runs), job):  # another sweep's run: the lock is taken per open file
        assert sbs.lock_held(job.run_dir(runs), job)
        assert sbs.run_jobs([job], tmp_path / "results", runs, 1, 1, None) == (0, [])
    assert "seed 0: skipped, another process is training it" in capsys.readouterr().out
    assert not (job.run_dir(runs) / "train.log").exists()
    assert not sbs.lock_held(job.run_dir(runs), job)


def test_estimate_times_training_steps_after_the_warm_up():
    found = sbs.estimate(sbs.Job("baselines3", "a2c", "Pendulum-v1", 0, 1_000_000), 64)
    assert found["row"] == "a2c:Pendulum-v1" and found["steps_per_s"] > 0 and found["cpu_steps_per_s"] > 0
    assert found["hours"] == pytest.approx(1_000_000 / found["steps_per_s"] / 3600)
    assert found["cpu_hours"] == pytest.approx(1_000_000 / found["cpu_steps_per_s"] / 3600)


def test_child_processes_run_at_one_thread():
    assert run.child_env()["OMP_NUM_THREADS"] == "1"
    command = sbs.child_command(sbs.Job("sb3", "sac", "Hopper-v5", 2, 200_000), "r", "f", 10, None)
    assert command[1:] == [
        *["-m", "benchmarks.side_by_side", "--child", "sb3", "sac", "Hopper-v5", "2", "200000"],
        *["--results", "r", "--runs-folder", "f", "--eval-episodes", "10"],
    ]


# ---------------------------------------------------------------- verdict and report


def test_verdict_is_ours_iqm_against_sb3s_iqm_less_half_its_interval():
    sb3 = [3000.0, 3100.0, 3200.0]  # 95 % interval of the IQM: [3000, 3200], half-width 100
    close = report.side_by_side_verdict([3000.0, 3000.0, 3050.0], sb3)  # IQM 3016.7 >= 3100 - 100
    assert close.status == "pass"
    assert close.difference == pytest.approx(-83.333, abs=1e-3) and close.margin == pytest.approx(100.0)
    assert report.side_by_side_verdict([2980.0, 2990.0, 3000.0], sb3).status == "FAIL"  # 2990 < 3000
    assert report.side_by_side_verdict([2900.0, 3000.0, 3100.0], sb3).status == "pass"  # exactly 3000
    assert report.side_by_side_verdict([5000.0, 6000.0, 7000.0], sb3).status == "pass"  # above
    assert report.side_by_side_verdict([3000.0, 3100.0], sb3).status == "running"  # 2 seeds: not judged
    assert report.side_by_side_verdict([], sb3[:1]).status == "running"
    assert report.side_by_side_verdict([], []).status == "not started"
    # SB3 all alike: no spread, so any shortfall fails
    assert report.side_by_side_verdict([99.0, 100.0, 100.0], [100.0, 100.0, 100.0]).status == "FAIL"


def _result(library, algo, env, seed, final, budget, segments=1):
    return {
        "schema": 1, "library": library, "version": "2.9.2" if library == "sb3" else "0.1.0", "algo": algo,
        "env": env, "seed": seed, "budget": budget, "final_eval": {"mean": final}, "steps_per_s": 50.0 + seed,
        "segments": [{"from_timestep": 0}] * segments,
    }  # fmt: skip


@pytest.fixture
def side_results(tmp_path):
    folder = tmp_path / "results_side_by_side"
    finals = {
        ("sac", "HalfCheetah-v5", 200_000): ([3000, 3000, 3050], [3000, 3100, 3200]),  # pass
        ("td3", "HalfCheetah-v5", 200_000): ([2800, 2900, 2950], [3000, 3100, 3200]),  # FAIL
        ("ppo", "Hopper-v5", 1_000_000): ([1500, 1600], [1400, 1700, 1800]),  # ours: seed 2 missing
    }
    for (algo, env, budget), sides in finals.items():
        for library, scores in zip(("baselines3", "sb3"), sides):
            for seed, final in enumerate(scores):
                job = sbs.Job(library, algo, env, seed, budget)
                run.write_json(job.result_path(folder), _result(library, algo, env, seed, final, budget, 1 + seed % 2))
    smoke = sbs.Job("sb3", "a2c", "Hopper-v5", 0, 500)
    run.write_json(smoke.result_path(folder), _result("sb3", "a2c", "Hopper-v5", 0, 12.0, 500))
    return folder


def test_report_section_table_verdicts_and_commands(side_results):
    lines = report.side_by_side_section(side_results)
    assert lines[0] == report.SIDE_BY_SIDE_START and lines[-2] == report.SIDE_BY_SIDE_END
    text = "\n".join(lines)
    assert "## Same budget, side by side" in text and "`IQM(baselines3) >= IQM(SB3) - h`" in text
    assert "| baselines3 IQM [95 % CI] | SB3 2.9.2 IQM [95 % CI] |" in text

    def line(prefix):
        return next(x for x in lines if x.startswith(prefix))

    sac = line("| SAC | HalfCheetah-v5 | 200k |")
    assert "| 3,016.7 [3,000.0, 3,050.0] | 3,100.0 [3,000.0, 3,200.0] | 0 1 2 / 0 1 2 |" in sac
    assert "| -83.3 (100.0) | 51 / 51 | **pass** |" in sac
    assert line("| TD3 | HalfCheetah-v5 | 200k |").endswith("| -216.7 (100.0) | 51 / 51 | **FAIL** |")
    ppo = line("| PPO | Hopper-v5 | 1M |")
    assert "| 1,550.0 CI n/a |" in ppo and "| 0 1 / 0 1 2 | - |" in ppo and ppo.endswith("| running |")
    assert line("| A2C | Hopper-v5 | 1M |").endswith("| - | - / - | not started |")
    # SAC: ours 3050 beats two of SB3's three, each 3000 ties one (2 of 9); TD3: none (0 of 9); mean 1/9
    assert line("**1 of 2 judged rows pass.**").split("): ")[1].startswith("**0.11** [")
    assert "- ppo:Hopper-v5 (running): `python -m benchmarks.side_by_side --rows ppo:Hopper-v5 --seeds 2 --libs " \
           "baselines3`" in text  # fmt: skip
    not_started = line("- not started: ")
    assert "--rows sac:Hopper-v5 sac:Walker2d-v5 td3:Hopper-v5" in not_started
    assert "sac:HalfCheetah-v5" not in not_started and not_started.endswith("--seeds 0 1 2 --libs baselines3 sb3`")
    assert "- sb3 a2c:Hopper-v5 seed 0: trained 500 steps, not the side-by-side budget 1,000,000" in text
    assert "baselines3 0.1.0 (8 runs), sb3 2.9.2 (9 runs); 6 of them stopped and continued" in text


def test_report_rejects_a_file_that_is_not_a_side_by_side_result(tmp_path):
    run.write_json(tmp_path / "sb3" / "sac" / "Hopper-v5" / "seed0.json", {"algo": "sac"})
    with pytest.raises(ValueError, match="not a side-by-side result: missing"):
        report.load_side_by_side(tmp_path)


def test_the_section_alone_is_rewritten_in_place(tmp_path, side_results):
    page = tmp_path / "benchmarks.md"
    before, after = "# Benchmarks\n\n## Results\n\n| table |\n\n", "## Aggregate\n\n![plot](img/a.png)\n"
    page.write_text(before + after)
    report.update_side_by_side(page, tmp_path / "nothing yet")
    first = page.read_text()
    assert first.startswith(before + report.SIDE_BY_SIDE_START) and first.endswith(
        report.SIDE_BY_SIDE_END + "\n\n" + after
    )
    assert "No side-by-side results counted yet" in first
    rows = report.update_side_by_side(page, side_results)
    second = page.read_text()
    assert second.startswith(before) and second.endswith(after) and second.count(report.SIDE_BY_SIDE_START) == 1
    assert "**FAIL**" in second and "No side-by-side results" not in second
    assert {row.key: row.verdict.status for row in rows}["sac:HalfCheetah-v5"] == "pass"
    report.update_side_by_side(page, side_results)
    assert page.read_text() == second
    with pytest.raises(ValueError, match="no page"):
        report.update_side_by_side(tmp_path / "missing.md", side_results)


def test_the_whole_page_holds_the_same_section(tmp_path, side_results, capsys):
    (tmp_path / "results").mkdir()
    page = tmp_path / "docs" / "benchmarks.md"
    report.write_report(tmp_path / "results", page, tmp_path / "img")  # results_side_by_side beside results
    text = page.read_text()
    assert text.index("## Results") < text.index(report.SIDE_BY_SIDE_START) < text.index("## Not run yet")
    report.update_side_by_side(page, side_results)
    assert page.read_text() == text  # rewriting the section alone gives what the whole page has
    code = report.main(["--results", str(tmp_path / "results"), "--output", str(page), "--side-by-side-only"])
    assert code == 0 and "1 pass, 1 FAIL, 10 not complete" in capsys.readouterr().out


def test_a_continued_run_compiles_as_the_whole_run_would(monkeypatch):
    from baselines3.common.fast import compiled

    monkeypatch.setattr(compiled, "_compiler_found", lambda: True)
    long_sac = sbs.Job("baselines3", "sac", "Hopper-v5", 0, compiled.AUTO_MIN_TIMESTEPS)
    short_sac = sbs.Job("baselines3", "sac", "Hopper-v5", 0, compiled.AUTO_MIN_TIMESTEPS - 1)
    long_sb3 = sbs.Job("sb3", "sac", "Hopper-v5", 0, compiled.AUTO_MIN_TIMESTEPS)
    long_ppo = sbs.Job("baselines3", "ppo", "Hopper-v5", 0, compiled.AUTO_MIN_TIMESTEPS)
    previous = compiled.compiled_updates_setting()
    try:
        compiled.set_compiled_updates(None)
        with sbs.compiled_as_uninterrupted(long_sac):  # the automatic setting would compile the whole run
            assert compiled.compiled_updates_setting() is True
        assert compiled.compiled_updates_setting() is None  # restored
        for job in (short_sac, long_sb3, long_ppo):
            with sbs.compiled_as_uninterrupted(job):
                assert compiled.compiled_updates_setting() is None
        monkeypatch.setattr(compiled, "_compiler_found", lambda: False)
        with sbs.compiled_as_uninterrupted(long_sac):  # no compiler: the automatic setting stays eager
            assert compiled.compiled_updates_setting() is None
        monkeypatch.setattr(compiled, "_compiler_found", lambda: True)
        compiled.set_compiled_updates(False)  # an explicit setting wins
        with sbs.compiled_as_uninterrupted(long_sac):
            assert compiled.compiled_updates_setting() is False
        assert compiled.compiled_updates_setting() is False
    finally:
        compiled.set_compiled_updates(previous)
