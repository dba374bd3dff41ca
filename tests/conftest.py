"""Test-wide settings."""

import pytest
import torch

from baselines3.common import fast

# Tests run in parallel (pytest -n 2 on 2 cores): with torch's default of one thread per core, the workers'
# thread pools fight over the cores and small networks run 5x slower (measured). One thread each avoids that.
torch.set_num_threads(1)


@pytest.fixture
def fast_paths():
    """The speed seam's fast paths on for this test, whatever BASELINES3_FAST says: the test compares them
    with the module path."""
    with fast.switched(True):
        yield


@pytest.fixture(autouse=True)
def seam_switch_left_as_found():
    """The seam's switch is process-wide: a test that leaves it flipped changes the route of whichever tests
    follow in the same worker (the suite runs once with the seam on, once with it off)."""
    was_enabled = fast.enabled()
    yield
    now = fast.enabled()
    fast.set_enabled(was_enabled)
    assert now == was_enabled, f"the test left the speed seam {'on' if now else 'off'} (it was {was_enabled})"


@pytest.fixture(autouse=True)
def thread_count_left_as_found():
    """torch's thread count is process-wide too: a test that leaves it changed makes the tests that follow in the
    same worker run at another count (slower, and in bf16 with other round-off)."""
    was = torch.get_num_threads()
    yield
    now = torch.get_num_threads()
    torch.set_num_threads(was)
    assert now == was, f"the test left torch at {now} thread(s) (it was {was})"
