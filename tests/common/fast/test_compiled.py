"""SAC's and TD3's gradient steps compiled into one program (`baselines3.common.fast.compiled`): the same update as
the eager step to float32 round-off, the reasons it is not used, and the fall-back when compiling fails."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from baselines3 import DDPG, SAC, TD3
from baselines3.common import fast
from baselines3.common.callbacks import BaseCallback
from baselines3.common.fast import compiled
from baselines3.common.fast.precision import update_context


@contextlib.contextmanager
def compiling(value: bool | None) -> Iterator[None]:
    was = compiled.compiled_updates_setting()
    compiled.set_compiled_updates(value)
    try:
        yield
    finally:
        compiled.set_compiled_updates(was)


@pytest.fixture(autouse=True)
def seam_on() -> Iterator[None]:
    """The compiled step is part of the speed seam: on here also when the suite runs with BASELINES3_FAST=0."""
    with fast.switched(True):
        yield


def _model(**kwargs: object) -> SAC:
    settings: dict[str, object] = dict(
        learning_starts=64, batch_size=32, seed=0, policy_kwargs=dict(net_arch=[32, 32]), buffer_size=2_000
    )
    settings.update(kwargs)
    model = SAC("MlpPolicy", "Pendulum-v1", **settings)  # type: ignore[arg-type]
    with compiling(False):
        model.learn(96)  # eager updates: the optimizers have their state
    return model


def _train(model: SAC | TD3, compile_steps: bool, steps: int) -> None:
    torch.manual_seed(7)
    np.random.seed(7)  # the replay buffer samples with numpy's global generator
    with compiling(compile_steps), update_context(model.precision, model.device):
        model.train(steps, batch_size=model.batch_size)


def _assert_close(eager: SAC | TD3, compiled_model: SAC | TD3, atol: float, moment_atol: float = 1e-5) -> None:
    for (name, expected), actual in zip(eager.policy.named_parameters(), compiled_model.policy.parameters()):
        torch.testing.assert_close(actual, expected, rtol=1e-4, atol=atol, msg=name)
    for optimizer_name in ("actor", "critic"):
        eager_state = getattr(eager, optimizer_name).optimizer.state_dict()["state"][0]
        compiled_state = getattr(compiled_model, optimizer_name).optimizer.state_dict()["state"][0]
        assert float(eager_state["step"]) == float(compiled_state["step"])
        torch.testing.assert_close(compiled_state["exp_avg"], eager_state["exp_avg"], rtol=1e-3, atol=moment_atol)


@pytest.mark.parametrize("ent_coef", ["auto", 0.1])
def test_compiled_step_matches_the_eager_step(ent_coef: str | float) -> None:
    eager, compiled_model = _model(ent_coef=ent_coef), _model(ent_coef=ent_coef)
    _train(eager, False, 1)
    _train(compiled_model, True, 1)
    with compiling(True):
        update = compiled.sac_update(compiled_model)
    assert update is not None and not update.failed  # it ran compiled, not the eager fall-back
    assert (compiled.compile_seconds(compiled_model) or 0) > 0
    assert compiled.compile_seconds(eager) is None
    _assert_close(eager, compiled_model, atol=1e-6)
    if ent_coef == "auto":
        torch.testing.assert_close(compiled_model.log_ent_coef, eager.log_ent_coef)
    # several steps: round-off grows through Adam, the updates stay the same
    _train(eager, False, 8)
    _train(compiled_model, True, 8)
    _assert_close(eager, compiled_model, atol=1e-4)
    assert compiled_model.logger.name_to_value["train/n_updates"] == eager.logger.name_to_value["train/n_updates"]
    for key in ("train/actor_loss", "train/critic_loss", "train/ent_coef"):
        assert compiled_model.logger.name_to_value[key] == pytest.approx(eager.logger.name_to_value[key], rel=1e-3)


@pytest.mark.parametrize("optimizer_class", [torch.optim.Adam, torch.optim.AdamW])
def test_weight_decay_matches(optimizer_class: type[torch.optim.Optimizer]) -> None:
    kwargs = dict(
        policy_kwargs=dict(net_arch=[32, 32], optimizer_class=optimizer_class, optimizer_kwargs=dict(weight_decay=0.1))
    )
    eager, compiled_model = _model(**kwargs), _model(**kwargs)
    _train(eager, False, 3)
    _train(compiled_model, True, 3)
    with compiling(True):
        assert compiled.sac_update(compiled_model) is not None
    _assert_close(eager, compiled_model, atol=1e-5)


def test_learning_rate_schedule_is_followed() -> None:
    def schedule(progress_remaining: float) -> float:
        return 1e-3 * progress_remaining

    eager, compiled_model = _model(learning_rate=schedule), _model(learning_rate=schedule)
    for progress in (0.9, 0.5, 0.1):  # the learning rate changes between train() calls: no recompiling needed
        for model in (eager, compiled_model):
            model._current_progress_remaining = progress
        _train(eager, False, 2)
        _train(compiled_model, True, 2)
    assert compiled_model.actor.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    _assert_close(eager, compiled_model, atol=1e-5)


def test_target_update_interval_is_kept() -> None:
    eager, compiled_model = _model(target_update_interval=2), _model(target_update_interval=2)
    targets_before = [p.clone() for p in compiled_model.critic_target.parameters()]
    _train(compiled_model, True, 1)  # n_updates goes 1 -> 2 at this step: no update
    assert all(torch.equal(a, b) for a, b in zip(targets_before, compiled_model.critic_target.parameters()))
    _train(eager, False, 1)
    _train(eager, False, 1)
    _train(compiled_model, True, 1)  # the second step updates the targets
    assert not all(torch.equal(a, b) for a, b in zip(targets_before, compiled_model.critic_target.parameters()))
    for expected, actual in zip(eager.critic_target.parameters(), compiled_model.critic_target.parameters()):
        torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-6)


def test_steps_are_counted_for_the_finiteness_check() -> None:
    model = _model()
    flats = [model.actor.flat_parameters, model.critic.flat_parameters, model._ent_coef_flat]
    before = [flat.steps for flat in flats]
    _train(model, True, 3)
    assert [flat.steps - b for flat, b in zip(flats, before)] == [3, 3, 3]
    assert all(flat.loss_flag is not None for flat in flats)


def test_reasons_it_is_not_compiled() -> None:
    model = _model()
    with compiling(False):
        assert "off" in (compiled.update_reason(model) or "")
        assert compiled.sac_update(model) is None
    with compiling(True):
        assert compiled.update_reason(model) is None
        with fast.switched(False):
            assert "off" in (compiled.update_reason(model) or "")
        with torch.autocast("cpu", dtype=torch.bfloat16):  # the user's own region, around a float32 model
            assert "autocast" in (compiled.update_reason(model) or "")
        sde = _model(use_sde=True)
        assert "gSDE" in (compiled.update_reason(sde) or "")
        rmsprop = _model(policy_kwargs=dict(net_arch=[32, 32], optimizer_class=torch.optim.RMSprop))
        assert "RMSprop" in (compiled.update_reason(rmsprop) or "")
        amsgrad = _model(policy_kwargs=dict(net_arch=[32, 32], optimizer_kwargs=dict(amsgrad=True)))
        assert "amsgrad" in (compiled.update_reason(amsgrad) or "")


def test_automatic_setting_compiles_long_learn_calls_only(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model()  # learn(96): a short call
    with compiling(None):
        reason = compiled.update_reason(model) or ""
        assert "96 steps is too short" in reason and f"{compiled.AUTO_MIN_TIMESTEPS:,}" in reason
        assert compiled.sac_update(model) is None
        # what learn() records for a call of AUTO_MIN_TIMESTEPS steps that continues from step 96
        model._setup_learn(compiled.AUTO_MIN_TIMESTEPS, reset_num_timesteps=False)
        assert model._total_timesteps - model._num_timesteps_at_start == compiled.AUTO_MIN_TIMESTEPS
        assert compiled.update_reason(model) is None
        monkeypatch.setattr(compiled, "_compiler_found", lambda: False)
        assert "no C++ compiler" in (compiled.update_reason(model) or "")
    with compiling(True):  # always: the length of the call and the compiler lookup do not matter
        assert compiled.update_reason(model) is None
    with compiling(False):
        assert "off" in (compiled.update_reason(model) or "")


class _StopAt(BaseCallback):
    def __init__(self, timesteps: int) -> None:
        super().__init__()
        self.timesteps = timesteps

    def _on_step(self) -> bool:
        return self.num_timesteps < self.timesteps


def test_a_long_learn_call_compiles_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    model = SAC(
        "MlpPolicy", "Pendulum-v1", learning_starts=64, batch_size=32, policy_kwargs=dict(net_arch=[16]), verbose=1
    )
    with compiling(None):  # a run planned for AUTO_MIN_TIMESTEPS steps, stopped after 80
        model.learn(compiled.AUTO_MIN_TIMESTEPS, callback=_StopAt(80))
    assert model.num_timesteps == 80
    assert (compiled.compile_seconds(model) or 0) > 0  # its step was compiled (and ran)
    assert "automatic for long runs; BASELINES3_COMPILE=0 turns it off" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "setting"), [("", None), ("auto", None), (" AUTO ", None), ("1", True), ("on", True), ("0", False)]
)
def test_setting_from_the_environment(text: str, setting: bool | None) -> None:
    assert compiled._parse_setting(text) is setting


def test_unknown_setting_names_the_variable() -> None:
    with pytest.raises(ValueError, match=r"BASELINES3_COMPILE must be 1, 0 or auto.*'sometimes'"):
        compiled._parse_setting("sometimes")


def test_first_steps_before_the_optimizers_state_are_eager() -> None:
    model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=10, batch_size=8, policy_kwargs=dict(net_arch=[8]))
    with compiling(True):
        model.learn(10)  # no update yet: the optimizers have no state, the compiled step waits for it
        assert compiled.sac_update(model) is None
        model.learn(2, reset_num_timesteps=False)  # two more steps: the first update is eager, the second compiled
        assert compiled.sac_update(model) is not None
    assert model.actor.flat_parameters.steps == 2


def test_failed_compilation_falls_back_to_the_eager_step(monkeypatch: pytest.MonkeyPatch) -> None:
    eager, fallback = _model(), _model()
    with compiling(True):
        update = compiled.sac_update(fallback)
    assert update is not None

    def broken(*args: object) -> torch.Tensor:
        raise RuntimeError("no C++ compiler found")

    monkeypatch.setattr(update, "step", broken)
    with pytest.warns(RuntimeWarning, match="the eager step runs instead: RuntimeError: no C\\+\\+ compiler"):
        _train(fallback, True, 2)
    _train(eager, False, 2)
    _assert_close(eager, fallback, atol=0)  # the eager step ran: the same numbers bit for bit
    with compiling(True):
        assert compiled.sac_update(fallback) is None  # not tried again


def test_each_model_compiles_its_own_program(monkeypatch: pytest.MonkeyPatch) -> None:
    # torch.compile keeps programs per code object; with one shared code object the second model would exceed a
    # recompile limit of 1 and silently run uncompiled
    monkeypatch.setattr(torch._dynamo.config, "recompile_limit", 1)
    first, second = _model(), _model(policy_kwargs=dict(net_arch=[16]))
    _train(first, True, 1)
    torch._dynamo.utils.counters.clear()
    _train(second, True, 1)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == 1


def _td3(algo: type[TD3], **kwargs: object) -> TD3:
    settings: dict[str, object] = dict(
        learning_starts=64, batch_size=32, seed=0, policy_kwargs=dict(net_arch=[32, 32]), buffer_size=2_000
    )
    settings.update(kwargs)
    model = algo("MlpPolicy", "Pendulum-v1", **settings)  # type: ignore[arg-type]
    with compiling(False):
        model.learn(96)
    return model


@pytest.mark.parametrize("algo", [TD3, DDPG])
def test_compiled_td3_step_matches_the_eager_step(algo: type[TD3]) -> None:
    eager, compiled_model = _td3(algo), _td3(algo)
    # TD3: an actor update every second step, with smoothed target actions; DDPG: every step, no smoothing
    _train(eager, False, 4)
    _train(compiled_model, True, 4)
    with compiling(True):
        update = compiled.td3_update(compiled_model)
    assert update is not None and not update.failed
    assert update.smoothing == (algo is TD3)
    _assert_close(eager, compiled_model, atol=1e-5)
    for key in ("train/actor_loss", "train/critic_loss", "train/n_updates"):
        assert compiled_model.logger.name_to_value[key] == pytest.approx(eager.logger.name_to_value[key], rel=1e-3)


def _state_vectors(model: SAC | TD3) -> dict[str, torch.Tensor]:
    """Every parameter of `model` as one vector, and each optimizer's first moment."""
    vectors = {"parameters": torch.cat([p.detach().flatten() for p in model.policy.parameters()])}
    for name in ("actor", "critic"):
        vectors[f"{name} exp_avg"] = getattr(model, name).optimizer.state_dict()["state"][0]["exp_avg"].flatten()
    return vectors


