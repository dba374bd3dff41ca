"""The matrix products of the seam's kernels, each shape on the fastest correct route torch ships on this machine.

For float32 on a CPU, torch has two routes for the products of a linear layer: aten's ``addmm``/``mm`` (MKL's
sgemm on x86) and oneDNN's linear (``torch.ops.mkldnn._linear_pointwise``). Which is faster depends on the CPU
and the shape. On an AMD EPYC host, MKL ran 256x256 products at about 96 GFLOPS per core and oneDNN at about 219;
on an Intel Xeon with AVX-512 the two are within a few percent at 256 and aten is faster on thin products (4
inputs or 1 output). So the first time a product of a given kind and shape is asked for, each route computes it
on the call's own tensors a few times, taking turns; a route must agree with aten to float32 round-off to count,
and oneDNN is kept for that shape only when it is at least 20 % faster (as cuDNN's benchmark mode picks
convolution algorithms). The choice is kept for the life of the process, per (kind, shape, thread count).

Products below ``MIN_WORK`` floating-point operations always take aten: their time is mostly the call itself,
and the choice would cost more than it could save. ``set_route("aten")`` (or ``BASELINES3_PRODUCTS=aten`` in the
environment) turns the choice off, ``set_route("onednn")`` forces oneDNN where torch has it (for benchmarks and
tests); the default is ``"auto"``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch

__all__ = [
    "MIN_WORK",
    "ROUTES",
    "Key",
    "choices",
    "input_grad",
    "input_grad_aten",
    "linear",
    "route",
    "set_route",
    "weight_grad",
    "weight_grad_aten",
]

ROUTES = ("auto", "aten", "onednn")
#: products smaller than this (2 x rows x inputs x outputs) always take aten
MIN_WORK = 4_000_000
#: oneDNN must beat aten by this factor to be chosen
_MARGIN = 0.8  # a clear win only: a choice that flips with the noise would change results between runs
_REPEATS = 3

_route = os.environ.get("BASELINES3_PRODUCTS", "auto").strip().lower()
if _route not in ROUTES:
    raise ValueError(f"BASELINES3_PRODUCTS must be one of {ROUTES}, got {_route!r}")
_onednn_linear = getattr(torch.ops.mkldnn, "_linear_pointwise", None)
_MKLDNN_BUILT = bool(torch._C._has_mkldnn)
#: (kind, rows, the layer's inputs, its outputs, threads, dtype, device type): the key of one product's choice
Key = tuple[str, int, int, int, int, torch.dtype, str]
_CHOICES: dict[Key, str] = {}


def set_route(value: str) -> None:
    """ "auto" (measure per shape), "aten" or "onednn" (every product above `MIN_WORK`) for the whole process."""
    global _route
    if value not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, got {value!r}")
    _route = value
    _CHOICES.clear()


def route() -> str:
    """The route setting: "auto", "aten" or "onednn"."""
    return _route


def choices() -> dict[Key, str]:
    """The routes chosen so far: (kind, rows, inputs, outputs, threads, dtype, device type) -> "aten" or
    "onednn" (a copy)."""
    return dict(_CHOICES)


def _onednn_usable(first: torch.Tensor) -> bool:
    """oneDNN's linear for float32 CPU tensors (the key holds the first operand's dtype and device: the
    kernels' operands share them)."""
    return _onednn_linear is not None and _MKLDNN_BUILT and first.device.type == "cpu" and first.dtype == torch.float32


