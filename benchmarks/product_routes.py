"""The routes the speed seam can take for a linear layer's products, timed on SAC's and TD3's own shapes.

    python -m benchmarks.product_routes                    # per-shape times, then SAC and TD3 train() per route
    python -m benchmarks.product_routes --no-steps --threads 1 2

For every (rows, inputs, outputs) of the models' linear layers at the race batch (256), each product a gradient
step takes (the forward `linear`, the backward `input_grad` and `weight_grad`) is timed on aten (MKL's sgemm on
x86) and on oneDNN's linear, taking turns, best of `--repeats`; the last column is the route
`baselines3.common.fast.products` picks on this machine. Then `model.train()` of SAC and TD3 (Pendulum, the
settings of `benchmarks/library_route.py`) is timed per gradient step with the seam's products forced to aten,
forced to oneDNN and left to choose (`auto`), the three taking turns.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

ROUTES = ("aten", "onednn", "auto")
KINDS = ("linear", "input_grad", "weight_grad")


def layer_shapes(algo: str, batch: int = 256) -> list[tuple[int, int, int]]:
    """(rows, inputs, outputs) of every distinct linear layer of the race model of `algo`, at `batch` rows."""
    from benchmarks.flop_bound import linear_shapes
    from benchmarks.library_route import make_model

    model = make_model(algo, "hand")  # its layers only: no training
    shapes = linear_shapes(model.actor) + linear_shapes(model.critic)
    return [(batch, inputs, outputs) for inputs, outputs in dict.fromkeys(shapes)]


def product_calls(kind: str, rows: int, inputs: int, outputs: int) -> dict[str, Callable[[], Any]]:
    """route -> a call computing product `kind` at this shape on that route (random operands; a weight gradient
    is written into one output tensor, which the call returns)."""
    import torch

    from baselines3.common.fast import products

    x, grad = torch.randn(rows, inputs), torch.randn(rows, outputs)
    weight, bias, out = torch.randn(outputs, inputs), torch.randn(outputs), torch.empty(outputs, inputs)

    def into_out(write: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]) -> Callable[[], torch.Tensor]:
        def call() -> torch.Tensor:
            write(grad, x, out)
            return out

        return call

    aten: dict[str, Callable[[], Any]] = {
        "linear": lambda: products._linear_aten(x, weight, weight.t(), bias),
        "input_grad": lambda: products.input_grad_aten(grad, weight),
        "weight_grad": into_out(products.weight_grad_aten),
    }
    onednn: dict[str, Callable[[], Any]] = {
        "linear": lambda: products._linear_onednn(x, weight, weight.t(), bias),
        "input_grad": lambda: products._input_grad_onednn(grad, weight),
        "weight_grad": into_out(products._weight_grad_onednn),
    }
    auto: dict[str, Callable[[], Any]] = {
        "linear": lambda: products.linear(x, weight, weight.t(), bias),
        "input_grad": lambda: products.input_grad(grad, weight),
        "weight_grad": into_out(products.weight_grad),
    }
    return {"aten": aten[kind], "onednn": onednn[kind], "auto": auto[kind]}


def best_us(call: Callable[[], Any], repeats: int, inner: int = 20) -> float:
    """Best of `repeats` averages over `inner` calls, in microseconds."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            call()
        times.append((time.perf_counter() - start) / inner * 1e6)
    return min(times)


def shape_table(algos: list[str], repeats: int) -> None:
    import torch

    from baselines3.common.fast import products

    shapes = list(dict.fromkeys(shape for algo in algos for shape in layer_shapes(algo)))
    print(f"threads {torch.get_num_threads()}")
    print(f"{'kind':12s} {'rows':>5s} {'in':>4s} {'out':>4s} {'aten us':>9s} {'oneDNN us':>10s} {'GFLOPS':>7s}  chosen")
    for rows, inputs, outputs in shapes:
        for kind in KINDS:
            calls = product_calls(kind, rows, inputs, outputs)
            aten_us, onednn_us = [], []
            for _ in range(repeats):
                aten_us.append(best_us(calls["aten"], 1))
                onednn_us.append(best_us(calls["onednn"], 1))
            products.set_route("auto")
            calls["auto"]()
            chosen = [v for k, v in products.choices().items() if k[:4] == (kind, rows, inputs, outputs)]
            work = 2 * rows * inputs * outputs
            fastest = min(min(aten_us), min(onednn_us))
            print(
                f"{kind:12s} {rows:5d} {inputs:4d} {outputs:4d} {min(aten_us):9.1f} {min(onednn_us):10.1f} "
                f"{work / fastest / 1e3:7.1f}  {chosen[0] if chosen else 'aten (small)'}"
            )


def step_table(algos: list[str], repeats: int) -> None:
    from baselines3.common.fast import products
    from benchmarks.library_route import SETTINGS, build

    for algo in algos:
        _, update = build(algo, "hand")
        steps = SETTINGS[algo][3]
        times: dict[str, list[float]] = {route: [] for route in ROUTES}
        for _ in range(repeats):
            for route in ROUTES:
                products.set_route(route)
                update()  # an auto route measures its shapes here, outside the timing
                start = time.perf_counter()
                update()
                times[route].append((time.perf_counter() - start) / steps * 1e3)
        cells = "  ".join(f"{route} {statistics.median(times[route]):.2f}" for route in ROUTES)
        print(f"{algo}: ms per gradient step (median of {repeats}): {cells}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=["sac", "td3"], choices=["sac", "td3"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-steps", action="store_true", help="only the per-shape table")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.threads):
        parser.error("--threads must be positive")
    import torch

    from baselines3.common.fast import products

    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    threads_before = torch.get_num_threads()
    try:
        for threads in args.threads:
            torch.set_num_threads(threads)
            if cores is not None:  # one thread: pinned to one core, as the races run
                os.sched_setaffinity(0, {min(cores)} if threads == 1 else cores)
            shape_table(args.algos, args.repeats)
            if not args.no_steps:
                step_table(args.algos, args.repeats)
    finally:
        products.set_route("auto")
        torch.set_num_threads(threads_before)
        if cores is not None:
            os.sched_setaffinity(0, cores)


if __name__ == "__main__":
    main()
