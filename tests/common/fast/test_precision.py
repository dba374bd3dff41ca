"""precision="bf16": the updates' matrix products in bfloat16, everything that is stored in float32."""

import pytest
import torch

from baselines3 import A2C, DDPG, DQN, PPO, SAC, TD3
from baselines3.__main__ import TUNED
from baselines3.common import fast
from baselines3.common.env_util import make_vec_env
from baselines3.common.evaluation import evaluate_policy
from baselines3.common.fast.precision import (
    autocast_active,
    check_precision,
    flushing_subnormals,
    update_context,
)
from baselines3.common.torch_layers import Float32Linear
from baselines3.ppo import RecurrentPPO

ALGORITHMS = [
    (PPO, "CartPole-v1", dict(n_steps=64, batch_size=32)),
    (A2C, "CartPole-v1", dict(n_steps=8)),
    (DQN, "CartPole-v1", dict(learning_starts=64, train_freq=4)),
    (SAC, "Pendulum-v1", dict(learning_starts=64)),
    (TD3, "Pendulum-v1", dict(learning_starts=64)),
    (DDPG, "Pendulum-v1", dict(learning_starts=64)),
]


@pytest.mark.parametrize("cls", [PPO, A2C, DQN, SAC, TD3, DDPG, RecurrentPPO])
def test_an_unknown_precision_is_refused_naming_the_choices(cls):
    env = "Pendulum-v1" if cls in (SAC, TD3, DDPG) else "CartPole-v1"
    policy = "MlpLstmPolicy" if cls is RecurrentPPO else "MlpPolicy"
    with pytest.raises(ValueError, match="precision must be one of 'fp32', 'bf16', got 'fp16'"):
        cls(policy, env, precision="fp16")


def test_precision_is_keyword_only_after_sb3s_arguments():
    with pytest.raises(TypeError):
        PPO("MlpPolicy", "CartPole-v1", 3e-4, 2048, 64, 10, 0.99, 0.95, 0.2, None, True, 0.0, 0.5, 0.5, False, -1,
            None, None, 100, None, None, 0, None, "cpu", True, "bf16")  # fmt: skip


@pytest.mark.parametrize(("cls", "env_id", "kwargs"), ALGORITHMS, ids=lambda v: getattr(v, "__name__", ""))
def test_bf16_updates_run_the_matrix_products_in_bfloat16_and_keep_float32_state(cls, env_id, kwargs):
    model = cls("MlpPolicy", env_id, precision="bf16", seed=0, **kwargs)
    # (autocast on, output layer) -> the dtypes of the linear layers' outputs
    output_dtypes: dict[tuple[bool, bool], set[torch.dtype]] = {
        (a, o): set() for a in (True, False) for o in (True, False)
    }

    def record(module, inputs, output):
        output_dtypes[autocast_active(), isinstance(module, Float32Linear)].add(output.dtype)

    for module in model.policy.modules():
        if isinstance(module, torch.nn.Linear):
            module.register_forward_hook(record)
    before = torch.nn.utils.parameters_to_vector(model.policy.parameters()).clone()
    model.learn(200)
    after = torch.nn.utils.parameters_to_vector(model.policy.parameters())
    assert torch.isfinite(after).all() and not torch.equal(before, after)  # trained
    assert output_dtypes[True, False] == {torch.bfloat16}  # every hidden product of the updates
    assert output_dtypes[True, True] == {torch.float32}  # the networks' outputs
    assert output_dtypes[False, False] | output_dtypes[False, True] == {torch.float32}  # acting
    assert all(p.dtype == torch.float32 for p in model.policy.parameters())
    optimizers = [m.optimizer for m in model.policy.modules() if hasattr(m, "optimizer")]
    optimizers += [getattr(model.policy, "optimizer", None)]
    states = [s for opt in optimizers if opt is not None for s in opt.state.values()]
    assert states and all(t.dtype == torch.float32 for s in states for t in s.values() if t.is_floating_point())


def test_precision_is_saved_and_loaded(tmp_path):
    model = SAC("MlpPolicy", "Pendulum-v1", precision="bf16", learning_starts=10)
    model.learn(20)
    model.save(tmp_path / "sac.zip")
    loaded = SAC.load(tmp_path / "sac.zip")
    assert loaded.precision == "bf16" and loaded.config.precision == "bf16"
    assert SAC("MlpPolicy", "Pendulum-v1").precision == "fp32"


def test_the_seams_float32_kernels_step_aside_under_autocast(fast_paths):
    model = DQN("MlpPolicy", "CartPole-v1")
    obs = torch.zeros(4, 4)
    assert fast.enabled() and fast.q_network_forward(model.q_net, obs) is not None
    with update_context("bf16", torch.device("cpu")):
        assert fast.q_network_forward(model.q_net, obs) is None
        assert fast.huber_update_plan(model.q_net) is None
        assert model.q_net.q_net[0](obs).dtype == torch.bfloat16  # the plain modules run: a hidden layer in bf16
        assert model.q_net(obs).dtype == torch.float32  # and the output layer in float32
    with update_context("fp32", torch.device("cpu")):
        assert not autocast_active()


