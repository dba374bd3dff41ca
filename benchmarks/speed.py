"""Speed race: baselines3 vs Stable-Baselines3 (and SBX, JAX) on the same RL Zoo settings, side by side in one run.

    python -m benchmarks.speed                      # the classic races, 3 seeds, baselines3 and SB3, one thread
    python -m benchmarks.speed --races ppo_cartpole --seeds 0 --libs baselines3
    python -m benchmarks.speed --races sac_halfcheetah td3_halfcheetah --libs baselines3 sb3 sbx --threads 1 all
    python -m benchmarks.speed --races td3_pendulum --precision fp32 bf16   # ours in float32 and in bfloat16

Each (library, race, seed, thread setting) trains in a fresh subprocess, so no run's state affects another's.
`--threads 1` gives each run one thread and pins it to one core (`taskset`, as for JAX, whose thread pools
ignore torch's setting); `all` lets each library use every core (torch: one thread per core, JAX: its default).
Prints training steps/s, the ratio of the means against SB3 and SBX at each setting and at each library's best
setting, and the final deterministic return (10 evaluation episodes, not timed). SB3 (`pip install
stable-baselines3`) and SBX (`pip install sbx-rl`) must be installed for their sides; without them only ours runs.
`--precision fp32 bf16` races baselines3 once per precision (labelled `baselines3` and `baselines3-bf16`); the
others train in float32. With `--json`, the file is rewritten after every run and `--resume` keeps the runs it
holds, so a long invocation stopped midway goes on where it stopped.
"""

from __future__ import annotations

import argparse
import functools
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

from baselines3.common.fast.precision import PRECISIONS
from baselines3.common.save_util import atomic_write_text
from benchmarks.envs import atari


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
    # Atari: the DQN paper's preprocessing (each library's make_atari_env) and 4 stacked frames
    atari: bool = False
    # "subproc": one process per env (each library's SubprocVecEnv)
    vec_env: str = "dummy"
    # whether SBX has this algorithm and policy (it has no A2C and no recurrent PPO)
    sbx: bool = True


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
    "a2c_cartpole": Race("a2c", "CartPole-v1", 8, 100_000, dict(ent_coef=0.0), sbx=False),
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
        sbx=False,
    ),
    # the RL Zoo's MuJoCo settings ([256, 256] SAC; [400, 300] TD3 with Gaussian noise 0.1), 20k steps after
    # learning starts
    "sac_halfcheetah": Race("sac", "HalfCheetah-v5", 1, 30_000, dict(learning_starts=10_000)),
    "td3_halfcheetah": Race(
        "td3",
        "HalfCheetah-v5",
        1,
        30_000,
        dict(learning_starts=10_000, learning_rate=1e-3, batch_size=256, policy_kwargs=dict(net_arch=[400, 300])),
        normal_action_noise=0.1,
    ),
    # the RL Zoo's Atari settings (NatureCNN on 4 stacked 84x84 frames); DQN starts learning after 1k steps
    # (the zoo's 100k would leave a 30k-step race without updates) with a 20k-transition buffer (memory)
    "ppo_pong_cnn": Race(
        "ppo",
        "PongNoFrameskip-v4",
        8,
        32_768,
        dict(n_steps=128, n_epochs=4, batch_size=256, vf_coef=0.5, ent_coef=0.01),
        linear=dict(learning_rate=(2.5e-4, 0.0), clip_range=(0.1, 0.0)),
        policy="CnnPolicy",
        atari=True,
        vec_env="subproc",
    ),
    "dqn_pong_cnn": Race(
        "dqn",
        "PongNoFrameskip-v4",
        1,
        30_000,
        dict(
            buffer_size=20_000,
            learning_rate=1e-4,
            batch_size=32,
            learning_starts=1000,
            target_update_interval=1000,
            train_freq=4,
            gradient_steps=1,
            exploration_fraction=0.1,
            exploration_final_eps=0.01,
        ),
        policy="CnnPolicy",
        atari=True,
    ),
}

