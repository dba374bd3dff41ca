"""Off-policy network pieces: the batched critic MLP, ContinuousCritic, target-network updates, the fused Adam
step, and the train-frequency / replay-buffer setup helpers."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from baselines3.common import optim
from baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer
from baselines3.common.off_policy import TrainFreq, TrainFrequencyUnit, build_replay_buffer, convert_train_freq
from baselines3.common.optim import gradient_step, make_optimizer
from baselines3.common.policies import ContinuousCritic, TargetUpdate, make_target_network
from baselines3.common.torch_layers import BaseFeaturesExtractor, BatchedMLP

OBS = spaces.Box(-1.0, 1.0, (3,), np.float32)
ACT = spaces.Box(-1.0, 1.0, (2,), np.float32)


# ------------------------------------------------------------------ BatchedMLP


def _separate_net(mlp: BatchedMLP, index: int) -> nn.Sequential:
    """Net `index` of `mlp` rebuilt from nn.Linear layers holding its slices of the batched weights."""
    layers: list[nn.Module] = []
    for i, (weight, bias) in enumerate(zip(mlp.weights, mlp.biases)):
        linear = nn.Linear(weight.shape[1], weight.shape[2])
        with torch.no_grad():
            linear.weight.copy_(weight[index].T)
            linear.bias.copy_(bias[index, 0])
        layers.append(linear)
        if i < len(mlp.weights) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def test_batched_mlp_equals_separate_nets():
    torch.manual_seed(0)
    mlp = BatchedMLP(3, 4, 2, [8, 5])
    assert [tuple(w.shape) for w in mlp.weights] == [(3, 4, 8), (3, 8, 5), (3, 5, 2)]
    assert [tuple(b.shape) for b in mlp.biases] == [(3, 1, 8), (3, 1, 5), (3, 1, 2)]
    x = torch.randn(6, 4)
    out = mlp(x)
    assert out.shape == (3, 6, 2)
    for i in range(3):
        expected = _separate_net(mlp, i)(x)
        torch.testing.assert_close(out[i], expected)
        torch.testing.assert_close(mlp.forward_one(x, i), expected)
    # the nets really differ (independent initialization)
    assert not torch.allclose(out[0], out[1])


def test_batched_mlp_takes_one_input_per_net():
    torch.manual_seed(1)
    mlp = BatchedMLP(2, 3, 1, [4])
    x = torch.randn(2, 5, 3)  # (n_nets, batch, input_dim)
    out = mlp(x)
    for i in range(2):
        torch.testing.assert_close(out[i], _separate_net(mlp, i)(x[i]))


def test_batched_mlp_initialization_bounds():
    torch.manual_seed(2)
    mlp = BatchedMLP(2, 16, 1, [64])
    assert mlp.weights[0].abs().max().item() <= 1 / 4  # 1 / sqrt(fan_in = 16)
    assert mlp.weights[1].abs().max().item() <= 1 / 8  # 1 / sqrt(64)
    assert mlp.weights[0].abs().max().item() > 0.2  # uniform over the whole range, not a narrower one


def test_batched_mlp_detach_params_gives_input_gradients_only():
    torch.manual_seed(3)
    mlp = BatchedMLP(2, 4, 1, [8])
    x = torch.randn(5, 4, requires_grad=True)
    mlp(x).sum().backward()
    reference = x.grad.clone()
    mlp.zero_grad(set_to_none=True)
    x.grad = None
    mlp(x, detach_params=True).sum().backward()
    assert all(p.grad is None for p in mlp.parameters())
    torch.testing.assert_close(x.grad, reference)
    x.grad = None
    mlp.forward_one(x, 1, detach_params=True).sum().backward()
    assert all(p.grad is None for p in mlp.parameters())
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_batched_mlp_forward_one_trains_only_its_net():
    torch.manual_seed(4)
    mlp = BatchedMLP(2, 4, 1, [8])
    mlp.forward_one(torch.randn(5, 4), 1).sum().backward()
    for weight in mlp.weights:
        assert weight.grad[0].abs().sum() == 0 and weight.grad[1].abs().sum() > 0


def test_batched_mlp_needs_a_net():
    with pytest.raises(ValueError, match="n_nets"):
        BatchedMLP(0, 4, 1, [8])


# ------------------------------------------------------------------ ContinuousCritic


class _LinearExtractor(BaseFeaturesExtractor):
    """A features extractor with weights, to see whether the critic loss trains it."""

    def __init__(self, observation_space: spaces.Box) -> None:
        super().__init__(observation_space, features_dim=4)
        self.linear = nn.Linear(3, 4)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        return self.linear(observations)


def _critic(share: bool, n_critics: int = 2) -> ContinuousCritic:
    torch.manual_seed(5)
    return ContinuousCritic(
        OBS, ACT, [16, 16], _LinearExtractor(OBS), 4, n_critics=n_critics, share_features_extractor=share
    )


def test_continuous_critic_shapes_and_views():
    critic = _critic(share=False, n_critics=3)
    obs, actions = torch.rand(7, 3), torch.rand(7, 2)
    q = critic.q_values(obs, actions)
    assert q.shape == (3, 7, 1)
    out = critic(obs, actions)
    assert isinstance(out, tuple) and len(out) == 3
    for i, q_i in enumerate(out):
        assert q_i.shape == (7, 1)
        assert torch.equal(q_i, q[i])
    torch.testing.assert_close(critic.q1_forward(obs, actions), q[0])
    # each critic is a function of (features, action): the same as its own MLP on the concatenation
    features = critic.features_extractor(obs)
    inputs = torch.cat([features, actions], dim=1)
    for i in range(3):
        torch.testing.assert_close(q[i], _separate_net(critic.qf, i)(inputs))


@pytest.mark.parametrize("share", [True, False])
def test_critic_loss_trains_the_extractor_only_when_not_shared(share):
    critic = _critic(share=share)
    loss = critic.q_values(torch.rand(5, 3), torch.rand(5, 2)).pow(2).mean()
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in critic.qf.parameters())
    extractor_grads = [p.grad for p in critic.features_extractor.parameters()]
    if share:
        assert all(g is None for g in extractor_grads)
    else:
        assert all(g is not None and g.abs().sum() > 0 for g in extractor_grads)


@pytest.mark.parametrize("method", ["q_values", "q1_forward"])
def test_critic_detach_params_passes_gradient_to_actions_only(method):
    critic = _critic(share=False)
    actions = torch.rand(5, 2, requires_grad=True)
    getattr(critic, method)(torch.rand(5, 3), actions, detach_params=True).sum().backward()
    assert all(p.grad is None for p in critic.parameters())
    assert actions.grad is not None and actions.grad.abs().sum() > 0


# ------------------------------------------------------------------ target networks


def _bn_net() -> nn.Module:
    torch.manual_seed(6)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 1))


def test_make_target_network_is_a_frozen_copy():
    online = _bn_net()
    target = make_target_network(online)
    assert not target.training
    assert all(not p.requires_grad for p in target.parameters())
    for a, b in zip(online.parameters(), target.parameters()):
        assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()


def test_target_update_is_polyak_for_weights_and_a_copy_for_batch_norm_stats():
    online = _bn_net()
    target = make_target_network(online)
    update = TargetUpdate(online, target)
    with torch.no_grad():
        for param in online.parameters():
            param.add_(torch.randn_like(param))
    online.train()
    online(torch.randn(32, 3) * 3 + 1)  # moves the running statistics
    old_target = [p.clone() for p in target.parameters()]
    update(0.1)
    for old, new, source in zip(old_target, target.parameters(), online.parameters()):
        torch.testing.assert_close(new, 0.9 * old + 0.1 * source)
        assert not torch.equal(new, old)
    bn_online, bn_target = online[1], target[1]
    assert torch.equal(bn_target.running_mean, bn_online.running_mean)
    assert torch.equal(bn_target.running_var, bn_online.running_var)
    assert not torch.equal(bn_online.running_mean, torch.zeros(4))
    update(1.0)
    for a, b in zip(online.parameters(), target.parameters()):
        assert torch.equal(a, b)


def test_target_update_follows_the_modules_after_a_dtype_change():
    online = _bn_net()
    target = make_target_network(online)
    update = TargetUpdate(online, target)  # collected before the move: .to() keeps the Parameter objects
    online.double()
    target.double()
    old = target[0].weight.clone()
    with torch.no_grad():
        online[0].weight.fill_(2.0)
    update(0.5)
    assert target[0].weight.dtype == torch.float64
    torch.testing.assert_close(target[0].weight, 0.5 * old + 1.0)


# ------------------------------------------------------------------ fused Adam fast path


def _mlp() -> nn.Module:
    torch.manual_seed(7)
    return nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2))


def _train(
    optimizer_class: type[torch.optim.Optimizer],
    kwargs: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    allow_fused: bool,
    extra_hook: bool = False,
) -> tuple[nn.Module, torch.optim.Optimizer, list[bool], int]:
    """Six gradient steps; returns the net, its optimizer, what the fast path answered, and extra-hook calls."""
    net = _mlp()
    optimizer, flat = make_optimizer(net, optimizer_class, 3e-3, kwargs)
    answers: list[bool] = []
    real = optim._fused_adam_step

    def spy(opt: torch.optim.Optimizer) -> bool:
        answer = real(opt) if allow_fused else False
        answers.append(answer)
        return answer

    monkeypatch.setattr(optim, "_fused_adam_step", spy)
    hook_calls = [0]
    if extra_hook:
        optimizer.register_step_pre_hook(lambda *args: hook_calls.__setitem__(0, hook_calls[0] + 1))
    generator = torch.Generator().manual_seed(0)
    for _ in range(6):
        x, y = torch.randn(16, 4, generator=generator), torch.randn(16, 2, generator=generator)
        gradient_step(((net(x) - y) ** 2).mean(), optimizer, flat, max_grad_norm=0.5)
    monkeypatch.setattr(optim, "_fused_adam_step", real)
    return net, optimizer, answers, hook_calls[0]


def _assert_bit_identical(a: tuple, b: tuple) -> None:
    net_a, opt_a = a[0], a[1]
    net_b, opt_b = b[0], b[1]
    for p, q in zip(net_a.parameters(), net_b.parameters()):
        assert torch.equal(p, q)
    state_a = next(iter(opt_a.state.values()))
    state_b = next(iter(opt_b.state.values()))
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
    assert float(state_a["step"]) == 6.0


@pytest.mark.parametrize(
    ("optimizer_class", "kwargs"),
    [
        (torch.optim.Adam, {}),
        (torch.optim.Adam, {"weight_decay": 0.01, "eps": 1e-5}),
        (torch.optim.AdamW, {"weight_decay": 0.01}),
    ],
    ids=["adam", "adam-l2", "adamw"],
)
def test_fused_adam_step_is_bit_identical_to_optimizer_step(optimizer_class, kwargs, monkeypatch):
    fast = _train(optimizer_class, kwargs, monkeypatch, allow_fused=True)
    reference = _train(optimizer_class, kwargs, monkeypatch, allow_fused=False)
    # the first step creates the optimizer state through step(); every later one takes the fast path
    assert fast[2] == [False] + [True] * 5
    _assert_bit_identical(fast, reference)


def test_fused_adam_step_falls_back_when_another_hook_is_registered(monkeypatch):
    hooked = _train(torch.optim.Adam, {}, monkeypatch, allow_fused=True, extra_hook=True)
    assert hooked[2] == [False] * 6
    assert hooked[3] == 6  # the user's hook ran at every step
    reference = _train(torch.optim.Adam, {}, monkeypatch, allow_fused=False)
    _assert_bit_identical(hooked, reference)


@pytest.mark.parametrize(
    ("optimizer_class", "kwargs"),
    [(torch.optim.Adam, {"amsgrad": True}), (torch.optim.SGD, {"momentum": 0.9})],
    ids=["amsgrad", "sgd"],
)
def test_fused_adam_step_declines_other_optimizers(optimizer_class, kwargs, monkeypatch):
    answers = _train(optimizer_class, kwargs, monkeypatch, allow_fused=True)[2]
    assert answers == [False] * 6


# ------------------------------------------------------------------ train_freq and replay-buffer setup


def test_convert_train_freq_accepts_ints_and_pairs():
    assert convert_train_freq(4) == TrainFreq(4, TrainFrequencyUnit.STEP)
    assert convert_train_freq(np.int64(2)) == TrainFreq(2, TrainFrequencyUnit.STEP)
    assert convert_train_freq((3, "episode")) == TrainFreq(3, TrainFrequencyUnit.EPISODE)
    assert convert_train_freq([1, "step"]) == TrainFreq(1, TrainFrequencyUnit.STEP)
    assert convert_train_freq((5, TrainFrequencyUnit.EPISODE)) == TrainFreq(5, TrainFrequencyUnit.EPISODE)
    same = TrainFreq(7, TrainFrequencyUnit.STEP)
    assert convert_train_freq(same) is same


def test_convert_train_freq_errors_name_the_bad_part():
    with pytest.raises(ValueError, match="'epoch'"):
        convert_train_freq((1, "epoch"))
    with pytest.raises(ValueError, match=r"frequency.*got 0"):
        convert_train_freq(0)
    with pytest.raises(ValueError, match=r"frequency.*got 1\.5"):
        convert_train_freq((1.5, "step"))
    with pytest.raises(ValueError, match="True"):
        convert_train_freq(True)
    with pytest.raises(ValueError, match="train_freq"):
        convert_train_freq((1, "step", 2))


def _model(n_envs: int = 2) -> Any:
    return SimpleNamespace(observation_space=OBS, action_space=ACT, device=torch.device("cpu"), n_envs=n_envs, env=None)


def test_build_replay_buffer_makes_the_asked_buffer():
    buffer = build_replay_buffer(_model(), 100, 32, False, None, None)
    assert type(buffer) is ReplayBuffer and buffer.buffer_size == 50 and buffer.n_envs == 2
    optimized = build_replay_buffer(_model(), 100, 32, True, None, {"handle_timeout_termination": False})
    assert optimized.optimize_memory_usage and not optimized.handle_timeout_termination
    nstep = build_replay_buffer(_model(), 100, 32, False, None, None, n_steps=3, gamma=0.9)
    assert isinstance(nstep, NStepReplayBuffer) and nstep.n_steps == 3 and nstep.gamma == 0.9


def test_build_replay_buffer_errors():
    with pytest.raises(ValueError, match=r"buffer_size=10.*batch_size=32"):
        build_replay_buffer(_model(), 10, 32, False, None, None)
    with pytest.raises(ValueError, match="n_steps"):
        build_replay_buffer(_model(), 100, 32, False, None, None, n_steps=0)
    with pytest.raises(ValueError, match="NStepReplayBuffer"):
        build_replay_buffer(_model(), 100, 32, False, ReplayBuffer, None, n_steps=3)
    with pytest.raises(TypeError, match="ReplayBuffer subclass"):
        build_replay_buffer(_model(), 100, 32, False, dict, None)  # type: ignore[arg-type]


def test_dqn_fused_q_network_matches_the_module_path():
    from baselines3.dqn.policies import DQNPolicy

    torch.manual_seed(0)
    obs_space = spaces.Box(-1.0, 1.0, (4,), np.float32)
    policy = DQNPolicy(obs_space, spaces.Discrete(3), lambda _: 1e-3, net_arch=[32, 16])
    q_net = policy.q_net
    assert q_net._mlp_plan() is not None
    obs = torch.randn(8, 4)
    fused = q_net(obs)
    modules = q_net.q_net(obs)  # the nn.Sequential itself
    torch.testing.assert_close(fused, modules)
    # gradients: the fused path writes them into the flat buffer, the module path into each parameter
    flat = policy.flat_parameters
    flat.flat.grad = None
    q_net(obs).pow(2).sum().backward()
    fused_grad = flat.gather_grads().clone()
    flat.flat.grad = None
    q_net.q_net(obs).pow(2).sum().backward()
    module_grad = flat.gather_grads().clone()
    torch.testing.assert_close(fused_grad, module_grad)
    # the target network (no gradient buffer) runs the fused forward under no_grad and matches too
    with torch.no_grad():
        torch.testing.assert_close(policy.q_net_target(obs), policy.q_net_target.q_net(obs))