@pytest.mark.parametrize("algo", [SAC, TD3])
def test_compiled_bf16_step_matches_the_eager_bf16_step(algo: type[SAC] | type[TD3]) -> None:
    build = _model if algo is SAC else lambda **kwargs: _td3(TD3, **kwargs)
    eager, compiled_model, float32 = build(precision="bf16"), build(precision="bf16"), build()
    for steps in (2, 8):
        _train(eager, False, steps)
        _train(compiled_model, True, steps)
        _train(float32, True, steps)
        # the same bfloat16 products as the eager step (the output layers in float32 as there), not float32's: the
        # two bfloat16 steps differ by bfloat16 round-off (the program rounds fewer intermediates), measured 5-570
        # times less than the float32 step differs from them (least: the critics' first moment)
        expected, actual, other = (_state_vectors(model) for model in (eager, compiled_model, float32))
        for name in expected:
            bf16_distance = float((actual[name] - expected[name]).norm())
            float32_distance = float((other[name] - expected[name]).norm())
            assert bf16_distance < 0.3 * float32_distance, (name, steps, bf16_distance, float32_distance)
    with compiling(True), update_context("bf16", compiled_model.device):
        update = compiled.sac_update(compiled_model) if algo is SAC else compiled.td3_update(compiled_model)
    assert update is not None and not update.failed
    with compiling(True):  # outside learn()'s autocast region, a bfloat16 model's step is the eager one
        assert "autocast" in (compiled.update_reason(compiled_model) or "")


