"""LSTM actor-critic policies for A2C and PPO: MlpLstmPolicy, CnnLstmPolicy, MultiInputLstmPolicy.

Features -> LSTM (actor; the critic has its own LSTM, shares the actor's, or uses a linear layer) -> the usual
MLP extractor and heads. The training state is a tuple of four tensors `(h_pi, c_pi, h_vf, c_vf)`, each shaped
(n_lstm_layers, n_envs, lstm_hidden_size): the env axis is dim 1, which is what the rollout buffer relies on.
`predict` acts with the actor alone and returns its `(h, c)`, as sb3-contrib's RecurrentPPO does.
An env's state is zeroed at the step where its episode starts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common.base_policy import Schedule
from baselines3.common.policies import ActorCriticPolicy
from baselines3.common.torch_layers import BaseFeaturesExtractor, CombinedExtractor, MlpExtractor, NatureCNN

RecurrentState = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def _run_lstm(
    lstm: nn.LSTM, features: torch.Tensor, h: torch.Tensor, c: torch.Tensor, starts: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run `lstm` over `features` (T, N, F) from state (h, c), zeroing an env's state where `starts` (T, N) is 1.

    When no episode starts after the first step (rollout steps, and sequences cut at episode starts) this is a
    single LSTM call; otherwise it steps through time."""
    keep = 1.0 - starts
    if features.shape[0] == 1 or not bool(starts[1:].any()):
        out, (h, c) = lstm(features, (h * keep[0].view(1, -1, 1), c * keep[0].view(1, -1, 1)))
        return out, h, c
    outputs = []
    for t in range(features.shape[0]):
        out, (h, c) = lstm(features[t : t + 1], (h * keep[t].view(1, -1, 1), c * keep[t].view(1, -1, 1)))
        outputs.append(out)
    return torch.cat(outputs), h, c