def test_a_float32_linear_computes_in_float32_under_autocast_and_is_nn_linear_outside():
    torch.manual_seed(0)
    head, plain = Float32Linear(64, 3), torch.nn.Linear(64, 3)
    plain.load_state_dict(head.state_dict())  # same keys as nn.Linear
    x = torch.randn(16, 64)
    assert torch.equal(head(x), plain(x))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        hidden = torch.nn.functional.linear(x, torch.randn(64, 64))
        assert hidden.dtype == torch.bfloat16
        out = head(hidden)
        assert out.dtype == torch.float32
        assert plain(hidden).dtype == torch.bfloat16
    assert torch.allclose(out, plain(hidden.float()), rtol=1e-5, atol=1e-5)  # float32 arithmetic on the input
    out.sum().backward()
    assert head.weight.grad is not None and head.weight.grad.dtype == torch.float32


def test_every_gradient_step_of_a_bf16_update_sees_the_weights_the_last_one_left():
    model = DQN("MlpPolicy", "CartPole-v1")
    obs = torch.ones(2, 4)
    with update_context("bf16", torch.device("cpu")):
        before = model.q_net(obs)
        with torch.no_grad():
            for param in model.q_net.parameters():
                param.add_(0.5)  # as an optimizer step does, in place
        assert not torch.equal(model.q_net(obs), before)


def test_dqn_trains_in_bf16_as_in_fp32():
    losses = {}
    for precision in ("fp32", "bf16"):
        model = DQN("MlpPolicy", "CartPole-v1", learning_starts=500, learning_rate=2.3e-3, batch_size=64,
                    precision=precision, seed=0)  # fmt: skip
        model.learn(1000)
        with update_context(precision, model.device):  # 256 gradient steps in one autocast region
            model.train(gradient_steps=256, batch_size=64)
        losses[precision] = model.logger.name_to_value["train/loss"]
    assert losses["bf16"] < 10 * losses["fp32"] + 1e-3, losses


def test_check_precision_accepts_the_two_choices():
    check_precision("fp32", torch.device("cpu"))
    check_precision("bf16", torch.device("cpu"))
    with pytest.raises(ValueError, match="got 'float32'"):
        check_precision("float32")


def test_ppo_learns_cartpole_in_bf16():
    n_envs, _, hyperparams = TUNED[("ppo", "CartPole-v1")]
    model = PPO(
        "MlpPolicy", make_vec_env("CartPole-v1", n_envs=n_envs, seed=0), seed=0, precision="bf16", **hyperparams
    )
    model.learn(30_000)
    mean, _ = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=1, seed=100), n_eval_episodes=10)
    # random play scores ~22 and an update that does not learn stays below 100. With the output layers in bfloat16
    # too, seeds 0-4 scored 280, 271, 500, 500, 498 on an AMD EPYC with AVX-512 BF16 (float32: 500, 485, 500 on
    # seeds 0-2); with them in float32 (Float32Linear), 478, 404, 500, 464, 500
    assert mean >= 400, f"PPO CartPole (bf16) mean return {mean} < 400 after 30k steps"


@pytest.mark.slow
def test_sac_solves_pendulum_in_bf16():
    model = SAC(
        "MlpPolicy", make_vec_env("Pendulum-v1", n_envs=1, seed=0), learning_rate=1e-3, seed=0, precision="bf16"
    )
    model.learn(20_000)
    mean, _ = evaluate_policy(model, make_vec_env("Pendulum-v1", n_envs=1, seed=100), n_eval_episodes=10)
    assert mean >= -200, f"SAC Pendulum (bf16) mean return {mean} < -200"


def test_updates_flush_subnormals_and_leave_the_mode_as_it_was(fast_paths):
    seen = []
    model = DQN("MlpPolicy", "CartPole-v1", learning_starts=32, train_freq=16)
    original_train = model.train

    def train(*args, **kwargs):
        seen.append(flushing_subnormals())
        original_train(*args, **kwargs)

    model.train = train
    model.learn(64)
    assert seen and all(seen)  # every update, with the seam on
    assert not flushing_subnormals()  # restored: env code and the user's code run with IEEE subnormals
    with fast.switched(False):
        seen.clear()
        model.learn(64)
        assert seen and not any(seen)  # the plain route keeps IEEE arithmetic
    torch.set_flush_denormal(True)  # the user's own setting stays after learn()
    try:
        model.learn(64)
        assert flushing_subnormals()
    finally:
        torch.set_flush_denormal(False)


def test_flushing_subnormals_reads_the_mode(fast_paths):
    assert not flushing_subnormals()
    with update_context("fp32", torch.device("cpu")):
        assert flushing_subnormals()
        assert torch.tensor([1e-39]).mul(1.0).item() == 0.0
    assert torch.tensor([1e-39]).mul(1.0).item() > 0.0
