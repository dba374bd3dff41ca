"""The FLOP count of benchmarks/flop_bound.py against torch's own counter on real gradient steps."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from baselines3 import SAC, TD3
from benchmarks.flop_bound import main, matmul_peak, op_costs, split_step, step_flops


@pytest.mark.parametrize("algo_class", [SAC, TD3])
def test_step_flops_equal_what_torch_counts_in_train(algo_class):
    model = algo_class(
        "MlpPolicy", "Pendulum-v1", seed=0, learning_starts=50, batch_size=16, policy_kwargs=dict(net_arch=[24, 12])
    )
    model.learn(60)
    with FlopCounterMode(display=False) as counter:
        model.train(gradient_steps=2, batch_size=16)  # TD3: one actor update in two steps (policy_delay 2)
    assert step_flops(model, algo_class.__name__.lower()) == counter.get_total_flops() / 2


def test_matmul_peak_names_the_path_it_measured():
    rate, path = matmul_peak("fp32", sizes=(64,))
    assert rate > 0 and path.endswith(" 64")


def test_thread_counts_must_be_positive():
    with pytest.raises(SystemExit):
        main(["--threads", "0"])


def test_op_costs_time_both_precisions_of_each_operation():
    rows = op_costs(batch=16, width=32, inputs=3, repeats=1)
    assert rows[0][0] == "product 16x32x32" and len(rows) == 7
    assert all(fp32 > 0 and bf16 > 0 for _, fp32, bf16 in rows)


def test_split_times_products_and_the_rest_at_each_thread_count():
    model = TD3("MlpPolicy", "Pendulum-v1", seed=0, learning_starts=50, batch_size=64)
    model.learn(60)
    threads = torch.get_num_threads()
    split = split_step(lambda: model.train(gradient_steps=2, batch_size=64), 2, [1, 2], rounds=1)
    assert list(split) == [1, 2]
    assert torch.get_num_threads() == threads  # later code in the process keeps its setting
    for products, rest, wall in split.values():
        assert products > 0 and rest > 0 and wall > 0  # a TD3 step has both, and takes time
