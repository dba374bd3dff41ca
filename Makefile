PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
# The CPU wheel of torch is pinned first so that no later step pulls a CUDA build.
TORCH_VERSION ?= 2.13.0

.PHONY: install install-docs train test test-plain test-all fuzz lint type docs speed benchmark gate sweep benchmarks-report side-by-side library-route clean

install:
	$(PIP) install "torch==$(TORCH_VERSION)"
	$(PIP) install -e ".[tests]"

install-docs:
	$(PIP) install -e ".[docs]"

# The main job: PPO on CartPole-v1 with the tuned defaults, then a deterministic evaluation.
train:
	$(PYTHON) -m baselines3 --algo ppo --env CartPole-v1

test:
	$(PYTHON) -m pytest -n 2 --timeout 600 -m "not slow" -q tests

# The suite again with the speed seam off (plain modules and torch's optimizers): both routes must pass.
test-plain:
	BASELINES3_FAST=0 $(PYTHON) -m pytest -n 2 --timeout 600 -m "not slow" -q tests

test-all:
	$(PYTHON) -m pytest -n 2 --timeout 1800 -q tests

# The long load-fuzzing campaign (make test runs a short one): mutated model zips, VecNormalize files and replay
# buffers, each loaded in a worker under a memory limit; prints cases tried, raw exceptions, markers, peak memory,
# slowest case. FUZZ_EXAMPLES sets the model-zip cases (a third as many for each of the other two kinds).
FUZZ_EXAMPLES ?= 3000
fuzz:
	$(PYTHON) -m tests.common.serialization.fuzz_loading --examples $(FUZZ_EXAMPLES)

lint:
	$(PYTHON) -m ruff check baselines3 benchmarks tests zoo
	$(PYTHON) -m ruff format --check baselines3 benchmarks tests zoo

type:
	$(PYTHON) -m mypy

docs:
	NO_MKDOCS_2_WARNING=1 $(PYTHON) -m mkdocs build --strict --quiet

speed:
	$(PYTHON) -m benchmarks.speed

# Benchmark reproduction: every feasible published row over 3 seeds (resumes), then the report.
sweep:
	$(PYTHON) -m benchmarks.run --all-feasible

benchmarks-report:
	$(PYTHON) -m benchmarks.report

# MuJoCo rows trained by baselines3 and by SB3 on the same zoo entry and budget (resumes), then their table.
side-by-side:
	$(PYTHON) -m benchmarks.side_by_side --jobs 1
	$(PYTHON) -m benchmarks.report --side-by-side-only

# Hand-written kernels against plain modules, torch.compile and bf16, per gradient step.
library-route:
	$(PYTHON) -m benchmarks.library_route

# The short learning check CI runs after the tests (fails when a row falls below its threshold).
gate:
	$(PYTHON) -m benchmarks.gate

benchmark:
	$(PYTHON) -m benchmarks.run --all-feasible
	$(PYTHON) -m benchmarks.speed --json benchmarks/results/speed.json
	$(PYTHON) -m benchmarks.report
	$(PYTHON) -m benchmarks.recurrent_cartpole
	$(PYTHON) -m benchmarks.replay_memory

clean:
	rm -rf build dist site .mypy_cache .ruff_cache .pytest_cache
