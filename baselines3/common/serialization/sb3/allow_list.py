"""The globals a Stable-Baselines3 pickle may name: data classes only, each mapped to the kind of value it is.

Anything not listed here (a lambda, cloudpickle's code reconstruction, ``os.system``, a user's class) is refused by
:class:`~baselines3.common.serialization.sb3.unpickler.RestrictedUnpickler`.
"""

from __future__ import annotations

__all__ = ["BUFFER_CLASSES", "POLICY_ALIAS_OF", "SB3_POLICY_MODULES", "kind_of"]

#: Algorithm name -> modules of SB3 / sb3-contrib whose policy classes that algorithm's files name.
#: A new algorithm needs one line here (its files are then mapped onto its own ``policy_aliases``).
SB3_POLICY_MODULES: dict[str, tuple[str, ...]] = {
    "PPO": (
        "stable_baselines3.common.policies",
        "stable_baselines3.ppo.policies",
        "sb3_contrib.common.recurrent.policies",
        "sb3_contrib.ppo_recurrent.policies",
    ),
    "RecurrentPPO": ("sb3_contrib.common.recurrent.policies", "sb3_contrib.ppo_recurrent.policies"),
    "A2C": ("stable_baselines3.common.policies", "stable_baselines3.a2c.policies"),
    "DQN": ("stable_baselines3.dqn.policies",),
    "SAC": ("stable_baselines3.sac.policies",),
    "TD3": ("stable_baselines3.td3.policies",),
    "DDPG": ("stable_baselines3.td3.policies", "stable_baselines3.ddpg.policies"),
}

#: SB3 policy class name -> the policy alias that names our equivalent (looked up in ``cls.policy_aliases``).
POLICY_ALIAS_OF: dict[str, str] = {
    "ActorCriticPolicy": "MlpPolicy",
    "ActorCriticCnnPolicy": "CnnPolicy",
    "MultiInputActorCriticPolicy": "MultiInputPolicy",
    "RecurrentActorCriticPolicy": "MlpLstmPolicy",
    "RecurrentActorCriticCnnPolicy": "CnnLstmPolicy",
    "RecurrentMultiInputActorCriticPolicy": "MultiInputLstmPolicy",
    "DQNPolicy": "MlpPolicy",
    "SACPolicy": "MlpPolicy",
    "TD3Policy": "MlpPolicy",
    "MlpPolicy": "MlpPolicy",
    "CnnPolicy": "CnnPolicy",
    "MultiInputPolicy": "MultiInputPolicy",
    "MlpLstmPolicy": "MlpLstmPolicy",
    "CnnLstmPolicy": "CnnLstmPolicy",
    "MultiInputLstmPolicy": "MultiInputLstmPolicy",
}

