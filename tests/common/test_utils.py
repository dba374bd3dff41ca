"""Shared helpers: devices, seeding, soft updates, statistics, observation conversion."""

import random
import warnings

import numpy as np
import pytest
import torch

from baselines3.common.schedules import ConstantSchedule
from baselines3.common.utils import (
    check_hyperparameters,
    explained_variance,
    get_device,
    get_schedule_fn,
    get_system_info,
    library_version,
    obs_as_tensor,
    polyak_update,
    safe_mean,
    set_random_seed,
    update_learning_rate,
    zip_strict,
)


def test_get_device() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device("auto").type == expected
    assert get_device().type == expected
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="tpu9"):
        get_device("tpu9")


def test_get_device_says_when_cuda_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="'cuda:1' was asked for, but CUDA is not available"):
        assert get_device("cuda:1") == torch.device("cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert get_device("auto") == torch.device("cpu")  # "auto" means "CUDA if there is one": no warning


def test_get_device_refuses_a_cuda_index_the_machine_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert get_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ValueError, match="'cuda:2': this machine has 2 CUDA device"):
        get_device("cuda:2")


def test_set_random_seed_repeats_all_generators() -> None:
    def draw() -> tuple[float, float, float]:
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    set_random_seed(123)
    first = draw()
    set_random_seed(123)
    assert draw() == first
    set_random_seed(124)
    assert draw() != first


def test_polyak_update() -> None:
    source = [torch.tensor([1.0, 2.0]), torch.tensor([[4.0]])]
    target = [torch.tensor([0.0, 0.0]), torch.tensor([[2.0]])]
    polyak_update(source, target, 0.25)
    assert torch.allclose(target[0], torch.tensor([0.25, 0.5]))
    assert torch.allclose(target[1], torch.tensor([[2.5]]))
    polyak_update(source, target, 1.0)
    assert torch.equal(target[0], source[0]) and torch.equal(target[1], source[1])
    with pytest.raises(ValueError, match="as many"):
        polyak_update(source, target[:1], 0.5)


def test_polyak_update_on_module_parameters_has_no_grad_history() -> None:
    net, target_net = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    expected = [0.9 * t.detach() + 0.1 * p.detach() for p, t in zip(net.parameters(), target_net.parameters())]
    polyak_update(net.parameters(), target_net.parameters(), 0.1)
    for value, wanted in zip(target_net.parameters(), expected):
        assert torch.allclose(value, wanted)
        assert value.grad_fn is None


