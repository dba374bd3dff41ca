"""`python -m zoo <command>`: the one entry point dispatches to the zoo's tools."""

from __future__ import annotations

import subprocess
import sys

import pytest

from zoo.__main__ import COMMANDS, main


def test_python_m_zoo_trains_and_names_its_commands(tmp_path):
    command = ["train", "--algo", "ppo", "--env", "CartPole-v1", "-n", "256", "-f", str(tmp_path)]
    result = subprocess.run([sys.executable, "-m", "zoo", *command], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ppo" / "CartPole-v1_1" / "CartPole-v1.zip").exists()


def test_unknown_command_and_help(capsys):
    assert main(["bogus"]) == 2
    assert "unknown command 'bogus'" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)


def test_tune_is_train_with_optimize(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["tune", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m zoo tune") and "--n-trials" in out
