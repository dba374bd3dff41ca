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

from baselines3.common import fast
from baselines3.common.buffers import NStepReplayBuffer, ReplayBuffer
from baselines3.common.fast import optim
from baselines3.common.fast.optim import gradient_step, make_optimizer
from baselines3.common.off_policy.rounds import TrainFreq, TrainFrequencyUnit, build_replay_buffer, convert_train_freq
from baselines3.common.policies import ContinuousCritic, TargetUpdate, make_target_network
from baselines3.common.torch_layers import BaseFeaturesExtractor

OBS = spaces.Box(-1.0, 1.0, (3,), np.float32)
ACT = spaces.Box(-1.0, 1.0, (2,), np.float32)


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
        torch.testing.assert_close(q[i], getattr(critic, f"qf{i}")(inputs))
    assert not torch.allclose(q[0], q[1])  # independently initialized networks


@pytest.mark.parametrize("share", [True, False])
def test_critic_loss_trains_the_extractor_only_when_not_shared(share):
    critic = _critic(share=share)
    loss = critic.q_values(torch.rand(5, 3), torch.rand(5, 2)).pow(2).mean()
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for q in critic.q_networks for p in q.parameters())
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


@pytest.mark.usefixtures("fast_paths")
def test_critic_fused_path_matches_the_module_path():
    from baselines3.common.fast.optim import make_optimizer
    from baselines3.common.torch_layers import FlattenExtractor

    torch.manual_seed(7)
    critic = ContinuousCritic(OBS, ACT, [16, 8], FlattenExtractor(OBS), 3, share_features_extractor=False)
    critic.optimizer, flat = make_optimizer(critic, torch.optim.Adam, 1e-3, {})
    critic.__dict__["flat_parameters"] = flat
    obs, actions = torch.rand(6, 3), torch.rand(6, 2)
    inputs = torch.cat([obs, actions], dim=1)
    assert all(fast.critic_q(critic, i, inputs, False) is not None for i in range(critic.n_critics))
    expected = torch.stack([q(inputs) for q in critic.q_networks])
    torch.testing.assert_close(critic.q_values(obs, actions), expected)
    # weight gradients land in the flat buffer exactly as the module path's per-parameter gradients
    flat.flat.grad = None
    critic.q_values(obs, actions).pow(2).sum().backward()
    fused_grad = flat.gather_grads().clone()
    flat.flat.grad = None
    torch.stack([q(inputs) for q in critic.q_networks]).pow(2).sum().backward()
    torch.testing.assert_close(fused_grad, flat.gather_grads())
    # input-only gradients (actor loss) equal autograd's through the modules
    flat.flat.grad = None
    fused_actions = actions.clone().requires_grad_(True)
    critic.q_values(obs, fused_actions, detach_params=True).sum().backward()
    module_actions = actions.clone().requires_grad_(True)
    torch.stack([q(torch.cat([obs, module_actions], dim=1)) for q in critic.q_networks]).sum().backward()
    torch.testing.assert_close(fused_actions.grad, module_actions.grad)


def test_critic_state_dict_uses_sb3_names():
    critic = _critic(share=False)
    keys = set(critic.state_dict())
    assert {"qf0.0.weight", "qf0.2.weight", "qf0.4.bias", "qf1.0.weight"} <= keys


def test_critic_needs_at_least_one_network():
    with pytest.raises(ValueError, match="n_critics"):
        _critic(share=False, n_critics=0)


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
    real = optim._direct_step

    def spy(opt: torch.optim.Optimizer) -> bool:
        answer = real(opt) if allow_fused else False
        answers.append(answer)
        return answer

    monkeypatch.setattr(optim, "_direct_step", spy)
    hook_calls = [0]
    if extra_hook:
        optimizer.register_step_pre_hook(lambda *args: hook_calls.__setitem__(0, hook_calls[0] + 1))
    generator = torch.Generator().manual_seed(0)
    for _ in range(6):
        x, y = torch.randn(16, 4, generator=generator), torch.randn(16, 2, generator=generator)
        gradient_step(((net(x) - y) ** 2).mean(), optimizer, flat, max_grad_norm=0.5)
    monkeypatch.setattr(optim, "_direct_step", real)
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
        (torch.optim.RMSprop, {"alpha": 0.99, "eps": 1e-5}),
        (torch.optim.RMSprop, {"weight_decay": 0.01}),
    ],
    ids=["adam", "adam-l2", "adamw", "rmsprop", "rmsprop-l2"],
)
@pytest.mark.usefixtures("fast_paths")
def test_direct_step_is_bit_identical_to_optimizer_step(optimizer_class, kwargs, monkeypatch):
    fast = _train(optimizer_class, kwargs, monkeypatch, allow_fused=True)
    reference = _train(optimizer_class, kwargs, monkeypatch, allow_fused=False)
    # the first step creates the optimizer state through step(); every later one takes the fast path
    assert fast[2] == [False] + [True] * 5
    _assert_bit_identical(fast, reference)


