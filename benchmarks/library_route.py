"""Hand-written kernels against the library route: the same update of each algorithm, timed three ways.

    python -m benchmarks.library_route                       # every algorithm, every route, one thread
    python -m benchmarks.library_route --algos dqn --routes hand plain --repeats 5

For each algorithm a model is built on its race's settings (benchmarks/speed.py), its buffer filled once, and
then `model.train()` is timed per gradient step, the routes taking turns (A B C A B C ...) so that the
machine's drift hits each alike:

- `hand`: the speed seam on (baselines3.common.fast): fused MLP autograd nodes with hand-written backward,
  DQN's Huber gradient without autograd, flat parameters with the fused Adam kernel;
- `plain`: the seam off (`fast.set_enabled(False)`): plain modules, autograd, `Adam(fused=True)` per parameter;
- `library`: `plain` with the networks' forward functions (what the losses call) under `torch.compile`, so
  that AOTAutograd and Inductor generate the forward and backward kernels;
- `bf16`: `precision="bf16"`, the update under bfloat16 autocast (the seam's float32 kernels step aside).

Every route runs with subnormal floats flushed to zero (as `learn()` runs its updates with the seam on), so that
the routes differ in their kernels only.

The first compiled call is timed on its own (`compile s`) and the number of gradient steps after which
compiling has paid for itself is printed, against `plain`. Every route trains from the same initial
parameters and data; each route's last loss is printed as a check that all three train the same thing
(round-off makes their parameters drift apart, so the values are close, not equal).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

ALGOS = ("ppo", "dqn", "sac", "td3")
ROUTES = ("hand", "plain", "library", "bf16")

#: algorithm -> (env id, constructor keywords, env steps before timing, gradient steps per timed call)
SETTINGS: dict[str, tuple[str, dict[str, Any], int, int]] = {
    # RL Zoo CartPole settings: 8 envs x 32 steps, batch 256, 20 epochs -> one train() is 20 gradient steps
    "ppo": (
        "CartPole-v1",
        dict(n_steps=32, batch_size=256, n_epochs=20, gae_lambda=0.8, gamma=0.98, ent_coef=0.0),
        256,
        20,
    ),
    "dqn": (
        "CartPole-v1",
        dict(learning_rate=2.3e-3, batch_size=64, learning_starts=500, policy_kwargs=dict(net_arch=[256, 256])),
        1_000,
        128,
    ),
    "sac": ("Pendulum-v1", dict(learning_rate=1e-3, learning_starts=500), 1_000, 100),
    "td3": (
        "Pendulum-v1",
        dict(learning_rate=1e-3, learning_starts=500, policy_kwargs=dict(net_arch=[400, 300])),
        1_000,
        100,
    ),
}


def seam_on(route: str) -> bool:
    """Whether `route` runs with the speed seam on (the plain and library routes run without it)."""
    return route in ("hand", "bf16")


def _compile_forwards(model: Any, algo: str) -> None:
    """Put the functions the algorithm's losses call under torch.compile (the library route)."""
    import torch

    policy = model.policy
    if algo == "ppo":
        policy.evaluate_batch = torch.compile(policy.evaluate_batch)
    elif algo == "dqn":
        model.q_net.forward = torch.compile(model.q_net.forward)
        model.q_net_target.forward = torch.compile(model.q_net_target.forward)
    else:
        if algo == "sac":
            model.actor.action_log_prob = torch.compile(model.actor.action_log_prob)
        else:
            model.actor.forward = torch.compile(model.actor.forward)
            model.actor_target.forward = torch.compile(model.actor_target.forward)
        model.critic.q_values = torch.compile(model.critic.q_values)
        model.critic_target.q_values = torch.compile(model.critic_target.q_values)


