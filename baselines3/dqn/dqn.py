"""Deep Q-Network (Mnih et al., 2015), with optional double-Q targets, dueling head and n-step returns.

learn(): repeat { act epsilon-greedily for train_freq steps, storing transitions in the replay buffer ->
copy the online net into the target net every target_update_interval steps -> gradient_steps minibatch updates
of the Huber loss towards r + gamma * max_a Q_target(s', a) -> log }.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
from gymnasium import spaces

from baselines3.common import fast, losses
from baselines3.common.base_class import BaseAlgorithm
from baselines3.common.buffers import ReplayBuffer
from baselines3.common.config import Schedule, replay_buffer_arguments
from baselines3.common.fast.optim import apply_gradient, gradient_step
from baselines3.common.off_policy.learn import learn_off_policy
from baselines3.common.off_policy.rounds import Round, build_replay_buffer, exploring_actions
from baselines3.common.policies import BasePolicy, TargetUpdate
from baselines3.common.schedules import LinearSchedule
from baselines3.dqn.config import DQNConfig
from baselines3.dqn.policies import CnnPolicy, DQNPolicy, MlpPolicy, MultiInputPolicy

SelfDQN = TypeVar("SelfDQN", bound="DQN")


class DQN(BaseAlgorithm):
    """DQN with SB3's hyperparameter names and defaults; each is documented in `DQNConfig` (`model.config`).

    `policy` is a policy class or "MlpPolicy", "CnnPolicy" (images) or "MultiInputPolicy" (Dict observations);
    `env` a gymnasium env, a VecEnv or an env id (None when loading); `device` "cpu", "cuda" or "auto".
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    supported_action_spaces = (spaces.Discrete,)
    policy: DQNPolicy
    config: DQNConfig

    def __init__(
        self,
        policy: str | type[DQNPolicy],
        env: Any,
        learning_rate: float | Schedule = 1e-4,
        buffer_size: int = 1_000_000,
        learning_starts: int = 100,
        batch_size: int = 32,
        tau: float = 1.0,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 4,
        gradient_steps: int = 1,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        optimize_memory_usage: bool = False,
        n_steps: int = 1,
        double_q: bool = False,
        target_update_interval: int = 10_000,
        exploration_fraction: float = 0.1,
        exploration_initial_eps: float = 1.0,
        exploration_final_eps: float = 0.05,
        max_grad_norm: float = 10,
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
        super().__init__(policy, env, DQNConfig.from_arguments(locals()), device=device, support_multi_env=True)
        self.exploration_rate = exploration_initial_eps
        self.replay_buffer: ReplayBuffer | None = None
        self._n_calls = 0  # vec-env steps, for the target update schedule
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        config = self.config
        self._setup_lr_schedule()
        self.set_random_seed(config.seed)
        self.policy = self.policy_class(  # type: ignore[assignment]
            self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs
        ).to(self.device)
        self.q_net, self.q_net_target = self.policy.q_net, self.policy.q_net_target
        self._update_target_net = TargetUpdate(self.q_net, self.q_net_target)
        self._train_freq = config.train_frequency
        self.replay_buffer = build_replay_buffer(self, *replay_buffer_arguments(config))
        self.exploration_schedule = LinearSchedule(
            config.exploration_initial_eps, config.exploration_final_eps, config.exploration_fraction
        )

    # ------------------------------------------------------------------ acting
    def _epsilon_greedy(self, obs: Any) -> np.ndarray:
        """Greedy actions, each replaced by a uniformly random one with probability exploration_rate."""
        self._update_current_progress_remaining(self.num_timesteps, self._total_timesteps)
        self.exploration_rate = self.exploration_schedule(self._current_progress_remaining)
        n_envs = self.n_envs if self.env is None else self.env.num_envs
        if np.random.rand() < self.exploration_rate and n_envs == 1:
            return np.array([self.action_space.sample()])
        actions = self.q_net.greedy_actions(obs)  # the env's batch goes straight to the Q-network (no checks)
        if n_envs > 1:
            random_envs = np.random.rand(n_envs) < self.exploration_rate
            for idx in np.flatnonzero(random_envs):
                actions[idx] = self.action_space.sample()
        return actions

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """Greedy actions, or epsilon-greedy ones (at the current exploration rate) when not deterministic."""
        if deterministic:
            return self.policy.predict(observation, state, episode_start, deterministic=True)
        actions, state = self.policy.predict(observation, state, episode_start, deterministic=True)
        random = np.random.rand(*np.shape(actions)) < self.exploration_rate
        if np.ndim(actions) == 0:
            return (np.array(self.action_space.sample()) if random else actions), state
        for idx in np.flatnonzero(random):
            actions[idx] = self.action_space.sample()
        return actions, state

    # ------------------------------------------------------------------ updating
    def _update_target(self, n_calls_before: int) -> None:
        """Target update for every multiple of target_update_interval (vec-env steps) passed since the last call.

        The online net does not change while collecting, so k updates with rate tau equal one with rate
        1 - (1 - tau)**k."""
        interval = max(self.config.target_update_interval // (self.env.num_envs if self.env else 1), 1)
        k = self._n_calls // interval - n_calls_before // interval
        if k > 0:
            self._update_target_net(1.0 - (1.0 - self.config.tau) ** k)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """`gradient_steps` minibatch updates of the Huber TD loss."""
        assert self.replay_buffer is not None
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        step_losses = []
        plan = fast.huber_update_plan(self.q_net)
        for batch in self.replay_buffer.sample_batches(batch_size, gradient_steps, env=self._vec_normalize_env):
            # 1. targets: r + gamma * (1 - terminated) * max_a Q_target(s', a) (double Q: a from the online net)
            with torch.no_grad():
                next_q = self.q_net_target.forward(batch.next_observations)
                next_q_online = self.q_net.forward(batch.next_observations) if self.config.double_q else None
                next_values = losses.dqn_next_q_values(next_q, next_q_online)
                targets = losses.td_target(batch.rewards, batch.dones, next_values, self.config.gamma, batch.discounts)
            # 2. regress Q(s, a) on the targets
            if plan is not None:  # the same loss and gradient, without autograd's overhead
                loss, grad = fast.huber_gradient(plan, self.q_net, batch.observations, batch.actions, targets)  # type: ignore[arg-type]
                apply_gradient(grad, self.policy.optimizer, self.policy.flat_parameters, self.max_grad_norm, loss)
            else:
                loss = losses.dqn_loss(self.q_net.forward(batch.observations), batch.actions, targets)
                gradient_step(loss, self.policy.optimizer, self.policy.flat_parameters, self.max_grad_norm)
            step_losses.append(loss.detach())
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if step_losses:
            self.logger.record("train/loss", torch.stack(step_losses).mean().item())

    def learn(
        self: SelfDQN,
        total_timesteps: int,
        callback: Any = None,
        log_interval: int = 4,
        tb_log_name: str = "DQN",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfDQN:
        """Train for `total_timesteps` env steps (summed over envs)."""
        # 1. act epsilon-greedily (uniformly at random until learning_starts) and store transitions;
        # 2. after each round: target network and epsilon schedule, then train(): (double) Q-learning targets
        #    and Huber-loss updates; 3. log each time another log_interval episodes have ended, as SB3 does
        explore = exploring_actions(self, self._epsilon_greedy, self.config.learning_starts)
        return learn_off_policy(
            self, self.train, total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar,
            select_actions=explore, after_round=self._after_round,
        )  # fmt: skip

    def _after_round(self, round_: Round) -> None:
        n_calls_before = self._n_calls
        self._n_calls += round_.timesteps // self.runner.num_envs
        self._update_target(n_calls_before)
        # also during warm-up, when actions are random and _epsilon_greedy() is not called
        self.exploration_rate = self.exploration_schedule(self._current_progress_remaining)
        self.logger.record("rollout/exploration_rate", self.exploration_rate)


__all__ = ["DQN"]
