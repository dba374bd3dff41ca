"""The seam's matrix products: every route computes the same thing, and the per-shape choice keeps the faster one
only when it agrees with aten."""

import pytest
import torch
from gymnasium import spaces

from baselines3.common.fast import products
from baselines3.common.fast.optim import make_optimizer
from baselines3.common.off_policy.critics import ContinuousCritic
from baselines3.common.torch_layers import FlattenExtractor

pytestmark = pytest.mark.usefixtures("fast_paths")

needs_onednn = pytest.mark.skipif(
    getattr(torch.ops.mkldnn, "_linear_pointwise", None) is None or not torch._C._has_mkldnn,
    reason="this torch build has no oneDNN linear",
)


@pytest.fixture(autouse=True)
def _restore_route():
    before = products.route()
    yield
    products.set_route(before)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool((a - b).abs().max() <= 1e-5 * (b.abs().max() + 1e-30))


# rows, inputs, outputs: a hidden layer, a thin first layer, a one-output head, TD3's [400, 300]
SHAPES = [(256, 256, 256), (256, 4, 256), (256, 256, 1), (100, 400, 300)]


@needs_onednn
@pytest.mark.parametrize("rows,inputs,outputs", SHAPES)
def test_every_route_computes_the_same_products(rows, inputs, outputs):
    torch.manual_seed(0)
    x, grad = torch.randn(rows, inputs), torch.randn(rows, outputs)
    weight, bias = torch.randn(outputs, inputs), torch.randn(outputs)
    expected = (x @ weight.t() + bias, grad @ weight, grad.t() @ x)
    for route in ("aten", "onednn"):
        products.set_route(route)
        weight_grad = torch.empty(outputs, inputs)
        products.weight_grad(grad, x, weight_grad)
        got = (products.linear(x, weight, weight.t(), bias), products.input_grad(grad, weight), weight_grad)
        assert all(_close(g, e) for g, e in zip(got, expected)), route


def test_small_products_are_never_measured():
    products.set_route("auto")
    x, weight = torch.randn(64, 8), torch.randn(8, 8)
    products.linear(x, weight, weight.t(), torch.zeros(8))
    assert products.choices() == {}


@needs_onednn
@pytest.mark.parametrize("onednn_faster", [True, False])
def test_auto_keeps_the_faster_route_once_per_shape(monkeypatch, onednn_faster):
    products.set_route("auto")
    calls = {"aten": 0, "onednn": 0}
    real_aten, real_onednn = products._linear_aten, products._linear_onednn

    def counted(name, real):
        def call(*args):
            calls[name] += 1
            return real(*args)

        return call

    monkeypatch.setattr(products, "_linear_aten", counted("aten", real_aten))
    monkeypatch.setattr(products, "_linear_onednn", counted("onednn", real_onednn))
    fast_route = "onednn" if onednn_faster else "aten"

    def fake_clock(call):  # a timed call of the fast route takes 0.1 s, of the other 1 s
        before = dict(calls)
        call()
        ran = "aten" if calls["aten"] > before["aten"] else "onednn"
        return 0.1 if ran == fast_route else 1.0

    monkeypatch.setattr(products, "_timed", fake_clock)
    x, weight, bias = torch.randn(256, 256), torch.randn(256, 256), torch.randn(256)
    products.linear(x, weight, weight.t(), bias)
    key = ("linear", 256, 256, 256, torch.get_num_threads(), torch.float32, "cpu")
    assert products.choices() == {key: fast_route}
    before = dict(calls)
    products.linear(x, weight, weight.t(), bias)  # decided: one call of the chosen route, no more timing
    assert calls[fast_route] == before[fast_route] + 1
    assert sum(calls.values()) == sum(before.values()) + 1


@needs_onednn
def test_a_route_that_disagrees_is_never_chosen(monkeypatch):
    products.set_route("auto")
    real = products._input_grad_onednn
    ran = []

    def wrong_but_fast(grad, weight):
        ran.append("onednn")
        return real(grad, weight) * 1.001

    def clock(call):  # oneDNN would win every timing
        ran.clear()
        call()
        return 0.0 if ran else 1.0

    monkeypatch.setattr(products, "_input_grad_onednn", wrong_but_fast)
    monkeypatch.setattr(products, "_timed", clock)
    grad, weight = torch.randn(256, 256), torch.randn(256, 256)
    assert _close(products.input_grad(grad, weight), grad @ weight)
    assert set(products.choices().values()) == {"aten"}


def test_route_settings_are_checked():
    with pytest.raises(ValueError, match="route must be one of"):
        products.set_route("mkl")


@needs_onednn
def test_critic_gradients_agree_across_routes():
    """The SAC critic's fused kernels give the same Q-values and gradients on either route."""
    torch.manual_seed(0)
    obs_space, action_space = spaces.Box(-1, 1, (3,)), spaces.Box(-1, 1, (1,))
    critic = ContinuousCritic(obs_space, action_space, [256, 256], FlattenExtractor(obs_space), 3)
    _, critic.flat_parameters = make_optimizer(critic, torch.optim.Adam, 1e-3, {})
    obs, actions = torch.randn(256, 3), torch.rand(256, 1)
    results = []
    for route in ("aten", "onednn"):
        products.set_route(route)
        critic.flat_parameters.flat.grad = None
        inputs = actions.clone().requires_grad_(True)
        q_values = critic.q_values(obs, inputs)
        q_values.square().mean().backward()
        results.append((q_values.detach(), critic.flat_parameters.flat.grad.clone(), inputs.grad.clone()))
    assert products.choices(), "the critic's 256x256 products go through the route setting"
    for aten_result, onednn_result in zip(*results):
        assert _close(onednn_result, aten_result)