@pytest.mark.usefixtures("fast_paths")
def test_direct_step_falls_back_when_another_hook_is_registered(monkeypatch):
    hooked = _train(torch.optim.Adam, {}, monkeypatch, allow_fused=True, extra_hook=True)
    assert hooked[2] == [False] * 6
    assert hooked[3] == 6  # the user's hook ran at every step
    reference = _train(torch.optim.Adam, {}, monkeypatch, allow_fused=False)
    _assert_bit_identical(hooked, reference)


@pytest.mark.parametrize(
    ("optimizer_class", "kwargs"),
    [
        (torch.optim.Adam, {"amsgrad": True}),
        (torch.optim.SGD, {"momentum": 0.9}),
        (torch.optim.RMSprop, {"centered": True}),
        (torch.optim.RMSprop, {"momentum": 0.9}),
    ],
    ids=["amsgrad", "sgd", "rmsprop-centered", "rmsprop-momentum"],
)
@pytest.mark.usefixtures("fast_paths")
def test_direct_step_declines_other_optimizers(optimizer_class, kwargs, monkeypatch):
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
    # smaller than a batch is accepted, as in SB3 (10 slots over 2 envs)
    assert build_replay_buffer(_model(), 10, 32, False, None, None).buffer_size == 5
    with pytest.raises(ValueError, match="n_steps"):
        build_replay_buffer(_model(), 100, 32, False, None, None, n_steps=0)
    with pytest.raises(ValueError, match="NStepReplayBuffer"):
        build_replay_buffer(_model(), 100, 32, False, ReplayBuffer, None, n_steps=3)
    with pytest.raises(TypeError, match="ReplayBuffer subclass"):
        build_replay_buffer(_model(), 100, 32, False, dict, None)  # type: ignore[arg-type]


@pytest.mark.usefixtures("fast_paths")
def test_dqn_fused_q_network_matches_the_module_path():
    from baselines3.dqn.policies import DQNPolicy

    torch.manual_seed(0)
    obs_space = spaces.Box(-1.0, 1.0, (4,), np.float32)
    policy = DQNPolicy(obs_space, spaces.Discrete(3), lambda _: 1e-3, net_arch=[32, 16])
    q_net = policy.q_net
    assert fast.q_network_plan(q_net) is not None
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


@pytest.mark.usefixtures("fast_paths")
def test_dqn_fused_update_equals_the_autograd_update():
    from baselines3 import DQN
    from baselines3.common.envs import IdentityEnv

    def trained(fused: bool) -> torch.Tensor:
        model = DQN("MlpPolicy", IdentityEnv(3), learning_starts=50, batch_size=16, buffer_size=500, seed=4)
        assert fast.huber_update_plan(model.q_net) is not None
        with pytest.MonkeyPatch.context() as patch:
            if not fused:
                patch.setattr(fast, "huber_update_plan", lambda q_net: None)
            model.learn(300)
        return model.policy.flat_parameters.flat.detach().clone()

    # same seed, same batches: the hand-computed Huber gradient matches autograd's up to float rounding
    torch.testing.assert_close(trained(True), trained(False), rtol=1e-4, atol=1e-5)


