"""Key-value logging for training runs: stdout tables, CSV, JSON lines, log.txt and TensorBoard.

A :class:`Logger` collects values with :meth:`Logger.record` (cheap: one dict write) and hands
them to every output format at :meth:`Logger.dump`. Use :func:`configure` to build one.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

import numpy as np
import pandas as pd
import torch

DEBUG = 10
INFO = 20
WARN = 30
ERROR = 40
DISABLED = 50

# Key -> formats it must not be written to (e.g. ("stdout", "csv")).
Exclusion = tuple[str, ...]


class Video:
    """A video for TensorBoard: `frames` shaped (batch, time, channel, height, width), played at `fps`."""

    def __init__(self, frames: torch.Tensor, fps: float) -> None:
        self.frames = frames
        self.fps = fps


class Figure:
    """A matplotlib figure to log to TensorBoard; `close` closes it once written."""

    def __init__(self, figure: Any, close: bool) -> None:
        self.figure = figure
        self.close = close


class Image:
    """An image to log to TensorBoard; `dataformats` names its axes, e.g. "CHW" or "HWC"."""

    def __init__(self, image: torch.Tensor | np.ndarray | str, dataformats: str) -> None:
        self.image = image
        self.dataformats = dataformats


class HParam:
    """Hyperparameters and the metrics to compare them by, for TensorBoard's HPARAMS tab.

    `metric_dict` must name at least one metric that is (or will be) logged as a scalar.
    """

    def __init__(
        self,
        hparam_dict: Mapping[str, bool | str | float | None],
        metric_dict: Mapping[str, float],
    ) -> None:
        if not metric_dict:
            raise ValueError(
                "HParam needs a non-empty metric_dict (e.g. {'rollout/ep_rew_mean': 0}) so TensorBoard "
                "can show the hyperparameters next to a metric"
            )
        self.hparam_dict = hparam_dict
        self.metric_dict = metric_dict


# Values that only TensorBoard can show.
_RICH_TYPES = (Video, Figure, Image, HParam)


class FormatUnsupportedError(NotImplementedError):
    """Raised when a value type cannot be written by an output format (e.g. a Video to CSV)."""

    def __init__(self, unsupported_formats: Sequence[str], value_description: str) -> None:
        formats = ", ".join(f'"{f}"' for f in unsupported_formats)
        super().__init__(
            f"The {formats} output format(s) cannot write {value_description}. Record it with "
            f"exclude=({formats},) so that only formats that can show it (e.g. tensorboard) receive it."
        )


def _check_plain(value: Any, key: str, format_name: str) -> None:
    """Refuse TensorBoard-only values in text formats, naming the key and the fix."""
    if isinstance(value, _RICH_TYPES):
        raise FormatUnsupportedError([format_name], f"the {type(value).__name__.lower()} logged as {key!r}")


class KVWriter:
    """An output format that writes key-value dictionaries."""

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Exclusion], step: int = 0) -> None:
        """Write one dump of `key_values`, skipping keys whose exclusion names this format."""
        raise NotImplementedError

    def close(self) -> None:
        """Release files and handles."""
        raise NotImplementedError


class SeqWriter:
    """An output format that writes free text lines (log messages)."""

    def write_sequence(self, sequence: Sequence[str]) -> None:
        """Write the strings of `sequence` separated by spaces, as one line."""
        raise NotImplementedError


def _is_excluded(key: str, key_excluded: Mapping[str, Exclusion], format_name: str) -> bool:
    excluded = key_excluded.get(key)
    return excluded is not None and format_name in excluded


def filter_excluded_keys(
    key_values: dict[str, Any], key_excluded: Mapping[str, Exclusion], _format: str
) -> dict[str, Any]:
    """The entries of ``key_values`` that ``key_excluded`` does not exclude from the format ``_format``."""
    return {key: value for key, value in key_values.items() if not _is_excluded(key, key_excluded, _format)}


class HumanOutputFormat(KVWriter, SeqWriter):
    """A boxed, aligned table of keys and values, grouped by the prefix before '/'.

    Writes to stdout (or any text stream) or to a file such as log.txt.
    """

    def __init__(self, filename_or_file: str | TextIO, max_length: int = 36) -> None:
        self.max_length = max_length
        if isinstance(filename_or_file, str):
            self.file: TextIO = open(filename_or_file, "w")  # noqa: SIM115 - closed in close()
            self.own_file = True
        elif hasattr(filename_or_file, "write"):
            self.file = filename_or_file
            self.own_file = False
        else:
            raise ValueError(f"Expected a file name or a writable text stream, got {filename_or_file!r}")
        self.format_name = "log" if self.own_file else "stdout"

    def _truncate(self, text: str) -> str:
        if self.max_length > 3 and len(text) > self.max_length:
            return text[: self.max_length - 3] + "..."
        return text

    @staticmethod
    def _format_value(value: Any) -> str:
        if isinstance(value, (float, np.floating)):
            return f"{value:<8.3g}".rstrip()
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            return f"{value.item():<8.3g}".rstrip()
        return str(value)

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Exclusion], step: int = 0) -> None:
        rows: list[tuple[str, str]] = []
        seen: dict[str, str] = {}
        last_group = ""
        for key in sorted(key_values):
            # Like SB3, the table formats share one switch: excluding "stdout" or "log" hides the key in both.
            excluded = key_excluded.get(key)
            if excluded is not None and ("stdout" in excluded or "log" in excluded):
                continue
            value = key_values[key]
            _check_plain(value, key, self.format_name)
            slash = key.find("/")
            group = key[: slash + 1] if slash >= 0 else ""
            if group and group != last_group:
                rows.append((self._truncate(group), ""))
            last_group = group
            shown = ("   " + key[len(group) :]) if group else key
            shown = self._truncate(shown)
            full = group + shown
            if full in seen:
                raise ValueError(
                    f"Keys {seen[full]!r} and {key!r} look the same once cut to {self.max_length} "
                    "characters; use shorter keys or a larger max_length"
                )
            seen[full] = key
            rows.append((shown, self._truncate(self._format_value(value))))
        if not rows:
            return
        key_width = max(len(k) for k, _ in rows)
        val_width = max(max(len(v) for _, v in rows), 1)
        dashes = "-" * (key_width + val_width + 7)
        lines = [dashes]
        lines.extend(f"| {k:<{key_width}} | {v:<{val_width}} |" for k, v in rows)
        lines.append(dashes)
        self.file.write("\n".join(lines) + "\n")
        self.file.flush()

    def write_sequence(self, sequence: Sequence[str]) -> None:
        self.file.write(" ".join(sequence) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.own_file:
            self.file.close()


def _to_builtin(value: Any) -> Any:
    """Turn numpy/torch scalars and arrays into plain Python values for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    return value


