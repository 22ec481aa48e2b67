"""Recipe files are the single source of defaults; configs validate what they get."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from tfa_recipes import dqn_cartpole
from tfa_recipes.config import build_config, coerce, load_config, recipe_file
from tfa_recipes.errors import RecipeError


def test_recipe_file_holds_the_tutorials_hyperparameters():
    config = load_config(dqn_cartpole.Config, "dqn_cartpole")
    assert (config.env_name, config.num_iterations, config.initial_collect_steps) == (
        "CartPole-v0", 20000, 100)
    assert (config.collect_steps_per_iteration, config.replay_buffer_max_length) == (1, 100000)
    assert (config.batch_size, config.learning_rate, config.log_interval) == (64, 1e-3, 200)
    assert (config.num_eval_episodes, config.eval_interval) == (10, 1000)
    assert config.fc_layer_params == (100, 50)


def test_recipe_file_and_config_fields_match_exactly():
    with recipe_file("dqn_cartpole").open("rb") as handle:
        keys = set(tomllib.load(handle))
    assert keys == {field.name for field in dataclasses.fields(dqn_cartpole.Config)}


def test_every_field_has_help():
    for field in dataclasses.fields(dqn_cartpole.Config):
        assert field.metadata.get("help"), field.name


def test_overrides_are_coerced_to_the_field_type():
    config = load_config(dqn_cartpole.Config, "dqn_cartpole", batch_size="32",
                         fc_layer_params="64, 32", learning_rate="5e-4")
    assert config.batch_size == 32 and config.fc_layer_params == (64, 32)
    assert config.learning_rate == 5e-4


@pytest.mark.parametrize("kind, value, expected", [
    (bool, "false", False), (bool, "yes", True), (int, 3.0, 3), (tuple[int, ...], [1, 2], (1, 2)),
])
def test_coerce(kind, value, expected):
    assert coerce(kind, value) == expected


def test_unknown_and_missing_settings_are_named():
    values = dataclasses.asdict(load_config(dqn_cartpole.Config, "dqn_cartpole"))
    with pytest.raises(RecipeError, match="unknown setting.*gamma"):
        build_config(dqn_cartpole.Config, {**values, "gamma": 0.9})
    del values["batch_size"]
    with pytest.raises(RecipeError, match="missing setting.*batch_size"):
        build_config(dqn_cartpole.Config, values)


def test_int_field_rejects_a_fraction():
    with pytest.raises(RecipeError, match="--batch-size: cannot read 2.5 as int"):
        load_config(dqn_cartpole.Config, "dqn_cartpole", batch_size=2.5)
