"""How close a SAC or TD3 gradient step comes to the machine's matrix-product peak.

    python -m benchmarks.flop_bound                                  # SAC and TD3, 1 and 2 threads, fp32 and bf16
    python -m benchmarks.flop_bound --algos sac --threads 1 --precisions fp32
    python -m benchmarks.flop_bound --split --algos sac            # products vs the rest, per thread count
    python -m benchmarks.flop_bound --compiled                       # the compiled gradient step (fast.compiled)

The bound: the fastest matrix product torch ships on this machine, measured here with square products of
256, 512 and 1024 (float32: aten's `mm`, which is MKL on x86, and oneDNN's linear where torch has it; bfloat16:
`mm` on bfloat16 tensors), at the same thread count. The work: the floating-point operations of the matrix
products of one gradient step, counted from the model's own linear layers (2 x batch x inputs x outputs for a
forward product, the same again for each gradient a backward pass computes; see `sac_step_flops` and
`td3_step_flops`). The step: `model.train()` on the race settings of `benchmarks/library_route.py` (Pendulum,
batch 256), the speed seam on, subnormals flushed as in `learn()`. Fraction = (work / step time) / peak: the
share of the peak the whole step reaches, everything that is not a matrix product (activations, Adam, sampling,
Python) included.

`--split` answers what more threads speed up: the same model's step is profiled at each thread count in turn
(rounds alternate, so a change of the host's speed falls on all counts alike), and torch's profiler splits its
time into the matrix products and everything else (self time of each operation; the profiler adds its own cost
to every call, most to the many small ones, so the wall time without it is printed beside).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

ALGOS = ("sac", "td3")
PRECISIONS = ("fp32", "bf16")


def linear_shapes(network: Any) -> list[tuple[int, int]]:
    """(inputs, outputs) of every nn.Linear of `network`, in the order of its modules."""
    from torch import nn

    return [(module.in_features, module.out_features) for module in network.modules() if isinstance(module, nn.Linear)]


def forward_flops(shapes: list[tuple[int, int]], batch: int) -> float:
    """Floating-point operations of the forward products of layers `shapes` on `batch` rows."""
    return float(sum(2 * batch * inputs * outputs for inputs, outputs in shapes))


def sac_step_flops(actor_shapes: list[tuple[int, int]], q_shapes: list[tuple[int, int]], batch: int) -> float:
    """Matrix-product FLOPs of one SAC gradient step (twin critics, as `SAC.train` runs it).

    Actor forward on s (kept for its loss) and on s' (no grad); target critics, critics and critics-at-pi(s)
    forward (2 networks each); the critics' backward: weight gradients and, above the first layer, input
    gradients; the critics at pi(s) backward to their inputs only (their weights are not trained by the actor
    loss); the actor's backward: weight gradients and input gradients above the first layer."""
    actor, actor_first = forward_flops(actor_shapes, batch), forward_flops(actor_shapes[:1], batch)
    q, q_first = forward_flops(q_shapes, batch), forward_flops(q_shapes[:1], batch)
    actor_work = 2 * actor + actor + (actor - actor_first)
    critic_work = 6 * q + 2 * q + 2 * (q - q_first) + 2 * q
    return actor_work + critic_work


def td3_step_flops(
    actor_shapes: list[tuple[int, int]], q_shapes: list[tuple[int, int]], batch: int, policy_delay: int = 2
) -> float:
    """Matrix-product FLOPs of one TD3 gradient step, averaged over `policy_delay` steps (as `TD3.train`).

    Every step: target actor and target critics forward on s', critics forward and backward (weight gradients,
    input gradients above the first layer). Every `policy_delay` steps: actor forward, the first critic forward
    at pi(s) and backward to its input, the actor backward (weight gradients, input gradients above the first
    layer)."""
    actor, actor_first = forward_flops(actor_shapes, batch), forward_flops(actor_shapes[:1], batch)
    q, q_first = forward_flops(q_shapes, batch), forward_flops(q_shapes[:1], batch)
    every_step = actor + 2 * q + 2 * q + 2 * q + 2 * (q - q_first)
    delayed = actor + q + q + actor + (actor - actor_first)
    return every_step + delayed / policy_delay


def step_flops(model: Any, algo: str) -> float:
    """FLOPs of one gradient step of `model` (SAC or TD3) at its batch size."""
    q_shapes = linear_shapes(model.critic.q_networks[0])
    actor_shapes = linear_shapes(model.actor)
    if algo == "sac":
        return sac_step_flops(actor_shapes, q_shapes, model.batch_size)
    return td3_step_flops(actor_shapes, q_shapes, model.batch_size, model.policy_delay)


