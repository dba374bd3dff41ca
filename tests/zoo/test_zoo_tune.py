"""`python -m zoo.train ... -optimize`: studies shared through storages by several processes, failed and pruned
trials, the best entry written back as a zoo entry, and the per-algorithm search spaces."""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np
import optuna
import pytest
import yaml
from optuna.trial import TrialState

from baselines3 import DQN
from zoo import checkpoints, runs, search_spaces, tune
from zoo.config import algorithm_class, load_experiment, parse_policy_kwargs
from zoo.search_spaces import SearchContext, policy_kwargs_text, sample_hyperparams
from zoo.train import action_noise, main

# A2C on CartPole with 2 envs, 128 steps and 2 one-episode evaluations per trial: about a second a trial.
# Optuna's plots are left out (--no-optim-plots) but where a test looks at them.
TINY = ["--algo", "a2c", "--env", "CartPole-v1", "-n", "128", "-params", "n_envs:2", "-optimize",
        "--n-evaluations", "2", "--eval-episodes", "1", "--verbose", "0", "--no-optim-plots"]  # fmt: skip


def results_folder(tmp_path, study_name, algo="a2c", env="CartPole-v1"):
    return tmp_path / "logs" / algo / f"{env}_optimize_{study_name}"


def check_best_entry(folder, study, algo="a2c", env="CartPole-v1"):
    """best_hyperparams.yml is a zoo entry: load_experiment reads it, with the best trial's values in it."""
    path = folder / "best_hyperparams.yml"
    experiment = load_experiment(algo, env, conf_file=path)
    best = study.best_trial.user_attrs["zoo_params"]
    entry = yaml.safe_load(path.read_text())[env]
    assert entry == {**entry, **best}
    assert experiment.n_envs == 2 and experiment.policy == "MlpPolicy"
    assert experiment.raw["n_timesteps"] == 500_000  # the entry's full budget (a2c.yml), as an int
    assert experiment.algo_kwargs["gamma"] == best["gamma"]
    assert experiment.algo_kwargs["policy_kwargs"] == parse_policy_kwargs(best["policy_kwargs"])
    search = study.user_attrs["search"]  # the trials' settings stay with the study, for reports
    assert search["n_timesteps"] == 128 and search["n_evaluations"] == 2 and search["eval_episodes"] == 1
    return experiment