def _torch_greedy(q_net: Any, obs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return q_net(torch.as_tensor(obs, dtype=torch.float32)).argmax(dim=1).numpy()


@pytest.mark.usefixtures("fast_paths")
def test_dqn_greedy_actions_by_numpy_match_the_torch_path_and_follow_training(tmp_path):
    from baselines3 import DQN
    from baselines3.common.fast.fused_mlp import mlp_forward_numpy

    rng = np.random.default_rng(0)
    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=64, batch_size=32, buffer_size=1000, seed=0)
    q_net = model.q_net
    plan = fast.q_network_plan(q_net)
    assert plan is not None and plan.numpy_steps is not None
    obs = rng.normal(size=(64, 4)).astype(np.float32)
    with torch.no_grad():
        expected = q_net(torch.as_tensor(obs)).numpy()
    np.testing.assert_allclose(mlp_forward_numpy(plan.numpy_steps, obs), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(q_net.greedy_actions(obs), _torch_greedy(q_net, obs))
    # the numpy views share the parameters' storage: training, loading and set_parameters all show through
    before = mlp_forward_numpy(plan.numpy_steps, obs).copy()
    model.learn(600)
    assert not np.allclose(before, mlp_forward_numpy(plan.numpy_steps, obs))  # the views see the updates
    np.testing.assert_array_equal(q_net.greedy_actions(obs), _torch_greedy(q_net, obs))
    model.save(tmp_path / "dqn")
    fresh = DQN("MlpPolicy", "CartPole-v1", seed=1)
    fresh.q_net.greedy_actions(obs)  # its plan and views exist before the parameters are replaced
    fresh.set_parameters(str(tmp_path / "dqn.zip"))
    np.testing.assert_array_equal(fresh.q_net.greedy_actions(obs), _torch_greedy(model.q_net, obs))
    # multi-dimensional Box observations are flattened as FlattenExtractor does
    from baselines3.common.torch_layers import FlattenExtractor
    from baselines3.dqn.policies import QNetwork

    grid_space = spaces.Box(-1.0, 1.0, (2, 3), np.float32)
    grid_q = QNetwork(grid_space, spaces.Discrete(4), FlattenExtractor(grid_space), 6, net_arch=[16])
    grid_plan = fast.q_network_plan(grid_q)
    assert grid_plan is not None and grid_plan.numpy_steps is not None
    grid_obs = rng.uniform(-1, 1, size=(32, 2, 3)).astype(np.float32)
    with torch.no_grad():
        grid_expected = grid_q(torch.as_tensor(grid_obs)).argmax(dim=1).numpy()
    np.testing.assert_array_equal(grid_q.greedy_actions(grid_obs), grid_expected)


def test_dqn_greedy_actions_fall_back_to_torch_where_numpy_would_differ():
    from baselines3 import DQN

    rng = np.random.default_rng(1)
    obs = rng.normal(size=(8, 4)).astype(np.float32)
    dueling = DQN("MlpPolicy", "CartPole-v1", policy_kwargs={"dueling": True}, seed=0)
    np.testing.assert_array_equal(dueling.q_net.greedy_actions(obs), _torch_greedy(dueling.q_net, obs))
    # a forward hook that changes the output must be honoured
    model = DQN("MlpPolicy", "CartPole-v1", seed=0)
    plain = model.q_net.greedy_actions(obs)
    handle = model.q_net.q_net[-1].register_forward_hook(lambda module, args, out: -out)
    np.testing.assert_array_equal(model.q_net.greedy_actions(obs), 1 - plain)  # two actions: argmin = 1 - argmax
    handle.remove()
    np.testing.assert_array_equal(model.q_net.greedy_actions(obs), plain)
    # images are scaled by 1/255 before the network: the torch path does that
    from baselines3.common.torch_layers import FlattenExtractor
    from baselines3.dqn.policies import QNetwork

    image_space = spaces.Box(0, 255, (8, 8, 1), np.uint8)
    q_net = QNetwork(image_space, spaces.Discrete(3), FlattenExtractor(image_space), 64, net_arch=[16])
    images = rng.integers(0, 256, size=(4, 8, 8, 1), dtype=np.uint8)
    with torch.no_grad():
        scaled = q_net.q_net(torch.as_tensor(images).float().reshape(4, -1) / 255.0).argmax(dim=1).numpy()
    np.testing.assert_array_equal(q_net.greedy_actions(images), scaled)


def test_huber_loss_and_grad_matches_autograd():
    from baselines3.common.losses import huber_loss_and_grad

    diff = torch.tensor([[-3.0], [-1.0], [-0.25], [0.0], [0.5], [1.0], [2.5]], requires_grad=True)
    expected = torch.nn.functional.smooth_l1_loss(diff, torch.zeros_like(diff))
    expected.backward()
    loss, grad = huber_loss_and_grad(diff.detach().clone())
    torch.testing.assert_close(loss, expected.detach())
    torch.testing.assert_close(grad, diff.grad)
    # hand values: |x| > 1 -> x - 0.5 sign; else x^2 / 2; mean over 7
    assert loss.item() == pytest.approx((2.5 + 0.5 + 0.03125 + 0 + 0.125 + 0.5 + 2.0) / 7)


@pytest.mark.usefixtures("fast_paths")
@pytest.mark.parametrize("algo, net_arch, scale", [("sac", [32, 32], 1.0), ("td3", [40, 30], 2.0)])
def test_critic_regression_by_hand_equals_autograd(algo, net_arch, scale):
    from baselines3 import SAC, TD3
    from baselines3.common import losses

    model_class = SAC if algo == "sac" else TD3
    model = model_class("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": net_arch}, seed=0)
    critic = model.critic
    plans = fast.critic_update_plans(critic)
    assert plans is not None and len(plans) == 2 and plans[0].grad_buffer is plans[1].grad_buffer
    generator = torch.Generator().manual_seed(1)
    obs, actions = torch.randn(64, 3, generator=generator), torch.rand(64, 1, generator=generator) * 2 - 1
    targets = torch.randn(64, 1, generator=generator)
    loss, grad = fast.critic_regression_gradient(plans, critic, obs, actions, targets, scale)
    flat = critic.flat_parameters
    flat.flat.grad = None
    with fast.switched(False):
        expected_loss = scale * losses.twin_critic_loss(critic.q_values(obs, actions), targets)
        expected_loss.backward()
    torch.testing.assert_close(loss, expected_loss.detach())
    torch.testing.assert_close(grad, flat.gather_grads(), rtol=1e-5, atol=1e-6)
    flat.flat.grad = None


