"""Tests for baselines3.common.logger: every output format writes what was recorded."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
import torch

from baselines3.common.logger import (
    DEBUG,
    DISABLED,
    INFO,
    WARN,
    CSVOutputFormat,
    Figure,
    FormatUnsupportedError,
    HParam,
    HumanOutputFormat,
    Image,
    JSONOutputFormat,
    Logger,
    Video,
    configure,
    make_output_format,
    read_csv,
    read_json,
)


def test_configure_writes_csv_json_log(tmp_path):
    folder = str(tmp_path / "run")
    logger = configure(folder, ["csv", "json", "log"])
    assert logger.get_dir() == folder
    logger.record("rollout/ep_rew_mean", 1.5)
    logger.record("time/iterations", 1)
    logger.dump(step=10)
    logger.record("rollout/ep_rew_mean", 2.5)
    logger.record("time/iterations", 2)
    logger.dump(step=20)
    logger.close()

    csv_data = read_csv(os.path.join(folder, "progress.csv"))
    assert list(csv_data["rollout/ep_rew_mean"]) == [1.5, 2.5]
    assert list(csv_data["time/iterations"]) == [1, 2]

    json_data = read_json(os.path.join(folder, "progress.json"))
    assert list(json_data["rollout/ep_rew_mean"]) == [1.5, 2.5]
    assert list(json_data["time/iterations"]) == [1, 2]

    log_text = (tmp_path / "run" / "log.txt").read_text()
    assert "Logging to" in log_text
    assert "ep_rew_mean" in log_text and "2.5" in log_text


def test_csv_new_key_rewrites_header(tmp_path):
    path = str(tmp_path / "progress.csv")
    out = CSVOutputFormat(path)
    out.write({"a": 1, "b": 2.0}, {}, 0)
    out.write({"a": 3, "c": "x,y"}, {}, 1)  # new key "c", missing "b", a comma to quote
    out.write({"a": 5, "b": 6.0, "c": "z"}, {}, 2)
    out.close()
    data = read_csv(path)
    assert list(data.columns) == ["a", "b", "c"]
    assert list(data["a"]) == [1, 3, 5]
    assert data["b"].isna().tolist() == [False, True, False]
    assert data["c"].tolist()[1:] == ["x,y", "z"]
    assert data["c"].isna().tolist()[0]


def test_json_numpy_and_torch_values(tmp_path):
    path = str(tmp_path / "progress.json")
    out = JSONOutputFormat(path)
    out.write({"f": np.float32(0.5), "i": np.int64(3), "t": torch.tensor(2.0), "arr": np.arange(3)}, {}, 0)
    out.close()
    row = json.loads((tmp_path / "progress.json").read_text().splitlines()[0])
    assert row == {"f": 0.5, "i": 3, "t": 2.0, "arr": [0, 1, 2]}


def test_exclusion_per_format(tmp_path):
    folder = str(tmp_path)
    stream = io.StringIO()
    logger = Logger(folder, [HumanOutputFormat(stream), make_output_format("csv", folder)])
    logger.record("shown", 1.0)
    logger.record("no_csv", 2.0, exclude="csv")
    logger.record("no_stdout", 3.0, exclude=("stdout", "log"))
    logger.dump()
    logger.close()
    table = stream.getvalue()
    assert "shown" in table and "no_csv" in table
    assert "no_stdout" not in table
    columns = set(read_csv(os.path.join(folder, "progress.csv")).columns)
    assert columns == {"shown", "no_stdout"}


def test_stdout_table_grouped_and_aligned():
    stream = io.StringIO()
    logger = Logger(None, [HumanOutputFormat(stream)])
    logger.record("train/loss", 0.123456)
    logger.record("rollout/ep_rew_mean", 200.0)
    logger.record("time/fps", 1234)
    logger.record("plain", "text")
    logger.dump()
    lines = stream.getvalue().strip().splitlines()
    # Boxed, every line equally wide.
    assert lines[0].startswith("---") and lines[-1] == lines[0]
    assert len({len(line) for line in lines}) == 1
    body = [line[1:-1].split("|") for line in lines[1:-1]]
    keys = [cells[0][1:].rstrip() for cells in body]
    values = [cells[1].strip() for cells in body]
    # Sorted by key; a group header row before the keys of each prefix.
    assert keys == ["plain", "rollout/", "   ep_rew_mean", "time/", "   fps", "train/", "   loss"]
    assert values == ["text", "", "200", "", "1234", "", "0.123"]


def test_stdout_long_keys_are_cut():
    stream = io.StringIO()
    out = HumanOutputFormat(stream, max_length=12)
    out.write({"a_very_long_key_name": 1}, {}, 0)
    assert "a_very_lo..." in stream.getvalue()
    with pytest.raises(ValueError, match="look the same"):
        out.write({"a_very_long_key_1": 1, "a_very_long_key_2": 2}, {}, 0)


def test_record_mean_and_get_log_dict():
    logger = Logger(None, [])
    for value in (1.0, 2.0, 6.0):
        logger.record_mean("m", value)
    logger.record("k", 5)
    logger.record("k", 7)  # overwrites
    assert logger.get_log_dict() == {"m": pytest.approx(3.0), "k": 7}
    logger.dump()
    assert logger.get_log_dict() == {}


def test_levels_and_disabled():
    stream = io.StringIO()
    logger = Logger(None, [HumanOutputFormat(stream)])
    logger.debug("hidden-debug")
    logger.info("shown-info")
    logger.set_level(WARN)
    logger.info("hidden-info")
    logger.warn("shown-warn")
    logger.error("shown-error")
    logger.set_level(DEBUG)
    logger.debug("shown-debug")
    logger.log("at", "info", level=INFO)
    text = stream.getvalue()
    assert "hidden" not in text
    for word in ("shown-info", "shown-warn", "shown-error", "shown-debug", "at info"):
        assert word in text
    logger.set_level(DISABLED)
    logger.record("x", 1)
    logger.dump()
    assert "| x" not in stream.getvalue()


def test_configure_stdout_only_writes_no_files(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BASELINES3_LOG_FORMAT", raising=False)
    monkeypatch.delenv("SB3_LOG_FORMAT", raising=False)
    logger = configure()
    assert logger.get_dir() is None
    logger.record("a", 1)
    logger.dump()
    assert "| a" in capsys.readouterr().out
    assert os.listdir(tmp_path) == []
    assert configure(None, []).output_formats == []


def test_configure_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="'xml'"):
        configure(str(tmp_path), ["stdout", "xml"])


def test_rich_values_refused_by_text_formats(tmp_path):
    logger = configure(str(tmp_path), ["csv"])
    logger.record("fig", Figure(object(), close=True))
    with pytest.raises(FormatUnsupportedError, match="fig"):
        logger.dump()
    logger.record("fig", Figure(object(), close=True), exclude=("stdout", "log", "json", "csv"))
    logger.dump()  # excluded everywhere it cannot go: no error
    logger.close()


def _read_events(folder: str):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(folder, size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    accumulator.Reload()
    return accumulator


def test_tensorboard_scalars_read_back(tmp_path):
    folder = str(tmp_path / "tb")
    logger = configure(folder, ["tensorboard"])
    for step in (1, 2, 3):
        logger.record("train/loss", 1.0 / step)
        logger.record("time/fps", 100, exclude="tensorboard")
        logger.dump(step)
    logger.close()
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(folder))
    events = _read_events(folder)
    assert "time/fps" not in events.Tags()["scalars"]
    loss = events.Scalars("train/loss")
    assert [e.step for e in loss] == [1, 2, 3]
    assert [e.value for e in loss] == pytest.approx([1.0, 0.5, 1.0 / 3])


def test_tensorboard_image_figure_hparam(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = str(tmp_path / "tb")
    logger = configure(folder, ["tensorboard"])
    figure = plt.figure()
    plt.plot([0, 1], [1, 0])
    text_only = ("stdout", "log", "json", "csv")
    logger.record("img", Image(np.zeros((3, 8, 8), dtype=np.uint8), "CHW"), exclude=text_only)
    logger.record("fig", Figure(figure, close=True), exclude=text_only)
    logger.record("hparams", HParam({"lr": 0.1, "gamma": 0.9}, {"train/value_loss": 0}), exclude=text_only)
    logger.record("hist", torch.arange(10.0))
    logger.dump(5)
    logger.close()
    events = _read_events(folder)
    assert {"img", "fig"} <= set(events.Tags()["images"])
    assert "hist" in events.Tags()["histograms"]
    # hparams are stored as plugin summaries
    assert set(events.PluginTagToContent("hparams")) == {
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
    }


def test_hparam_requires_metric():
    with pytest.raises(ValueError, match="metric_dict"):
        HParam({"lr": 0.1}, {})


def test_video_is_written_or_a_warning_says_which_moviepy_it_needs(tmp_path):
    from baselines3.common.logger import _videos_writable

    logger = configure(str(tmp_path), ["tensorboard"])
    frames = torch.zeros((1, 4, 3, 8, 8), dtype=torch.uint8)
    logger.record("video", Video(frames, fps=4), exclude=("stdout", "log", "json", "csv"))
    if _videos_writable():
        logger.dump(1)
    else:  # no moviepy, or moviepy 2 (torch's writer would print a line and write nothing)
        with pytest.warns(UserWarning, match=r"video 'video' was not written.*moviepy<2"):
            logger.dump(1)
    logger.close()
    assert ("video" in _read_events(str(tmp_path)).Tags()["images"]) == _videos_writable()


def test_tensorboard_leaves_out_lists_as_sb3_does(tmp_path):
    folder = str(tmp_path / "tb")
    logger = configure(folder, ["tensorboard", "csv"])
    logger.record("train/loss", 0.5)
    logger.record("rollout/returns", [1.0, 2.0])
    logger.record("misc/pair", (1, 2))
    logger.record("misc/table", {"a": 1})
    logger.dump(1)
    logger.close()
    events = _read_events(folder)
    assert events.Tags()["scalars"] == ["train/loss"]
    assert not events.Tags()["histograms"]
    sb3_logger = pytest.importorskip("stable_baselines3.common.logger")
    theirs = sb3_logger.configure(str(tmp_path / "sb3"), ["tensorboard"])
    theirs.record("train/loss", 0.5)
    theirs.record("rollout/returns", [1.0, 2.0])
    theirs.dump(1)
    theirs.close()
    assert _read_events(str(tmp_path / "sb3")).Tags()["scalars"] == ["train/loss"]


def test_tensorboard_still_refuses_unknown_objects(tmp_path):
    from baselines3.common.logger import FormatUnsupportedError

    logger = configure(str(tmp_path), ["tensorboard"])
    logger.record("obj", object())
    with pytest.raises(FormatUnsupportedError):
        logger.dump(1)
    logger.close()