@contextlib.contextmanager
def postgresql_server():
    """A throwaway PostgreSQL server on 127.0.0.1 (a free port, trust authentication, data in a temporary folder
    removed afterwards), with a database `optuna`; yields its URL. Skips the test, saying why, where the server or
    its driver is missing."""
    pytest.importorskip("psycopg", reason='PostgreSQL storage needs "psycopg[binary]" (the tests extra installs it)')
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    initdb = shutil.which("initdb") or (os.path.join(bins[-1], "initdb") if bins else None)
    if initdb is None or not os.path.exists(initdb):
        pytest.skip("no PostgreSQL server here (Debian: apt-get install postgresql; .ci/run installs it)")
    bin_dir = os.path.dirname(os.path.realpath(initdb))  # initdb, pg_ctl and createdb live together there
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres system user
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        as_user = ["runuser", "-u", "postgres", "--"]
    # not under pytest's tmp_path: its parent folders are private to root, and the server's user must reach it
    folder = pathlib.Path(tempfile.mkdtemp(prefix="baselines3-postgresql-"))
    if as_user:
        shutil.chown(folder, "postgres")
    data, socket_dir = folder / "data", folder
    with socket.socket() as probe:  # a free port on the loopback interface
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    quiet = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run([*as_user, f"{bin_dir}/initdb", "-D", str(data), "-A", "trust", "-U", "optuna"], **quiet)
    options = f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1"
    start = [*as_user, f"{bin_dir}/pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w"]
    subprocess.run([*start, "start"], **quiet)
    try:
        subprocess.run(
            [*as_user, f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "optuna", "optuna"], **quiet
        )
        yield f"postgresql://optuna@127.0.0.1:{port}/optuna"
    finally:
        subprocess.run([*as_user, f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"], check=False)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_processes_started_together_share_one_study(tmp_path, kind):
    """The distributed tuning of docs/tuning.md: two processes started at once run trials of one shared study in a
    database (an SQLite file, or a real PostgreSQL server as several machines would use)."""
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            storage = f"sqlite:///{tmp_path / 's.db'}"
        else:
            storage = stack.enter_context(postgresql_server())
        processes, logs = _run_together(tmp_path, storage, "shared")
        assert [process.returncode for process in processes] == [0, 0], logs
        study = optuna.load_study(study_name="shared", storage=storage)
        assert sorted(trial.number for trial in study.trials) == [0, 1, 2, 3]
        assert all(trial.state in (TrialState.COMPLETE, TrialState.PRUNED) for trial in study.trials)
        by_process = [trial.user_attrs["pid"] for trial in study.trials]
        assert sorted(by_process) == sorted(2 * [process.pid for process in processes])  # two from each
        folder = results_folder(tmp_path, "shared")
        assert "4 trials" in "".join(logs)  # the process that finished last saw all four
        check_best_entry(folder, study)
        assert (folder / "trials.csv").read_text().count("\n") >= 5  # header and 4 rows


def _run_together(tmp_path, storage, study_name):
    """Start two tuning processes on one study at once, wait for both; (processes, their outputs)."""
    command = [sys.executable, "-m", "zoo.train", *TINY, "--n-trials", "2", "--storage", storage,
               "--study-name", study_name, "-f", str(tmp_path / "logs")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # two processes on two cores
    with contextlib.ExitStack() as stack:  # output to files, not pipes: neither process can block on it
        outs = [stack.enter_context(open(tmp_path / f"out{index}.txt", "w")) for index in range(2)]
        processes = [
            subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, env=env) for out in outs
        ]
        try:
            for process in processes:
                process.wait(timeout=300)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
    return processes, [(tmp_path / f"out{index}.txt").read_text() for index in range(2)]


def test_journal_file_storage_is_shared_by_successive_runs_and_threads(tmp_path, capsys):
    journal = tmp_path / "tuning" / "study.log"
    common = [*TINY, "--storage", str(journal), "--study-name", "journal", "-f", str(tmp_path / "logs")]
    assert main([*common, "--n-trials", "2", "--n-jobs", "2", "--seed", "1"]) == 0
    assert main([*common, "--n-trials", "1", "--sampler", "random", "--pruner", "none"]) == 0
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name="journal", storage=storage)
    assert sorted(trial.number for trial in study.trials) == [0, 1, 2]
    assert all(trial.state in (TrialState.COMPLETE, TrialState.PRUNED) for trial in study.trials)
    out = capsys.readouterr().out
    assert "3 trials" in out and "Best trial: #" in out
    check_best_entry(results_folder(tmp_path, "journal"), study)
    # --max-total-trials counts the study's trials, whoever ran them: 3 exist, so one more run reaches 4
    assert main([*common, "--n-trials", "5", "--max-total-trials", "4"]) == 0
    assert len(optuna.load_study(study_name="journal", storage=storage).trials) == 4
    assert main([*common, "--n-trials", "5", "--max-total-trials", "4"]) == 0
    assert "already has 4 trials" in capsys.readouterr().out
    assert len(optuna.load_study(study_name="journal", storage=storage).trials) == 4
    # --trial-id: train (no -optimize) with the values trial 2 was run with
    trial = optuna.load_study(study_name="journal", storage=storage).trials[2]
    before_tuning_flags = TINY[: TINY.index("-optimize")]
    training = [*before_tuning_flags, "--verbose", "0", *common[len(TINY) :]]  # the storage and folder flags
    assert main([*training, "--trial-id", "2", "--eval-freq", "-1"]) == 0
    config = yaml.safe_load((tmp_path / "logs" / "a2c" / "CartPole-v1_1" / "CartPole-v1" / "config.yml").read_text())
    assert config["gamma"] == trial.user_attrs["zoo_params"]["gamma"] and config["n_envs"] == 2
    assert main([*training, "--trial-id", "99"]) == 2
    assert "has no trial 99" in capsys.readouterr().err
    assert main([*common, "--trial-id", "2"]) == 2  # with -optimize


def test_sampler_seed_gives_each_process_its_own_proposals(tmp_path):
    """Processes of one shared study with the same --seed would propose the same values; --sampler-seed sets the
    sampler apart and leaves the trials' seeds alone (they follow the trial numbers)."""

    def first_trial(name: str, *flags: str) -> tuple[optuna.trial.FrozenTrial, dict]:
        journal = tmp_path / f"{name}.log"
        flags = ("--storage", str(journal), "--study-name", name, "-f", str(tmp_path / "logs"), *flags)
        assert main([*TINY, "--n-trials", "1", "--sampler", "random", "--pruner", "none", "--seed", "5", *flags]) == 0
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
        study = optuna.load_study(study_name=name, storage=storage)
        return study.trials[0], study.user_attrs["search"]

    same, same_search = first_trial("a")
    again, _ = first_trial("b")
    apart, apart_search = first_trial("c", "--sampler-seed", "6")
    assert same.params == again.params  # same --seed: the same proposal
    assert apart.params != same.params
    assert (same_search["seed"], same_search["sampler_seed"]) == (5, 5)
    assert (apart_search["seed"], apart_search["sampler_seed"]) == (5, 6)
    # a study continued with the same seed draws new values: the sampler's seed is offset by the trials it holds
    _, continued_search = first_trial("a")
    journal = tmp_path / "a.log"
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    second = optuna.load_study(study_name="a", storage=storage).trials[1]
    assert second.params != same.params
    assert continued_search["sampler_seed"] == 6  # 5 + the one trial the study held


def test_a_crashing_trial_is_recorded_as_failed_and_the_study_goes_on(tmp_path, monkeypatch):
    real_sampler = search_spaces.SEARCH_SPACES["a2c"]

    def crash_first(trial, context):
        params = real_sampler(trial, context)
        if trial.number == 0:
            params["n_steps"] = 0  # A2C's constructor raises ValueError, after both envs were built
        return params

    opened, closed = [], []
    real_build_env = runs.build_env

    def tracked_build_env(*args, **kwargs):
        env = real_build_env(*args, **kwargs)
        real_close = env.close
        env.close = lambda: (closed.append(env), real_close())
        opened.append(env)
        return env

    monkeypatch.setitem(search_spaces.SEARCH_SPACES, "a2c", crash_first)
    monkeypatch.setattr(runs, "build_env", tracked_build_env)
    storage = f"sqlite:///{tmp_path / 'crash.db'}"
    assert main([*TINY, "--n-trials", "3", "--storage", storage, "--study-name", "crash", "--pruner", "none",
                 "-f", str(tmp_path / "logs")]) == 0  # fmt: skip

    study = optuna.load_study(study_name="crash", storage=storage)
    assert [trial.state for trial in study.trials] == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    assert "n_steps must be >= 1" in study.trials[0].user_attrs["error"]
    assert len(opened) == 6 and {id(env) for env in closed} == {id(env) for env in opened}  # train + eval, closed
    check_best_entry(results_folder(tmp_path, "crash"), study)
    assert not list((tmp_path / "logs" / "a2c").glob("CartPole-v1_[0-9]*"))  # trials make no run folders


def test_every_trial_failing_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(search_spaces.SEARCH_SPACES, "a2c", lambda trial, context: {"n_steps": 0})
    assert main([*TINY, "--n-trials", "2", "--study-name", "broken", "-f", str(tmp_path / "logs")]) == 1
    assert "all 2 trials of this run failed" in capsys.readouterr().err
    folder = results_folder(tmp_path, "broken")
    assert (folder / "trials.csv").exists() and not (folder / "best_hyperparams.yml").exists()


class PruneAllButTheFirst(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return trial.number > 0


def test_pruned_trials_stop_training_early_and_the_study_goes_on(tmp_path, monkeypatch):
    monkeypatch.setattr(tune, "make_pruner", lambda *args: PruneAllButTheFirst())
    journal = tmp_path / "prune.journal"
    assert main([*TINY, "--n-trials", "3", "--storage", str(journal), "--study-name", "prune",
                 "-f", str(tmp_path / "logs")]) == 0  # fmt: skip
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    trials = optuna.load_study(study_name="prune", storage=storage).trials
    assert [trial.state for trial in trials] == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.PRUNED]
    assert sorted(trials[0].intermediate_values) == [1, 2]  # both evaluations
    assert [sorted(trial.intermediate_values) for trial in trials[1:]] == [[1], [1]]  # stopped at the first


def test_trial_seeds_score_a_trial_by_the_mean_over_its_seeds(tmp_path, monkeypatch):
    """--trial-seeds 3: each trial trains 3 seeds (seed + 3 k + i), reports their evaluations one seed after the
    other, and its value is the mean of the three final evaluations."""
    seen = []
    real_train = tune.Objective._train

    def recording_train(self, trial, experiment, seed, folder, first_report, *rest):
        value = real_train(self, trial, experiment, seed, folder, first_report, *rest)
        seen.append((trial.number, seed, first_report, pathlib.Path(folder).name, value))
        return value

    monkeypatch.setattr(tune.Objective, "_train", recording_train)
    journal = tmp_path / "seeds.journal"
    assert main([*TINY, "--n-trials", "2", "--trial-seeds", "3", "--seed", "10", "--storage", str(journal),
                 "--study-name", "seeds", "-f", str(tmp_path / "logs"), "--pruner", "none",
                 "--optimization-log-path", str(tmp_path / "trials")]) == 0  # fmt: skip
    assert [(number, seed, first) for number, seed, first, _, _ in seen] == [
        (0, 10, 1), (0, 11, 3), (0, 12, 5), (1, 13, 1), (1, 14, 3), (1, 15, 5)
    ]  # fmt: skip
    assert [folder for *_, folder, _ in seen[:3]] == ["seed_10", "seed_11", "seed_12"]
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    study = optuna.load_study(study_name="seeds", storage=storage)
    for trial in study.trials:
        values = [value for number, *_, value in seen if number == trial.number]
        assert trial.user_attrs["seed_values"] == values
        assert trial.value == pytest.approx(sum(values) / 3)
        assert sorted(trial.intermediate_values) == [1, 2, 3, 4, 5, 6]  # 2 evaluations per seed, in turn
    assert study.user_attrs["search"]["trial_seeds"] == 3
    assert (tmp_path / "trials" / "trial_1" / "seed_14" / "evaluations.npz").is_file()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--n-trials", "0"], "--n-trials must be at least 1"),
        (["--n-jobs", "0"], "--n-jobs must be at least 1"),
        (["--max-total-trials", "0"], "--max-total-trials must be at least 1"),
        (["--n-evaluations", "0"], "--n-evaluations must be at least 1"),
        (["--trial-seeds", "0"], "--trial-seeds must be at least 1"),
        (["--n-evaluations", "100"], "more than the 64 steps of each env"),
        (["--storage", "tuning.db"], "neither a database URL"),
        (["--storage", "nosuchdb://host/db"], "cannot be used"),
        (["--env", "NoSuchEnv-v0"], "Unknown env id"),
        (["-params", "no_such_key:1"], "unknown key(s) ['no_such_key']"),
    ],
)
def test_bad_flags_exit_2_with_a_message(tmp_path, capsys, flags, message):
    assert main([*TINY, "-f", str(tmp_path / "logs"), *flags]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "logs").exists()


