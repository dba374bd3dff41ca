"""Model save/load round trips and the safety of loading."""

import os
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch

from baselines3 import A2C, PPO
from baselines3.common.env_util import make_vec_env
from baselines3.common.envs import FakeImageEnv, IdentityEnvBox, SimpleMultiObsEnv
from baselines3.common.vec_env import DummyVecEnv

ENVS = {
    "MlpPolicy": lambda: gym.make("CartPole-v1"),
    "CnnPolicy": lambda: FakeImageEnv(screen_height=36, screen_width=36, n_channels=1),
    "MultiInputPolicy": lambda: SimpleMultiObsEnv(image_size=36),
}


def _obs_batch(env, n=5):
    env.seed(123)
    return env.reset()


@pytest.mark.parametrize("algo", [PPO, A2C])
@pytest.mark.parametrize("policy", list(ENVS))
def test_round_trip_predictions_equal(tmp_path, algo, policy):
    env = DummyVecEnv([ENVS[policy]] * 2)
    kw = dict(n_steps=8, batch_size=16, n_epochs=1) if algo is PPO else dict(n_steps=4)
    model = algo(policy, env, seed=0, **kw).learn(32)
    obs = _obs_batch(env)
    expected, _ = model.predict(obs, deterministic=True)
    with torch.no_grad():
        obs_t, _ = model.policy.obs_to_tensor(obs)
        expected_values = model.policy.predict_values(obs_t)
    path = tmp_path / "model"
    model.save(path)
    assert (tmp_path / "model.zip").exists()
    with zipfile.ZipFile(tmp_path / "model.zip") as archive:
        names = set(archive.namelist())
    assert {"data.json", "policy.pth", "policy.optimizer.pth"} <= names
    assert not any(name.endswith(".pkl") for name in names), names  # nothing pickled for plain settings

    loaded = algo.load(tmp_path / "model.zip", env=env, device="cpu")
    actions, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(actions, expected)
    with torch.no_grad():
        torch.testing.assert_close(loaded.policy.predict_values(obs_t), expected_values)
    assert loaded.num_timesteps == model.num_timesteps
    # optimizer state came back too
    for a, b in zip(
        model.policy.optimizer.state_dict()["state"].values(),
        loaded.policy.optimizer.state_dict()["state"].values(),
    ):
        for key in a:
            torch.testing.assert_close(a[key], b[key])
    # the loaded model trains on
    loaded.learn(16, reset_num_timesteps=False)
    assert loaded.num_timesteps == model.num_timesteps + 16


def test_load_without_env_predicts_and_keeps_hyperparameters(tmp_path):
    model = PPO(
        "MlpPolicy",
        "CartPole-v1",
        n_steps=64,
        batch_size=32,
        gamma=0.97,
        clip_range=0.15,
        policy_kwargs=dict(net_arch=dict(pi=[32], vf=[16]), activation_fn=torch.nn.ReLU),
    )
    model.save(tmp_path / "m.zip")
    loaded = PPO.load(tmp_path / "m.zip")
    assert loaded.get_env() is None
    assert (loaded.n_steps, loaded.batch_size, loaded.gamma) == (64, 32, 0.97)
    assert loaded.clip_range(1.0) == pytest.approx(0.15)
    assert loaded.policy_kwargs["activation_fn"] is torch.nn.ReLU
    assert loaded.policy.mlp_extractor.latent_dim_vf == 16
    obs = np.zeros(4, dtype=np.float32)
    assert loaded.predict(obs, deterministic=True)[0] == model.predict(obs, deterministic=True)[0]
    with pytest.raises(ValueError, match="set_env"):
        loaded.learn(10)
    loaded.set_env(make_vec_env("CartPole-v1", n_envs=2))
    loaded.learn(128)


def test_load_with_mismatched_env_names_both_spaces(tmp_path):
    PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16).save(tmp_path / "m.zip")
    with pytest.raises(ValueError, match=r"Observation spaces do not match.*Box.*Box"):
        PPO.load(tmp_path / "m.zip", env=gym.make("Acrobot-v1"))
    with pytest.raises(ValueError, match="holds a PPO model"):
        A2C.load(tmp_path / "m.zip")


def test_linear_schedule_is_json_and_lambda_needs_opt_in(tmp_path):
    from baselines3.common.schedules import LinearSchedule

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16, learning_rate=LinearSchedule(1e-3, 0.0))
    model.save(tmp_path / "lin.zip")
    loaded = PPO.load(tmp_path / "lin.zip")
    assert loaded.lr_schedule(0.5) == pytest.approx(5e-4)

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16, learning_rate=lambda p: 1e-3 * p)
    model.save(tmp_path / "lambda.zip")
    with pytest.warns(UserWarning, match="allow_pickle=True"):
        safe = PPO.load(tmp_path / "lambda.zip")
    # without the pickled schedule the model still loads and can predict
    safe.predict(np.zeros(4, dtype=np.float32))
    trusted = PPO.load(tmp_path / "lambda.zip", allow_pickle=True)
    assert trusted.lr_schedule(0.5) == pytest.approx(5e-4)