def make_model(algo: str, route: str) -> Any:
    """The untrained model of `algo` on its race settings, built for `route` (the seam switched accordingly)."""
    import baselines3

    env_id, kwargs, _, _ = SETTINGS[algo]
    kwargs = {**kwargs, "policy_kwargs": dict(kwargs.get("policy_kwargs", {}))}
    if not seam_on(route):  # the library's own fused Adam, one tensor per parameter
        kwargs["policy_kwargs"]["optimizer_kwargs"] = dict(fused=True)
    if route == "bf16":
        kwargs["precision"] = "bf16"
    n_envs = 8 if algo == "ppo" else 1
    with seam_switched(route):
        return getattr(baselines3, algo.upper())(
            "MlpPolicy", baselines3.common.env_util.make_vec_env(env_id, n_envs, seed=0), seed=0, **kwargs
        )


@contextlib.contextmanager
def seam_switched(route: str) -> Iterator[None]:
    """The seam switched for `route` inside the block, and back as it was after (the switch is process-wide)."""
    from baselines3.common import fast

    with fast.switched(seam_on(route)):
        yield


def build(algo: str, route: str) -> tuple[Any, Callable[[], None]]:
    """A model trained for its warm-up steps under `route`, and the call that runs one timed train() under it."""
    import torch

    from baselines3.common.fast.precision import update_context

    _, _, warmup, gradient_steps = SETTINGS[algo]
    model = make_model(algo, route)
    torch.manual_seed(0)
    with seam_switched(route):
        model.learn(warmup)
    if route == "library":
        _compile_forwards(model, algo)

    def update() -> None:
        # the route's seam setting for this call only (the switch is process-wide), then the update's context as
        # learn() enters it
        with seam_switched(route), update_context(model.precision, model.device):
            if algo == "ppo":
                model.train()
            else:
                model.train(gradient_steps=gradient_steps, batch_size=model.batch_size)

    return model, update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--routes", nargs="+", default=list(ROUTES), choices=ROUTES)
    parser.add_argument("--repeats", type=int, default=7, help="timed train() calls per route (median kept)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: also pinned to one core)")
    parser.add_argument("--core", type=int, default=0, help="the core a one-thread run is pinned to")
    args = parser.parse_args()
    if args.threads == 1 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    import torch

    import baselines3  # noqa: F401  (baselines3's thread default first; the setting below wins)

    torch.set_num_threads(args.threads)
    # every route flushes subnormals, as learn() does with the seam on: the routes differ in their kernels only
    torch.set_flush_denormal(True)
    print(f"torch {torch.__version__}, {args.threads} thread(s), load average {os.getloadavg()[0]:.2f}")
    print(f"{'algo':5s} {'route':8s} {'ms/grad step':>12s} {'vs hand':>8s} {'compile s':>9s} {'pays after':>10s}  loss")
    for algo in args.algos:
        gradient_steps = SETTINGS[algo][3]
        models, calls, compile_s = {}, {}, {}
        for route in args.routes:
            models[route], calls[route] = build(algo, route)
            start = time.perf_counter()
            calls[route]()  # the first call compiles on the library route, warms caches on the others
            compile_s[route] = time.perf_counter() - start
        times: dict[str, list[float]] = {route: [] for route in args.routes}
        for _ in range(args.repeats):
            for route in args.routes:
                start = time.perf_counter()
                calls[route]()
                times[route].append((time.perf_counter() - start) / gradient_steps * 1e3)
        median = {route: statistics.median(values) for route, values in times.items()}
        for route in args.routes:
            ratio = f"{median[route] / median['hand']:.2f}x" if "hand" in median else ""
            paid, compiled = "", ""
            if route == "library":
                first = compile_s[route] - median[route] * gradient_steps / 1e3
                compiled = f"{first:.1f}"
                if "plain" in median and median["plain"] > median[route]:
                    paid = f"{first / ((median['plain'] - median[route]) / 1e3):,.0f}"
                else:
                    paid = "never"
            loss = models[route].logger.name_to_value.get(
                "train/loss", models[route].logger.name_to_value.get("train/critic_loss")
            )
            print(f"{algo:5s} {route:8s} {median[route]:12.3f} {ratio:>8s} {compiled:>9s} {paid:>10s}  {loss}")


if __name__ == "__main__":
    main()