def test_unknown_choices_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*TINY, "--sampler", "grid"])
    assert exit_info.value.code == 2 and "invalid choice: 'grid'" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("psycopg") is not None, reason="psycopg is installed")
def test_postgresql_storage_without_its_driver_says_what_to_install():
    with pytest.raises(tune.ConfigError, match=r"psycopg\[binary\]"):
        tune.make_storage("postgresql://user:secret@localhost/optuna")


ALGO_ENVS = [("ppo", "CartPole-v1", 2), ("a2c", "CartPole-v1", 2), ("dqn", "CartPole-v1", 1),
             ("sac", "Pendulum-v1", 1), ("td3", "Pendulum-v1", 1), ("ddpg", "Pendulum-v1", 1),
             ("ppo_lstm", "CartPoleNoVel-v1", 2)]  # fmt: skip


@pytest.mark.parametrize("algo, env_id, n_envs", ALGO_ENVS)
def test_each_search_space_gives_entries_that_build_a_model(algo, env_id, n_envs):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0), direction="maximize")
    context = SearchContext(n_envs=n_envs, n_timesteps=1000)
    seen = []
    for _ in range(3):
        trial = study.ask()
        params = sample_hyperparams(algo, trial, context)
        experiment = load_experiment(algo, env_id, overrides={"n_envs": n_envs, **params})
        env = runs.build_env(experiment, n_envs, seed=0)
        try:
            kwargs = dict(experiment.algo_kwargs)
            if "action_noise" in kwargs:
                kwargs["action_noise"] = action_noise(kwargs["action_noise"], env)
            model = algorithm_class(algo)(experiment.policy, env, seed=0, device="cpu", **kwargs)
        finally:
            env.close()
        assert model.gamma == params["gamma"]
        assert model.policy_kwargs["net_arch"] == parse_policy_kwargs(params["policy_kwargs"])["net_arch"]
        if algo in ("ppo", "a2c", "ppo_lstm"):
            assert model.n_steps * n_envs <= 1000  # a rollout fits the budget
        if algo in ("ppo", "ppo_lstm"):
            assert (model.n_steps * n_envs) % model.batch_size == 0 and model.batch_size > 1
        if algo == "ppo_lstm":
            assert model.policy.lstm_hidden_size == parse_policy_kwargs(params["policy_kwargs"])["lstm_hidden_size"]
        if algo in ("dqn", "sac", "td3", "ddpg"):
            assert params["learning_starts"] <= 250 and 1 <= params["train_freq"] <= 100
            assert 1 <= params["gradient_steps"] <= params["train_freq"]
        if algo in ("td3", "ddpg"):
            assert type(model.action_noise).__name__ in ("NormalActionNoise", "OrnsteinUhlenbeckActionNoise")
        seen.append(params)
        study.tell(trial, 0.0)
    assert seen[0] != seen[1]