def _gflops(product: Any, size: int, repeats: int = 30) -> float:
    for _ in range(5):
        product()
    start = time.perf_counter()
    for _ in range(repeats):
        product()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def matmul_peak(precision: str, sizes: tuple[int, ...] = (256, 512, 1024)) -> tuple[float, str]:
    """(GFLOPS, path) of the fastest square product of `precision` at the current thread count."""
    import torch

    dtype = torch.float32 if precision == "fp32" else torch.bfloat16
    onednn = getattr(torch.ops.mkldnn, "_linear_pointwise", None)
    best = (0.0, "")
    for size in sizes:
        a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
        paths: dict[str, Any] = {"mm": lambda a=a, b=b: torch.mm(a, b)}
        if precision == "fp32" and onednn is not None and torch.backends.mkldnn.is_available():
            # linear(x, w) = x @ w.T: the same product count
            paths["oneDNN linear"] = lambda a=a, b=b, linear=onednn: linear(a, b, None, "none", [], "")
        for name, product in paths.items():
            try:
                rate = _gflops(product, size, repeats=max(3, 30 * 256**3 // size**3))
            except RuntimeError:  # a path this build of torch does not run
                continue
            if rate > best[0]:
                best = (rate, f"{name} {size}")
    return best


def op_costs(batch: int = 256, width: int = 256, inputs: int = 4, repeats: int = 5) -> list[tuple[str, float, float]]:
    """(operation, fp32 us, bf16 us) for the operations of a SAC critic at its shapes: the hidden product, the
    thin first-layer and one-output products, the ReLU and its backward, and a float32 -> bfloat16 cast (what a
    bfloat16 update must add per operand; its float32 column is a plain copy). Best of `repeats` means of 50
    calls."""
    import torch

    def calls(dtype: torch.dtype) -> dict[str, Any]:
        hidden, weight = torch.randn(batch, width, dtype=dtype), torch.randn(width, width, dtype=dtype)
        thin, thin_weight = torch.randn(batch, inputs, dtype=dtype), torch.randn(width, inputs, dtype=dtype)
        head, bias = torch.randn(1, width, dtype=dtype), torch.randn(width, dtype=dtype)
        active = torch.randn(batch, width, dtype=dtype).relu_()
        source = torch.randn(batch, width)
        return {
            f"product {batch}x{width}x{width}": lambda: torch.addmm(bias, hidden, weight.t()),
            f"product {batch}x{inputs}x{width} (first layer)": lambda: torch.addmm(bias, thin, thin_weight.t()),
            f"product {batch}x{width}x1 (Q head)": lambda: torch.addmm(bias[:1], hidden, head.t()),
            f"weight gradient {width}x{batch}x{inputs}": lambda: torch.mm(hidden.t(), thin),
            f"ReLU {batch}x{width}": lambda: hidden.relu(),
            f"ReLU backward {batch}x{width}": lambda: torch.ops.aten.threshold_backward(hidden, active, 0),
            # float32: a plain copy of the same tensor, the least a cast could cost
            f"copy / cast to bfloat16 {batch}x{width}": (
                source.clone if dtype == torch.float32 else lambda: source.to(dtype)
            ),
        }

    def best(call: Any) -> float:
        call()
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(50):
                call()
            runs.append((time.perf_counter() - start) / 50 * 1e6)
        return min(runs)

    fp32, bf16 = calls(torch.float32), calls(torch.bfloat16)
    rows = []
    for (name, fp32_call), bf16_call in zip(fp32.items(), bf16.values()):
        rows.append((name, best(fp32_call), best(bf16_call)))
    return rows


def time_step(algo: str, precision: str, repeats: int) -> tuple[float, float]:
    """(median ms per gradient step, FLOPs per step) of `algo` at `precision`, the speed seam on."""
    from benchmarks.library_route import SETTINGS, build

    model, update = build(algo, "hand" if precision == "fp32" else "bf16")
    gradient_steps = SETTINGS[algo][3]
    update()  # warm caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        update()
        times.append((time.perf_counter() - start) / gradient_steps * 1e3)
    return statistics.median(times), step_flops(model, algo)


#: The operations that compute matrix products (aten's, and oneDNN's linear when the products route takes it).
PRODUCT_OPS = frozenset({"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "mkldnn::_linear_pointwise"})


def split_step(
    update: Callable[[], None], gradient_steps: int, threads: list[int], rounds: int = 4
) -> dict[int, tuple[float, float, float]]:
    """Per thread count: (ms per gradient step in matrix products, ms in the rest, both from the profiler; median
    wall ms per step without the profiler) of `update` (one call: `gradient_steps` steps), the counts taken in turn
    each round. The thread count is left as it was found."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    threads_before = torch.get_num_threads()
    products = dict.fromkeys(threads, 0.0)
    rest = dict.fromkeys(threads, 0.0)
    walls: dict[int, list[float]] = {count: [] for count in threads}
    for _ in range(rounds):
        for count in threads:
            torch.set_num_threads(count)
            update()  # warm this count's caches
            start = time.perf_counter()
            update()
            walls[count].append((time.perf_counter() - start) / gradient_steps * 1e3)
            with profile(activities=[ProfilerActivity.CPU]) as profiler:
                update()
            for event in profiler.key_averages():
                share = event.self_cpu_time_total / 1e3 / gradient_steps / rounds  # ms per step
                if event.key in PRODUCT_OPS:
                    products[count] += share
                else:
                    rest[count] += share
    torch.set_num_threads(threads_before)
    return {count: (products[count], rest[count], statistics.median(walls[count])) for count in threads}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=ALGOS)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="torch thread counts to measure")
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--repeats", type=int, default=5, help="timed train() calls (median kept)")
    parser.add_argument(
        "--op-costs", action="store_true", help="only time a SAC critic's operations in float32 and bfloat16"
    )
    parser.add_argument("--split", action="store_true", help="only split a step's time: matrix products, the rest")
    parser.add_argument(
        "--compiled", action="store_true", help="time the compiled gradient step (BASELINES3_COMPILE=1) at each setting"
    )
    parser.add_argument("--rounds", type=int, default=4, help="--split: rounds over the thread counts")
    args = parser.parse_args(argv)
    if any(count < 1 for count in args.threads):
        parser.error(f"--threads takes counts of at least 1, got {args.threads}")
    import torch

    import baselines3  # noqa: F401  (its thread default first; the settings below win)

    torch.set_flush_denormal(True)  # as learn() runs its updates
    if args.compiled:
        from baselines3.common.fast import compiled

        compiled.set_compiled_updates(True)  # each model's step compiles in its warm-up
    all_cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if args.split:
        from benchmarks.library_route import SETTINGS, build

        if all_cores is not None:  # every count on the same cores: the counts differ in threads only
            os.sched_setaffinity(0, all_cores)
        print(f"{'algo':5s} {'precision':9s} {'threads':>7s} {'products ms':>11s} {'rest ms':>8s} {'wall ms':>8s}")
        for algo in args.algos:
            for precision in args.precisions:
                _, update = build(algo, "hand" if precision == "fp32" else "bf16")
                split = split_step(update, SETTINGS[algo][3], args.threads, args.rounds)
                for count, (products, rest, wall) in split.items():
                    print(f"{algo:5s} {precision:9s} {count:7d} {products:11.2f} {rest:8.2f} {wall:8.2f}")
        return
    if args.op_costs:
        for threads in args.threads:
            if all_cores is not None:
                os.sched_setaffinity(0, {min(all_cores)} if threads == 1 else all_cores)
            torch.set_num_threads(threads)
            print(f"threads {threads}: {'operation':44s} {'fp32 us':>8s} {'bf16 us':>8s} {'bf16/fp32':>9s}")
            for name, fp32_us, bf16_us in op_costs():
                print(f"threads {threads}: {name:44s} {fp32_us:8.1f} {bf16_us:8.1f} {bf16_us / fp32_us:9.2f}")
        return
    print(f"torch {torch.__version__}, load average {os.getloadavg()[0]:.2f}")
    header = f"{'algo':5s} {'threads':>7s} {'precision':14s} {'ms/step':>8s} {'MFLOP':>7s} {'GFLOPS':>7s} {'peak':>7s}"
    print(f"{header}  fraction")
    for threads in args.threads:
        if all_cores is not None:  # one thread: one core, as the races run it
            os.sched_setaffinity(0, {min(all_cores)} if threads == 1 else all_cores)
        torch.set_num_threads(threads)
        peaks = {precision: matmul_peak(precision) for precision in args.precisions}
        for algo in args.algos:
            for precision in args.precisions:
                ms, flops = time_step(algo, precision, args.repeats)
                rate = flops / (ms / 1e3) / 1e9
                peak, path = peaks[precision]
                setting = precision + (" compiled" if args.compiled else "")
                print(
                    f"{algo:5s} {threads:7d} {setting:14s} {ms:8.2f} {flops / 1e6:7.0f} {rate:7.1f} {peak:7.1f}  "
                    f"{rate / peak:.0%} (peak: {path})"
                )


if __name__ == "__main__":
    main()
