"""Opening a run (`run.lifecycle.open_run`), in process: each refusal the command line, the
Python API and the notebooks share, and that a refusal touches nothing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tfa_recipes.config import dump_config, load_config
from tfa_recipes.dqn_cartpole import RECIPE
from tfa_recipes.errors import RecipeError
from tfa_recipes.mdp import RECIPE as MDP
from tfa_recipes.run.directory import RunDir
from tfa_recipes.run.lifecycle import open_run
from tfa_recipes.run.lock import RunLock


def snapshot(path: Path) -> dict[str, bytes]:
    return {
        str(file.relative_to(path)): file.read_bytes()
        for file in sorted(path.rglob("*"))
        if file.is_file()
    }


def started_run(tmp_path, *, checkpoint: bool = True, **fields) -> RunDir:
    """A run directory as a run of dqn_cartpole leaves it: its marker, its config and (a
    stand-in for) a published checkpoint at iteration 200."""
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    (run.path / "run.json").write_text(json.dumps({"recipe": "dqn_cartpole"}))
    dump_config(load_config(RECIPE.config_cls, "dqn_cartpole", **fields), run.config_json)
    if checkpoint:
        run.checkpoint_dir.mkdir(parents=True)
        (run.checkpoint_dir / "manifest-200.json").write_text("{}")
    return run


def test_a_new_run_is_created_claimed_and_locked(tmp_path):
    with open_run(RECIPE, {"seed": 3}, tmp_path / "new") as opened:
        assert opened.config.seed == 3 and not opened.resumed
        assert opened.run.recipe() == "dqn_cartpole"
        # The provenance waits until the run goes on (training records it once built).
        assert not (opened.run.path / "command.txt").exists()
        opened.record(["-mx", "--seed", "3"])
        assert (opened.run.path / "command.txt").read_text().endswith("-mx --seed 3\n")
        assert (opened.run.path / "versions.json").is_file()
        with pytest.raises(RecipeError, match="is in use by process"), RunLock(opened.run):
            pass


def test_without_a_run_dir_a_new_one_goes_under_runs_dir(tmp_path):
    with open_run(RECIPE, {"seed": 4}, runs_dir=tmp_path) as opened:
        assert opened.run.path.parent == tmp_path / "dqn_cartpole"
        assert opened.run.path.name.endswith("_seed4")


def test_a_resume_takes_the_saved_config_under_the_overrides(tmp_path):
    run = started_run(tmp_path, env_name="CartPole-v1", num_iterations=200)
    with open_run(RECIPE, {"num_iterations": 400}, run.path) as opened:
        assert opened.resumed
        assert (opened.config.env_name, opened.config.num_iterations) == ("CartPole-v1", 400)


@pytest.mark.parametrize(
    "override, flag",
    [
        ({"env_name": "CartPole-v1"}, "--env-name"),
        ({"replay_buffer_max_length": 50}, "--replay-buffer-max-length"),
        ({"fc_layer_params": (64,)}, "--fc-layer-params"),
        ({"learning_rate": 0.01}, "--learning-rate"),
    ],
)
def test_a_resume_that_changes_a_fixed_field_is_refused_and_touches_nothing(
    tmp_path, override, flag
):
    run = started_run(tmp_path)
    before = snapshot(run.path)
    with pytest.raises(RecipeError, match=f"^{flag} cannot change when a run resumes"):
        with open_run(RECIPE, override, run.path):
            pass
    assert snapshot(run.path) == before


def test_a_whole_config_counts_every_field_as_set(tmp_path):
    run = started_run(tmp_path, env_name="CartPole-v1")
    config = load_config(RECIPE.config_cls, "dqn_cartpole", num_iterations=400)
    with pytest.raises(RecipeError, match="--env-name cannot change"):
        with open_run(RECIPE, config, run.path):
            pass
    with open_run(RECIPE, dataclasses.replace(config, env_name="CartPole-v1"), run.path) as opened:
        assert opened.config.num_iterations == 400


def test_a_run_of_another_recipe_is_refused_and_touches_nothing(tmp_path):
    run = started_run(tmp_path)
    before = snapshot(run.path)
    with pytest.raises(RecipeError, match="holds a 'dqn_cartpole' run, not 'mdp'"):
        with open_run(MDP, {}, run.path):
            pass
    assert snapshot(run.path) == before


def test_a_run_keeps_whether_it_has_actors(tmp_path):
    run = started_run(tmp_path, actors=0)
    with pytest.raises(RecipeError, match="was started without actors"):
        with open_run(RECIPE, {"actors": 2}, run.path, purpose="launch"):
            pass


def test_a_run_in_use_is_refused(tmp_path):
    run = started_run(tmp_path)
    with RunLock(run), pytest.raises(RecipeError, match="is in use by process"):
        with open_run(RECIPE, {}, run.path):
            pass


@pytest.mark.parametrize("damage", ["delete", "empty object"])
def test_a_trained_run_without_its_config_is_refused_not_resumed_on_defaults(tmp_path, damage):
    run = started_run(tmp_path, env_name="CartPole-v1")
    if damage == "delete":
        run.config_json.unlink()
    else:
        run.config_json.write_text("{}\n")
    before = snapshot(run.path)
    with pytest.raises(RecipeError, match="config.json is (missing|empty), so what the "
                                          "checkpoint of iteration 200 was trained with"):
        with open_run(RECIPE, {}, run.path):
            pass
    assert snapshot(run.path) == before


def test_a_run_that_never_trained_opens_without_its_config(tmp_path):
    run = started_run(tmp_path, checkpoint=False)
    run.config_json.unlink()
    with open_run(RECIPE, {"seed": 2}, run.path) as opened:
        assert opened.resumed and opened.config.seed == 2


def test_evaluating_needs_an_existing_run_and_creates_nothing(tmp_path):
    with pytest.raises(RecipeError, match="needs --run-dir naming a finished run"):
        with open_run(RECIPE, {}, tmp_path / "none", purpose="evaluate"):
            pass
    assert not (tmp_path / "none").exists()


def test_a_refusal_inside_a_new_run_removes_what_it_created(tmp_path):
    with pytest.raises(RecipeError, match="bad"):
        with open_run(RECIPE, {}, tmp_path / "new") as opened:
            opened.record(["-m", "x"])
            raise RecipeError("bad")
    assert not (tmp_path / "new").exists()


def test_the_python_api_refuses_as_the_command_line_does(tmp_path):
    run = started_run(tmp_path)
    before = snapshot(run.path)
    with pytest.raises(RecipeError, match="--env-name cannot change when a run resumes"):
        RECIPE.train({"num_iterations": 400, "env_name": "CartPole-v1"}, run.path)
    assert snapshot(run.path) == before


def test_the_python_api_on_a_run_with_actors_is_one_line(tmp_path):
    run = started_run(tmp_path, actors=2)
    before = snapshot(run.path)
    with pytest.raises(RecipeError, match="^a run with actors starts from the command line: "
                                          "python -m tfa_recipes.dqn_cartpole --actors 2"):
        RECIPE.train({"num_iterations": 400}, run.path)
    assert snapshot(run.path) == before