def test_ppo_rollout_and_minibatch_are_narrowed_to_fit():
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({"n_steps": 2048, "batch_size": 512})
    params = sample_hyperparams("ppo", study.ask(), SearchContext(n_envs=3, n_timesteps=100))
    assert (params["n_steps"], params["batch_size"]) == (32, 96)  # 32 steps * 3 envs <= 100; 96 divides 96
    study.enqueue_trial({"n_steps": 16, "batch_size": 32})
    params = sample_hyperparams("ppo", study.ask(), SearchContext(n_envs=3, n_timesteps=100_000))
    assert (params["n_steps"], params["batch_size"]) == (16, 24)  # the largest divisor of 48 up to 32


def test_gsde_entries_also_tune_the_initial_log_std():
    trial = optuna.create_study().ask()
    params = sample_hyperparams("sac", trial, SearchContext(use_sde=True))
    assert -4.0 <= parse_policy_kwargs(params["policy_kwargs"])["log_std_init"] <= 1.0
    plain = sample_hyperparams("sac", optuna.create_study().ask(), SearchContext())
    assert "log_std_init" not in parse_policy_kwargs(plain["policy_kwargs"])


@pytest.mark.parametrize("name", ["tpe", "random", "cmaes"])
def test_every_sampler_explores_the_search_space(name):
    sampler = tune.make_sampler(name, n_startup_trials=2, seed=0)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    rates = []
    for index in range(6):
        trial = study.ask()
        params = sample_hyperparams("ppo", trial, SearchContext(n_envs=2, n_timesteps=10_000))
        rates.append(params["learning_rate"])
        study.tell(trial, float(index % 3))
    assert len(set(rates)) == 6 and all(1e-5 <= rate <= 1e-2 for rate in rates)