#: The races `python -m benchmarks.speed` runs without `--races` (the ones the report has tracked since the start).
CLASSIC_RACES = [
    "ppo_cartpole",
    "a2c_cartpole",
    "dqn_cartpole",
    "sac_pendulum",
    "td3_pendulum",
    "ppo_lstm_cartpole_novel",
]
LIBRARIES = ["baselines3", "sb3", "sbx"]


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

        # the thread default applies when baselines3.common.threads is imported, which the lazily imported
        # algorithms do later: imported now, before the worker sets its count, so that the count wins (a count
        # set before it that equals torch's own, 2 threads on 2 cores, cannot be told from no setting, and
        # learn() would train at one thread)
        import baselines3.common.threads  # noqa: F401
        from baselines3.common.env_util import make_vec_env
        from baselines3.common.evaluation import evaluate_policy
    elif name in ("sb3", "sbx"):  # SBX trains on SB3's envs and evaluation
        from stable_baselines3.common.env_util import make_vec_env  # type: ignore[import-not-found, no-redef, assignment]
        from stable_baselines3.common.evaluation import evaluate_policy  # type: ignore[import-not-found, no-redef, assignment]

        lib = importlib.import_module("stable_baselines3" if name == "sb3" else "sbx")  # type: ignore[assignment]
    else:
        raise ValueError(f"Unknown library {name!r}; expected one of {LIBRARIES}")
    return lib, make_vec_env, evaluate_policy


def _linear(lib_name: str, start: float, end: float) -> Any:
    if lib_name == "baselines3":
        from baselines3.common.schedules import LinearSchedule

        return LinearSchedule(start, end)
    return lambda progress_remaining: end + progress_remaining * (start - end)


def _make_env(lib_name: str, race: Race, env_source: Any, n_envs: int, seed: int) -> Any:
    if not race.atari:
        vec_env_cls = None
        if race.vec_env == "subproc":
            vec_env_cls = _vec_env_module(lib_name).SubprocVecEnv
        return _library(lib_name)[1](env_source, n_envs=n_envs, seed=seed, vec_env_cls=vec_env_cls)
    if lib_name == "baselines3":
        from baselines3.common.env_util import make_atari_env
        from baselines3.common.vec_env import SubprocVecEnv, VecFrameStack
    else:
        from stable_baselines3.common.env_util import make_atari_env  # type: ignore[import-not-found, no-redef, assignment]
        from stable_baselines3.common.vec_env import SubprocVecEnv, VecFrameStack  # type: ignore[import-not-found, no-redef, assignment]
    vec_env_cls = SubprocVecEnv if race.vec_env == "subproc" and n_envs > 1 else None
    make = functools.partial(atari, env_source)  # registers ale-py's ids inside each env worker too
    return VecFrameStack(make_atari_env(make, n_envs=n_envs, seed=seed, vec_env_cls=vec_env_cls), 4)


def _vec_env_module(lib_name: str) -> Any:
    return importlib.import_module(
        "baselines3.common.vec_env" if lib_name == "baselines3" else "stable_baselines3.common.vec_env"
    )


@dataclass
class RaceModel:
    """A race's model as one library builds it, with what training and evaluating it need."""

    model: Any
    env: Any
    env_source: Any
    evaluate_policy: Any
    vec_normalize_class: Any  # None without VecNormalize


#: the `--precision` settings that race SAC's, TD3's and DDPG's gradient step compiled (`fast.compiled`), each with
#: the `precision` argument it trains at
COMPILED_PRECISIONS = {"compiled": "fp32", "compiled-bf16": "bf16"}


def set_compiled_turn(lib_name: str, precision: str) -> None:
    """Before a contender's turn among several in one process: baselines3's compiled-step switch is process-wide,
    so it is set on for a compiled contender (one of `COMPILED_PRECISIONS`) and off for baselines3's others; other
    libraries leave it alone."""
    if lib_name == "baselines3":
        from baselines3.common.fast import compiled

        compiled.set_compiled_updates(precision in COMPILED_PRECISIONS)


def build_race_model(lib_name: str, race_name: str, seed: int, precision: str = "fp32") -> RaceModel:
    """The race's model in library `lib_name`, on its training env (inside a worker subprocess). `precision` is
    baselines3's setting of that name, or one of `COMPILED_PRECISIONS` (the other libraries train in float32)."""
    race = RACES[race_name]
    lib, _, evaluate_policy = _library(lib_name)
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
    if lib_name == "baselines3" and precision in COMPILED_PRECISIONS:
        from baselines3.common.fast import compiled

        compiled.set_compiled_updates(True)  # the gradient step compiled into one program
        precision = COMPILED_PRECISIONS[precision]
    if lib_name == "baselines3" and precision != "fp32":
        hyperparams["precision"] = precision
    env_source = _env_source(race.env_id)
    env = _make_env(lib_name, race, env_source, race.n_envs, seed)
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
    return RaceModel(model, env, env_source, evaluate_policy, vec_normalize_class)