class JSONOutputFormat(KVWriter):
    """One JSON object per dump, one per line (progress.json)."""

    def __init__(self, filename: str) -> None:
        self.file = open(filename, "w")  # noqa: SIM115 - closed in close()

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Exclusion], step: int = 0) -> None:
        row = {}
        for key, value in key_values.items():
            if _is_excluded(key, key_excluded, "json"):
                continue
            _check_plain(value, key, "json")
            row[key] = _to_builtin(value)
        if not row:
            return
        self.file.write(json.dumps(row) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class CSVOutputFormat(KVWriter):
    """A CSV table (progress.csv) with one row per dump.

    A key first seen in a later dump adds a column: the file is rewritten with the wider header
    and empty cells for the earlier rows.
    """

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.file = open(filename, "w+", newline="")  # noqa: SIM115 - closed in close()
        self.keys: list[str] = []
        self._key_set: set[str] = set()

    @staticmethod
    def _cell(value: Any) -> Any:
        value = _to_builtin(value)
        return "" if value is None else value

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Exclusion], step: int = 0) -> None:
        row: dict[str, Any] = {}
        for key, value in key_values.items():
            if _is_excluded(key, key_excluded, "csv"):
                continue
            _check_plain(value, key, "csv")
            row[key] = value
        if not row:
            return
        new_keys = sorted(k for k in row if k not in self._key_set)
        if new_keys:
            self._extend_header(new_keys)
        writer = csv.writer(self.file)
        writer.writerow([self._cell(row[k]) if k in row else "" for k in self.keys])
        self.file.flush()

    def _extend_header(self, new_keys: list[str]) -> None:
        """Add columns; rewrite the rows written so far with empty cells for them."""
        self.file.seek(0)
        old_rows = list(csv.reader(self.file))[1:] if self.keys else []
        self.keys.extend(new_keys)
        self._key_set.update(new_keys)
        self.file.seek(0)
        self.file.truncate()
        writer = csv.writer(self.file)
        writer.writerow(self.keys)
        pad = [""] * len(new_keys)
        for old in old_rows:
            writer.writerow(old + pad)

    def close(self) -> None:
        self.file.close()


