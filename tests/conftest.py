"""Test-wide settings."""

import torch

# Tests run in parallel (pytest -n 2 on 2 cores): with torch's default of one thread per core, the workers'
# thread pools fight over the cores and small networks run 5x slower (measured). One thread each avoids that.
torch.set_num_threads(1)
