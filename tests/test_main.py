"""`python -m baselines3` (`make train`): progress while it trains and the saved model's path at the end."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import pytest

from baselines3 import PPO
from baselines3.common.progress import ProgressLines, training_progress


def test_python_m_baselines3_prints_progress_lines_and_where_the_model_went(tmp_path):
    save = tmp_path / "cartpole"  # without .zip: the printed path is the file written
    done = subprocess.run(
        [sys.executable, "-m", "baselines3", "--algo", "ppo", "--env", "CartPole-v1", "-n", "512",
         "--save", str(save)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout  # a pipe, not a terminal: plain lines
    assert re.search(r"^  512 / 512 steps \(100%\), [\d,]+ steps/s", out, re.MULTILINE), out
    assert re.search(r"^Trained in [\d.]+ s \([\d,]+ steps/s, \d+ torch threads?\)$", out, re.MULTILINE), out
    assert f"Saved the model to {save.resolve()}.zip" in out
    assert (tmp_path / "cartpole.zip").is_file()


def test_bad_budget_is_refused(capsys):
    from baselines3.__main__ import main

    with pytest.raises(SystemExit):
        main(["-n", "0"])
    assert "-n/--n-timesteps must be at least 1, got 0" in capsys.readouterr().err


def test_progress_lines_every_interval_and_at_the_end():
    out = io.StringIO()
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, n_epochs=1)
    model.learn(128, callback=ProgressLines(interval_s=0.0, file=out))
    lines = out.getvalue().splitlines()
    assert len(lines) == 128 + 1  # one per env step (interval 0) and the last one
    assert lines[0].startswith("  1 / 128 steps (1%), ") and "s left" in lines[0]
    assert lines[-1].startswith("  128 / 128 steps (100%), ") and "s left" not in lines[-1]
    assert any("mean return" in line for line in lines)  # once an episode has ended
    with pytest.raises(ValueError, match="interval_s must be >= 0 seconds, got -1"):
        ProgressLines(interval_s=-1)


def test_a_bar_on_a_terminal_and_lines_elsewhere(monkeypatch):
    pytest.importorskip("tqdm")
    assert type(training_progress(bar=False)).__name__ == "ProgressLines"
    assert type(training_progress(bar=True)).__name__ == "ProgressBarCallback"
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert type(training_progress()).__name__ == "ProgressLines"
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert type(training_progress()).__name__ == "ProgressBarCallback"
