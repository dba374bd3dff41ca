"""Bounds on what a saved file can make the loader read or allocate, and the bounded zip reader.

Every reader in this package (model zips, SB3 zips, ``.npz`` replay buffers, VecNormalize files) checks a file
against the current :class:`LoadLimits` *before* reading its contents: each zip member's declared size and
compression ratio come from the zip directory, and members are then read in chunks with the cap enforced again
while reading, since a zip directory can lie. Sizes written inside a file (``n_envs``, ``buffer_size``, layer
widths, space shapes, array shapes) are checked against the other members of the same file and against these
limits before anything is allocated from them. A file over a limit raises
:class:`~baselines3.common.serialization.errors.ModelLoadError` naming the member or field, its value and the
limit.

The defaults fit real models with a wide margin (a 1M-step SAC replay buffer, Atari CNN policies, policies with
millions of parameters); change them for one block of code with :func:`load_limits`::

    from baselines3.common.serialization.limits import load_limits

    with load_limits(max_member_bytes=16 * 2**30):
        model = PPO.load("huge_model.zip")

or for the whole process with :func:`set_load_limits`.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from baselines3.common.serialization.errors import ModelLoadError

__all__ = [
    "DEFAULT_LOAD_LIMITS",
    "LoadLimits",
    "check_count",
    "check_json_sizes",
    "check_spec_sizes",
    "check_zip_directory",
    "current_limits",
    "finite_number",
    "load_limits",
    "open_zip",
    "read_bounded",
    "set_load_limits",
    "space_elements",
]

_MiB = 2**20
_GiB = 2**30


@dataclass(frozen=True)
class LoadLimits:
    """The largest sizes a loaded file may declare. Every field is a plain number; see :func:`load_limits`."""

    #: decompressed bytes of one binary zip member (a ``.pth`` state dict, a pickled member)
    max_member_bytes: int = 4 * _GiB
    #: decompressed bytes of one JSON or text member (``data.json``, ``_format_version``, ``system_info.txt``,
    #: a replay buffer's ``__meta__``) and of a VecNormalize file
    max_json_bytes: int = 64 * _MiB
    #: decompressed bytes of all members of one model zip together
    max_total_bytes: int = 16 * _GiB
    #: decompressed / compressed size of a member; deflate reaches about 1000, real members stay far below
    max_compression_ratio: float = 200.0
    #: members up to this size (decompressed) are not held to ``max_compression_ratio`` (tiny JSON compresses well)
    ratio_exempt_bytes: int = 4 * _MiB
    #: members in one zip
    max_members: int = 4096
    #: environments (``n_envs`` of a model, its action noise or a replay buffer)
    max_n_envs: int = 2**16
    #: one layer width or other size in ``policy_kwargs`` (``net_arch``, ``features_dim``, LSTM sizes)
    max_layer_width: int = 2**16
    #: elements of one space (Box shape product, Discrete ``n``, MultiDiscrete total, MultiBinary size)
    max_space_elements: int = 2**26
    #: transitions of a replay buffer or rollout buffer (``buffer_size``, ``n_steps * n_envs``)
    max_buffer_size: int = 10**9
    #: bytes of one ``.npz`` replay-buffer file once its members are decompressed
    max_buffer_bytes: int = 512 * _GiB

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"LoadLimits.{field.name} must be a positive number, got {value!r}")


#: The limits every load uses unless changed with :func:`set_load_limits` or :func:`load_limits`.
DEFAULT_LOAD_LIMITS = LoadLimits()
_CURRENT: contextvars.ContextVar[LoadLimits] = contextvars.ContextVar("baselines3_load_limits")


def current_limits() -> LoadLimits:
    """The limits loads use now (in this thread / task)."""
    return _CURRENT.get(_PROCESS_LIMITS[0])


_PROCESS_LIMITS = [DEFAULT_LOAD_LIMITS]


def set_load_limits(limits: LoadLimits | None = None, **changes: Any) -> LoadLimits:
    """Set the limits for the whole process: ``limits`` (default: the current ones) with ``changes`` applied
    (``set_load_limits(max_member_bytes=8 * 2**30)``); ``set_load_limits(DEFAULT_LOAD_LIMITS)`` restores the
    defaults. Returns the limits in force before."""
    previous = _PROCESS_LIMITS[0]
    _PROCESS_LIMITS[0] = dataclasses.replace(limits or previous, **changes)
    return previous


@contextlib.contextmanager
def load_limits(limits: LoadLimits | None = None, **changes: Any) -> Iterator[LoadLimits]:
    """Within the ``with`` block, loads use ``limits`` (default: the current ones) with ``changes`` applied,
    e.g. ``with load_limits(max_json_bytes=256 * 2**20): ...``. Unknown names raise TypeError."""
    new = dataclasses.replace(limits or current_limits(), **changes)
    token = _CURRENT.set(new)
    try:
        yield new
    finally:
        _CURRENT.reset(token)


def check_count(value: Any, field: str, limit_name: str, label: str, minimum: int = 1) -> int:
    """``value`` as an int in ``[minimum, limit]`` (the limit named ``limit_name`` of the current limits)."""
    limit = getattr(current_limits(), limit_name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelLoadError(f"{label}: field {field!r} must be an integer, got {value!r}")
    if value < minimum or value > limit:
        raise ModelLoadError(
            f"{label}: field {field!r} is {value}, outside [{minimum}, {limit}] (the limit is "
            f"LoadLimits.{limit_name}; raise it with load_limits({limit_name}=...) if you trust this file)"
        )
    return value


# ----------------------------------------------------------------------------------------------------------
# Zip archives
# ----------------------------------------------------------------------------------------------------------

_KNOWN_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def _count_entries(file: IO[bytes] | str) -> int | None:
    """The entry count the end-of-central-directory record declares (read before zipfile builds its index)."""
    end_record = getattr(zipfile, "_EndRecData", None)  # private, but stable since Python 2
    if end_record is None:
        return None
    try:
        if isinstance(file, str):
            with open(file, "rb") as handle:
                record = end_record(handle)
        else:
            position = file.tell()
            try:
                record = end_record(file)
            finally:
                file.seek(position)
    except (OSError, ValueError, EOFError):
        return None
    if not record:
        return None
    return int(record[4])  # _ECD_ENTRIES_TOTAL


def open_zip(source: IO[bytes] | str, label: str, what: str = "zip archive") -> zipfile.ZipFile:
    """Open a zip after checking the entry count its directory declares; ModelLoadError if it is not a zip."""
    entries = _count_entries(source)
    limit = current_limits().max_members
    if entries is not None and entries > limit:
        raise ModelLoadError(
            f"{label}: the zip declares {entries} members, more than the limit of {limit} (LoadLimits.max_members)"
        )
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError, OverflowError) as error:
        raise ModelLoadError(f"{label} is not a valid {what} (or it is truncated/corrupt): {error}") from error


def _source_size(archive: zipfile.ZipFile) -> int | None:
    handle = archive.fp
    if handle is None:
        return None
    try:
        position = handle.tell()
        size = handle.seek(0, 2)
        handle.seek(position)
        return int(size)
    except (OSError, ValueError, AttributeError):
        return None


def check_zip_directory(
    archive: zipfile.ZipFile,
    label: str,
    member_cap: dict[str, int] | None = None,
    default_cap: int | None = None,
    total_cap: int | None = None,
) -> dict[str, zipfile.ZipInfo]:
    """Check a zip's directory before any member is read; returns the members by name.

    Refused: more members than ``max_members``, duplicate names, encrypted members, compression other than
    stored/deflate, a stored member whose sizes disagree, compressed sizes that add up to more than the file,
    a member over its cap (``member_cap[name]``, else ``default_cap``, else ``max_member_bytes``), a compression
    ratio over ``max_compression_ratio``, and decompressed sizes adding up to more than ``total_cap`` (default
    ``max_total_bytes``).
    """
    limits = current_limits()
    infos = archive.infolist()
    if len(infos) > limits.max_members:
        raise ModelLoadError(
            f"{label}: the zip has {len(infos)} members, more than the limit of {limits.max_members} "
            "(LoadLimits.max_members)"
        )
    members: dict[str, zipfile.ZipInfo] = {}
    disk_size = _source_size(archive)
    compressed_total = 0
    total = 0
    total_cap = limits.max_total_bytes if total_cap is None else total_cap
    for info in infos:
        name = info.filename
        if name in members:
            raise ModelLoadError(f"{label}: the zip holds member {name!r} twice; which one to read is ambiguous")
        members[name] = info
        if info.flag_bits & 0x1:
            raise ModelLoadError(f"{label}: member {name!r} is encrypted")
        if info.compress_type not in _KNOWN_COMPRESSION:
            raise ModelLoadError(
                f"{label}: member {name!r} uses compression method {info.compress_type}; only stored (0) and "
                "deflate (8) members are read"
            )
        if info.file_size < 0 or info.compress_size < 0:
            raise ModelLoadError(f"{label}: member {name!r} declares a negative size")
        if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
            raise ModelLoadError(
                f"{label}: stored member {name!r} declares {info.file_size} bytes but occupies {info.compress_size}"
            )
        compressed_total += info.compress_size
        cap = (member_cap or {}).get(name, default_cap if default_cap is not None else limits.max_member_bytes)
        if info.file_size > cap:
            raise ModelLoadError(
                f"{label}: member {name!r} would decompress to {info.file_size} bytes, more than the limit of "
                f"{cap} bytes for it (see LoadLimits; raise it with load_limits(...) if you trust this file)"
            )
        if info.file_size > limits.ratio_exempt_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_compression_ratio:
                raise ModelLoadError(
                    f"{label}: member {name!r} has a compression ratio of {ratio:.0f} ({info.compress_size} bytes "
                    f"inflate to {info.file_size}), more than the limit of {limits.max_compression_ratio:g} "
                    "(LoadLimits.max_compression_ratio): a zip bomb, or a file this library did not write"
                )
        total += info.file_size
        if total > total_cap:
            raise ModelLoadError(
                f"{label}: the members decompress to more than {total_cap} bytes together (LoadLimits.max_total_bytes)"
            )
    if disk_size is not None and compressed_total > disk_size:
        raise ModelLoadError(
            f"{label}: the zip directory declares {compressed_total} bytes of member data in a {disk_size}-byte "
            "file (truncated, or a forged directory)"
        )
    return members


_CHUNK = 1 << 20


def read_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, label: str) -> bytes:
    """The bytes of member ``info``, read in chunks; ModelLoadError once more than ``min(cap, declared size)``
    bytes come out (the directory's sizes are not trusted) or the member is corrupt."""
    limit = min(cap, info.file_size)
    parts: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as handle:
            while True:
                chunk = handle.read(min(_CHUNK, limit - size + 1))
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise ModelLoadError(
                        f"{label}: member {info.filename!r} inflates past {limit} bytes, more than its directory "
                        "entry or the limit allows (a forged zip header)"
                    )
                parts.append(chunk)
    except (
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
        EOFError,
        OSError,
        ValueError,
        NotImplementedError,
        RuntimeError,
    ) as error:
        if isinstance(error, ModelLoadError):
            raise
        raise ModelLoadError(f"{label}: member {info.filename!r} is corrupt or truncated: {error}") from error
    return b"".join(parts)


def finite_number(value: Any, field: str, label: str, minimum: float | None = None) -> float:
    """``value`` as a finite float (bools refused), at least ``minimum`` when given."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelLoadError(f"{label}: field {field!r} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ModelLoadError(f"{label}: field {field!r} must be a finite number{bound}, got {value!r}")
    return number


# ----------------------------------------------------------------------------------------------------------
# Sizes written in JSON, checked before anything is decoded or allocated from them
# ----------------------------------------------------------------------------------------------------------

#: Top-level data.json fields that size an allocation, and the limit each is held to.
_SIZE_FIELDS = {"n_envs": "max_n_envs", "buffer_size": "max_buffer_size", "batch_size": "max_buffer_size"}


def space_elements(space: dict[str, Any], where: str) -> int:
    """Elements a space description would allocate (checked against ``max_space_elements``)."""
    kind = space.get("__space__")
    limit = current_limits().max_space_elements

    def product(dims: Any, field: str) -> int:
        if isinstance(dims, int):  # bool included: refused by the space reader
            dims = [dims]
        if not isinstance(dims, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
            return 0  # malformed: the space reader names it
        total = 1
        for dim in dims:
            if dim < 0:
                raise ModelLoadError(f"{where}.{field}: dimensions must be >= 0, got {dims!r}")
            total *= dim
            if total > limit:
                break
        return total

    if kind == "Box":
        return product(space.get("shape"), "shape")
    if kind == "Discrete":
        n = space.get("n")
        return n if isinstance(n, int) and not isinstance(n, bool) else 0
    if kind == "MultiBinary":
        return product(space.get("n"), "n")
    if kind == "MultiDiscrete":
        flat: list[Any] = []
        stack = [space.get("nvec")]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            else:
                flat.append(item)
        return sum(v for v in flat if isinstance(v, int) and not isinstance(v, bool) and v > 0)
    return 0


def check_spec_sizes(spec: Any, where: str) -> None:
    """An object spec (``{"__object__": ..., "spec": ...}``) names at most ``max_n_envs`` envs."""
    if isinstance(spec, dict) and "n_envs" in spec:
        check_count(spec["n_envs"], "n_envs", "max_n_envs", where)


def _walk(value: Any, where: str, policy_kwargs: bool) -> None:
    """Check every size in a JSON value: spaces, object specs, and (under policy_kwargs) every integer."""
    limits = current_limits()
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, at, depth = stack.pop()
        if depth > 200:
            raise ModelLoadError(f"{at}: values nested more than 200 levels deep")
        if isinstance(item, dict):
            if "__space__" in item:
                elements = space_elements(item, at)
                if elements > limits.max_space_elements:
                    raise ModelLoadError(
                        f"{at}: the {item.get('__space__')} space has {elements} elements, more than the limit of "
                        f"{limits.max_space_elements} (LoadLimits.max_space_elements)"
                    )
            if "__object__" in item:
                check_spec_sizes(item.get("spec"), at)
            if "__class__" in item:
                continue
            stack.extend((sub, f"{at}.{key}", depth + 1) for key, sub in item.items())
        elif isinstance(item, list):
            stack.extend((sub, f"{at}[{i}]", depth + 1) for i, sub in enumerate(item))
        elif (
            policy_kwargs
            and isinstance(item, int)
            and not isinstance(item, bool)
            and not -limits.max_layer_width <= item <= limits.max_layer_width
        ):
            raise ModelLoadError(
                f"{at} is {item}, larger than any layer size allowed ({limits.max_layer_width}, "
                "LoadLimits.max_layer_width)"
            )


def check_json_sizes(json_dict: dict[str, Any], label: str) -> None:
    """Check the sizes in a model's raw ``data.json`` before any value is decoded: ``n_envs``, ``buffer_size``,
    ``batch_size``, ``n_steps * n_envs``, the action noise's ``n_envs`` (which must equal the model's), space
    shapes and every integer in ``policy_kwargs``."""
    for field, limit_name in _SIZE_FIELDS.items():
        if field in json_dict:
            check_count(json_dict[field], field, limit_name, label)
    n_envs = json_dict.get("n_envs", 1)
    if "n_steps" in json_dict:
        n_steps = check_count(json_dict["n_steps"], "n_steps", "max_buffer_size", label)
        if isinstance(n_envs, int) and n_steps * n_envs > current_limits().max_buffer_size:
            raise ModelLoadError(
                f"{label}: n_steps * n_envs = {n_steps} * {n_envs} rollout steps, more than the limit of "
                f"{current_limits().max_buffer_size} (LoadLimits.max_buffer_size)"
            )
    noise = json_dict.get("action_noise")
    if isinstance(noise, dict) and isinstance(noise.get("spec"), dict) and "n_envs" in noise["spec"]:
        noise_envs = check_count(noise["spec"]["n_envs"], "action_noise.n_envs", "max_n_envs", label)
        if "n_envs" in json_dict and noise_envs != n_envs:
            raise ModelLoadError(
                f"{label}: field 'action_noise' is vectorized over n_envs={noise_envs}, but the model was saved "
                f"with n_envs={n_envs}; they must be equal"
            )
    for key, value in json_dict.items():
        _walk(value, f"{label}: field {key!r}", policy_kwargs=key == "policy_kwargs")