def test_get_and_set_parameters(tmp_path):
    a = A2C("MlpPolicy", "CartPole-v1", seed=0)
    b = A2C("MlpPolicy", "CartPole-v1", seed=1)
    b.set_parameters(a.get_parameters())
    for pa, pb in zip(a.policy.parameters(), b.policy.parameters()):
        torch.testing.assert_close(pa, pb)
    a.save(tmp_path / "a.zip")
    c = A2C("MlpPolicy", "CartPole-v1", seed=2)
    c.set_parameters(str(tmp_path / "a.zip"))
    for pa, pc in zip(a.policy.parameters(), c.policy.parameters()):
        torch.testing.assert_close(pa, pc)
    with pytest.raises(ValueError, match="Unknown parameter group"):
        c.set_parameters({"nope": {}}, exact_match=False)


def test_load_bad_files_have_clear_errors(tmp_path):
    from baselines3.common.save_util import ModelLoadError

    not_zip = tmp_path / "plain.zip"
    not_zip.write_text("hello")
    with pytest.raises(ModelLoadError, match="zip"):
        PPO.load(not_zip)
    PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16).save(tmp_path / "good.zip")
    data = (tmp_path / "good.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError):
        PPO.load(tmp_path / "cut.zip")
    with (
        zipfile.ZipFile(tmp_path / "good.zip") as src,
        zipfile.ZipFile(tmp_path / "nopolicy.zip", "w") as dst,
    ):
        for item in src.infolist():
            if item.filename != "policy.pth":
                dst.writestr(item, src.read(item.filename))
    with pytest.raises(ValueError, match="policy"):
        PPO.load(tmp_path / "nopolicy.zip")
    with pytest.raises(FileNotFoundError, match="missing"):
        PPO.load(tmp_path / "missing.zip")


def test_failed_save_keeps_previous_file(tmp_path, monkeypatch):
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16)
    path = tmp_path / "model.zip"
    model.save(path)
    before = path.read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.zip"]


def test_load_to_device_and_box_actions(tmp_path):
    model = A2C("MlpPolicy", DummyVecEnv([lambda: IdentityEnvBox()]), n_steps=4, use_sde=True)
    model.save(tmp_path / "sde.zip")
    loaded = A2C.load(tmp_path / "sde.zip", device="cpu")
    assert loaded.device.type == "cpu"
    obs = np.array([0.3], dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


def test_a_ppo_model_loads_with_fewer_envs_than_it_trained_with(tmp_path):
    from baselines3 import PPO
    from baselines3.common.env_util import make_vec_env

    model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=8), n_steps=32, batch_size=256)
    model.save(tmp_path / "ppo")
    loaded = PPO.load(tmp_path / "ppo", env=make_vec_env("CartPole-v1", n_envs=1))  # e.g. to watch it play
    assert loaded.n_envs == 1 and loaded.batch_size == 256
    actions, _ = loaded.predict(loaded.get_env().reset())
    assert actions.shape == (1,)
    loaded.learn(64)  # a batch larger than the rollout is the whole rollout


def _rewrite_data(source, target, change):
    """Copy the archive `source` to `target` with data.json passed through `change(dict)`."""
    import json

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            raw = src.read(item.filename)
            if item.filename == "data.json":
                data = json.loads(raw)
                change(data)
                raw = json.dumps(data).encode()
            dst.writestr(item, raw)


def test_a_crafted_file_cannot_replace_methods_or_plant_classes(tmp_path):
    """data.json names what to set on the rebuilt model; a file must not be able to set a method (here one that
    would truncate a file on the next call) or put a class where data belongs."""
    from baselines3.common.save_util import ModelLoadError

    PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16).save(tmp_path / "good.zip")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    writer = {"__class__": "baselines3.common.logger.JSONOutputFormat"}  # opens its argument for writing
    module = {"__class__": "torch.nn.modules.activation.ReLU"}  # a class data.json may name

    def set_dunder_dict(data):
        data["__dict__"] = {"seed": str(victim), "set_random_seed": module}

    def set_private(data):
        data["_setup_model"] = module

    def set_method(data):
        data["set_random_seed"] = module

    def plant_class(data):
        data["exploration_schedule"] = module

    def bad_counter(data):
        data["num_timesteps"] = "many"

    def plant_writer(data):
        data["policy_kwargs"] = {"activation_fn": writer}
        data["seed"] = str(victim)

    for name, change, message in [
        ("dunder", set_dunder_dict, "private field '__dict__'"),
        ("private", set_private, "private field '_setup_model'"),
        ("method", set_method, "would replace PPO.set_random_seed"),
        ("class", plant_class, "'exploration_schedule' holds type, not plain data"),
        ("counter", bad_counter, "'num_timesteps' must be a number"),
        ("writer", plant_writer, "not a module, optimizer or buffer class"),
    ]:
        _rewrite_data(tmp_path / "good.zip", tmp_path / f"{name}.zip", change)
        with pytest.raises(ModelLoadError, match=message):
            PPO.load(tmp_path / f"{name}.zip")
    assert victim.read_text() == "keep me"