def _videos_writable() -> bool:
    """Whether torch's TensorBoard writer can encode videos here (it needs moviepy.editor, gone in moviepy 2)."""
    try:
        import moviepy.editor  # type: ignore[import-not-found, import-untyped, unused-ignore]  # noqa: F401
    except ImportError:
        return False
    return True


class TensorBoardOutputFormat(KVWriter):
    """TensorBoard event files through torch's SummaryWriter.

    Numbers become scalars, strings text, tensors histograms; Video, Figure, Image and HParam
    values use the matching TensorBoard views. None and containers (lists, tuples, dicts, sets) are left out of
    TensorBoard (the other formats still write them); other objects raise FormatUnsupportedError.
    """

    def __init__(self, folder: str) -> None:
        try:  # lazy import: torch.utils.tensorboard adds about 0.2 s, paid only when TensorBoard output is used
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:  # pragma: no cover - tensorboard is a dependency
            raise ImportError("The tensorboard output format needs tensorboard: pip install tensorboard") from exc
        self.writer = SummaryWriter(log_dir=folder)
        self._closed = False

    def write(self, key_values: dict[str, Any], key_excluded: dict[str, Exclusion], step: int = 0) -> None:
        writer = self.writer
        for key, value in key_values.items():
            if _is_excluded(key, key_excluded, "tensorboard"):
                continue
            if isinstance(value, str):
                writer.add_text(key, value, step)
            elif isinstance(value, (int, float, np.integer, np.floating, bool, np.bool_)):
                writer.add_scalar(key, float(value), step)
            elif isinstance(value, torch.Tensor):
                if value.numel() == 1:
                    writer.add_scalar(key, value.item(), step)
                else:
                    writer.add_histogram(key, value, step)
            elif isinstance(value, np.ndarray):
                writer.add_histogram(key, value, step)
            elif isinstance(value, Video):
                if _videos_writable():
                    writer.add_video(key, value.frames, step, value.fps)
                else:
                    warnings.warn(
                        f"video {key!r} was not written to TensorBoard: torch's writer needs moviepy 1.x (it imports "
                        "moviepy.editor, which moviepy 2 removed): pip install 'moviepy<2'",
                        stacklevel=2,
                    )
            elif isinstance(value, Figure):
                writer.add_figure(key, value.figure, step, close=value.close)
            elif isinstance(value, Image):
                writer.add_image(key, value.image, step, dataformats=value.dataformats)
            elif isinstance(value, HParam):
                from torch.utils.tensorboard.summary import hparams  # lazy import: as SummaryWriter above

                experiment, session_start, session_end = hparams(  # type: ignore[no-untyped-call]
                    dict(value.hparam_dict), metric_dict=dict(value.metric_dict)
                )
                file_writer = writer._get_file_writer()  # type: ignore[no-untyped-call]
                file_writer.add_summary(experiment)
                file_writer.add_summary(session_start)
                file_writer.add_summary(session_end)
            elif value is None or isinstance(value, (list, tuple, dict, set)):
                continue  # no TensorBoard view for containers: left out, as in Stable-Baselines3
            else:
                raise FormatUnsupportedError(["tensorboard"], f"a {type(value).__name__} logged as {key!r}")
        writer.flush()

    def close(self) -> None:
        if not self._closed:
            self.writer.close()
            self._closed = True


