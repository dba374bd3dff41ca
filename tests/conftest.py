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
    was_enabled = fast.enabled()
    fast.set_enabled(True)
    yield
    fast.set_enabled(was_enabled)
