"""benchmarks/product_routes.py: its product calls compute the same thing on every route, and it checks its
arguments."""

import pytest
import torch

from baselines3.common.fast import products
from benchmarks.product_routes import KINDS, ROUTES, main, product_calls


@pytest.mark.parametrize("kind", KINDS)
def test_every_route_of_a_timed_product_gives_the_same_result(kind):
    torch.manual_seed(0)
    calls = product_calls(kind, 32, 48, 40)
    results = [calls[route]().clone() for route in ROUTES]  # a weight gradient lands in one shared output
    for result in results[1:]:
        assert torch.allclose(result, results[0], rtol=1e-5, atol=1e-5)


def test_auto_route_is_restored():
    main(["--algos", "sac", "--no-steps", "--repeats", "1"])
    assert products.route() == "auto"


def test_thread_counts_must_be_positive():
    with pytest.raises(SystemExit):
        main(["--threads", "0", "--no-steps"])