def make_output_format(_format: str, log_dir: str, log_suffix: str = "") -> KVWriter:
    """Build one output format by name: "stdout", "log", "json", "csv" or "tensorboard"."""
    os.makedirs(log_dir, exist_ok=True)
    if _format == "stdout":
        return HumanOutputFormat(sys.stdout)
    if _format == "log":
        return HumanOutputFormat(os.path.join(log_dir, f"log{log_suffix}.txt"))
    if _format == "json":
        return JSONOutputFormat(os.path.join(log_dir, f"progress{log_suffix}.json"))
    if _format == "csv":
        return CSVOutputFormat(os.path.join(log_dir, f"progress{log_suffix}.csv"))
    if _format == "tensorboard":
        return TensorBoardOutputFormat(log_dir)
    raise ValueError(f"Unknown logger format {_format!r}; use one of 'stdout', 'log', 'json', 'csv', 'tensorboard'")


def _as_exclusion(exclude: str | Iterable[str] | None) -> Exclusion:
    if exclude is None:
        return ()
    if isinstance(exclude, str):
        return (exclude,)
    return tuple(exclude)


class Logger:
    """Collects key-value pairs between dumps and writes them to every output format.

    :param folder: where file formats write (None when only stdout is used)
    :param output_formats: the writers to dump to
    """

    def __init__(self, folder: str | None, output_formats: list[KVWriter]) -> None:
        self.name_to_value: dict[str, Any] = {}
        self.name_to_count: dict[str, int] = {}
        self.name_to_excluded: dict[str, Exclusion] = {}
        self.level = INFO
        self.dir = folder
        self.output_formats = output_formats

    def record(self, key: str, value: Any, exclude: str | tuple[str, ...] | None = None) -> None:
        """Set `key` to `value` for the next dump (a later call overwrites it).

        :param exclude: format name(s) that must not receive this key, e.g. ("stdout", "log")
        """
        self.name_to_value[key] = value
        if exclude is not None:
            self.name_to_excluded[key] = _as_exclusion(exclude)

    def record_mean(self, key: str, value: Any, exclude: str | tuple[str, ...] | None = None) -> None:
        """Average `value` with the other values recorded under `key` since the last dump."""
        if value is None:
            return
        count = self.name_to_count.get(key, 0) + 1
        old = self.name_to_value.get(key, 0.0) if count > 1 else 0.0
        self.name_to_value[key] = old + (value - old) / count
        self.name_to_count[key] = count
        if exclude is not None:
            self.name_to_excluded[key] = _as_exclusion(exclude)

    def dump(self, step: int = 0) -> None:
        """Write everything recorded since the last dump to all formats, then forget it."""
        if self.level == DISABLED:
            self._clear()
            return
        for fmt in self.output_formats:
            if isinstance(fmt, KVWriter):
                fmt.write(self.name_to_value, self.name_to_excluded, step)
        self._clear()

    def _clear(self) -> None:
        self.name_to_value.clear()
        self.name_to_count.clear()
        self.name_to_excluded.clear()

    def get_log_dict(self) -> dict[str, Any]:
        """A copy of the values recorded since the last dump."""
        return dict(self.name_to_value)

    def log(self, *args: Any, level: int = INFO) -> None:
        """Write a line to the text formats (stdout, log.txt) when `level` is at least the logger's level."""
        if self.level <= level:
            line = [str(a) for a in args]
            for fmt in self.output_formats:
                if isinstance(fmt, SeqWriter):
                    fmt.write_sequence(line)

    def debug(self, *args: Any) -> None:
        """Log at DEBUG level."""
        self.log(*args, level=DEBUG)

    def info(self, *args: Any) -> None:
        """Log at INFO level."""
        self.log(*args, level=INFO)

    def warn(self, *args: Any) -> None:
        """Log at WARN level."""
        self.log(*args, level=WARN)

    def error(self, *args: Any) -> None:
        """Log at ERROR level."""
        self.log(*args, level=ERROR)

    def set_level(self, level: int) -> None:
        """Only log messages at `level` or above; DISABLED also turns off dumps."""
        self.level = level

    def get_dir(self) -> str | None:
        """The folder file formats write to (None for stdout only)."""
        return self.dir

    def close(self) -> None:
        """Close every output format."""
        for fmt in self.output_formats:
            fmt.close()