_SPACE_MODULES = {
    "Box": "box",
    "Discrete": "discrete",
    "MultiDiscrete": "multi_discrete",
    "MultiBinary": "multi_binary",
    "Dict": "dict",
    "Tuple": "tuple",
}
_ACTIVATIONS = frozenset(
    [
        "ReLU",
        "Tanh",
        "ELU",
        "LeakyReLU",
        "SiLU",
        "GELU",
        "Sigmoid",
        "Softplus",
        "Mish",
        "Hardtanh",
        "SELU",
        "CELU",
        "ReLU6",
        "Hardswish",
        "Hardsigmoid",
        "LogSigmoid",
        "Tanhshrink",
        "Softsign",
        "PReLU",
        "Identity",
    ]
)
_OPTIMIZERS = {
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "sgd": "SGD",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "radam": "RAdam",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
}
_FEATURE_EXTRACTORS = frozenset({"NatureCNN", "FlattenExtractor", "CombinedExtractor"})
_NUMPY_SCALAR_TYPES = frozenset(
    ["bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64"]
)
BUFFER_CLASSES = frozenset(
    {
        "stable_baselines3.common.buffers.ReplayBuffer",
        "stable_baselines3.common.buffers.DictReplayBuffer",
        "stable_baselines3.common.buffers.RolloutBuffer",
        "stable_baselines3.common.buffers.DictRolloutBuffer",
        "sb3_contrib.common.recurrent.buffers.RecurrentRolloutBuffer",
        "sb3_contrib.common.recurrent.buffers.RecurrentDictRolloutBuffer",
    }
)
# Pickled random generators (spaces keep theirs) and devices: read, then thrown away.
_DISCARDED = frozenset(
    {
        "numpy.random._pickle.__generator_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random.__RandomState_ctor",
        "numpy.random._pcg64.PCG64",
        "numpy.random._mt19937.MT19937",
        "numpy.random._philox.Philox",
        "numpy.random._sfc64.SFC64",
        "numpy.random._generator.Generator",
        "numpy.random.mtrand.RandomState",
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
        "numpy.random.bit_generator.SeedSequence",
        "torch.device",
    }
)
_NAMED = {
    "numpy._core.numeric._frombuffer": "frombuffer",
    "numpy.core.numeric._frombuffer": "frombuffer",
    "numpy._core.multiarray._reconstruct": "reconstruct",
    "numpy.core.multiarray._reconstruct": "reconstruct",
    "numpy._core.multiarray.scalar": "scalar",
    "numpy.core.multiarray.scalar": "scalar",
    "numpy.ndarray": "ndarray",
    "numpy.dtype": "dtype",
    "_codecs.encode": "encode",
    "collections.OrderedDict": "odict",
    "collections.deque": "deque",
    "stable_baselines3.common.utils.FloatSchedule": "float_schedule",
    "stable_baselines3.common.utils.ConstantSchedule": "constant_schedule",
    "stable_baselines3.common.utils.LinearSchedule": "linear_schedule",
    "stable_baselines3.common.type_aliases.TrainFreq": "train_freq",
    "stable_baselines3.common.type_aliases.TrainFrequencyUnit": "train_freq_unit",
    "stable_baselines3.common.noise.NormalActionNoise": "normal_noise",
    "stable_baselines3.common.noise.OrnsteinUhlenbeckActionNoise": "ou_noise",
    "stable_baselines3.common.noise.VectorizedActionNoise": "vectorized_noise",
    "stable_baselines3.common.vec_env.vec_normalize.VecNormalize": "vec_normalize",
    "stable_baselines3.common.running_mean_std.RunningMeanStd": "running_mean_std",
    "stable_baselines3.common.buffers.ReplayBuffer": "buffer",
    "stable_baselines3.common.buffers.DictReplayBuffer": "buffer",
}


def kind_of(module: str, name: str) -> str | None:
    """What an allowed global is (a key of the converters below), or None when it is not allowed."""
    path = f"{module}.{name}"
    if path in _NAMED:
        return _NAMED[path]
    if path in _DISCARDED:
        return "discarded"
    if path in BUFFER_CLASSES:
        return "buffer"
    parts = module.split(".")
    if parts[0] in ("gymnasium", "gym") and parts[1:] == ["spaces", _SPACE_MODULES.get(name, "")]:
        return "space"
    if module == "torch.nn.modules.activation" and name in _ACTIVATIONS:
        return "torch_class"
    if module == "torch.nn.modules.linear" and name == "Identity":
        return "torch_class"
    if len(parts) == 3 and parts[:2] == ["torch", "optim"] and _OPTIMIZERS.get(parts[2]) == name:
        return "torch_class"
    if module == "stable_baselines3.common.torch_layers" and name in _FEATURE_EXTRACTORS:
        return "extractor"
    if module == "numpy" and name in _NUMPY_SCALAR_TYPES:
        return "numpy_type"
    if name in POLICY_ALIAS_OF and any(module in modules for modules in SB3_POLICY_MODULES.values()):
        return "policy"
    return None
