"""Schedules: values over training, JSON specs, validation and the SB3/zoo helpers."""

import json
import math

import numpy as np
import pytest

from baselines3.common.schedules import (
    CallableSchedule,
    ConstantSchedule,
    FloatSchedule,
    LinearSchedule,
    PiecewiseSchedule,
    Schedule,
    constant_fn,
    get_linear_fn,
    get_schedule_fn,
    linear_schedule,
    schedule_from_spec,
    schedule_from_string,
)


def test_constant_values() -> None:
    schedule = ConstantSchedule(0.2)
    assert [schedule(p) for p in (1.0, 0.5, 0.0)] == [0.2, 0.2, 0.2]
    assert isinstance(ConstantSchedule(3)(0.5), float)


def test_linear_values_full_training() -> None:
    schedule = LinearSchedule(1.0, 0.0)
    assert schedule(1.0) == pytest.approx(1.0)
    assert schedule(0.5) == pytest.approx(0.5)
    assert schedule(0.0) == pytest.approx(0.0)
    rising = LinearSchedule(-2.0, 2.0)
    assert [rising(p) for p in (1.0, 0.75, 0.0)] == pytest.approx([-2.0, -1.0, 2.0])


def test_linear_end_fraction() -> None:
    # Reaches `end` after half of training (progress_remaining 0.5), then stays there.
    schedule = LinearSchedule(1.0, 0.1, end_fraction=0.5)
    assert schedule(1.0) == pytest.approx(1.0)
    assert schedule(0.75) == pytest.approx(0.55)
    assert schedule(0.5) == pytest.approx(0.1)
    assert schedule(0.2) == pytest.approx(0.1)
    assert schedule(0.0) == pytest.approx(0.1)


def test_linear_zero_end_fraction_is_end_at_once() -> None:
    schedule = LinearSchedule(1.0, 0.3, end_fraction=0.0)
    assert [schedule(p) for p in (1.0, 0.5, 0.0)] == [0.3, 0.3, 0.3]


def test_piecewise_values() -> None:
    schedule = PiecewiseSchedule([[0.2, 1.0], [0.6, 0.2], [1.0, 0.0]])
    assert schedule(1.0) == pytest.approx(1.0)  # before the first point: first value
    assert schedule(0.8) == pytest.approx(1.0)
    assert schedule(0.6) == pytest.approx(0.6)  # halfway between 0.2 and 0.6 done
    assert schedule(0.4) == pytest.approx(0.2)
    assert schedule(0.2) == pytest.approx(0.1)
    assert schedule(0.0) == pytest.approx(0.0)


@pytest.mark.parametrize(
    "schedule",
    [
        ConstantSchedule(0.2),
        LinearSchedule(3e-4, 0.0),
        LinearSchedule(1.0, 0.05, end_fraction=0.1),
        PiecewiseSchedule([(0.0, 1.0), (0.5, 0.5)]),
    ],
)
def test_spec_round_trip(schedule: Schedule) -> None:
    spec = schedule.to_spec()
    text = json.dumps(spec, allow_nan=False)
    rebuilt = schedule_from_spec(json.loads(text))
    assert type(rebuilt) is type(schedule)
    assert rebuilt == schedule
    assert hash(rebuilt) == hash(schedule)
    for p in (1.0, 0.9, 0.5, 0.25, 0.0):
        assert rebuilt(p) == schedule(p)


def test_spec_contents() -> None:
    assert LinearSchedule(3e-4, 0).to_spec() == {
        "type": "linear",
        "start": 3e-4,
        "end": 0.0,
        "end_fraction": 1.0,
    }
    assert ConstantSchedule(0.2).to_spec() == {"type": "constant", "value": 0.2}
    # end_fraction is optional in a spec
    assert schedule_from_spec({"type": "linear", "start": 1, "end": 0}) == LinearSchedule(1.0, 0.0, 1.0)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "cosine", "start": 1.0}, "cosine"),
        ({"value": 1.0}, "None"),
        ({"type": "linear", "start": 1.0}, "end"),
        ({"type": "constant", "value": 1.0, "end": 0.0}, "end"),
        ({"type": "constant", "value": "high"}, "value"),
        ({"type": "constant", "value": True}, "value"),
        ({"type": "constant", "value": float("nan")}, "finite"),
        ({"type": "linear", "start": 1.0, "end": 0.0, "end_fraction": 1.5}, "end_fraction"),
        ({"type": "piecewise", "points": []}, "points"),
        ({"type": "piecewise", "points": [[0.5, 1.0], [0.2, 0.0]]}, "increasing"),
        ({"type": "piecewise", "points": [[0.5, 1.0, 3.0]]}, "points"),
        ("linear", "dict"),
    ],
)
def test_bad_specs(spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schedule_from_spec(spec)  # type: ignore[arg-type]


def test_get_schedule_fn() -> None:
    assert get_schedule_fn(0.5) == ConstantSchedule(0.5)
    assert get_schedule_fn(2) == ConstantSchedule(2.0)
    assert get_schedule_fn(np.float32(0.25)) == ConstantSchedule(0.25)
    linear = LinearSchedule(1.0, 0.0)
    assert get_schedule_fn(linear) is linear
    assert get_schedule_fn({"type": "constant", "value": 0.1}) == ConstantSchedule(0.1)
    assert get_schedule_fn("lin_0.001") == LinearSchedule(0.001, 0.0)
    with pytest.raises(TypeError, match="None"):
        get_schedule_fn(None)
    with pytest.raises(TypeError, match="True"):
        get_schedule_fn(True)


def test_callable_is_wrapped_and_not_json_describable() -> None:
    def func(p: float) -> float:
        return 2 * p

    schedule = get_schedule_fn(func)
    assert isinstance(schedule, CallableSchedule)
    assert schedule(0.25) == 0.5
    assert not schedule.json_describable
    assert ConstantSchedule(1.0).json_describable
    with pytest.raises(TypeError, match="JSON"):
        schedule.to_spec()
    assert get_schedule_fn(schedule) is schedule
    assert schedule == CallableSchedule(func)
    assert schedule != CallableSchedule(lambda p: 2 * p)


def test_zoo_strings() -> None:
    assert schedule_from_string("lin_0.001") == LinearSchedule(0.001, 0.0)
    assert schedule_from_string("lin_2.5e-4")(0.5) == pytest.approx(1.25e-4)
    assert schedule_from_string("0.2") == ConstantSchedule(0.2)
    with pytest.raises(ValueError, match="lin_abc"):
        schedule_from_string("lin_abc")
    with pytest.raises(ValueError, match="nan"):
        schedule_from_string("lin_nan")


def test_sb3_helpers() -> None:
    assert linear_schedule(0.01)(0.5) == pytest.approx(0.005)
    assert linear_schedule(0.01, 0.002)(0.0) == pytest.approx(0.002)
    assert get_linear_fn(1.0, 0.0, 0.5)(0.5) == pytest.approx(0.0)
    assert constant_fn(3.0)(0.1) == 3.0
    assert FloatSchedule(0.3) == ConstantSchedule(0.3)
    assert math.isclose(FloatSchedule(lambda p: p)(0.7), 0.7)


def test_schedules_have_no_instance_dict() -> None:
    # __slots__ keeps the objects small and attribute access fast.
    for schedule in (ConstantSchedule(1.0), LinearSchedule(1.0, 0.0), PiecewiseSchedule([[0.0, 1.0]])):
        assert not hasattr(schedule, "__dict__")