def run_one(
    lib_name: str, race_name: str, seed: int, total_timesteps: int | None, threads: int = 1, precision: str = "fp32"
) -> dict[str, Any]:
    """Train one model and return its figures (runs inside the worker subprocess, with `threads` torch threads;
    JAX's are set by the parent through XLA_FLAGS before the process starts). `precision` is baselines3's
    setting of that name (the other libraries train in float32)."""
    import torch

    race = RACES[race_name]
    _library(lib_name)
    # after _library, which applies baselines3's thread default: an explicit setting wins over it
    torch.set_num_threads(threads)
    built = build_race_model(lib_name, race_name, seed, precision)
    model, env, evaluate_policy = built.model, built.env, built.evaluate_policy
    steps = total_timesteps or race.total_timesteps
    eval_env = _make_env(lib_name, race, built.env_source, 1, seed + 10_000)
    if built.vec_normalize_class is not None:
        # evaluate on unnormalized rewards with the training statistics, frozen
        eval_env = built.vec_normalize_class(eval_env, training=False, norm_reward=False)
        eval_env.obs_rms = env.obs_rms
    callback, eval_state = None, {"seconds": 0.0, "best": float("-inf")}
    if race.eval_freq:
        callback = _eval_callback(lib_name, eval_env, evaluate_policy, race.eval_freq, eval_state)
    load_before = os.getloadavg()[0]  # recorded so a race run on a busy machine shows it
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=callback)
    elapsed = time.perf_counter() - start - eval_state["seconds"]  # evaluations are not timed
    mean_return, _ = evaluate_policy(model, eval_env, n_eval_episodes=10, deterministic=True)
    env.close()
    extra: dict[str, Any] = {}
    if lib_name == "baselines3" and precision in COMPILED_PRECISIONS:
        from baselines3.common.fast import compiled

        # the first compiled call compiles (timed with the run, as a user pays it): recorded to tell it apart
        extra["first_compiled_step_s"] = compiled.compile_seconds(model)
    return dict(
        lib=lib_name,
        race=race_name,
        seed=seed,
        threads=threads,
        precision=precision if lib_name == "baselines3" else "fp32",
        steps=model.num_timesteps,
        seconds=elapsed,
        steps_per_second=model.num_timesteps / elapsed,
        final_return=float(mean_return),
        best_return=max(float(mean_return), eval_state["best"]),
        load_average=[load_before, os.getloadavg()[0]],
        cpu=cpu_model(),
        **extra,
    )


def time_gradient_steps(
    lib_name: str, race_name: str, threads: int = 1, precision: str = "fp32", steps: int = 100, repeats: int = 7
) -> dict[str, Any]:
    """Milliseconds per gradient step of an off-policy race's model (inside a worker subprocess): the replay
    buffer filled past learning_starts by `learn()`, then `repeats` timed `train(steps)` calls at the race's
    batch size, as `learn()` runs them (baselines3: in its update context, subnormals flushed and bfloat16
    autocast for "bf16"). The first call also compiles SBX's program and is not counted."""
    import contextlib

    import torch

    _library(lib_name)
    torch.set_num_threads(threads)
    model = build_race_model(lib_name, race_name, 0, precision).model
    if not hasattr(model, "replay_buffer"):
        raise ValueError(f"{race_name} is not an off-policy race: it has no gradient step apart from its rollouts")
    model.learn(total_timesteps=int(model.learning_starts) + 10)
    context: Any = contextlib.nullcontext()
    if lib_name == "baselines3":
        from baselines3.common.fast.precision import update_context

        context = update_context(model.precision, model.device)
    times = []
    with context:
        for _ in range(repeats + 1):
            start = time.perf_counter()
            model.train(gradient_steps=steps, batch_size=model.batch_size)  # SBX returns once its losses are read
            times.append((time.perf_counter() - start) / steps * 1e3)
    return dict(
        lib=lib_name,
        race=race_name,
        threads=threads,
        precision=precision if lib_name == "baselines3" else "fp32",
        ms_per_step=statistics.median(times[1:]),
        ms_per_step_each=times[1:],
    )


def _vec_normalize_class(lib_name: str) -> Any:
    return _vec_env_module(lib_name).VecNormalize


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


