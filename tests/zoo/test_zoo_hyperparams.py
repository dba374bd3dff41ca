"""The zoo's tuned hyperparameter files: every (algorithm, env) entry loads and builds its model without training,
and the required envs have entries for exactly the algorithms that have published values for them."""

from __future__ import annotations

import importlib.util

import gymnasium as gym
import pytest
from gymnasium import spaces

from baselines3.common.envs import IdentityEnvBox
from baselines3.common.noise import ActionNoise
from baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from baselines3.common.vec_env import VecEnv, unwrap_vec_normalize
from zoo.config import ALGOS, HYPERPARAMS_DIR, algorithm_class, load_experiment, read_file
from zoo.envs import register_zoo_envs
from zoo.runs import build_env
from zoo.train import action_noise

ATARI_ENV = "PongNoFrameskip-v4"  # the env the `atari` entries are built with
# envs without entries of their own, which the `default` entries are built with
DEFAULT_ENVS = {"a2c": "CliffWalking-v1", "dqn": "CliffWalking-v1", "ppo": "CliffWalking-v1"}
DEFAULT_BOX_ENV = "DefaultEntryBox-v0"  # continuous actions (SAC, TD3, DDPG), registered below
OFF_POLICY = ("ddpg", "dqn", "sac", "td3")
# Replay buffers are allocated when the model is built: the published sizes (up to 1e6 transitions, 1e5 Atari
# frames) would take seconds and gigabytes, so off-policy entries are built with this buffer size instead.
SMALL_BUFFER = 1000
# Scalar settings that the built model keeps under the same name: checked against the entry.
KEPT_AS_ATTRIBUTES = (
    "gamma",
    "n_steps",
    "batch_size",
    "gae_lambda",
    "n_epochs",
    "ent_coef",
    "vf_coef",
    "max_grad_norm",
    "tau",
    "learning_starts",
    "target_update_interval",
    "exploration_fraction",
    "exploration_final_eps",
    "use_sde",
    "buffer_size",
)