_FILE_FORMATS = ("log", "json", "csv", "tensorboard")


def configure(folder: str | None = None, format_strings: list[str] | None = None) -> Logger:
    """Build a Logger.

    :param folder: where file formats write. With None and no file format asked for, nothing is
        written to disk (stdout only); with None and a file format asked for, the folder comes from
        the BASELINES3_LOGDIR (or SB3_LOGDIR) environment variable, else a new temporary folder.
    :param format_strings: any of "stdout", "log", "json", "csv", "tensorboard". Default: the
        BASELINES3_LOG_FORMAT (or SB3_LOG_FORMAT) environment variable, comma separated, else
        ["stdout"] without a folder and ["stdout", "log", "csv"] with one.
    """
    if format_strings is None:
        env_formats = os.getenv("BASELINES3_LOG_FORMAT", os.getenv("SB3_LOG_FORMAT"))
        if env_formats is not None:
            format_strings = env_formats.split(",")
        elif folder is None:
            format_strings = ["stdout"]
        else:
            format_strings = ["stdout", "log", "csv"]
    format_strings = [f.strip() for f in format_strings if f and f.strip()]
    for fmt in format_strings:
        if fmt not in ("stdout", *_FILE_FORMATS):
            raise ValueError(f"Unknown logger format {fmt!r}; use any of 'stdout', 'log', 'json', 'csv', 'tensorboard'")
    needs_folder = any(f in _FILE_FORMATS for f in format_strings)
    if folder is None and needs_folder:
        folder = os.getenv("BASELINES3_LOGDIR", os.getenv("SB3_LOGDIR"))
        if folder is None:
            stamp = datetime.datetime.now().strftime("baselines3-%Y-%m-%d-%H-%M-%S-%f")
            folder = os.path.join(tempfile.gettempdir(), stamp)
    output_formats: list[KVWriter] = []
    for fmt in format_strings:
        if fmt == "stdout":
            output_formats.append(HumanOutputFormat(sys.stdout))
        else:
            assert folder is not None
            output_formats.append(make_output_format(fmt, folder))
    logger = Logger(folder=folder, output_formats=output_formats)
    if needs_folder:
        logger.log(f"Logging to {folder}")
    return logger


def read_json(filename: str) -> pd.DataFrame:
    """Load a progress.json file (one object per line) as a DataFrame."""
    rows = []
    with open(filename) as file:
        for line in file:
            if line.strip():
                rows.append(json.loads(line))
    return pd.DataFrame(rows)


def read_csv(filename: str) -> pd.DataFrame:
    """Load a progress.csv file as a DataFrame."""
    return pd.read_csv(filename, index_col=None, comment="#")


__all__ = [
    "DEBUG",
    "DISABLED",
    "ERROR",
    "INFO",
    "WARN",
    "CSVOutputFormat",
    "Figure",
    "FormatUnsupportedError",
    "HParam",
    "HumanOutputFormat",
    "Image",
    "JSONOutputFormat",
    "KVWriter",
    "Logger",
    "SeqWriter",
    "TensorBoardOutputFormat",
    "Video",
    "configure",
    "filter_excluded_keys",
    "make_output_format",
    "read_csv",
    "read_json",
]
