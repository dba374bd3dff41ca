import json

import pytest

from benchmarks import loop_split


def test_the_split_adds_up_to_the_loop_and_times_each_piece(tmp_path):
    lines = []
    path = tmp_path / "split.json"
    assert loop_split.main(
        ["--races", "sac_pendulum", "td3_pendulum", "--precision", "fp32", "--rounds", "2", "--round-steps", "30",
         "--json", str(path)],
        printer=lines.append,
    ) == 0  # fmt: skip
    result = json.loads(path.read_text())
    assert set(result["medians"]) == {"sac_pendulum baselines3", "td3_pendulum baselines3"}
    for splits in result["rounds"].values():
        assert len(splits) == 2
        for split in splits:
            parts = [split[piece] for piece in loop_split.PIECES[1:]]
            assert split["total"] == pytest.approx(sum(parts))
            # past learning starts every env step trains once, acts through the network, steps the env, stores
            assert all(split[piece] > 0 for piece in ("train", "acting", "env_step", "replay_add"))
            assert split["train"] < split["total"] and split["other"] >= 0  # pieces never overlap
    assert lines[2].startswith("| contender | steps/s | total | train() |")
    assert any(line.startswith("| sac_pendulum baselines3 | ") for line in lines)


def test_the_pieces_are_timed_where_the_loop_calls_them():
    calls = []

    class Owner:
        def work(self, value):
            calls.append(value)
            return value * 2

        def outer(self):
            return self.work(1)

    owner, timers = Owner(), loop_split.Timers()
    timers.wrap(owner, "work", "piece")
    assert owner.work(3) == 6 and calls == [3] and timers.seconds["piece"] > 0
    timers.reset()
    assert timers.seconds["piece"] == 0.0
    timers.wrap(owner, "outer", "outside")
    assert owner.outer() == 2 and calls == [3, 1]
    # called inside another timed piece, it counts as that piece's time
    assert timers.seconds["outside"] > 0 and timers.seconds["piece"] == 0.0


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(SystemExit):
        loop_split.main(["--rounds", "0"])
    assert "--rounds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        loop_split.main(["--races", "dqn_cartpole"])
    assert "invalid choice: 'dqn_cartpole'" in capsys.readouterr().err


def test_sb3s_loop_is_split_the_same_way(tmp_path):
    pytest.importorskip("stable_baselines3")
    path = tmp_path / "split.json"
    args = ["--races", "sac_pendulum", "--libs", "baselines3", "sb3", "--rounds", "1", "--round-steps", "20"]
    assert loop_split.main([*args, "--precision", "fp32", "--json", str(path)], printer=lambda line: None) == 0
    result = json.loads(path.read_text())
    assert set(result["medians"]) == {"sac_pendulum baselines3", "sac_pendulum sb3"}
    (sb3_split,) = result["rounds"]["sac_pendulum sb3"]
    assert all(sb3_split[piece] > 0 for piece in ("train", "acting", "env_step", "replay_add"))
    assert sb3_split["other"] >= 0
