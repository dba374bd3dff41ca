"""Schedules for learning rates, clip ranges and other values that change during training.

A schedule is a callable ``progress_remaining -> float``. ``progress_remaining`` goes from 1 at the start of
training to 0 at the end (Stable-Baselines3's convention), so the fraction of training done is
``1 - progress_remaining``.

The schedule classes here are described by small JSON specs (``to_spec()`` / ``schedule_from_spec()``), which
is what lets a saved model keep its schedules without pickling any code. A user's own callable (a lambda, say)
still works through :class:`CallableSchedule`, but it cannot be written to JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Real
from typing import Any

__all__ = [
    "CallableSchedule",
    "ConstantSchedule",
    "FloatSchedule",
    "LinearSchedule",
    "PiecewiseSchedule",
    "Schedule",
    "constant_fn",
    "get_linear_fn",
    "get_schedule_fn",
    "linear_schedule",
    "schedule_from_spec",
    "schedule_from_string",
]


def _as_float(value: Any, name: str) -> float:
    """Return ``value`` as a finite float or raise a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"Schedule field {name!r} must be a real number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"Schedule field {name!r} must be finite, got {value!r}")
    return result


class Schedule:
    """Base class of the schedules: a cheap callable ``progress_remaining -> float``."""

    __slots__ = ()

    #: Whether :meth:`to_spec` can describe this schedule as JSON.
    json_describable: bool = True

    def __call__(self, progress_remaining: float) -> float:
        raise NotImplementedError

    def to_spec(self) -> dict[str, Any]:
        """Describe this schedule as a JSON-compatible dict that :func:`schedule_from_spec` reads back."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule) or not (self.json_describable and other.json_describable):
            return NotImplemented
        return self.to_spec() == other.to_spec()

    def __hash__(self) -> int:
        return hash(repr(self))

    def __repr__(self) -> str:
        fields = ", ".join(f"{key}={value!r}" for key, value in self.to_spec().items() if key != "type")
        return f"{type(self).__name__}({fields})"


class ConstantSchedule(Schedule):
    """Always returns the one value it was given.

    ``ConstantSchedule(0.1)``, ``ConstantSchedule(val=0.1)`` (Stable-Baselines3's keyword) and
    ``ConstantSchedule(value=0.1)`` (the spec's field) are the same schedule; ``.val`` and ``.value`` both read it.
    """

    __slots__ = ("value",)

    def __init__(self, val: float | None = None, *, value: float | None = None) -> None:
        if (val is None) == (value is None):
            raise TypeError("ConstantSchedule takes one value: ConstantSchedule(val) or ConstantSchedule(value=val)")
        self.value = _as_float(val if value is None else value, "value")

    @property
    def val(self) -> float:
        """The constant (Stable-Baselines3's attribute name)."""
        return self.value

    def __call__(self, progress_remaining: float) -> float:
        return self.value

    def to_spec(self) -> dict[str, Any]:
        return {"type": "constant", "value": self.value}


class LinearSchedule(Schedule):
    """Linear from ``start`` to ``end`` over the first ``end_fraction`` of training, then stays at ``end``.

    With ``end_fraction=1.0`` the value at ``progress_remaining=p`` is ``end + (start - end) * p``.
    """

    __slots__ = ("_slope", "end", "end_fraction", "start")

    def __init__(self, start: float, end: float, end_fraction: float = 1.0) -> None:
        self.start = _as_float(start, "start")
        self.end = _as_float(end, "end")
        self.end_fraction = _as_float(end_fraction, "end_fraction")
        if not 0.0 <= self.end_fraction <= 1.0:
            raise ValueError(f"Schedule field 'end_fraction' must be in [0, 1], got {end_fraction!r}")
        # Change per unit of training done; unused when end_fraction == 0 (the value is `end` at once).
        self._slope = (self.end - self.start) / self.end_fraction if self.end_fraction > 0 else 0.0

    def __call__(self, progress_remaining: float) -> float:
        done = 1.0 - progress_remaining
        if done >= self.end_fraction:
            return self.end
        return self.start + self._slope * done

    def to_spec(self) -> dict[str, Any]:
        return {"type": "linear", "start": self.start, "end": self.end, "end_fraction": self.end_fraction}


class PiecewiseSchedule(Schedule):
    """Linear interpolation between ``(fraction_done, value)`` points.

    Before the first point the value is the first point's value; after the last point, the last one's.
    Fractions must be in [0, 1] and strictly increasing.
    """

    __slots__ = ("_fractions", "_values")

    def __init__(self, points: Sequence[Sequence[float]]) -> None:
        if isinstance(points, (str, bytes)) or not isinstance(points, Sequence) or len(points) == 0:
            raise ValueError(f"Schedule field 'points' must be a non-empty list of [fraction, value], got {points!r}")
        fractions: list[float] = []
        values: list[float] = []
        for point in points:
            if isinstance(point, (str, bytes)) or not isinstance(point, Sequence) or len(point) != 2:
                raise ValueError(f"Schedule field 'points' must hold [fraction, value] pairs, got {point!r}")
            fraction = _as_float(point[0], "points")
            if not 0.0 <= fraction <= 1.0:
                raise ValueError(f"Piecewise schedule fractions must be in [0, 1], got {fraction!r}")
            if fractions and fraction <= fractions[-1]:
                raise ValueError(f"Piecewise schedule fractions must be strictly increasing, got {points!r}")
            fractions.append(fraction)
            values.append(_as_float(point[1], "points"))
        self._fractions = tuple(fractions)
        self._values = tuple(values)

    def __call__(self, progress_remaining: float) -> float:
        done = 1.0 - progress_remaining
        fractions, values = self._fractions, self._values
        if done <= fractions[0]:
            return values[0]
        for i in range(1, len(fractions)):
            if done <= fractions[i]:
                f0, f1 = fractions[i - 1], fractions[i]
                return values[i - 1] + (values[i] - values[i - 1]) * (done - f0) / (f1 - f0)
        return values[-1]

    def to_spec(self) -> dict[str, Any]:
        return {"type": "piecewise", "points": [[f, v] for f, v in zip(self._fractions, self._values)]}


class CallableSchedule(Schedule):
    """Wraps any other callable (e.g. a user's lambda) so it works as a schedule.

    It cannot be described as JSON: a saved model keeps it only in the opt-in pickled part of the archive.
    """

    __slots__ = ("func",)

    json_describable = False

    def __init__(self, func: Callable[[float], float]) -> None:
        if not callable(func):
            raise TypeError(f"CallableSchedule needs a callable, got {func!r}")
        self.func = func

    def __call__(self, progress_remaining: float) -> float:
        return float(self.func(progress_remaining))

    def to_spec(self) -> dict[str, Any]:
        raise TypeError(
            f"{self.func!r} is an arbitrary callable and cannot be described as JSON; "
            "use ConstantSchedule, LinearSchedule or PiecewiseSchedule to save it without pickling"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CallableSchedule) and other.func is self.func

    def __hash__(self) -> int:
        return hash(self.func)

    def __repr__(self) -> str:
        return f"CallableSchedule({self.func!r})"


# type name -> (class, required fields, optional fields)
_SPEC_TYPES: dict[str, tuple[type[Schedule], frozenset[str], frozenset[str]]] = {
    "constant": (ConstantSchedule, frozenset({"value"}), frozenset()),
    "linear": (LinearSchedule, frozenset({"start", "end"}), frozenset({"end_fraction"})),
    "piecewise": (PiecewiseSchedule, frozenset({"points"}), frozenset()),
}


def schedule_from_spec(spec: dict[str, Any]) -> Schedule:
    """Build a schedule from a spec made by ``to_spec()``, e.g. ``{"type": "constant", "value": 0.2}``.

    Raises ValueError naming the problem for an unknown type or a missing/extra field.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"A schedule spec must be a dict with a 'type' key, got {spec!r}")
    kind = spec.get("type")
    if kind not in _SPEC_TYPES:
        raise ValueError(f"Unknown schedule type {kind!r} in {spec!r}; known types: {sorted(_SPEC_TYPES)}")
    cls, required, optional = _SPEC_TYPES[kind]
    fields = set(spec) - {"type"}
    missing = sorted(required - fields)
    if missing:
        raise ValueError(f"Schedule spec {spec!r} is missing field(s) {missing} for type {kind!r}")
    extra = sorted(fields - required - optional)
    if extra:
        raise ValueError(
            f"Schedule spec {spec!r} has unknown field(s) {extra} for type {kind!r}; "
            f"allowed: {sorted(required | optional)}"
        )
    kwargs = {key: value for key, value in spec.items() if key != "type"}
    return cls(**kwargs)


def schedule_from_string(text: str) -> Schedule:
    """Parse the RL Zoo's schedule strings.

    ``"lin_0.001"`` gives LinearSchedule(0.001, 0.0) and a plain number such as ``"0.2"`` a constant.
    """
    if not isinstance(text, str):
        raise ValueError(f"Expected a schedule string such as 'lin_0.001', got {text!r}")
    body = text.strip()
    try:
        if body.startswith("lin_"):
            return LinearSchedule(float(body[len("lin_") :]), 0.0)
        return ConstantSchedule(float(body))
    except ValueError as error:
        raise ValueError(
            f"Cannot parse schedule string {text!r}: expected 'lin_<number>' or a number ({error})"
        ) from None


def get_schedule_fn(value_schedule: Any) -> Schedule:
    """Turn a number, a schedule, a spec dict, a zoo string or any callable into a :class:`Schedule`.

    Numbers give a ConstantSchedule, schedules are returned as they are, and any other callable is wrapped in
    a CallableSchedule (which works, but cannot be saved as JSON).
    """
    if isinstance(value_schedule, Schedule):
        return value_schedule
    if isinstance(value_schedule, Real) and not isinstance(value_schedule, bool):
        return ConstantSchedule(float(value_schedule))
    if isinstance(value_schedule, dict):
        return schedule_from_spec(value_schedule)
    if isinstance(value_schedule, str):
        return schedule_from_string(value_schedule)
    if callable(value_schedule):
        return CallableSchedule(value_schedule)
    raise TypeError(
        f"Cannot make a schedule from {value_schedule!r}: expected a number, a schedule, a spec dict, "
        "a string like 'lin_0.001' or a callable progress_remaining -> float"
    )


def get_linear_fn(start: float, end: float, end_fraction: float) -> LinearSchedule:
    """Stable-Baselines3 name for :class:`LinearSchedule`."""
    return LinearSchedule(start, end, end_fraction)


def constant_fn(val: float) -> ConstantSchedule:
    """Stable-Baselines3 name for :class:`ConstantSchedule`."""
    return ConstantSchedule(val)


def linear_schedule(initial_value: float, final_value: float = 0.0) -> LinearSchedule:
    """Linear decay from ``initial_value`` to ``final_value`` over all of training (the RL Zoo's helper)."""
    return LinearSchedule(initial_value, final_value, 1.0)


class FloatSchedule(Schedule):
    """A schedule whose values are always Python floats (Stable-Baselines3 >= 2.5's wrapper).

    ``value_schedule`` is a number (a ConstantSchedule), another FloatSchedule (unwrapped, not nested), or
    anything :func:`get_schedule_fn` accepts. The wrapper describes itself as its inner schedule does, so
    a FloatSchedule around a JSON-describable schedule is saved without pickling and loads back as that inner
    schedule (which gives the same values).
    """

    __slots__ = ("json_describable", "value_schedule")

    def __init__(self, value_schedule: Any) -> None:
        if isinstance(value_schedule, FloatSchedule):
            value_schedule = value_schedule.value_schedule
        self.value_schedule: Schedule = get_schedule_fn(value_schedule)
        self.json_describable = self.value_schedule.json_describable

    def __call__(self, progress_remaining: float) -> float:
        return float(self.value_schedule(progress_remaining))

    def to_spec(self) -> dict[str, Any]:
        return self.value_schedule.to_spec()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FloatSchedule):
            other = other.value_schedule
        return self.value_schedule == other

    def __hash__(self) -> int:
        return hash(self.value_schedule)

    def __repr__(self) -> str:
        return f"FloatSchedule({self.value_schedule!r})"