class RecurrentActorCriticPolicy(ActorCriticPolicy):
    """ActorCriticPolicy with an LSTM between the features and the MLP extractor."""

    is_recurrent = True

    def __init__(
        self,
        observation_space: spaces.Space[Any],
        action_space: spaces.Space[Any],
        lr_schedule: Schedule,
        *args: Any,
        lstm_hidden_size: int = 256,
        n_lstm_layers: int = 1,
        shared_lstm: bool = False,
        enable_critic_lstm: bool = True,
        lstm_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if lstm_hidden_size < 1 or n_lstm_layers < 1:
            raise ValueError(
                f"lstm_hidden_size and n_lstm_layers must be >= 1, got {lstm_hidden_size}, {n_lstm_layers}"
            )
        if shared_lstm and enable_critic_lstm:
            raise ValueError("shared_lstm=True uses the actor's LSTM for the critic: pass enable_critic_lstm=False")
        self.lstm_hidden_size = lstm_hidden_size
        self.n_lstm_layers = n_lstm_layers
        self.shared_lstm = shared_lstm
        self.enable_critic_lstm = enable_critic_lstm
        self.lstm_kwargs = dict(lstm_kwargs or {})
        super().__init__(observation_space, action_space, lr_schedule, *args, **kwargs)

    def _build_mlp_extractor(self) -> None:
        # the LSTMs are created here, before the optimizer that _build makes next
        self.lstm_actor = nn.LSTM(self.features_dim, self.lstm_hidden_size, self.n_lstm_layers, **self.lstm_kwargs)
        self.lstm_critic: nn.LSTM | None = None
        self.critic: nn.Module | None = None
        if self.enable_critic_lstm:
            self.lstm_critic = nn.LSTM(self.features_dim, self.lstm_hidden_size, self.n_lstm_layers, **self.lstm_kwargs)
        elif not self.shared_lstm:
            self.critic = nn.Sequential(nn.Linear(self.features_dim, self.lstm_hidden_size), nn.ReLU())
        self.mlp_extractor = MlpExtractor(self.lstm_hidden_size, self.net_arch, self.activation_fn)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            lstm_hidden_size=self.lstm_hidden_size,
            n_lstm_layers=self.n_lstm_layers,
            shared_lstm=self.shared_lstm,
            enable_critic_lstm=self.enable_critic_lstm,
            lstm_kwargs=self.lstm_kwargs,
        )
        return data

    def _fused_plan(self) -> None:
        return None  # the fused MLP path reads features directly; here an LSTM sits in between

    # ------------------------------------------------------------------ state
    def initial_state(self, n_envs: int) -> RecurrentState:
        zeros = torch.zeros(self.n_lstm_layers, n_envs, self.lstm_hidden_size, device=self.device)
        return (zeros, zeros.clone(), zeros.clone(), zeros.clone())

    def select_state(self, state: Any, env_indices: np.ndarray) -> RecurrentState:
        index = torch.as_tensor(env_indices, device=state[0].device)
        return tuple(part[:, index] for part in state)

    # ------------------------------------------------------------------ forward passes
    def _actor_lstm(
        self, pi_features: torch.Tensor, h_pi: torch.Tensor, c_pi: torch.Tensor, starts: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The actor LSTM's outputs (T*N, hidden) and next state, for features of T steps of N envs."""
        sequence = pi_features.reshape(starts.shape[0], h_pi.shape[1], -1)
        pi_out, h_pi, c_pi = _run_lstm(self.lstm_actor, sequence, h_pi, c_pi, starts)
        return pi_out.reshape(-1, self.lstm_hidden_size), h_pi, c_pi

    def _recurrent_latents(
        self, obs: Any, state: RecurrentState, episode_starts: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, RecurrentState]:
        """Latents (T*N, .) for observations laid out time-major as T steps of N envs/sequences, where
        N = the state's env count; `episode_starts` has T*N entries."""
        h_pi, c_pi, h_vf, c_vf = state
        n = h_pi.shape[1]
        features = self.extract_features(obs)
        pi_features, vf_features = features if isinstance(features, tuple) else (features, features)
        starts = episode_starts.reshape(-1, n).to(pi_features.dtype)
        pi_out, h_pi, c_pi = self._actor_lstm(pi_features, h_pi, c_pi, starts)
        if self.shared_lstm:
            vf_out = pi_out
        elif self.lstm_critic is not None:
            vf_sequence = vf_features.reshape(starts.shape[0], n, -1)
            vf_out, h_vf, c_vf = _run_lstm(self.lstm_critic, vf_sequence, h_vf, c_vf, starts)
        else:
            assert self.critic is not None
            vf_out = self.critic(vf_features)
        latent_pi = self.mlp_extractor.forward_actor(pi_out)
        latent_vf = self.mlp_extractor.forward_critic(vf_out.reshape(-1, self.lstm_hidden_size))
        return latent_pi, latent_vf, (h_pi, c_pi, h_vf, c_vf)

    def rollout_step(
        self, obs: Any, state: Any, episode_starts: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Any]:
        n_envs = state[0].shape[1]
        if episode_starts is None:
            episode_starts = torch.zeros(n_envs, device=state[0].device)
        latent_pi, latent_vf, new_state = self._recurrent_latents(obs, state, episode_starts)
        distribution = self._get_action_dist_from_latent(latent_pi)
        actions = distribution.get_actions()
        log_prob = distribution.log_prob(actions)
        values = self.value_net(latent_vf)
        return actions.reshape((-1, *self.action_space.shape)), values.flatten(), log_prob, new_state  # type: ignore[misc]

    def bootstrap_values(self, obs: Any, state: Any, episode_starts: torch.Tensor | None) -> torch.Tensor:
        n_envs = state[0].shape[1]
        if episode_starts is None:
            episode_starts = torch.zeros(n_envs, device=state[0].device)
        _, latent_vf, _ = self._recurrent_latents(obs, state, episode_starts)
        values: torch.Tensor = self.value_net(latent_vf)
        return values.flatten()

    def evaluate_batch(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Values, log-probs and entropies of a minibatch of padded sequences (time-major, see the buffer)."""
        latent_pi, latent_vf, _ = self._recurrent_latents(batch.observations, batch.states, batch.episode_starts)
        distribution = self._get_action_dist_from_latent(latent_pi)
        actions = batch.actions
        if isinstance(self.action_space, spaces.Discrete):
            actions = actions.long().flatten()
        values = self.value_net(latent_vf)
        return values.flatten(), distribution.log_prob(actions), distribution.entropy()

    def evaluate_actions(self, obs: Any, actions: torch.Tensor) -> Any:
        raise TypeError("A recurrent policy needs its hidden state: use evaluate_batch with a sequence minibatch")

    # ------------------------------------------------------------------ predict
    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        """Actions and the actor's next LSTM state `(h, c)`, numpy arrays shaped (n_lstm_layers, n_envs,
        lstm_hidden_size), as sb3-contrib's RecurrentPPO returns them. Pass the previous call's state back and, as
        `episode_start`, the previous step's dones: those envs start from a zero state. Acting needs only the
        actor's LSTM; the 4-tuple of `initial_state()` (actor and critic) is accepted too."""
        self.set_training_mode(False)
        obs_tensor, vectorized = self.obs_to_tensor(observation)
        first = next(iter(obs_tensor.values())) if isinstance(obs_tensor, dict) else obs_tensor
        n_envs = first.shape[0]
        with torch.inference_mode():
            h_pi, c_pi = self._actor_state_tensors(state, n_envs)
            starts = torch.zeros(n_envs, device=self.device)
            if episode_start is not None:
                starts = torch.as_tensor(np.asarray(episode_start, dtype=np.float32).reshape(-1), device=self.device)
                if starts.shape[0] != n_envs:
                    raise ValueError(f"episode_start has {starts.shape[0]} entries for {n_envs} observations")
            features = self.extract_features(obs_tensor)
            pi_features = features[0] if isinstance(features, tuple) else features
            pi_out, h_pi, c_pi = self._actor_lstm(pi_features, h_pi, c_pi, starts.view(1, -1))
            latent_pi = self.mlp_extractor.forward_actor(pi_out)
            actions_tensor = self._get_action_dist_from_latent(latent_pi).get_actions(deterministic=deterministic)
        return self._env_actions(actions_tensor, vectorized), (h_pi.cpu().numpy(), c_pi.cpu().numpy())

    def _actor_state_tensors(self, state: Any, n_envs: int) -> tuple[torch.Tensor, torch.Tensor]:
        expected = (self.n_lstm_layers, n_envs, self.lstm_hidden_size)
        if state is None:
            zeros = torch.zeros(expected, device=self.device)
            return zeros, zeros
        if not isinstance(state, (tuple, list)) or len(state) not in (2, 4):
            raise ValueError(
                "state must be the (h, c) pair returned by predict() (or the 4-tuple of initial_state()), each of "
                f"shape {expected}; got {type(state).__name__}"
            )
        parts = []
        for part in state[:2]:
            tensor = torch.as_tensor(np.asarray(part, dtype=np.float32), device=self.device)
            if tuple(tensor.shape) != expected:
                raise ValueError(
                    f"state parts must have shape (n_lstm_layers, n_envs, lstm_hidden_size) = {expected}, "
                    f"got {tuple(tensor.shape)}"
                )
            parts.append(tensor)
        return parts[0], parts[1]


class RecurrentActorCriticCnnPolicy(RecurrentActorCriticPolicy):
    """RecurrentActorCriticPolicy with the NatureCNN extractor, for image observations."""

    def __init__(self, *args: Any, features_extractor_class: type[BaseFeaturesExtractor] = NatureCNN, **kwargs: Any):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)


class RecurrentMultiInputActorCriticPolicy(RecurrentActorCriticPolicy):
    """RecurrentActorCriticPolicy with the CombinedExtractor, for Dict observations."""

    def __init__(
        self, *args: Any, features_extractor_class: type[BaseFeaturesExtractor] = CombinedExtractor, **kwargs: Any
    ):
        kwargs["features_extractor_class"] = features_extractor_class
        super().__init__(*args, **kwargs)


MlpLstmPolicy = RecurrentActorCriticPolicy
CnnLstmPolicy = RecurrentActorCriticCnnPolicy
MultiInputLstmPolicy = RecurrentMultiInputActorCriticPolicy
