"""Speed race: baselines3 vs Stable-Baselines3 on the same RL Zoo settings, side by side in one run.

    python -m benchmarks.speed                      # every race, 3 seeds, both libraries
    python -m benchmarks.speed --races ppo_cartpole --seeds 0 --libs baselines3

Each (library, race, seed) trains in a fresh subprocess with one torch thread, so neither library's state
affects the other's. Prints training steps/s, the ratio of the means, and the final deterministic return
(10 evaluation episodes, not timed). SB3 must be installed for its side (`pip install stable-baselines3`);
without it only our side runs.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from baselines3.common.save_util import atomic_write_text


@dataclass
class Race:
    algo: str
    env_id: str
    n_envs: int
    total_timesteps: int
    hyperparams: dict[str, Any] = field(default_factory=dict)
    # (start, end) linear schedules by name, built per library
    linear: dict[str, tuple[float, float]] = field(default_factory=dict)
    # sigma of Gaussian action noise (TD3), built per library
    normal_action_noise: float | None = None
    # evaluate every this many steps during training (not timed) and report the best evaluation too
    eval_freq: int | None = None
    policy: str = "MlpPolicy"
    # VecNormalize (observations and rewards) around the training env, as the RL Zoo's `normalize: true`
    normalize: bool = False
    # the SB3 side's algorithm when it lives in sb3-contrib (e.g. "RecurrentPPO")
    sb3_contrib_algo: str | None = None


RACES: dict[str, Race] = {
    # RL Zoo tuned CartPole-v1 settings
    "ppo_cartpole": Race(
        "ppo",
        "CartPole-v1",
        8,
        100_000,
        dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0),
        linear=dict(learning_rate=(1e-3, 0.0), clip_range=(0.2, 0.0)),
    ),
    "a2c_cartpole": Race("a2c", "CartPole-v1", 8, 100_000, dict(ent_coef=0.0)),
    # RL Zoo tuned settings; DQN at 5e4 steps is unstable in both libraries, hence the best evaluation too
    "dqn_cartpole": Race(
        "dqn",
        "CartPole-v1",
        1,
        50_000,
        dict(
            learning_rate=2.3e-3,
            batch_size=64,
            buffer_size=100_000,
            learning_starts=1000,
            gamma=0.99,
            target_update_interval=10,
            train_freq=256,
            gradient_steps=128,
            exploration_fraction=0.16,
            exploration_final_eps=0.04,
            policy_kwargs=dict(net_arch=[256, 256]),
        ),
        eval_freq=5000,
    ),
    "sac_pendulum": Race("sac", "Pendulum-v1", 1, 20_000, dict(learning_rate=1e-3), eval_freq=5000),
    "td3_pendulum": Race(
        "td3",
        "Pendulum-v1",
        1,
        20_000,
        dict(
            gamma=0.98,
            buffer_size=200_000,
            learning_starts=10_000,
            learning_rate=1e-3,
            policy_kwargs=dict(net_arch=[400, 300]),
        ),
        normal_action_noise=0.1,
        eval_freq=5000,
    ),
    # RL Zoo's tuned CartPoleNoVel-v1 LSTM settings; the SB3 side is sb3-contrib's RecurrentPPO
    "ppo_lstm_cartpole_novel": Race(
        "ppo",
        "benchmarks.envs:cartpole_no_velocity",
        8,
        100_000,
        dict(
            n_steps=32,
            batch_size=256,
            gae_lambda=0.8,
            gamma=0.98,
            n_epochs=20,
            ent_coef=0.0,
            policy_kwargs=dict(
                ortho_init=False,
                activation_fn="ReLU",
                lstm_hidden_size=64,
                enable_critic_lstm=True,
                net_arch=dict(pi=[64], vf=[64]),
            ),
        ),
        linear=dict(learning_rate=(1e-3, 0.0), clip_range=(0.2, 0.0)),
        policy="MlpLstmPolicy",
        normalize=True,
        sb3_contrib_algo="RecurrentPPO",
    ),
}


def _env_source(env_id: str) -> Any:
    """A gymnasium id, or "module:function" for an env factory (both libraries' make_vec_env take either)."""
    if ":" in env_id and env_id.split(":", 1)[0].startswith("benchmarks."):
        import importlib

        module, name = env_id.split(":", 1)
        return getattr(importlib.import_module(module), name)
    return env_id


def _library(name: str) -> tuple[Any, Any, Any]:
    """(algorithm module, make_vec_env, evaluate_policy) of a library."""
    if name == "baselines3":
        import baselines3 as lib
        from baselines3.common.env_util import make_vec_env
        from baselines3.common.evaluation import evaluate_policy
    elif name == "sb3":
        import stable_baselines3 as lib  # type: ignore[import-not-found, no-redef]
        from stable_baselines3.common.env_util import make_vec_env  # type: ignore[import-not-found, no-redef, assignment]
        from stable_baselines3.common.evaluation import evaluate_policy  # type: ignore[import-not-found, no-redef, assignment]
    else:
        raise ValueError(f"Unknown library {name!r}; expected 'baselines3' or 'sb3'")
    return lib, make_vec_env, evaluate_policy


def _linear(lib_name: str, start: float, end: float) -> Any:
    if lib_name == "baselines3":
        from baselines3.common.schedules import LinearSchedule

        return LinearSchedule(start, end)
    return lambda progress_remaining: end + progress_remaining * (start - end)


def run_one(lib_name: str, race_name: str, seed: int, total_timesteps: int | None) -> dict[str, Any]:
    """Train one model and return its figures (runs inside the worker subprocess)."""
    import torch

    torch.set_num_threads(1)
    race = RACES[race_name]
    lib, make_vec_env, evaluate_policy = _library(lib_name)
    algo_class = getattr(lib, race.algo.upper())
    if lib_name == "sb3" and race.sb3_contrib_algo:
        import sb3_contrib  # type: ignore[import-not-found]

        algo_class = getattr(sb3_contrib, race.sb3_contrib_algo)
    hyperparams = dict(race.hyperparams)
    for key, (start, end) in race.linear.items():
        hyperparams[key] = _linear(lib_name, start, end)
    if "policy_kwargs" in hyperparams and isinstance(hyperparams["policy_kwargs"].get("activation_fn"), str):
        from torch import nn

        policy_kwargs = dict(hyperparams["policy_kwargs"])
        policy_kwargs["activation_fn"] = getattr(nn, policy_kwargs["activation_fn"])
        hyperparams["policy_kwargs"] = policy_kwargs
    env_source = _env_source(race.env_id)
    env = make_vec_env(env_source, n_envs=race.n_envs, seed=seed)
    vec_normalize_class = None
    if race.normalize:
        vec_normalize_class = _vec_normalize_class(lib_name)
        env = vec_normalize_class(env)
    if race.normal_action_noise is not None:
        import numpy as np

        n_actions = env.action_space.shape[0]
        hyperparams["action_noise"] = _noise_module(lib_name).NormalActionNoise(
            mean=np.zeros(n_actions), sigma=race.normal_action_noise * np.ones(n_actions)
        )
    model = algo_class(race.policy, env, seed=seed, device="cpu", **hyperparams)
    steps = total_timesteps or race.total_timesteps
    eval_env = make_vec_env(env_source, n_envs=1, seed=seed + 10_000)
    if vec_normalize_class is not None:
        # evaluate on unnormalized rewards with the training statistics, frozen
        eval_env = vec_normalize_class(eval_env, training=False, norm_reward=False)
        eval_env.obs_rms = env.obs_rms
    callback, eval_state = None, {"seconds": 0.0, "best": float("-inf")}
    if race.eval_freq:
        callback = _eval_callback(lib_name, eval_env, evaluate_policy, race.eval_freq, eval_state)
    load_before = os.getloadavg()[0]  # recorded so a race run on a busy machine shows it
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    elapsed = time.perf_counter() - start - eval_state["seconds"]  # evaluations are not timed
    mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
    return dict(
        lib=lib_name,
        race=race_name,
        seed=seed,
        steps=model.num_timesteps,
        seconds=elapsed,
        steps_per_second=model.num_timesteps / elapsed,
        final_return=float(mean_return),
        best_return=max(float(mean_return), eval_state["best"]),
        load_average=[load_before, os.getloadavg()[0]],
    )


def _vec_normalize_class(lib_name: str) -> Any:
    if lib_name == "baselines3":
        from baselines3.common.vec_env import VecNormalize
    else:
        from stable_baselines3.common.vec_env import VecNormalize  # type: ignore[import-not-found, no-redef, assignment]
    return VecNormalize


def _noise_module(lib_name: str) -> Any:
    if lib_name == "baselines3":
        from baselines3.common import noise
    else:
        from stable_baselines3.common import noise  # type: ignore[import-not-found, no-redef]
    return noise


def _eval_callback(lib_name: str, eval_env: Any, evaluate_policy: Any, eval_freq: int, state: dict) -> Any:
    """A callback that evaluates every `eval_freq` steps (10 deterministic episodes), keeping the best mean and
    the time spent evaluating (subtracted from the training time)."""
    if lib_name == "baselines3":
        from baselines3.common.callbacks import BaseCallback
    else:
        from stable_baselines3.common.callbacks import BaseCallback  # type: ignore[import-not-found, no-redef, assignment]

    class PeriodicEval(BaseCallback):  # type: ignore[misc, valid-type]
        def _on_step(self) -> bool:
            if self.num_timesteps % eval_freq == 0:
                start = time.perf_counter()
                mean, _ = evaluate_policy(self.model, eval_env, n_eval_episodes=10, deterministic=True)
                state["best"] = max(state["best"], float(mean))
                state["seconds"] += time.perf_counter() - start
            return True

    return PeriodicEval()


def _spawn(lib_name: str, race_name: str, seed: int, total_timesteps: int | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.speed", "--worker", lib_name, race_name, str(seed)]
    if total_timesteps:
        cmd += ["--timesteps", str(total_timesteps)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name} {race_name} seed {seed} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", nargs="+", default=list(RACES), choices=list(RACES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--libs", nargs="+", default=["baselines3", "sb3"], choices=["baselines3", "sb3"])
    parser.add_argument("--timesteps", type=int, default=None, help="override every race's budget")
    parser.add_argument(
        "--json", type=pathlib.Path, default=None, help="also write the races' results to this JSON file"
    )
    parser.add_argument("--worker", nargs=3, metavar=("LIB", "RACE", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        lib_name, race_name, seed = args.worker
        print(json.dumps(run_one(lib_name, race_name, int(seed), args.timesteps)))
        return 0

    libs = list(args.libs)
    if "sb3" in libs and importlib.util.find_spec("stable_baselines3") is None:
        print("stable-baselines3 is not installed: running our side only (pip install stable-baselines3)")
        libs.remove("sb3")
    needs_contrib = any(RACES[name].sb3_contrib_algo for name in args.races)
    if "sb3" in libs and needs_contrib and importlib.util.find_spec("sb3_contrib") is None:
        print("sb3-contrib is not installed: recurrent races run our side only (pip install sb3-contrib)")
    contrib_missing = importlib.util.find_spec("sb3_contrib") is None
    results: list[dict[str, Any]] = []
    for race_name in args.races:
        for seed in args.seeds:
            # alternate libraries seed by seed so drifts in machine load hit both alike
            for lib_name in libs if seed % 2 == 0 else reversed(libs):
                if lib_name == "sb3" and RACES[race_name].sb3_contrib_algo and contrib_missing:
                    continue
                result = _spawn(lib_name, race_name, seed, args.timesteps)
                results.append(result)
                print(
                    f"{race_name:14s} {lib_name:10s} seed {seed}: {result['steps_per_second']:8.0f} steps/s  "
                    f"return {result['final_return']:7.1f}  best evaluation {result['best_return']:7.1f}",
                    flush=True,
                )
    print()
    print(f"{'race':14s} {'library':10s} {'steps/s (mean)':>15s} {'returns':>40s} {'ratio':>7s}")
    for race_name in args.races:
        means = {}
        for lib_name in libs:
            rows = [r for r in results if r["race"] == race_name and r["lib"] == lib_name]
            if not rows:
                continue
            means[lib_name] = statistics.mean(r["steps_per_second"] for r in rows)
            returns = " ".join(f"{r['final_return']:.0f}" for r in rows)
            if any(r["best_return"] > r["final_return"] for r in rows):
                returns += " (best " + " ".join(f"{r['best_return']:.0f}" for r in rows) + ")"
            ratio = ""
            if lib_name == "baselines3" and any(r["race"] == race_name and r["lib"] == "sb3" for r in results):
                sb3_rows = [r for r in results if r["race"] == race_name and r["lib"] == "sb3"]
                ratio = f"{means[lib_name] / statistics.mean(r['steps_per_second'] for r in sb3_rows):.2f}x"
            print(f"{race_name:14s} {lib_name:10s} {means[lib_name]:15.1f} {returns:>40s} {ratio:>7s}")
    if args.json:
        summary = race_summary(results, args.races, args.seeds, args.timesteps)
        atomic_write_text(args.json, json.dumps(summary, indent=1))
    return 0


def race_summary(
    results: list[dict[str, Any]], races: list[str], seeds: list[int], timesteps: int | None
) -> dict[str, Any]:
    """Per race: each library's steps/s and returns per seed, their means and our/SB3 ratio of the means; with
    the raw runs and the versions (read by benchmarks.report)."""
    import platform

    import torch

    summary = []
    for race_name in races:
        entry: dict[str, Any] = {"race": race_name, "steps": timesteps or RACES[race_name].total_timesteps}
        for lib_name in ("baselines3", "sb3"):
            rows = [r for r in results if r["race"] == race_name and r["lib"] == lib_name]
            entry[lib_name] = None
            if rows:
                entry[lib_name] = {
                    "seeds": [r["seed"] for r in rows],
                    "steps_per_s": [r["steps_per_second"] for r in rows],
                    "mean_steps_per_s": statistics.mean(r["steps_per_second"] for r in rows),
                    "final_returns": [r["final_return"] for r in rows],
                    "best_returns": [r["best_return"] for r in rows],
                }
        ours, theirs = entry["baselines3"], entry["sb3"]
        entry["ratio"] = ours["mean_steps_per_s"] / theirs["mean_steps_per_s"] if ours and theirs else None
        summary.append(entry)
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    for name in ("baselines3", "stable_baselines3", "sb3_contrib"):
        ran = name == "baselines3" or any(r["lib"] == "sb3" for r in results)
        if ran and importlib.util.find_spec(name) is not None:
            versions[name] = getattr(importlib.import_module(name), "__version__", "?")
    return {"seeds": seeds, "timesteps": timesteps, "races": summary, "runs": results, "versions": versions}


if __name__ == "__main__":
    sys.exit(main())