def test_included_attributes_and_zoo_custom_objects_load(tmp_path):
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=16, batch_size=16)
    model.my_note = {"run": "A", "scores": [1.5, 2.0]}
    model.save(tmp_path / "inc.zip", include=["my_note"])
    assert PPO.load(tmp_path / "inc.zip").my_note == {"run": "A", "scores": [1.5, 2.0]}
    # the RL Zoo's enjoy script loads old models with these replacements
    custom = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0, "clip_range": lambda _: 0.0}
    loaded = PPO.load(tmp_path / "inc.zip", custom_objects=custom)
    assert loaded.lr_schedule(1.0) == 0.0 and loaded.clip_range(1.0) == 0.0
    model.save(tmp_path / "no_space.zip", exclude=["observation_space"])
    with pytest.raises(ValueError, match=r"lacks \['observation_space'\]"):
        PPO.load(tmp_path / "no_space.zip")
    with pytest.raises(ValueError, match=r"unknown hyperparameters \['n_epoch'\]"):
        PPO.load(tmp_path / "inc.zip", n_epoch=3)


def test_loaded_sac_keeps_adapting_its_entropy_coefficient(tmp_path):
    """The entropy optimizer must update the tensor training reads after a load (it updated an orphan copy)."""
    from baselines3 import SAC

    model = SAC("MlpPolicy", "Pendulum-v1", learning_starts=50, buffer_size=1000, batch_size=32, seed=0)
    model.learn(100)
    model.save(tmp_path / "sac")
    loaded = SAC.load(tmp_path / "sac", env="Pendulum-v1")
    before = loaded.log_ent_coef.item()
    assert before == pytest.approx(model.log_ent_coef.item())
    loaded.learn(200, reset_num_timesteps=False)
    after = loaded.log_ent_coef.item()
    assert after != before
    # the value training uses is the one the optimizer moves
    assert loaded.log_ent_coef.data_ptr() == loaded.ent_coef_optimizer.param_groups[0]["params"][0].data_ptr()


def test_a_saved_variable_of_the_wrong_shape_or_name_is_refused(tmp_path):
    from baselines3 import SAC
    from baselines3.common.save_util import ModelLoadError

    model = SAC("MlpPolicy", "Pendulum-v1", buffer_size=1000, learning_starts=10)
    model.save(tmp_path / "sac")
    with zipfile.ZipFile(tmp_path / "sac.zip") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    for variables, message in [
        ({"log_ent_coef": torch.zeros(3)}, "shape"),
        ({"actor.mu.bias": torch.zeros(1)}, "no place"),
    ]:
        buffer = __import__("io").BytesIO()
        torch.save(variables, buffer)
        with zipfile.ZipFile(tmp_path / "bad.zip", "w") as archive:
            for name, content in members.items():
                archive.writestr(name, buffer.getvalue() if name == "pytorch_variables.pth" else content)
        with pytest.raises(ModelLoadError, match=message):
            SAC.load(tmp_path / "bad.zip")


def test_load_restores_verbose_and_tensorboard_log(tmp_path):
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, verbose=1, tensorboard_log=str(tmp_path / "tb"))
    model.save(tmp_path / "ppo")
    loaded = PPO.load(tmp_path / "ppo")
    assert loaded.verbose == 1
    assert loaded.tensorboard_log == str(tmp_path / "tb")
    assert PPO.load(tmp_path / "ppo", verbose=0).verbose == 0


def test_a_compiled_policy_saves_a_file_that_loads(tmp_path):
    """torch.compile names parameters `_orig_mod.<name>`; saved files use the plain module's names."""
    model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, seed=0)
    model.policy = torch.compile(model.policy, backend="eager")
    model.save(tmp_path / "compiled")
    loaded = PPO.load(tmp_path / "compiled")
    assert isinstance(loaded.policy, torch.nn.Module) and not hasattr(loaded.policy, "_orig_mod")
    observations = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = model.policy.predict_values(torch.as_tensor(observations))
        assert torch.equal(loaded.policy.predict_values(torch.as_tensor(observations)), expected)
    # a model with a compiled part takes plain parameters, and gives them back plain
    partly = PPO("MlpPolicy", "CartPole-v1", n_steps=64, seed=1)
    partly.policy.mlp_extractor = torch.compile(partly.policy.mlp_extractor, backend="eager")
    partly.set_parameters(tmp_path / "compiled.zip")
    assert not any("_orig_mod" in key for key in partly.get_parameters()["policy"])
    with torch.no_grad():
        assert torch.equal(partly.policy.predict_values(torch.as_tensor(observations)), expected)