def test_pruners():
    assert isinstance(tune.make_pruner("median", 5, 9), optuna.pruners.MedianPruner)
    assert isinstance(tune.make_pruner("halving", 5, 9), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(tune.make_pruner("none", 5, 9), optuna.pruners.NopPruner)


def test_policy_kwargs_are_written_so_the_zoo_reads_them_back():
    from torch import nn

    kwargs = {"net_arch": {"pi": [64], "vf": [64, 64]}, "activation_fn": nn.ReLU, "log_std_init": -2.5,
              "ortho_init": False, "features": (8,), "odd key": None}  # fmt: skip
    assert parse_policy_kwargs(policy_kwargs_text(kwargs)) == kwargs
    with pytest.raises(ValueError, match="cannot write"):
        policy_kwargs_text({"optimizer": object()})


def test_sampled_policy_kwargs_keep_the_entrys_other_keys():
    entry = {"policy_kwargs": "dict(ortho_init=False, lstm_hidden_size=64, net_arch=[32])"}
    params = {"gamma": 0.99, "policy_kwargs": "dict(net_arch=[256, 256], activation_fn=nn.Tanh)"}
    merged = parse_policy_kwargs(tune.with_entry_kwargs(params, entry)["policy_kwargs"])
    assert merged["lstm_hidden_size"] == 64 and merged["ortho_init"] is False and merged["net_arch"] == [256, 256]
    assert tune.with_entry_kwargs(params, {}) == params


def test_default_study_name_and_folder_are_safe_names():
    assert tune.default_study_name("ppo", "ALE/Pong-v5") == "ppo-ALE-Pong-v5"
    folder = tune.output_folder("logs", "ppo", "ALE/Pong-v5", "my study/1")
    assert folder.as_posix() == "logs/ppo/ALE-Pong-v5_optimize_my-study-1"


def test_database_storage_fails_the_trials_of_a_dead_process(tmp_path, monkeypatch):
    monkeypatch.setattr(tune, "HEARTBEAT_INTERVAL_S", 1)
    monkeypatch.setattr(tune, "HEARTBEAT_GRACE_S", 1)
    storage = tune.make_storage(f"sqlite:///{tmp_path / 'study.db'}")
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    orphan = study.ask()  # its process "dies": the trial stays RUNNING, its heartbeat stops
    storage.record_heartbeat(orphan._trial_id)
    time.sleep(2.5)
    optuna.storages.fail_stale_trials(study)  # what the next process does before its own trial
    assert study.trials[0].state == TrialState.FAIL
    assert study.trials[1].state == TrialState.WAITING  # queued to run again


def test_a_trial_whose_process_died_runs_again_with_its_settings_and_seed(tmp_path, monkeypatch, capsys):
    """A stopped machine costs a trial its progress, not its place: the next process reruns it (same values, same
    seeds), and --max-total-trials and the report count it once."""
    monkeypatch.setattr(tune, "HEARTBEAT_INTERVAL_S", 1)
    monkeypatch.setattr(tune, "HEARTBEAT_GRACE_S", 1)
    seen = []
    real_train = tune.Objective._train

    def recording_train(self, trial, experiment, seed, *rest):
        seen.append((trial.number, seed, experiment.algo_kwargs["gamma"]))
        return real_train(self, trial, experiment, seed, *rest)

    monkeypatch.setattr(tune.Objective, "_train", recording_train)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    common = [*TINY, "--storage", url, "--study-name", "dead", "--seed", "7", "-f", str(tmp_path / "logs")]
    assert main([*common, "--n-trials", "1"]) == 0
    study = optuna.load_study(study_name="dead", storage=tune.make_storage(url))
    first = study.trials[0]
    gamma = 0.9 if first.params["gamma"] != 0.9 else 0.95  # a value of the search space trial 0 did not use
    values = {**first.params, "gamma": gamma}

    def start_a_trial_whose_process_dies():
        """A trial with `values` starts and its process dies: it stays RUNNING and its heartbeat stops."""
        study = optuna.load_study(study_name="dead", storage=tune.make_storage(url))
        study.enqueue_trial(values, user_attrs={"zoo_params": {**first.user_attrs["zoo_params"], "gamma": gamma}})
        orphan = study.ask()
        sample_hyperparams("a2c", orphan, SearchContext(n_envs=2, n_timesteps=128, use_sde=False, her=False))
        tune.make_storage(url).record_heartbeat(orphan._trial_id)
        time.sleep(2.5)
        seen.clear()

    start_a_trial_whose_process_dies()  # trial 1
    assert main([*common, "--n-trials", "5", "--max-total-trials", "3"]) == 0
    trials = optuna.load_study(study_name="dead", storage=url).trials
    assert [trial.state for trial in trials] == [TrialState.COMPLETE, TrialState.FAIL, *[TrialState.COMPLETE] * 2]
    assert trials[2].params == trials[1].params and trials[2].params["gamma"] == gamma
    # the rerun (trial 2) trains trial 1's seed, 7 + 1; trial 3 its own; then the study holds 3 counted trials
    assert seen == [(2, 8, gamma), (3, 10, trials[3].params["gamma"])]
    assert [trial.number for trial in tune.counted_trials(trials)] == [0, 2, 3]
    assert tune.seed_number(trials[2]) == 1 and tune.seed_number(trials[3]) == 3
    assert "3 trials (3 complete, 0 pruned, 0 failed, 0 running; 1 more cut short" in capsys.readouterr().out

    # the last trial of a capped search dies: run again, the command reruns it instead of finding the cap reached
    start_a_trial_whose_process_dies()  # trial 4, the 4th of a cap of 4
    assert main([*common, "--n-trials", "5", "--max-total-trials", "4"]) == 0
    trials = optuna.load_study(study_name="dead", storage=url).trials
    assert [trial.state for trial in trials[4:]] == [TrialState.FAIL, TrialState.COMPLETE]
    assert seen == [(5, 11, gamma)]  # trial 4's seed, 7 + 4; then the cap of 4 counted trials stops the study
    assert main([*common, "--n-trials", "5", "--max-total-trials", "4"]) == 0
    assert "already has 4 trials" in capsys.readouterr().out


def test_a_dead_trial_is_given_up_only_after_runs_in_a_row_without_a_checkpoint():
    study = optuna.create_study(direction="maximize")
    distribution = optuna.distributions.FloatDistribution(0.0, 1.0)
    first = optuna.create_trial(state=TrialState.FAIL, params={"x": 0.5}, distributions={"x": distribution})
    study.add_trial(first)  # died without a checkpoint
    rerun = tune.RerunDeadTrial(max_stalls=2)

    def die(checkpoints_saved):
        """The newest trial (queued) starts, saves `checkpoints_saved` checkpoints and dies; True if queued again."""
        newest = study.get_trials(deepcopy=False)[-1]
        if newest.state == TrialState.WAITING:
            storage, trial_id = study._storage, newest._trial_id
            storage.set_trial_state_values(trial_id, TrialState.RUNNING)
            storage.set_trial_user_attr(trial_id, "checkpoints_saved", checkpoints_saved)
            storage.set_trial_state_values(trial_id, TrialState.FAIL)
        return rerun.rerun(study, study.get_trials(deepcopy=False)[-1])

    assert [die(0), die(0)] == [True, True]  # two deaths without progress: queued again each time
    assert die(3) and die(0) and die(0)  # progress resets the count
    history = study.get_trials(deepcopy=False)[-1].system_attrs["retry_history"]
    assert not die(0)  # a third death in a row without a checkpoint: given up
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 6 and all(trial.params == {"x": 0.5} for trial in trials)
    assert history == [0, 1, 2, 3, 4] and trials[-1].system_attrs["retry_history"] == history  # left as it was
    assert {tune.seed_number(trial) for trial in trials} == {0}  # every rerun trains the first trial's seeds


# A DQN trial whose values are fixed (enqueued): 400 steps, an evaluation every 100 and a rollout every 4 steps, so
# that a checkpoint follows each evaluation
DQN_VALUES = {"gamma": 0.99, "learning_rate": 1e-3, "batch_size": 16, "buffer_size": 10_000,
              "exploration_final_eps": 0.05, "exploration_fraction": 0.2, "target_update_interval": 1,
              "learning_starts": 0, "train_freq": 4, "subsample_steps": 1, "net_arch": "tiny"}  # fmt: skip


def _resumable_search(tmp_path, *extra):
    """The flags of a one-trial DQN search in an SQLite study with trial folders (checkpoints), its trial queued."""
    url = f"sqlite:///{tmp_path / 'study.db'}"
    optuna.create_study(storage=url, study_name="resume", direction="maximize").enqueue_trial(DQN_VALUES)
    return url, ["--algo", "dqn", "--env", "CartPole-v1", "-n", "400", "-params", "n_envs:1", "-optimize",
                 "--n-evaluations", "4", "--eval-episodes", "1", "--verbose", "0", "--no-optim-plots",
                 "--storage", url, "--study-name", "resume", "--seed", "3", "-f", str(tmp_path / "logs"),
                 "--optimization-log-path", str(tmp_path / "trials"), "--n-trials", "1", *extra]  # fmt: skip


class ProcessKilled(BaseException):
    """Stands for the process being killed: nothing in the search handles it, so its trial stays RUNNING."""


def _interrupt_at(monkeypatch, when, stop=KeyboardInterrupt):
    """Ctrl-C (or `stop`) right after the first trial checkpoint whose manifest satisfies `when`."""
    real_save = checkpoints.save_checkpoint

    def save_then_interrupt(model, run_dir, manifest, **kwargs):
        folder = real_save(model, run_dir, manifest, **kwargs)
        if when(manifest):
            monkeypatch.setattr(checkpoints, "save_checkpoint", real_save)
            raise stop
        return folder

    monkeypatch.setattr(checkpoints, "save_checkpoint", save_then_interrupt)


def _recording_learn(monkeypatch):
    """Record each DQN learn() call of the trials: (steps asked, reset_num_timesteps, steps done, buffer size)."""
    calls = []

    real_learn = DQN.learn

    def recording_learn(self, total_timesteps, *args, reset_num_timesteps=True, **kwargs):
        calls.append((total_timesteps, reset_num_timesteps, self.num_timesteps, self.replay_buffer.size()))
        return real_learn(self, total_timesteps, *args, reset_num_timesteps=reset_num_timesteps, **kwargs)

    monkeypatch.setattr(DQN, "learn", recording_learn)
    return calls


def test_an_interrupted_trial_goes_on_from_its_checkpoint(tmp_path, monkeypatch, capsys):
    """Ctrl-C in a trial queues it to run again; the next search's rerun goes on from the checkpoint saved after its
    last evaluation (model, replay buffer, the evaluations so far) and trains only the steps left."""
    url, flags = _resumable_search(tmp_path)
    _interrupt_at(monkeypatch, lambda manifest: len(manifest["progress"]["values"]) == 2)
    assert main(flags) == 1  # no trial completed
    assert "Trial 0 was interrupted: the next process on this study runs it again" in capsys.readouterr().err
    dead, rerun = optuna.load_study(study_name="resume", storage=url).trials
    assert (dead.state, rerun.state) == (TrialState.FAIL, TrialState.WAITING) and rerun.params == dead.params
    [saved] = checkpoints.checkpoint_folders(tmp_path / "trials" / "trial_0")
    manifest = json.loads((saved / checkpoints.MANIFEST).read_text())
    steps = manifest["steps"]
    assert set(manifest["files"]) == {"model", "replay_buffer"} and 200 <= steps < 300  # after evaluation 2

    calls = _recording_learn(monkeypatch)
    assert main(flags) == 0
    dead, rerun = optuna.load_study(study_name="resume", storage=url).trials
    assert rerun.state == TrialState.COMPLETE
    assert calls == [(400 - steps, False, steps, steps)]  # the steps left, on the checkpoint's model and buffer
    assert sorted(rerun.intermediate_values) == [1, 2, 3, 4]  # the checkpoint's two evaluations, then two more
    assert [rerun.intermediate_values[step] for step in (1, 2)] == [dead.intermediate_values[step] for step in (1, 2)]
    evaluations = np.load(tmp_path / "trials" / "trial_1" / "evaluations.npz")
    assert list(evaluations["timesteps"]) == [100, 200, 300, 400]
    assert rerun.value == pytest.approx(evaluations["results"][-1].mean())
    # nothing big is left: the dead trial's checkpoint is gone, the rerun keeps its result alone
    assert checkpoints.checkpoint_folders(tmp_path / "trials" / "trial_0") == []
    [final] = checkpoints.checkpoint_folders(tmp_path / "trials" / "trial_1")
    assert json.loads((final / checkpoints.MANIFEST).read_text())["files"] == {}


def test_a_trial_whose_process_was_killed_goes_on_from_its_checkpoint(tmp_path, monkeypatch):
    """The heartbeat path: the trial of a killed process stays RUNNING; the next search marks it failed, queues it
    (it had saved a checkpoint, so it has not stalled) and its rerun trains only the steps left."""
    monkeypatch.setattr(tune, "HEARTBEAT_INTERVAL_S", 1)
    monkeypatch.setattr(tune, "HEARTBEAT_GRACE_S", 1)
    url, flags = _resumable_search(tmp_path)
    _interrupt_at(monkeypatch, lambda manifest: len(manifest["progress"]["values"]) == 2, ProcessKilled)
    with pytest.raises(ProcessKilled):
        main(flags)
    [dead] = optuna.load_study(study_name="resume", storage=url).trials
    assert dead.state == TrialState.RUNNING and dead.user_attrs["checkpoints_saved"] == 1  # the second one was cut
    [saved] = checkpoints.checkpoint_folders(tmp_path / "trials" / "trial_0")
    steps = json.loads((saved / checkpoints.MANIFEST).read_text())["steps"]
    time.sleep(2.5)  # no heartbeat for longer than the grace period
    calls = _recording_learn(monkeypatch)
    assert main(flags) == 0
    dead, rerun = optuna.load_study(study_name="resume", storage=url).trials
    assert (dead.state, rerun.state, rerun.system_attrs["stalled_reruns"]) == (TrialState.FAIL, TrialState.COMPLETE, 0)
    assert calls == [(400 - steps, False, steps, steps)] and 200 <= steps < 300
    assert sorted(rerun.intermediate_values) == [1, 2, 3, 4]


def test_the_rerun_of_a_several_seed_trial_keeps_the_seeds_that_finished(tmp_path, monkeypatch):
    url, flags = _resumable_search(tmp_path, "--trial-seeds", "2")
    first_seed = 3 + 0 * 2
    _interrupt_at(monkeypatch, lambda manifest: manifest["seed"] == first_seed + 1)  # in the second seed
    assert main(flags) == 1
    calls = _recording_learn(monkeypatch)
    assert main(flags) == 0
    dead, rerun = optuna.load_study(study_name="resume", storage=url).trials
    assert [call[1] for call in calls] == [False]  # the first seed is not trained again; the second goes on
    assert dead.user_attrs["seed_values"] == rerun.user_attrs["seed_values"][:1]
    assert sorted(rerun.intermediate_values) == list(range(1, 9))
    assert rerun.value == pytest.approx(sum(rerun.user_attrs["seed_values"]) / 2)


def test_a_trial_that_fails_leaves_no_checkpoint_behind(tmp_path, monkeypatch):
    url, flags = _resumable_search(tmp_path)
    _interrupt_at(monkeypatch, lambda manifest: len(manifest["progress"]["values"]) == 2, FloatingPointError("nan"))
    assert main(flags) == 1
    [failed] = optuna.load_study(study_name="resume", storage=url).trials
    assert failed.state == TrialState.FAIL and "FloatingPointError: nan" in failed.user_attrs["error"]
    assert checkpoints.checkpoint_folders(tmp_path / "trials" / "trial_0") == []  # nothing goes on from it
    assert (tmp_path / "trials" / "trial_0" / "evaluations.npz").is_file()  # the run's own files stay


def test_without_trial_checkpoints_a_rerun_starts_from_the_first_step(tmp_path, monkeypatch):
    url, flags = _resumable_search(tmp_path, "--no-trial-checkpoints")
    real_report = optuna.Trial.report

    def report_then_interrupt(trial, value, step):
        real_report(trial, value, step)
        if step == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(optuna.Trial, "report", report_then_interrupt)
    assert main(flags) == 1
    monkeypatch.setattr(optuna.Trial, "report", real_report)
    calls = _recording_learn(monkeypatch)
    assert main(flags) == 0
    assert calls == [(400, True, 0, 0)]  # from the first step
    assert not list((tmp_path / "trials").rglob("checkpoint_*"))


def test_optimization_log_path_and_plots(tmp_path, capsys):
    flags = [*TINY[:-1], "--n-trials", "2", "--seed", "0", "-f", str(tmp_path / "logs")]
    assert main([*flags, "--optimization-log-path", str(tmp_path / "trials")]) == 0
    for number in range(2):
        folder = tmp_path / "trials" / f"trial_{number}"
        names = {path.name for path in folder.iterdir()}
        assert {"config.yml", "evaluations.npz", "best_model.zip", "0.monitor.csv", "1.monitor.csv"} <= names, names
        assert yaml.safe_load((folder / "config.yml").read_text())["env_id"] == "CartPole-v1"
    results = results_folder(tmp_path, "a2c-CartPole-v1")
    for name in ("optimization_history", "param_importances"):
        assert (results / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Tuning plots:" in capsys.readouterr().out


def test_tuning_plots_are_skipped_with_a_message_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    assert main([*TINY[:-1], "--n-trials", "1", "-f", str(tmp_path)]) == 0
    assert "No tuning plots: they need matplotlib" in capsys.readouterr().out
    assert not list(tmp_path.rglob("*.png"))


BIT_FLIPPING = """
import gymnasium

gymnasium.register("BitFlippingHer-v0", entry_point="baselines3.common.envs:BitFlippingEnv",
                   kwargs={"n_bits": 4, "max_steps": 4, "render_mode": None})
"""


def test_her_entries_also_tune_the_relabelling(tmp_path, monkeypatch):
    (tmp_path / "her_envs.py").write_text(BIT_FLIPPING)
    monkeypatch.syspath_prepend(str(tmp_path))
    conf = tmp_path / "dqn.yml"
    conf.write_text(
        "BitFlippingHer-v0:\n"
        "  n_timesteps: 100\n"
        "  policy: MultiInputPolicy\n"
        "  replay_buffer_class: HerReplayBuffer\n"
        "  replay_buffer_kwargs: \"dict(goal_selection_strategy='future', n_sampled_goal=4, copy_info_dict=True)\"\n"
    )
    flags = ["--algo", "dqn", "--env", "BitFlippingHer-v0", "--gym-packages", "her_envs", "-conf", str(conf), "-n",
             "100", "-optimize", "--n-trials", "2", "--n-evaluations", "1", "--eval-episodes", "1", "--verbose", "0",
             "--no-optim-plots", "--seed", "0", "--sampler", "random", "-f", str(tmp_path / "logs")]  # fmt: skip
    assert main(flags) == 0
    best = yaml.safe_load((results_folder(tmp_path, "dqn-BitFlippingHer-v0", "dqn", "BitFlippingHer-v0")
                           / "best_hyperparams.yml").read_text())["BitFlippingHer-v0"]  # fmt: skip
    kwargs = parse_policy_kwargs(best["replay_buffer_kwargs"], key="replay_buffer_kwargs")
    assert 1 <= kwargs["n_sampled_goal"] <= 5 and kwargs["goal_selection_strategy"] in ("final", "episode", "future")
    assert kwargs["copy_info_dict"] is True  # the entry's other keyword is kept
    assert best["replay_buffer_class"] == "HerReplayBuffer"


def test_the_her_sampler_draws_every_strategy_and_only_for_off_policy_algorithms():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    drawn = set()
    for _ in range(12):
        params = sample_hyperparams("sac", study.ask(), SearchContext(her=True))
        kwargs = parse_policy_kwargs(params["replay_buffer_kwargs"], key="replay_buffer_kwargs")
        drawn.add((kwargs["goal_selection_strategy"], kwargs["n_sampled_goal"]))
    assert {strategy for strategy, _ in drawn} == {"final", "episode", "future"}
    assert {n for _, n in drawn} <= {1, 2, 3, 4, 5} and len({n for _, n in drawn}) > 2
    assert "replay_buffer_kwargs" not in sample_hyperparams("sac", optuna.create_study().ask(), SearchContext())
    with pytest.raises(ValueError, match="HerReplayBuffer is a replay buffer of dqn, sac, td3, ddpg, not of 'ppo'"):
        sample_hyperparams("ppo", optuna.create_study().ask(), SearchContext(her=True))