@pytest.mark.usefixtures("fast_paths")
@pytest.mark.parametrize("algo", ["sac", "td3"])
def test_critic_update_by_hand_trains_as_the_autograd_update(algo):
    from baselines3 import SAC, TD3

    model_class = SAC if algo == "sac" else TD3

    def trained(by_hand: bool) -> torch.Tensor:
        model = model_class(
            "MlpPolicy", "Pendulum-v1", learning_starts=50, batch_size=16, policy_kwargs={"net_arch": [16, 16]}, seed=3
        )
        with pytest.MonkeyPatch.context() as patch:
            if not by_hand:
                patch.setattr(fast, "critic_update_plans", lambda critic: None)
            model.learn(150)
        assert fast.critic_update_plans(model.critic) is not None
        return torch.cat([model.critic.flat_parameters.flat.detach(), model.actor.flat_parameters.flat.detach()])

    # same seed, same batches: 100 updates with the hand-computed gradient stay with autograd's to float rounding
    torch.testing.assert_close(trained(True), trained(False), rtol=1e-4, atol=1e-5)


@pytest.mark.usefixtures("fast_paths")
def test_critic_update_by_hand_steps_aside_for_hooks_other_extractors_and_bf16():
    from baselines3 import SAC
    from baselines3.common.fast.precision import update_context

    model = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs={"net_arch": [8]}, seed=0)
    assert fast.critic_update_plans(model.critic) is not None
    handle = model.critic.qf1[0].register_forward_hook(lambda module, inputs, output: None)
    assert fast.critic_update_plans(model.critic) is None  # a hook must see the forward pass
    handle.remove()
    assert fast.critic_update_plans(model.critic) is not None
    with update_context("bf16", torch.device("cpu")):
        assert fast.critic_update_plans(model.critic) is None  # the hand kernels are float32
    dict_obs = SAC("MultiInputPolicy", _dict_pendulum(), policy_kwargs={"net_arch": [8]})
    assert fast.critic_update_plans(dict_obs.critic) is None  # a features extractor of another kind


def _dict_pendulum() -> Any:
    import gymnasium as gym

    class DictObservation(gym.ObservationWrapper):
        def __init__(self, env: gym.Env) -> None:
            super().__init__(env)
            self.observation_space = spaces.Dict({"state": env.observation_space})

        def observation(self, observation: Any) -> Any:
            return {"state": observation}

    return DictObservation(gym.make("Pendulum-v1"))