def _spawn(
    lib_name: str,
    race_name: str,
    seed: int,
    total_timesteps: int | None,
    threads: int,
    precision: str = "fp32",
    step_times: bool = False,
) -> dict[str, Any]:
    args = ["benchmarks.speed", "--worker", lib_name, race_name, str(seed), "--worker-threads", str(threads)]
    args += ["--precision", precision, *(["--step-times"] if step_times else [])]
    if total_timesteps:
        args += ["--timesteps", str(total_timesteps)]
    result: dict[str, Any] = run_worker(args, threads, f"{lib_name} {race_name} seed {seed}")
    return result


def run_worker(module_args: list[str], threads: int, what: str) -> Any:
    """Run `python -m <module_args>` in a fresh process and return the JSON of the last line it prints; `what`
    names the run in the error when it fails. With `threads` 1 the process is pinned to one core."""
    cmd = [sys.executable, "-m", *module_args]
    env = dict(os.environ)
    if threads == 1:
        # one core for every library: JAX's XLA thread pools do not follow torch's setting
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        # the first core this process may use: a race started under `taskset -c 1` keeps off core 0
        cmd = ["taskset", "-c", str(min(os.sched_getaffinity(0))), *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def label(lib_name: str, precision: str) -> str:
    """A contender's name: the library, with baselines3's precision when it is not float32."""
    return lib_name if precision == "fp32" else f"{lib_name}-{precision}"


def _label(result: dict[str, Any]) -> str:
    return label(result["lib"], result.get("precision", "fp32"))


def _run_key(result: dict[str, Any]) -> tuple[str, str, int, int]:
    return result["race"], _label(result), result["threads"], result["seed"]


def _thread_count(setting: str) -> int:
    return 1 if setting == "1" else os.cpu_count() or 1


def cpu_model() -> str:
    """The processor's model name (what /proc/cpuinfo says, else the platform's answer): races compare libraries
    only on one machine, and the machine a host lends can change between invocations."""
    import platform

    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _check_same_machine(results: list[dict[str, Any]], race_name: str) -> None:
    """Refuse to add a run to a race whose kept runs were made on another processor: its ratios would compare
    machines, not libraries (runs from before processors were recorded cannot be told apart and are let be)."""
    here = cpu_model()
    others = sorted({r["cpu"] for r in results if r["race"] == race_name and "cpu" in r} - {here})
    if others:
        raise SystemExit(
            f"{race_name}'s runs in the file ran on {', '.join(others)}; this machine is {here}: "
            "resume it there, or race it into another --json file"
        )


def _available(libs: list[str], races: list[str]) -> list[str]:
    """The requested libraries that are installed (a message for each one that is not)."""
    packages = {"sb3": ("stable_baselines3", "stable-baselines3"), "sbx": ("sbx", "sbx-rl")}
    kept = []
    for lib in libs:
        module, package = packages.get(lib, (lib, lib))
        if importlib.util.find_spec(module) is None:
            print(f"{package} is not installed: its side is left out (pip install {package})")
        else:
            kept.append(lib)
    if "sb3" in kept and any(RACES[r].sb3_contrib_algo for r in races) and not importlib.util.find_spec("sb3_contrib"):
        print("sb3-contrib is not installed: recurrent races run without SB3's side (pip install sb3-contrib)")
    return kept


def _runs(race: Race, lib: str) -> bool:
    if lib == "sbx":
        return race.sbx
    if lib == "sb3" and race.sb3_contrib_algo:
        return importlib.util.find_spec("sb3_contrib") is not None
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", nargs="+", default=CLASSIC_RACES, choices=list(RACES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--libs", nargs="+", default=["baselines3", "sb3"], choices=LIBRARIES)
    parser.add_argument(
        "--threads", nargs="+", default=["1"], choices=["1", "all"], help="1: one thread on one core; all: every core"
    )
    parser.add_argument("--timesteps", type=int, default=None, help="override every race's budget")
    parser.add_argument(
        "--json", type=pathlib.Path, default=None, help="also write the races' results to this JSON file"
    )
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["fp32"],
        choices=[*PRECISIONS, *COMPILED_PRECISIONS],
        help="baselines3's precision settings, each raced (bf16: updates under bfloat16 autocast; compiled: float32 "
        "with the SAC/TD3/DDPG gradient step compiled, BASELINES3_COMPILE=1; compiled-bf16: both); the others train "
        "in float32",
    )
    parser.add_argument(
        "--resume", action="store_true", help="keep the runs already in --json and run only the ones missing"
    )
    parser.add_argument(
        "--markdown", type=pathlib.Path, default=None, help="print this --json file's tables as markdown, run nothing"
    )
    parser.add_argument(
        "--step-times",
        action="store_true",
        help="time only the gradient step of each off-policy race's model, each library in turn (no training run)",
    )
    parser.add_argument("--worker", nargs=3, metavar=("LIB", "RACE", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        lib_name, race_name, seed = args.worker
        (precision,) = args.precision
        if args.step_times:
            print(json.dumps(time_gradient_steps(lib_name, race_name, args.worker_threads, precision)))
        else:
            print(json.dumps(run_one(lib_name, race_name, int(seed), args.timesteps, args.worker_threads, precision)))
        return 0
    if args.markdown is not None:
        print("\n".join(markdown_tables(json.loads(args.markdown.read_text()))))
        return 0
    if args.resume and args.json is None:
        parser.error("--resume needs --json: the file whose runs are kept")

    libs = _available(list(args.libs), args.races)
    precisions = list(dict.fromkeys(args.precision))
    contenders = [(lib, precision) for lib in libs for precision in (precisions if lib == "baselines3" else ["fp32"])]
    counts = sorted({_thread_count(setting) for setting in args.threads})
    if args.step_times:
        return _step_times(args.races, contenders, counts, args.seeds, args.json)
    results = _kept_runs(args.json, args.timesteps) if args.resume else []
    done = {_run_key(r) for r in results}
    for race_name in args.races:
        for threads in counts:
            for seed in args.seeds:
                # alternate the contenders' order seed by seed so drifts in machine load hit all alike
                order = contenders if seed % 2 == 0 else list(reversed(contenders))
                for lib_name, precision in (c for c in order if _runs(RACES[race_name], c[0])):
                    name = label(lib_name, precision)
                    if (race_name, name, threads, seed) in done:
                        continue
                    _check_same_machine(results, race_name)
                    result = _spawn(lib_name, race_name, seed, args.timesteps, threads, precision)
                    results.append(result)
                    print(
                        f"{race_name:16s} {name:15s} {threads} thread(s) seed {seed}: "
                        f"{result['steps_per_second']:8.0f} steps/s  return {result['final_return']:7.1f}  "
                        f"best evaluation {result['best_return']:7.1f}",
                        flush=True,
                    )
                    if args.json:  # after every run, so that a stopped invocation can be resumed
                        _write(args.json, results, args.races, args.seeds, args.timesteps, precisions)
    print()
    summary = race_summary(results, args.races, args.seeds, args.timesteps)
    print("\n".join(summary_lines(summary, [label(lib, precision) for lib, precision in contenders])))
    return 0  # the JSON file (every run's) was written after each run


def _step_times(
    races: list[str],
    contenders: list[tuple[str, str]],
    counts: list[int],
    rounds: list[int],
    json_path: pathlib.Path | None = None,
) -> int:
    """Print each contender's milliseconds per gradient step on each off-policy race, one fresh process per
    measurement, the contenders taking turns once per entry of `rounds` (the --seeds list); median over rounds.
    With `json_path`, also write the figures there (never over a file of race runs)."""
    off_policy = [race for race in races if RACES[race].algo in ("dqn", "sac", "td3")]
    if not off_policy:
        print("error: --step-times times off-policy races (dqn, sac, td3) only", file=sys.stderr)
        return 2
    if json_path is not None and json_path.exists() and "runs" in json.loads(json_path.read_text()):
        print(f"error: {json_path} holds race runs; write the step times to another file", file=sys.stderr)
        return 2
    rows: list[dict[str, Any]] = []
    print(f"{'race':16s} {'threads':>7s} {'contender':15s} {'ms/step':>8s}  each round")
    for race_name in off_policy:
        for threads in counts:
            found: dict[str, list[float]] = {}
            for round_index in range(len(rounds)):
                order = contenders if round_index % 2 == 0 else list(reversed(contenders))
                for lib_name, precision in (c for c in order if _runs(RACES[race_name], c[0])):
                    result = _spawn(lib_name, race_name, 0, None, threads, precision, step_times=True)
                    found.setdefault(label(lib_name, precision), []).append(result["ms_per_step"])
            for name, times in found.items():
                median = statistics.median(times)
                each = " ".join(f"{t:.2f}" for t in times)
                print(f"{race_name:16s} {threads:7d} {name:15s} {median:8.2f}  {each}", flush=True)
                row = {"race": race_name, "threads": threads, "contender": name, "ms_per_step": median, "rounds": times}
                rows.append(row)
    if json_path is not None:
        atomic_write_text(json_path, json.dumps({"step_times": rows, "cpu": cpu_model()}, indent=1))
    return 0


def _kept_runs(path: pathlib.Path, timesteps: int | None) -> list[dict[str, Any]]:
    """The runs of an earlier invocation's JSON file, refused when its budget differs from this one's."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    if data.get("timesteps") != timesteps:
        raise SystemExit(
            f"{path} holds runs of --timesteps {data.get('timesteps')}, this invocation asks for {timesteps}: "
            "resume with the same budget or write another file"
        )
    runs: list[dict[str, Any]] = data.get("runs", [])
    print(f"resuming: {len(runs)} runs kept from {path}")
    return runs


def _write(
    path: pathlib.Path,
    results: list[dict[str, Any]],
    races: list[str],
    seeds: list[int],
    timesteps: int | None,
    precisions: list[str],
) -> None:
    # a resumed file keeps every race, seed and precision it holds, also those this invocation did not ask for
    races = list(dict.fromkeys([*races, *(r["race"] for r in results)]))
    seeds = sorted({*seeds, *(int(r["seed"]) for r in results)})
    precisions = list(dict.fromkeys([*precisions, *(r.get("precision", "fp32") for r in results)]))
    summary = race_summary(results, races, seeds, timesteps)
    summary["precisions"] = precisions  # baselines3's; SB3 and SBX train in float32
    atomic_write_text(path, json.dumps(summary, indent=1))


def _side(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    return {
        "seeds": [r["seed"] for r in rows],
        "steps_per_s": [r["steps_per_second"] for r in rows],
        "mean_steps_per_s": statistics.mean(r["steps_per_second"] for r in rows),
        "final_returns": [r["final_return"] for r in rows],
        "best_returns": [r["best_return"] for r in rows],
    }


def race_summary(
    results: list[dict[str, Any]], races: list[str], seeds: list[int], timesteps: int | None
) -> dict[str, Any]:
    """Per race: each contender's steps/s and returns per seed, their means and our/SB3 ratio of the means at one
    thread (the race tracked since the start); per thread count (`by_threads`), each of our contenders' ratio
    against SB3 and SBX (`ratio_sb3`, `ratio_sbx`, and `ratio_sb3_bf16`... for another precision); and at each
    contender's best thread count (`best`); with the raw runs and the versions (read by benchmarks.report)."""
    import platform

    import torch

    summary = []
    for race_name in races:
        entry: dict[str, Any] = {"race": race_name, "steps": timesteps or RACES[race_name].total_timesteps}
        race_runs = [r for r in results if r["race"] == race_name]
        names = sorted({_label(r) for r in race_runs} | set(LIBRARIES), key=_contender_order)
        by_threads: dict[str, Any] = {}
        for threads in sorted({r["threads"] for r in race_runs}):
            setting: dict[str, Any] = {
                name: _side([r for r in race_runs if _label(r) == name and r["threads"] == threads]) for name in names
            }
            _add_ratios(setting, names)
            by_threads[str(threads)] = setting
        best: dict[str, Any] = {}
        for name in names:
            sides = [(int(count), setting[name]) for count, setting in by_threads.items() if setting[name]]
            if sides:
                count, side = max(sides, key=lambda pair: pair[1]["mean_steps_per_s"])
                best[name] = {**side, "threads": count}
            else:
                best[name] = None
        _add_ratios(best, names)
        one = by_threads.get("1", {})
        entry["baselines3"], entry["sb3"], entry["ratio"] = one.get("baselines3"), one.get("sb3"), one.get("ratio_sb3")
        entry["by_threads"] = by_threads
        entry["best"] = best
        entry["cpu"] = sorted({r.get("cpu", "not recorded") for r in race_runs})
        summary.append(entry)
    versions = {"python": platform.python_version(), "torch": torch.__version__}
    ran = {r["lib"] for r in results}
    for lib_name, module in (
        ("baselines3", "baselines3"),
        ("sb3", "stable_baselines3"),
        ("sb3", "sb3_contrib"),
        ("sbx", "sbx"),
    ):
        if lib_name in ran and importlib.util.find_spec(module) is not None:
            versions[module] = getattr(importlib.import_module(module), "__version__", "?")
    if "sbx" in ran and importlib.util.find_spec("jax") is not None:
        versions["jax"] = getattr(importlib.import_module("jax"), "__version__", "?")
    return {
        "seeds": seeds,
        "timesteps": timesteps,
        "races": summary,
        "runs": results,
        "versions": versions,
        "cpus": os.cpu_count(),
    }


def summary_lines(summary: dict[str, Any], contenders: list[str]) -> list[str]:
    """The printed table of a `race_summary`: each contender's mean steps/s, returns per seed and our ratios
    against SB3 and SBX, at each thread count and at each contender's best."""
    header = ("race", "threads", "contender", "steps/s (mean)", "returns", "vs SB3", "vs SBX")
    lines = ["{:16s} {:>7s} {:15s} {:>15s} {:>36s} {:>7s} {:>7s}".format(*header)]
    for race in summary["races"]:
        for setting, sides in [*race["by_threads"].items(), ("best", race["best"])]:
            for name in contenders:
                side = sides.get(name)
                if not side:
                    continue
                returns = "" if setting == "best" else " ".join(f"{r:.0f}" for r in side["final_returns"])
                ratios = [sides.get(ratio_key(name, other)) if name.startswith("baselines3") else None
                          for other in ("sb3", "sbx")]  # fmt: skip
                cells = [f"{ratio:.2f}x" if ratio else "" for ratio in ratios]
                line = f"{race['race']:16s} {setting:>7s} {name:15s} {side['mean_steps_per_s']:15.1f} {returns:>36s}"
                lines.append(f"{line} {cells[0]:>7s} {cells[1]:>7s}")
    return lines


def markdown_tables(data: dict[str, Any]) -> list[str]:
    """The races of a --json file as two markdown tables: mean steps/s of each contender at each thread count and
    at its best (the count in brackets) with our ratios; and the final returns per seed."""
    races = [race for race in data.get("races", []) if race.get("by_threads")]  # those with runs
    names = sorted({name for race in races for name, side in race.get("best", {}).items()
                    if not name.startswith("ratio_") and side}, key=_contender_order)  # fmt: skip
    ours = [name for name in names if name.startswith("baselines3")]
    ratio_keys = [(name, other) for name in ours for other in ("sb3", "sbx") if other in names]
    header = ["race", "threads", *names, *(f"{name} / {other}" for name, other in ratio_keys)]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    for race in races:
        settings = [*race["by_threads"].items(), ("best", race["best"])]
        for setting, sides in settings:
            cells = [f"`{race['race']}`", setting]
            for name in names:
                side = sides.get(name)
                text = "-" if not side else f"{side['mean_steps_per_s']:.1f}"
                if side and setting == "best":
                    text += f" ({side['threads']})"
                cells.append(text)
            for name, other in ratio_keys:
                ratio = sides.get(ratio_key(name, other))
                cells.append("-" if ratio is None else f"{ratio:.2f}x")
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| race | threads | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for race in races:
        for setting, sides in race["by_threads"].items():
            cells = [f"`{race['race']}`", setting]
            for name in names:
                side = sides.get(name)
                cells.append("-" if not side else ", ".join(f"{r:.0f}" for r in side["final_returns"]))
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| race | processor |", "|---|---|"]
    lines += [f"| `{race['race']}` | {', '.join(race.get('cpu', [])) or 'not recorded'} |" for race in races]
    return lines


def _contender_order(name: str) -> tuple[int, str]:
    lib_name = name.split("-")[0]
    return (LIBRARIES.index(lib_name) if lib_name in LIBRARIES else len(LIBRARIES), name)


def ratio_key(contender: str, other: str) -> str:
    """Where a summary keeps our contender's ratio against `other`: `ratio_sb3`, `ratio_sbx_bf16`..."""
    return f"ratio_{other}{contender[len('baselines3') :].replace('-', '_')}"


def _add_ratios(setting: dict[str, Any], names: list[str]) -> None:
    """Each of our contenders' mean steps/s over SB3's and SBX's, written into `setting` beside the sides."""
    for name in names:
        if not name.startswith("baselines3"):
            continue
        ours = setting.get(name)
        for other in ("sb3", "sbx"):
            theirs = setting.get(other)
            setting[ratio_key(name, other)] = (
                ours["mean_steps_per_s"] / theirs["mean_steps_per_s"] if ours and theirs else None
            )


if __name__ == "__main__":
    sys.exit(main())
