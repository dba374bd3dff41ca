"""Search spaces for `python -m zoo.train ... -optimize`: one sampler per algorithm.

A sampler draws values from an Optuna trial and returns them in the vocabulary of the zoo's hyperparameter
files (the keys `zoo.config` accepts, `policy_kwargs` as a Python-literal string, action noise as
`noise_type`/`noise_std`, `lin_<v>` for linear schedules). The same dict therefore overrides an entry while
tuning and is written out as the best entry afterwards.

Choices are fixed lists (Optuna needs the same distribution for a name in every trial of a study); values that
would not fit the experiment are then narrowed to fit: PPO/A2C rollouts no longer than the per-trial budget, a
PPO minibatch that divides the rollout, off-policy `learning_starts`, `train_freq` and `target_update_interval`
small enough that some learning happens within the budget. The values actually used are what the sampler
returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna
from torch import nn

#: Candidate discount factors (shared by all algorithms).
GAMMAS = [0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9999]
#: Rollout lengths per env of the on-policy algorithms.
N_STEPS = [8, 16, 32, 64, 128, 256, 512, 1024, 2048]
GAE_LAMBDAS = [0.8, 0.9, 0.92, 0.95, 0.98, 0.99, 1.0]
MAX_GRAD_NORMS = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 2.0, 5.0]
#: Hidden layers by size name, for on-policy nets and DQN.
SMALL_NETS = {"tiny": [64], "small": [64, 64], "medium": [256, 256]}
#: Hidden layers by size name, for SAC and TD3.
CONTINUOUS_NETS = {"small": [64, 64], "medium": [256, 256], "big": [400, 300]}
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}


@dataclass(frozen=True)
class SearchContext:
    """What a sampler must know about the experiment to keep its values valid."""

    n_envs: int = 1
    n_timesteps: int = 1_000_000  # the budget of one trial
    use_sde: bool = False  # the entry uses gSDE (then its log_std_init is worth tuning)
    her: bool = False  # the entry's replay buffer is HerReplayBuffer (then its relabelling is tuned too)


Sampler = Callable[[optuna.Trial, SearchContext], dict[str, Any]]


def policy_kwargs_text(kwargs: dict[str, Any]) -> str:
    """`kwargs` written the way hyperparameter files write `policy_kwargs`, e.g.
    "dict(net_arch=[64, 64], activation_fn=nn.ReLU)"; `zoo.config.parse_policy_kwargs` reads it back."""
    return _literal_text(kwargs)


def _literal_text(value: Any) -> str:
    if isinstance(value, dict):
        if all(isinstance(key, str) and key.isidentifier() for key in value):
            return "dict(" + ", ".join(f"{key}={_literal_text(item)}" for key, item in value.items()) + ")"
        return "{" + ", ".join(f"{_literal_text(key)}: {_literal_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_literal_text(item) for item in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_literal_text(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    name = getattr(value, "__name__", "")
    if isinstance(value, type) and issubclass(value, nn.Module) and getattr(nn, name, None) is value:
        return f"nn.{name}"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise ValueError(f"cannot write {value!r} in policy_kwargs: only literals, lists, dicts and torch.nn classes")


def _at_most(choices: list[int], limit: int) -> int:
    """The largest of `choices` not above `limit` (the smallest choice when none is)."""
    fitting = [choice for choice in choices if choice <= limit]
    return max(fitting) if fitting else min(choices)


def _divisor_at_most(total: int, limit: int) -> int:
    """The largest divisor of `total` that is at most `limit` (at least 2 when `total` allows it)."""
    for candidate in range(min(limit, total), 1, -1):
        if total % candidate == 0:
            return candidate
    return min(2, total)


def _off_policy_schedule(trial: optuna.Trial, context: SearchContext, starts: list[int], freqs: list[int]) -> dict:
    """learning_starts and train_freq, narrowed so that learning starts within the first quarter of the budget
    and the model is trained at least about ten times."""
    learning_starts = trial.suggest_categorical("learning_starts", starts)
    train_freq = trial.suggest_categorical("train_freq", freqs)
    return {
        "learning_starts": min(learning_starts, context.n_timesteps // 4),
        "train_freq": max(1, min(train_freq, context.n_timesteps // 10)),
    }


def sample_ppo(trial: optuna.Trial, context: SearchContext, recurrent: bool = False) -> dict[str, Any]:
    """PPO: rollout length, minibatch, discount, learning rate, entropy, clipping, epochs, GAE, gradient
    clipping, value weight, network size and activation (and gSDE noise when the entry uses gSDE); with
    `recurrent`, also the LSTM's size and whether the critic has an LSTM of its own."""
    n_steps = trial.suggest_categorical("n_steps", N_STEPS)
    n_steps = min(n_steps, _at_most(N_STEPS, max(context.n_timesteps // context.n_envs, 1)))
    batch_size = trial.suggest_categorical("batch_size", [8, 16, 32, 64, 128, 256, 512])
    params: dict[str, Any] = {
        "n_steps": n_steps,
        "batch_size": _divisor_at_most(n_steps * context.n_envs, batch_size),
        "gamma": trial.suggest_categorical("gamma", GAMMAS),
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.1, log=True),
        "clip_range": trial.suggest_categorical("clip_range", [0.1, 0.2, 0.3, 0.4]),
        "n_epochs": trial.suggest_categorical("n_epochs", [1, 5, 10, 20]),
        "gae_lambda": trial.suggest_categorical("gae_lambda", GAE_LAMBDAS),
        "max_grad_norm": trial.suggest_categorical("max_grad_norm", MAX_GRAD_NORMS),
        "vf_coef": trial.suggest_float("vf_coef", 0.0, 1.0),
    }
    return _with_actor_critic_net(trial, context, params, recurrent)


def sample_ppo_lstm(trial: optuna.Trial, context: SearchContext) -> dict[str, Any]:
    """Recurrent PPO (`ppo_lstm`): PPO's space plus the LSTM's hidden size and a critic LSTM or not."""
    return sample_ppo(trial, context, recurrent=True)


def _with_actor_critic_net(
    trial: optuna.Trial, context: SearchContext, params: dict[str, Any], recurrent: bool = False
) -> dict[str, Any]:
    """PPO/A2C: the network size and activation (and gSDE's sampling frequency and initial log std when the
    entry uses gSDE; the LSTM's size and a critic LSTM or not when `recurrent`), added to `params`."""
    layers = SMALL_NETS[trial.suggest_categorical("net_arch", list(SMALL_NETS))]
    policy_kwargs: dict[str, Any] = {
        "net_arch": {"pi": list(layers), "vf": list(layers)},
        "activation_fn": ACTIVATIONS[trial.suggest_categorical("activation_fn", list(ACTIVATIONS))],
    }
    if context.use_sde:
        params["sde_sample_freq"] = trial.suggest_categorical("sde_sample_freq", [-1, 8, 16, 32, 64, 128, 256])
        policy_kwargs["log_std_init"] = trial.suggest_float("log_std_init", -4.0, 1.0)
    if recurrent:
        policy_kwargs["lstm_hidden_size"] = trial.suggest_categorical("lstm_hidden_size", [16, 32, 64, 128, 256])
        policy_kwargs["enable_critic_lstm"] = trial.suggest_categorical("enable_critic_lstm", [False, True])
    params["policy_kwargs"] = policy_kwargs_text(policy_kwargs)
    return params


def sample_a2c(trial: optuna.Trial, context: SearchContext) -> dict[str, Any]:
    """A2C: rollout length, discount, learning rate (constant or linearly decaying), entropy, value weight,
    advantage normalization, RMSprop or Adam, GAE, gradient clipping, network size and activation."""
    n_steps = trial.suggest_categorical("n_steps", N_STEPS)
    learning_rate = trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True)
    schedule = trial.suggest_categorical("lr_schedule", ["constant", "linear"])
    params: dict[str, Any] = {
        "n_steps": min(n_steps, _at_most(N_STEPS, max(context.n_timesteps // context.n_envs, 1))),
        "gamma": trial.suggest_categorical("gamma", GAMMAS),
        "learning_rate": f"lin_{learning_rate!r}" if schedule == "linear" else learning_rate,
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 0.1, log=True),
        "vf_coef": trial.suggest_float("vf_coef", 0.0, 1.0),
        "normalize_advantage": trial.suggest_categorical("normalize_advantage", [False, True]),
        "use_rms_prop": trial.suggest_categorical("use_rms_prop", [False, True]),
        "gae_lambda": trial.suggest_categorical("gae_lambda", GAE_LAMBDAS),
        "max_grad_norm": trial.suggest_categorical("max_grad_norm", MAX_GRAD_NORMS),
    }
    return _with_actor_critic_net(trial, context, params)


def sample_dqn(trial: optuna.Trial, context: SearchContext) -> dict[str, Any]:
    """DQN: learning rate, batch, replay size, exploration schedule, target updates, when and how often to
    train (gradient steps = train_freq / subsample), discount and network size."""
    params: dict[str, Any] = {
        "gamma": trial.suggest_categorical("gamma", GAMMAS),
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64, 100, 128, 256, 512]),
        "buffer_size": trial.suggest_categorical("buffer_size", [10_000, 50_000, 100_000, 1_000_000]),
        "exploration_final_eps": trial.suggest_float("exploration_final_eps", 0.0, 0.2),
        "exploration_fraction": trial.suggest_float("exploration_fraction", 0.0, 0.5),
    }
    target_update = trial.suggest_categorical("target_update_interval", [1, 1000, 5000, 10000, 15000, 20000])
    params["target_update_interval"] = max(1, min(target_update, context.n_timesteps // 10))
    params.update(_off_policy_schedule(trial, context, [0, 1000, 5000, 10000, 20000], [1, 4, 8, 16, 128, 256, 1000]))
    subsample = trial.suggest_categorical("subsample_steps", [1, 2, 4, 8])
    params["gradient_steps"] = max(params["train_freq"] // subsample, 1)
    layers = SMALL_NETS[trial.suggest_categorical("net_arch", list(SMALL_NETS))]
    params["policy_kwargs"] = policy_kwargs_text({"net_arch": list(layers)})
    return params


def _sample_actor_critic(trial: optuna.Trial, context: SearchContext) -> dict[str, Any]:
    """What SAC and TD3 share: discount, learning rate, batch, replay size, schedule (one gradient step per
    env step collected), soft-update rate and network size."""
    params: dict[str, Any] = {
        "gamma": trial.suggest_categorical("gamma", GAMMAS),
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-2, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64, 128, 256, 512, 1024]),
        "buffer_size": trial.suggest_categorical("buffer_size", [10_000, 100_000, 1_000_000]),
    }
    params.update(_off_policy_schedule(trial, context, [0, 1000, 10000, 20000], [1, 4, 8, 16, 32, 64, 128, 256]))
    params["gradient_steps"] = params["train_freq"]
    params["tau"] = trial.suggest_categorical("tau", [0.001, 0.005, 0.01, 0.02, 0.05, 0.08])
    return params


def sample_sac(trial: optuna.Trial, context: SearchContext) -> dict[str, Any]:
    """SAC: the shared off-policy values, the entropy coefficient (learned from 1 or 0.1, or fixed) and the
    network size (and gSDE's initial log std when the entry uses gSDE)."""
    params = _sample_actor_critic(trial, context)
    params["ent_coef"] = trial.suggest_categorical("ent_coef", ["auto", "auto_0.1", 0.1, 0.01, 0.001])
    policy_kwargs: dict[str, Any] = {
        "net_arch": list(CONTINUOUS_NETS[trial.suggest_categorical("net_arch", list(CONTINUOUS_NETS))])
    }
    if context.use_sde:
        policy_kwargs["log_std_init"] = trial.suggest_float("log_std_init", -4.0, 1.0)
    params["policy_kwargs"] = policy_kwargs_text(policy_kwargs)
    return params


def sample_td3(trial: optuna.Trial, context: SearchContext) -> dict[str, Any]:
    """TD3: the shared off-policy values, the exploration noise (Gaussian or Ornstein-Uhlenbeck and its std)
    and the network size."""
    params = _sample_actor_critic(trial, context)
    params["noise_type"] = trial.suggest_categorical("noise_type", ["normal", "ornstein-uhlenbeck"])
    params["noise_std"] = trial.suggest_float("noise_std", 0.0, 1.0)
    layers = CONTINUOUS_NETS[trial.suggest_categorical("net_arch", list(CONTINUOUS_NETS))]
    params["policy_kwargs"] = policy_kwargs_text({"net_arch": list(layers)})
    return params


#: Goal-selection strategies of HerReplayBuffer.
GOAL_SELECTION_STRATEGIES = ["final", "episode", "future"]


def sample_her(trial: optuna.Trial, context: SearchContext) -> dict[str, Any]:
    """HerReplayBuffer's relabelling, for an off-policy entry that uses it: how many virtual goals per real one
    (1 .. 5) and where they come from (the episode's final state, any of its states, or a later one). Written as
    `replay_buffer_kwargs`; the entry's other keys of it are kept (see zoo.tune)."""
    del context  # the same choices for every experiment
    kwargs = {
        "n_sampled_goal": trial.suggest_int("n_sampled_goal", 1, 5),
        "goal_selection_strategy": trial.suggest_categorical("goal_selection_strategy", GOAL_SELECTION_STRATEGIES),
    }
    return {"replay_buffer_kwargs": policy_kwargs_text(kwargs)}


#: Algorithms whose entries may name HerReplayBuffer, and so get `sample_her` on top of their own sampler.
HER_ALGOS = ("dqn", "sac", "td3", "ddpg")

#: The sampler of each algorithm the zoo trains.
SEARCH_SPACES: dict[str, Sampler] = {
    "a2c": sample_a2c,
    "ddpg": sample_td3,  # DDPG's knobs are TD3's (noise, shared off-policy values, network), as in the RL Zoo
    "dqn": sample_dqn,
    "ppo": sample_ppo,
    "ppo_lstm": sample_ppo_lstm,
    "sac": sample_sac,
    "td3": sample_td3,
}


def sample_hyperparams(algo: str, trial: optuna.Trial, context: SearchContext) -> dict[str, Any]:
    """One draw from `algo`'s search space, in the zoo's hyperparameter vocabulary (with HER's relabelling on
    top when `context.her`)."""
    if algo not in SEARCH_SPACES:
        raise ValueError(f"No search space for {algo!r}; there are: {', '.join(sorted(SEARCH_SPACES))}")
    params = SEARCH_SPACES[algo](trial, context)
    if context.her:
        if algo not in HER_ALGOS:
            raise ValueError(f"HerReplayBuffer is a replay buffer of {', '.join(HER_ALGOS)}, not of {algo!r}")
        params.update(sample_her(trial, context))
    return params