def test_explained_variance() -> None:
    y_true = np.array([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(y_true, y_true) == pytest.approx(1.0)
    assert explained_variance(np.full(4, y_true.mean()), y_true) == pytest.approx(0.0)
    assert explained_variance(np.array([1.0, 2.0, 3.0, 5.0]), y_true) == pytest.approx(1 - 0.1875 / 1.25)
    assert np.isnan(explained_variance(y_true, np.ones(4)))
    with pytest.raises(ValueError, match="1-D"):
        explained_variance(np.ones((2, 2)), np.ones((2, 2)))


def test_safe_mean() -> None:
    assert np.isnan(safe_mean([]))
    assert safe_mean([1.0, 2.0, 6.0]) == pytest.approx(3.0)
    assert safe_mean(np.array([2, 4])) == pytest.approx(3.0)


def test_zip_strict() -> None:
    assert list(zip_strict([1, 2], "ab")) == [(1, "a"), (2, "b")]
    with pytest.raises(ValueError):
        list(zip_strict([1, 2], [1]))


def test_obs_as_tensor_shares_memory_on_cpu() -> None:
    obs = np.zeros((2, 3), dtype=np.float32)
    tensor = obs_as_tensor(obs, "cpu")
    assert isinstance(tensor, torch.Tensor)
    obs[0, 0] = 5.0
    assert float(tensor[0, 0]) == 5.0  # no copy was made
    dict_obs = {"a": np.ones(2), "b": np.arange(3)}
    tensors = obs_as_tensor(dict_obs, torch.device("cpu"))
    assert isinstance(tensors, dict) and set(tensors) == {"a", "b"}
    assert tensors["b"].dtype == torch.int64 and torch.equal(tensors["b"], torch.arange(3))
    with pytest.raises(TypeError, match="list"):
        obs_as_tensor([1, 2], "cpu")  # type: ignore[arg-type]


def test_update_learning_rate() -> None:
    net = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD([{"params": [net.weight]}, {"params": [net.bias], "lr": 0.5}], lr=0.1)
    update_learning_rate(optimizer, 0.01)
    assert [group["lr"] for group in optimizer.param_groups] == [0.01, 0.01]


def test_system_info_and_version() -> None:
    info, text = get_system_info()
    for key in ("OS", "Python", "baselines3", "PyTorch", "GPU Enabled", "Numpy", "Gymnasium"):
        assert key in info and f"- {key}: " in text
    assert info["PyTorch"] == torch.__version__
    assert info["baselines3"] == library_version() != ""


def test_get_schedule_fn_is_reexported() -> None:
    assert get_schedule_fn(0.3) == ConstantSchedule(0.3)


def test_check_hyperparameters_names_the_value_and_its_rule() -> None:
    check_hyperparameters(gamma=1.0, tau=1.0, gae_lambda=0.0, gradient_steps=-1, clip_range=lambda p: 0.2 * p)
    check_hyperparameters(target_kl=None, learning_starts=0, n_epochs=np.int64(3))  # None and numpy ints pass
    check_hyperparameters(clip_range="lin_0.2", clip_range_vf={"type": "constant", "value": 0.1})  # schedules
    with pytest.raises(ValueError):
        check_hyperparameters(clip_range="lin_x")
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\], got 1.5"):
        check_hyperparameters(gamma=1.5)
    check_hyperparameters(tau=0)  # SB3 accepts it: the target networks never move
    with pytest.raises(ValueError, match=r"tau must be in \[0, 1\] .*, got -0.1"):
        check_hyperparameters(tau=-0.1)
    with pytest.raises(ValueError, match="gradient_steps must be >= 0, or -1"):
        check_hyperparameters(gradient_steps=-2)
    with pytest.raises(TypeError, match=r"n_epochs must be a number >= 1, got '3' \(str\)"):
        check_hyperparameters(n_epochs="3")
    with pytest.raises(TypeError, match="got True"):
        check_hyperparameters(batch_size=True)


# --- Stable-Baselines3 2.x helpers ---------------------------------------------------------------------------


def test_schedule_classes_are_importable_from_utils_and_take_sb3_arguments() -> None:
    from baselines3.common.utils import ConstantSchedule as UtilsConstant
    from baselines3.common.utils import FloatSchedule, LinearSchedule

    assert UtilsConstant is ConstantSchedule
    constant = ConstantSchedule(val=0.25)
    assert constant(0.7) == 0.25 and constant.val == constant.value == 0.25
    assert ConstantSchedule(0.25) == constant == ConstantSchedule(value=0.25)
    with pytest.raises(TypeError):
        ConstantSchedule()
    linear = LinearSchedule(start=1.0, end=0.0, end_fraction=0.5)
    assert linear(1.0) == 1.0 and linear(0.75) == pytest.approx(0.5) and linear(0.2) == 0.0
    wrapped = FloatSchedule(np.float32(0.5))
    assert isinstance(wrapped, FloatSchedule) and type(wrapped(0.3)) is float and wrapped(0.3) == 0.5
    assert FloatSchedule(wrapped).value_schedule is wrapped.value_schedule  # not nested twice
    assert type(FloatSchedule(lambda p: np.float64(p))(0.5)) is float


def test_schedules_match_sb3() -> None:
    sb3_utils = pytest.importorskip("stable_baselines3.common.utils")
    from baselines3.common.utils import FloatSchedule, LinearSchedule

    progress = np.linspace(1.0, 0.0, 11)
    for ours, theirs in [
        (LinearSchedule(1.0, 0.1, 0.3), sb3_utils.LinearSchedule(1.0, 0.1, 0.3)),
        (ConstantSchedule(val=3e-4), sb3_utils.ConstantSchedule(val=3e-4)),
        (FloatSchedule(5), sb3_utils.FloatSchedule(5)),
    ]:
        assert [ours(p) for p in progress] == pytest.approx([theirs(p) for p in progress])


def test_get_latest_run_id(tmp_path) -> None:
    from baselines3.common.utils import get_latest_run_id

    assert get_latest_run_id(str(tmp_path), "PPO") == 0
    for name in ["PPO_1", "PPO_3", "PPO_x", "PPO_extra_7", "A2C_9", "PPO"]:
        (tmp_path / name).mkdir()
    assert get_latest_run_id(str(tmp_path), "PPO") == 3
    assert get_latest_run_id(str(tmp_path), "PPO_extra") == 7
    assert get_latest_run_id(str(tmp_path), "A2C") == 9
    sb3_utils = pytest.importorskip("stable_baselines3.common.utils")
    for name in ["PPO", "PPO_extra", "A2C", "DQN"]:
        assert get_latest_run_id(str(tmp_path), name) == sb3_utils.get_latest_run_id(str(tmp_path), name)


def test_configure_logger_numbers_tensorboard_runs(tmp_path) -> None:
    from baselines3.common.utils import configure_logger

    logger = configure_logger(verbose=0, tensorboard_log=str(tmp_path), tb_log_name="run")
    assert logger.get_dir() == str(tmp_path / "run_1")
    logger.close()
    (tmp_path / "run_1").mkdir(exist_ok=True)
    logger = configure_logger(tensorboard_log=str(tmp_path), tb_log_name="run", reset_num_timesteps=False)
    assert logger.get_dir() == str(tmp_path / "run_1")  # continue the latest run
    logger.close()
    assert configure_logger(verbose=0).get_dir() is None


def test_check_shape_equal() -> None:
    from gymnasium import spaces

    from baselines3.common.utils import check_shape_equal

    box = spaces.Box(-1, 1, (3,))
    check_shape_equal(box, spaces.Box(0, 5, (3,)))
    check_shape_equal(spaces.Dict({"a": box}), spaces.Dict({"a": spaces.Box(0, 1, (3,))}))
    check_shape_equal(spaces.Discrete(2), spaces.Discrete(5))  # only Box shapes are compared
    with pytest.raises(AssertionError, match="same shape"):
        check_shape_equal(box, spaces.Box(-1, 1, (4,)))
    with pytest.raises(AssertionError, match="same keys"):
        check_shape_equal(spaces.Dict({"a": box}), spaces.Dict({"b": box}))
    with pytest.raises(AssertionError, match="same type"):
        check_shape_equal(spaces.Dict({"a": box}), box)


def test_is_vectorized_observation_matches_sb3() -> None:
    from gymnasium import spaces

    from baselines3.common.utils import is_vectorized_observation

    box = spaces.Box(-1, 1, (2, 3))
    cases = [
        (np.zeros((2, 3)), box),
        (np.zeros((4, 2, 3)), box),
        (np.zeros((3, 3)), box),
        (2, spaces.Discrete(3)),
        (np.array(2), spaces.Discrete(3)),
        (np.array([1, 2]), spaces.Discrete(3)),
        (np.zeros((2, 2)), spaces.Discrete(3)),
        (np.zeros(2), spaces.MultiDiscrete([2, 3])),
        (np.zeros((5, 2)), spaces.MultiDiscrete([2, 3])),
        (np.zeros(3), spaces.MultiDiscrete([2, 3])),
        (np.zeros(4), spaces.MultiBinary(4)),
        (np.zeros((2, 4)), spaces.MultiBinary(4)),
        (np.zeros((2, 5)), spaces.MultiBinary(4)),
        ({"a": np.zeros((2, 3)), "b": np.array(1)}, spaces.Dict({"a": box, "b": spaces.Discrete(2)})),
        ({"a": np.zeros((7, 2, 3)), "b": np.zeros(7)}, spaces.Dict({"a": box, "b": spaces.Discrete(2)})),
        ({"a": np.zeros((2, 3)), "b": np.zeros(7)}, spaces.Dict({"a": box, "b": spaces.Discrete(2)})),
        (np.zeros(2), spaces.Tuple([spaces.Discrete(2)])),
    ]

    def outcome(func, observation, space):
        try:
            return func(observation, space)
        except ValueError:
            return ValueError

    expected = [False, True, ValueError, False, False, True, ValueError, False, True, ValueError]
    expected += [False, True, ValueError, False, True, ValueError, ValueError]
    assert [outcome(is_vectorized_observation, obs, space) for obs, space in cases] == expected
    sb3_utils = pytest.importorskip("stable_baselines3.common.utils")
    assert [outcome(sb3_utils.is_vectorized_observation, obs, space) for obs, space in cases] == expected


def test_get_parameters_by_name() -> None:
    from baselines3.common.utils import get_parameters_by_name

    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))

    def storage(tensors):
        return [tensor.data_ptr() for tensor in tensors]

    found = get_parameters_by_name(model, ["running_"])
    assert storage(found) == storage([model[1].running_mean, model[1].running_var])  # the tensors themselves
    weights = [model[0].weight, model[0].bias, model[1].weight, model[1].bias]
    assert storage(get_parameters_by_name(model, ["weight", "bias"])) == storage(weights)
    assert get_parameters_by_name(model, []) == []


