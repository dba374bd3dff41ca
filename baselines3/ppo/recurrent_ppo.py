"""RecurrentPPO: sb3-contrib's name for PPO with an LSTM policy, with its defaults (n_steps=128, batch_size=128).

`PPO("MlpLstmPolicy", env)` is the same algorithm; this class exists so that code written for sb3-contrib
(`from sb3_contrib import RecurrentPPO`) runs with the import changed to `from baselines3 import RecurrentPPO`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from baselines3.common.policies import BasePolicy
from baselines3.common.recurrent_policies import RecurrentActorCriticPolicy
from baselines3.ppo.policies import CnnLstmPolicy, MlpLstmPolicy, MultiInputLstmPolicy
from baselines3.ppo.ppo import PPO


class RecurrentPPO(PPO):
    """PPO with a recurrent (LSTM) policy and sb3-contrib's defaults; the parameters are PPO's (see `PPO`).

    :param policy: "MlpLstmPolicy", "CnnLstmPolicy", "MultiInputLstmPolicy" or a recurrent policy class.
    :param n_steps: steps collected per env before each update (sb3-contrib's default 128; PPO's is 2048).
    :param batch_size: minibatch size in transitions; sequences are cut to fit (sb3-contrib's 128; PPO's 64).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpLstmPolicy": MlpLstmPolicy,
        "CnnLstmPolicy": CnnLstmPolicy,
        "MultiInputLstmPolicy": MultiInputLstmPolicy,
    }

    def __init__(
        self,
        policy: str | type[RecurrentActorCriticPolicy],
        env: Any,
        learning_rate: float | Any = 3e-4,
        n_steps: int = 128,
        batch_size: int = 128,
        n_epochs: int = 10,
        gamma: float = 0.99,
        gae_lambda: float = 0.95,
        clip_range: float | Any = 0.2,
        clip_range_vf: float | Any | None = None,
        normalize_advantage: bool = True,
        ent_coef: float = 0.0,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        use_sde: bool = False,
        sde_sample_freq: int = -1,
        target_kl: float | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
        *,
        precision: str = "fp32",
    ) -> None:
        if isinstance(policy, type) and not issubclass(policy, RecurrentActorCriticPolicy):
            raise ValueError(
                f"RecurrentPPO needs a recurrent policy (MlpLstmPolicy, CnnLstmPolicy, MultiInputLstmPolicy), got "
                f"{policy.__name__}; use PPO for feed-forward policies"
            )
        super().__init__(
            policy, env, learning_rate=learning_rate, n_steps=n_steps, batch_size=batch_size, n_epochs=n_epochs,
            gamma=gamma, gae_lambda=gae_lambda, clip_range=clip_range, clip_range_vf=clip_range_vf,
            normalize_advantage=normalize_advantage, ent_coef=ent_coef, vf_coef=vf_coef, max_grad_norm=max_grad_norm,
            use_sde=use_sde, sde_sample_freq=sde_sample_freq, target_kl=target_kl,
            stats_window_size=stats_window_size, tensorboard_log=tensorboard_log, policy_kwargs=policy_kwargs,
            verbose=verbose, seed=seed, device=device, _init_setup_model=_init_setup_model, precision=precision,
        )  # fmt: skip
