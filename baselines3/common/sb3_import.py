"""Reading files saved by Stable-Baselines3 (SB3) and sb3-contrib without running any code from them.

The code lives in :mod:`baselines3.common.serialization.sb3`; this module re-exports it under its older name.
"""

from __future__ import annotations

from baselines3.common.serialization.sb3.allow_list import SB3_POLICY_MODULES
from baselines3.common.serialization.sb3.model import (
    _IGNORED_FIELDS,
    SB3OptimizerState,
    is_sb3_archive,
    read_sb3_archive,
)
from baselines3.common.serialization.sb3.optimizer import fit_params
from baselines3.common.serialization.sb3.replay_buffer import load_sb3_replay_buffer, sb3_pickle_path
from baselines3.common.serialization.sb3.unpickler import (
    RefusedPickleError,
    RestrictedUnpickler,
    SB3Class,
    SB3ImportWarning,
    restricted_loads,
)
from baselines3.common.serialization.sb3.vec_normalize import read_sb3_vec_normalize
from baselines3.common.vec_env.vec_normalize import vec_normalize_from_sb3_pickle

__all__ = [
    "SB3_POLICY_MODULES",
    "_IGNORED_FIELDS",
    "RefusedPickleError",
    "RestrictedUnpickler",
    "SB3Class",
    "SB3ImportWarning",
    "SB3OptimizerState",
    "fit_params",
    "is_sb3_archive",
    "load_sb3_replay_buffer",
    "read_sb3_archive",
    "read_sb3_vec_normalize",
    "restricted_loads",
    "sb3_pickle_path",
    "vec_normalize_from_sb3_pickle",
]