def test_td3_reasons() -> None:
    model = _td3(TD3)
    with compiling(True):
        assert compiled.update_reason(model) is None
        sgd = _td3(TD3, policy_kwargs=dict(net_arch=[32], optimizer_class=torch.optim.SGD))
        assert "SGD" in (compiled.update_reason(sgd) or "")
        assert compiled.td3_update(sgd) is None


def test_adam_scalars_of_the_coming_step_are_torch_adams() -> None:
    model = _model(learning_rate=3e-4)
    optimized = compiled._Optimized(model.critic.flat_parameters, model.critic.optimizer)
    state = optimized.state()
    assert state is not None
    coming = float(state[2]) + 1  # 32 eager steps taken: the program's next step is the 33rd
    lr, step_size, bias_correction2_sqrt = optimized.step_scalars(state).tolist()
    assert lr == pytest.approx(3e-4)
    assert step_size == pytest.approx(3e-4 / (1 - 0.9**coming), rel=1e-6)
    assert bias_correction2_sqrt == pytest.approx((1 - 0.999**coming) ** 0.5, rel=1e-6)


def test_the_flat_layout_must_tile_the_flat_tensor() -> None:
    model = _model()
    flat = model.critic.flat_parameters
    layout = compiled._layout(flat)
    assert layout[0][0] == 0 and sum(int(np.prod(shape)) for _, shape in layout) == flat.flat.numel()
    flat.offsets[id(flat.params[1])] += 1  # a gap: the gradients' concatenation would misplace every later one
    with pytest.raises(ValueError, match="do not tile"):
        compiled._layout(flat)