def test_should_collect_more_steps_and_space_check() -> None:
    from gymnasium import spaces

    from baselines3.common.off_policy.rounds import TrainFreq, TrainFrequencyUnit
    from baselines3.common.utils import check_for_correct_spaces, should_collect_more_steps

    assert should_collect_more_steps(TrainFreq(4, TrainFrequencyUnit.STEP), 3, 10)
    assert not should_collect_more_steps(TrainFreq(4, TrainFrequencyUnit.STEP), 4, 0)
    assert should_collect_more_steps(TrainFreq(2, TrainFrequencyUnit.EPISODE), 100, 1)
    assert not should_collect_more_steps(TrainFreq(2, TrainFrequencyUnit.EPISODE), 0, 2)

    class Env:
        observation_space = spaces.Box(-1, 1, (2,))
        action_space = spaces.Discrete(2)

    check_for_correct_spaces(Env(), spaces.Box(-1, 1, (2,)), spaces.Discrete(2))
    with pytest.raises(ValueError, match="Action spaces do not match"):
        check_for_correct_spaces(Env(), spaces.Box(-1, 1, (2,)), spaces.Discrete(3))


def test_observation_spaces_may_differ_in_bounds_and_float_width_but_not_in_shape_or_kind():
    from gymnasium import spaces

    from baselines3.common.utils import check_for_correct_spaces

    class Env:
        def __init__(self, observation_space, action_space=None):
            self.observation_space = observation_space
            self.action_space = spaces.Discrete(2) if action_space is None else action_space

    model_obs = spaces.Box(-np.inf, np.inf, (3,), np.float64)
    check_for_correct_spaces(Env(spaces.Box(-10, 10, (3,), np.float32)), model_obs, spaces.Discrete(2))
    nested = spaces.Dict({"a": model_obs, "b": spaces.Discrete(3)})
    check_for_correct_spaces(
        Env(spaces.Dict({"a": spaces.Box(-5, 5, (3,), np.float32), "b": spaces.Discrete(3)})),
        nested,
        spaces.Discrete(2),
    )
    for other in [
        spaces.Box(-10, 10, (4,), np.float32),  # another shape
        spaces.Box(0, 255, (3,), np.uint8),  # images where the model expects floats
        spaces.Discrete(3),
    ]:
        with pytest.raises(ValueError, match="Observation spaces do not match"):
            check_for_correct_spaces(Env(other), model_obs, spaces.Discrete(2))
    with pytest.raises(ValueError, match="Action spaces do not match"):  # action bounds scale actions: exact
        check_for_correct_spaces(Env(model_obs, spaces.Box(-2, 2, (1,))), model_obs, spaces.Box(-1, 1, (1,)))