#: For each env, the algorithms with published RL Zoo 2.9.2 values that install here (docs/zoo.md lists the rest).
#: MuJoCo ids moved from -v4 (and -v2) to -v5, LunarLander(Continuous)NoVel from -v2 to -v3.
EXPECTED_ALGOS = {
    "Acrobot-v1": {"a2c", "dqn", "ppo", "ppo_lstm"},
    "Ant-v5": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "AntBulletEnv-v0": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "BipedalWalker-v3": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "BipedalWalkerHardcore-v3": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "CarRacing-v3": {"ppo", "ppo_lstm"},
    "CartPole-v1": {"a2c", "dqn", "ppo"},
    "CartPoleNoVel-v1": {"ppo", "ppo_lstm"},
    "HalfCheetah-v5": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "HalfCheetahBulletEnv-v0": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "Hopper-v5": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "HopperBulletEnv-v0": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "Humanoid-v5": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "HumanoidBulletEnv-v0": {"ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "HumanoidStandup-v5": {"ppo", "ppo_lstm"},
    "InvertedDoublePendulum-v5": {"ppo", "ppo_lstm"},
    "InvertedDoublePendulumBulletEnv-v0": {"ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "InvertedPendulum-v5": {"ppo", "ppo_lstm"},
    "InvertedPendulumSwingupBulletEnv-v0": {"ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "LunarLander-v3": {"a2c", "dqn", "ppo"},
    "LunarLanderContinuous-v3": {"a2c", "ddpg", "ppo", "sac", "td3"},
    "LunarLanderContinuousNoVel-v3": {"ppo_lstm"},
    "LunarLanderNoVel-v3": {"ppo_lstm"},
    "MiniGrid-DoorKey-5x5-v0": {"ppo"},
    "MiniGrid-Empty-Random-5x5-v0": {"ppo"},
    "MiniGrid-Fetch-5x5-N2-v0": {"ppo"},
    "MiniGrid-FourRooms-v0": {"ppo"},
    "MiniGrid-GoToDoor-5x5-v0": {"ppo"},
    "MiniGrid-KeyCorridorS3R1-v0": {"ppo"},
    "MiniGrid-LockedRoom-v0": {"ppo"},
    "MiniGrid-MultiRoom-N4-S5-v0": {"ppo"},
    "MiniGrid-ObstructedMaze-2Dlh-v0": {"ppo"},
    "MiniGrid-PutNear-6x6-N2-v0": {"ppo"},
    "MiniGrid-RedBlueDoors-6x6-v0": {"ppo"},
    "MiniGrid-Unlock-v0": {"ppo"},
    "MountainCar-v0": {"a2c", "dqn", "ppo"},
    "MountainCarContinuous-v0": {"a2c", "ddpg", "ppo", "sac", "td3"},
    "MountainCarContinuousNoVel-v0": {"ppo_lstm"},
    "MountainCarNoVel-v0": {"ppo_lstm"},
    "Pendulum-v1": {"a2c", "ddpg", "ppo", "sac", "td3"},
    "PendulumNoVel-v1": {"ppo_lstm"},
    "Reacher-v5": {"ppo", "ppo_lstm"},
    "ReacherBulletEnv-v0": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "Swimmer-v5": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "Walker2DBulletEnv-v0": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "Walker2d-v5": {"a2c", "ddpg", "ppo", "ppo_lstm", "sac", "td3"},
    "atari": {"a2c", "dqn", "ppo", "ppo_lstm"},
}


def entries() -> dict[str, set[str]]:
    """Algorithm -> env ids (including `atari`) with an entry in its file."""
    return {algo: set(read_file(HYPERPARAMS_DIR / f"{algo}.yml")) for algo in ALGOS}


def _params() -> list:
    params = []
    for algo, env_ids in entries().items():
        for env_id in sorted(env_ids):
            params.append(pytest.param(algo, env_id, id=f"{algo}-{env_id}"))
    return params


def required_modules(env_id: str) -> list[tuple[str, str]]:
    """(importable module, package to install) pairs that building `env_id` needs beyond gymnasium."""
    if env_id == "atari":
        return [("ale_py", "ale-py")]
    if env_id == "default":
        return []
    # registered only once their package is imported (zoo.envs imports it when installed)
    if env_id.startswith("MiniGrid-"):
        return [("minigrid", "minigrid")]
    if "BulletEnv-" in env_id:
        return [("pybullet_envs_gymnasium", "pybullet_envs_gymnasium")]
    entry_point = str(gym.spec(env_id).entry_point)
    if "mujoco" in entry_point:
        # gymnasium's MuJoCo envs import imageio (and glfw, a mujoco dependency) when the module loads
        return [("mujoco", "mujoco"), ("imageio", "imageio")]
    if "box2d" in entry_point:
        return [("Box2D", "box2d-py")]
    return []


def channel_last_image(space: spaces.Box) -> bool:
    return is_image_space(space) and not is_image_space_channels_first(space)


def build_n_envs(algo: str, experiment_n_envs: int, kwargs: dict) -> int:
    """At most 2 envs to keep the test fast, unless PPO needs the written count for its minibatch size."""
    n_envs = min(experiment_n_envs, 2)
    batch_size, n_steps = {"ppo": (64, 2048), "ppo_lstm": (128, 128)}.get(algo, (0, 0))
    if kwargs.get("batch_size", batch_size) > kwargs.get("n_steps", n_steps) * n_envs:
        return experiment_n_envs
    return n_envs


@pytest.mark.parametrize("algo, env_id", _params())
def test_entry_builds_its_model(algo: str, env_id: str) -> None:
    register_zoo_envs()
    for module, package in required_modules(env_id):
        pytest.importorskip(module, reason=f"{env_id} needs the {package!r} package, which is not installed")
    if DEFAULT_BOX_ENV not in gym.registry:
        gym.register(DEFAULT_BOX_ENV, entry_point=IdentityEnvBox, max_episode_steps=50)
    target = {"atari": ATARI_ENV, "default": DEFAULT_ENVS.get(algo, DEFAULT_BOX_ENV)}.get(env_id, env_id)
    overrides = {"buffer_size": SMALL_BUFFER} if algo in OFF_POLICY else {}
    experiment = load_experiment(algo, target, overrides=overrides)
    assert experiment.entry == env_id and experiment.n_timesteps > 0
    kwargs = dict(experiment.algo_kwargs)
    env: VecEnv = build_env(experiment, build_n_envs(algo, experiment.n_envs, kwargs), seed=0)
    try:
        if "action_noise" in kwargs:
            kwargs["action_noise"] = action_noise(kwargs["action_noise"], env)
        model = algorithm_class(algo)(experiment.policy, env, device="cpu", **kwargs)
        assert model.num_timesteps == 0
        if env_id == "atari":  # frames are stacked channel-last; the model sees them channel-first
            assert env.observation_space.shape == (84, 84, experiment.frame_stack)
            assert model.observation_space.shape == (experiment.frame_stack, 84, 84)
        elif isinstance(space := env.observation_space, spaces.Box) and channel_last_image(space):
            height, width, channels = space.shape  # the model sees images channel-first
            assert model.observation_space.shape == (channels, height, width)
        else:
            assert model.observation_space == env.observation_space
        for key in KEPT_AS_ATTRIBUTES:
            if key in kwargs:
                assert getattr(model, key) == kwargs[key], key
        if "action_noise" in kwargs:
            assert isinstance(getattr(model, "action_noise", None), ActionNoise)
        normalizer = unwrap_vec_normalize(env)  # under VecFrameStack where frames are stacked
        assert (normalizer is not None) == bool(experiment.normalize)
        if isinstance(experiment.normalize, dict):
            for key, value in experiment.normalize.items():
                assert getattr(normalizer, key) == value, key
    finally:
        env.close()


def test_required_envs_have_entries_for_the_published_algorithms() -> None:
    found = entries()
    have = {env_id: {algo for algo in ALGOS if env_id in found[algo]} for env_id in EXPECTED_ALGOS}
    assert have == EXPECTED_ALGOS


def test_entry_ids_are_current_gymnasium_ids() -> None:
    register_zoo_envs()
    unknown = sorted(
        (algo, env_id)
        for algo, env_ids in entries().items()
        for env_id in env_ids
        if env_id not in ("atari", "default") and env_id not in gym.registry and installed(env_id)
    )
    assert unknown == []


def installed(env_id: str) -> bool:
    """Whether the package that registers `env_id` is installed (MiniGrid, PyBullet; gymnasium's own: always)."""
    if not (env_id.startswith("MiniGrid-") or "BulletEnv-" in env_id):
        return True
    return all(importlib.util.find_spec(module) is not None for module, _ in required_modules(env_id))