# ------------------------------------------------------------------------------------------- the three products
def _linear_aten(x: torch.Tensor, weight: torch.Tensor, weight_t: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return torch.addmm(bias, x, weight_t)


def _linear_onednn(x: torch.Tensor, weight: torch.Tensor, weight_t: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    assert _onednn_linear is not None
    return _onednn_linear(x, weight, bias, "none", [], "")  # type: ignore[no-any-return]


def input_grad_aten(grad: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``grad @ weight`` on aten (the route of small products, which callers may take directly)."""
    if weight.shape[1] < weight.shape[0] and weight.shape[1] <= 16:
        # narrow layer input (e.g. a critic's observation and action, 4 features): computed as
        # (weight^T @ grad^T)^T, ~4x faster in MKL; the result is that product's transposed view
        return torch.mm(weight.t(), grad.t()).t()
    return torch.mm(grad, weight)


def _input_grad_onednn(grad: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    assert _onednn_linear is not None
    return _onednn_linear(grad, weight.t(), None, "none", [], "")  # type: ignore[no-any-return]


def weight_grad_aten(grad: torch.Tensor, x: torch.Tensor, out: torch.Tensor) -> None:
    """``out = grad.T @ x`` on aten (the route of small products, which callers may take directly)."""
    if x.shape[1] < grad.shape[1]:
        # narrow input (e.g. 4 observation features): this orientation is ~3x faster in MKL
        out.copy_(torch.mm(x.t(), grad).t())
    else:
        torch.mm(grad.t(), x, out=out)


def _weight_grad_onednn(grad: torch.Tensor, x: torch.Tensor, out: torch.Tensor) -> None:
    assert _onednn_linear is not None
    out.copy_(_onednn_linear(grad.t(), x.t(), None, "none", [], ""))


# -------------------------------------------------------------------------------------------------- the choice
def _timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _faster(aten: Callable[[], torch.Tensor], onednn: Callable[[], torch.Tensor]) -> str:
    """Time both routes on the call's tensors (taking turns, best of `_REPEATS` each): "onednn" only when its
    result agrees with aten's and it is clearly faster, else "aten"."""
    with torch.no_grad():
        expected, candidate = aten(), onednn()  # the first calls also warm up both routes
        scale = float(expected.abs().max()) + 1e-30
        if expected.shape != candidate.shape or float((expected - candidate).abs().max()) > 1e-5 * scale:
            return "aten"
        aten_s, onednn_s = [], []
        for _ in range(_REPEATS):
            aten_s.append(_timed(aten))
            onednn_s.append(_timed(onednn))
    return "onednn" if min(onednn_s) < _MARGIN * min(aten_s) else "aten"


def _chosen(
    kind: str,
    rows: int,
    inputs: int,
    outputs: int,
    first: torch.Tensor,
    aten: Callable[[], torch.Tensor],
    onednn: Callable[[], torch.Tensor],
) -> str:
    """The route of a product above `MIN_WORK`: "aten" or "onednn", decided the first time its key is met (timing
    `aten` and `onednn`, which compute the product on the call's tensors) and kept."""
    key = (kind, rows, inputs, outputs, torch.get_num_threads(), first.dtype, first.device.type)
    chosen = _CHOICES.get(key)
    if chosen is None:
        if not _onednn_usable(first):
            chosen = "aten"
        elif _route == "onednn":
            chosen = "onednn"
        else:
            chosen = _faster(aten, onednn)
        _CHOICES[key] = chosen
    return chosen


def linear(x: torch.Tensor, weight: torch.Tensor, weight_t: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``x @ weight.T + bias`` (`weight_t` is ``weight.t()``, made once by the caller)."""
    if _route == "aten" or 2 * x.shape[0] * weight.shape[0] * weight.shape[1] < MIN_WORK:
        return torch.addmm(bias, x, weight_t)  # the common case first: rollouts and small networks

    def aten() -> torch.Tensor:
        return _linear_aten(x, weight, weight_t, bias)

    def onednn() -> torch.Tensor:
        return _linear_onednn(x, weight, weight_t, bias)

    chosen = _chosen("linear", x.shape[0], weight.shape[1], weight.shape[0], x, aten, onednn)
    return onednn() if chosen == "onednn" else aten()


def input_grad(grad: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``grad @ weight``: the gradient reaching a linear layer's input."""
    if _route == "aten" or 2 * grad.shape[0] * weight.shape[0] * weight.shape[1] < MIN_WORK:
        return input_grad_aten(grad, weight)

    def aten() -> torch.Tensor:
        return input_grad_aten(grad, weight)

    def onednn() -> torch.Tensor:
        return _input_grad_onednn(grad, weight)

    chosen = _chosen("input_grad", grad.shape[0], weight.shape[1], weight.shape[0], grad, aten, onednn)
    return onednn() if chosen == "onednn" else aten()


def weight_grad(grad: torch.Tensor, x: torch.Tensor, out: torch.Tensor) -> None:
    """``out = grad.T @ x``: a linear layer's weight gradient, written into `out` (a view of a flat buffer)."""
    if _route == "aten" or 2 * grad.shape[0] * out.shape[0] * out.shape[1] < MIN_WORK:
        weight_grad_aten(grad, x, out)
        return

    def timed_into(write: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]) -> Callable[[], torch.Tensor]:
        scratch: list[torch.Tensor] = []  # made only if the choice is timed: timing must not write `out`

        def call() -> torch.Tensor:
            if not scratch:
                scratch.append(torch.empty_like(out))
            write(grad, x, scratch[0])
            return scratch[0]

        return call

    aten, onednn = timed_into(weight_grad_aten), timed_into(_weight_grad_onednn)
    chosen = _chosen("weight_grad", grad.shape[0], x.shape[1], grad.shape[1], grad, aten, onednn)
    (_weight_grad_onednn if chosen == "onednn" else weight_grad_aten)(grad, x, out)
