"""The notebooks in notebooks/: each runs end to end at a tiny budget, each registered
recipe has one, and none is stored with outputs."""

from __future__ import annotations

import json
import math
import re
import time

import nbformat
import pytest
from nbclient.exceptions import CellTimeoutError
from papermill.exceptions import PapermillExecutionError

from tfa_recipes import notebooks
from tfa_recipes.registry import RECIPES

from conftest import run_cli

# notebook -> (parameters that make it tiny, seconds it may take in all). The timeouts
# leave several times the measured time (see each notebook's figure) for a loaded machine.
# Both CartPole DQN notebooks take the same tiny budget.
CARTPOLE_DQN_TINY = {
    "overrides": {
        "num_iterations": 60,
        "log_interval": 20,
        "eval_interval": 30,
        "checkpoint_interval": 30,
        "num_eval_episodes": 2,
        "num_video_episodes": 1,
        "initial_collect_steps": 64,
    }
}
TINY: dict[str, tuple[dict, float]] = {
    # Measured: 25 s CPU; 96 s wall with 5 other agents on the 2 cores (before the
    # piece-by-piece cells, which add 3-6 s to each notebook).
    "dqn_cartpole.ipynb": (CARTPOLE_DQN_TINY, 300),
    "dqn_cartpole_classic.ipynb": (CARTPOLE_DQN_TINY, 300),
    # Breakout at 40 iterations of 4 steps after 200 random ones, episodes cut at 150 steps.
    "dqn_breakout.ipynb": (
        {
            "overrides": {
                "num_iterations": 40,
                "log_interval": 20,
                "eval_interval": 20,
                "checkpoint_interval": 20,
                "num_eval_episodes": 2,
                "num_video_episodes": 1,
                "initial_collect_steps": 200,
                "replay_buffer_max_length": 1000,
                "max_episode_steps": 150,
            }
        },
        400,
    ),
    # Every from-scratch recipe at a few episodes or iterations each.
    "hands_on_ml_scratch.ipynb": (
        {
            "overrides": {
                "basic_policy": {"n_episodes": 5},
                "policy_gradients": {
                    "n_environments": 4,
                    "imitation_n_iterations": 5,
                    "n_iterations": 2,
                    "n_episodes_per_update": 2,
                    "n_max_steps": 50,
                    "n_eval_episodes": 2,
                },
                "mdp": {"q_learning_n_iterations": 200},
                "dqn_scratch": {
                    "n_episodes": 6,
                    "n_max_steps": 40,
                    "training_start_episode": 2,
                    "epsilon_decay_episodes": 4,
                    "target_update_episodes": 2,
                    "n_eval_episodes": 2,
                },
                "custom_env": {"num_eval_episodes": 2},
                "lunar_lander_pg": {
                    "n_iterations": 1,
                    "n_episodes_per_update": 1,
                    "n_max_steps": 30,
                    "n_video_max_steps": 30,
                    "n_eval_episodes": 1,
                },
            }
        },
        600,
    ),
    # Iterations are episodes; a batch of 8 starts the updates in the first episode.
    "dqn_cartpole_pixels.ipynb": (
        {
            "overrides": {
                "num_iterations": 4,
                "batch_size": 8,
                "replay_memory_capacity": 400,
                "log_interval": 2,
                "eval_interval": 2,
                "checkpoint_interval": 2,
                "num_eval_episodes": 2,
                "num_video_episodes": 1,
            }
        },
        400,
    ),
    "reinforce_cartpole.ipynb": (
        {
            "overrides": {
                "num_iterations": 4,
                "log_interval": 2,
                "eval_interval": 2,
                "checkpoint_interval": 2,
                "num_eval_episodes": 2,
                "num_video_episodes": 1,
            }
        },
        300,
    ),
}
STORED = [path.name for path in notebooks.stored_notebooks()]


def test_notebooks_are_stored():
    assert STORED, f"no notebooks in {notebooks.NOTEBOOKS_DIR}"


def test_every_notebook_has_a_tiny_budget():
    # A notebook missing here would run at the tutorial's budget in CI.
    assert sorted(TINY) == STORED


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_registered_recipe_has_a_notebook(name):
    covered = {
        recipe: path.name
        for path in notebooks.stored_notebooks()
        for recipe in notebooks.recipes_of(notebooks.read(path))
    }
    assert name in covered, (
        f"no notebook demonstrates {name}: add one to notebooks/ and list the recipe in "
        "its metadata tfa_recipes.recipes"
    )


@pytest.mark.parametrize("name", STORED)
def test_notebook_names_only_registered_recipes(name):
    recipes = notebooks.recipes_of(notebooks.read(notebooks.NOTEBOOKS_DIR / name))
    assert recipes, f"{name} has no tfa_recipes.recipes metadata"
    assert set(recipes) <= set(RECIPES), f"{name} names unregistered recipes"


@pytest.mark.parametrize("name", STORED)
def test_stored_notebook_has_no_outputs(name):
    notebook = notebooks.read(notebooks.NOTEBOOKS_DIR / name)
    nbformat.validate(notebook)
    assert notebooks.execution_traces(notebook) == [], (
        f"{name} is stored with outputs: run python -m tfa_recipes.notebooks strip"
    )


@pytest.mark.parametrize("name", STORED)
def test_first_code_cell_holds_the_parameters(name):
    notebook = notebooks.read(notebooks.NOTEBOOKS_DIR / name)
    first_code = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
    assert notebooks.parameters_index(notebook) == first_code
    assigned = {
        line.split("=")[0].strip()
        for line in notebook.cells[first_code].source.splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert assigned == {"overrides", "run_dir"}


@pytest.mark.parametrize("name", STORED)
def test_notebook_asks_for_the_project_kernel(name):
    # scripts/setup.sh registers this kernel for the project's virtualenv.
    notebook = notebooks.read(notebooks.NOTEBOOKS_DIR / name)
    assert notebook.metadata.kernelspec.name == "tfa-recipes"


def _outputs(notebook, output_type=None):
    return [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output_type is None or output.output_type == output_type
    ]


@pytest.fixture(scope="module", params=STORED)
def executed(request, tmp_path_factory):
    """Each notebook run once at its tiny budget; every check below reads that one run."""
    name = request.param
    parameters, timeout = TINY[name]
    run_dir = tmp_path_factory.mktemp(name.removesuffix(".ipynb")) / "run"
    started = time.perf_counter()
    notebook = notebooks.execute(
        notebooks.NOTEBOOKS_DIR / name, {**parameters, "run_dir": str(run_dir)}, timeout=timeout
    )
    print(f"{name}: {time.perf_counter() - started:.1f} s")
    return name, notebook, run_dir


def test_notebook_runs_end_to_end_at_a_tiny_budget(executed):
    name, notebook, run_dir = executed
    assert _outputs(notebook, "error") == []
    data = [output.get("data", {}) for output in _outputs(notebook)]
    # The rendered environment frame and the returns plot, inline.
    assert sum("image/png" in item for item in data) >= 2
    # The trained agent's video, embedded.
    assert any(
        "data:video/mp4;base64," in item.get("text/html", "") or "image/gif" in item
        for item in data
    )
    # One run directory, or one sub-folder per run for a notebook of several recipes.
    summaries = sorted(run_dir.glob("summary.json")) or sorted(run_dir.glob("*/summary.json"))
    ran = {json.loads(path.read_text())["recipe"] for path in summaries}
    assert ran and ran <= set(notebooks.recipes_of(notebook)), ran


# What each piece-by-piece cell (tagged `piece-<name>`) must show at the tiny budget: a
# frame ("image"), or text matching a pattern (its printed lines and its value).
FRAME = "image"
FINITE_LOSS = r"loss = (?P<loss>-?\d+\.\d+)"
CARTPOLE_SPECS = (
    r"Observation Spec:\nBoundedArraySpec\(shape=\(4,\).*Action Spec:\n"
    r"BoundedArraySpec\(shape=\(\), dtype=dtype\('int64'\), name='action', minimum=0, maximum=1\)"
)
THREE_POLICIES = (
    r"random policy \(RandomTFPolicy\): action=\[[01]\]\n"
    r"greedy policy \(GreedyPolicy\): action=\[[01]\]\n"
    r"collect policy \(EpsilonGreedyPolicy\): action=\[[01]\]"
)
PIECES: dict[str, dict[str, str]] = {
    "dqn_cartpole.ipynb": {
        "env": FRAME,
        "specs": CARTPOLE_SPECS,
        "network": r"dense_\d+ \(Dense\) +multiple +500\b.*Total params: 5652\b",
        "agent": r"DqnAgent: train_sequence_length=2, gamma=1\.0, epsilon_greedy=0\.1",
        "policies": THREE_POLICIES,
        "evaluation": r"random policy: average return \d+\.\d over 2 episodes",
        "replay": r"max_size=100000, sampler uniform: true, remover fifo: true, "
        r"min_size_to_sample=1",
        "driver": r"warm-up: 64 random steps -> 6[0-3] items in the table\n"
        r"3 iterations of the collect policy: 3 steps -> 6\d items",
        "item": r"'observation': \(2, 4\).*shape=\(2, 4\)",
        "batch": r"'observation': \(64, 2, 4\)",
        "train-step": r"step = 1: " + FINITE_LOSS,
    },
    "dqn_cartpole_classic.ipynb": {
        "env": FRAME,
        "specs": CARTPOLE_SPECS,
        "network": r"EncodingNetwork.* 500 .*dense_\d+ \(Dense\) +multiple +202\b.*"
        r"Total params: 702\b",
        "agent": r"DqnAgent: train_sequence_length=2, gamma=1\.0, epsilon_greedy=0\.1",
        "policies": THREE_POLICIES,
        "evaluation": r"random policy: average return \d+\.\d over 2 episodes",
        "replay": r"TFUniformReplayBuffer: capacity=100000, batch_size=1",
        "driver": r"warm-up: (6[4-9]|[7-9]\d) steps in the buffer\n"
        r"3 iterations of the collect policy: \d+ steps",
        "item": r"'observation': \(2, 4\).*shape=\(2, 4\)",
        "batch": r"'observation': \(64, 2, 4\)",
        "train-step": r"step = 1: " + FINITE_LOSS,
    },
    "reinforce_cartpole.ipynb": {
        "env": FRAME,
        "specs": CARTPOLE_SPECS,
        "network": r"EncodingNetwork.* 500 .*CategoricalProjectionNetwo.* 202 .*"
        r"Total params: 702\b",
        "agent": r"ReinforceAgent: normalize_returns=True, gamma=1\.0",
        "policies": r"random policy \(RandomTFPolicy\): action=\[[01]\]\n"
        r"eval policy \(GreedyPolicy\): action=\[[01]\]\n"
        r"collect policy \(ActorPolicy\): action=\[[01]\]",
        "evaluation": r"random policy: average return \d+\.\d over 2 episodes",
        "replay": r"max_size=2000, sampler uniform: true, remover fifo: true, "
        r"observer ReverbAddEpisodeObserver",
        "driver": r"2 episodes: \d+ steps -> 2 items \(episodes\) in the table",
        "batch": r"'observation': \(1, \d+, 4\)",
        "train-step": r"step = 1: " + FINITE_LOSS + r"; 0 items left in the table",
    },
    "dqn_cartpole_pixels.ipynb": {
        "env": FRAME,
        "patch": FRAME,
        "specs": r"Observation Spec:\nBoundedArraySpec\(shape=\(40, 90, 3\)",
        # The tutorial's DQN module: 3 conv/batch-norm blocks, 512 features into Dense(50).
        "network": r"conv2d_2 \(Conv2D\) +multiple +25632\b.*Total params: 65752\b",
        "agent": r"DqnAgent: gamma=0\.999, td_errors_loss_fn=element_wise_huber_loss, "
        r"optimizer=RMSprop",
        "replay": r"TFUniformReplayBuffer: capacity=400\b",
        "policies": r"epsilon after 0 steps: 0\.900\nepsilon after 200 steps: 0\.363\n.*"
        + THREE_POLICIES,
        "driver": r"9 steps in the memory",
        "item": r"'observation': \(2, 40, 90, 3\)",
        "batch": r"'observation': \(8, 2, 40, 90, 3\)",
        "train-step": r"step = 1: " + FINITE_LOSS,
    },
    "dqn_breakout.ipynb": {
        "env": FRAME,
        "specs": r"BoundedArraySpec\(shape=\(84, 84, 4\), dtype=dtype\('uint8'\).*maximum=3\)\n"
        r"\['NOOP', 'FIRE', 'RIGHT', 'LEFT'\]",
        "observation": FRAME,
        # The Nature DQN's conv layers, Dense(512) and one output per action.
        "network": r"Total params: 1686180\b",
        "agent": r"DqnAgent: gamma=0\.99, td_errors_loss_fn=element_wise_huber_loss, "
        r"optimizer=RMSprop, epsilon at step 0: 1\.00",
        "policies": THREE_POLICIES.replace("[01]", "[0-3]"),
        "replay": r"TFUniformReplayBuffer: capacity=1000, 28248 bytes a step",
        "metrics": r"NumberOfEpisodes = 0\nEnvironmentSteps = 0\n",
        "driver": r"68 steps in the replay buffer\n.*EnvironmentSteps = 4\n",
        "item": r"'observation': \(2, 3, 84, 84, 4\)",
        "batch": r"'observation': \(64, 2, 84, 84, 4\)",
        "train-step": r"step = 1: " + FINITE_LOSS,
    },
    "hands_on_ml_scratch.ipynb": {
        "env": FRAME,
        "basic-policy": r"one episode of the basic policy: total reward \d+",
        # The book's figures: the discounted rewards and their normalization.
        "policy-net": r"Total params: 31\b.*\[-22\. -40\. -50\.\]\n"
        r"\[array\(\[-0\.28435071, -0\.86597718, -1\.18910299\]\), "
        r"array\(\[1\.26665318, 1\.0727777 *\]\)\]",
        "q-value-iteration": r"\[\[18\.919 17\.027 13\.622\]\n \[ 0\. +-inf -4\.88 \]\n"
        r" \[ +-inf 50\.134 +-inf\]\]\noptimal policy: \[0, 0, 1\]",
        "dqn-step": r"Total params: 1315\b.*a batch: states \(32, 4\), actions \(32,\), "
        r"rewards \(32,\)\none training step: " + FINITE_LOSS,
        "grid": FRAME,
    },
}


def _piece_cells(notebook):
    return {
        tag.removeprefix("piece-"): cell
        for cell in notebook.cells
        for tag in cell.metadata.get("tags", [])
        if tag.startswith("piece-")
    }


def _shown_text(cell):
    """A cell's printed lines and its value, not the source listings it displays."""
    return "".join(
        output.text if output.output_type == "stream"
        else output.get("data", {}).get("text/plain", "")
        for output in cell.outputs
        if output.output_type in ("stream", "execute_result")
    )


@pytest.mark.parametrize("name", STORED)
def test_every_piece_cell_has_a_check(name):
    cells = _piece_cells(notebooks.read(notebooks.NOTEBOOKS_DIR / name))
    assert sorted(cells) == sorted(PIECES.get(name, {}))


def test_piece_cells_show_what_they_build(executed):
    name, notebook, _ = executed
    for piece, expected in PIECES.get(name, {}).items():
        cell = _piece_cells(notebook)[piece]
        if expected == FRAME:
            assert any("image/png" in out.get("data", {}) for out in cell.outputs), piece
            continue
        shown = re.search(expected, _shown_text(cell), re.DOTALL)
        assert shown, f"{name} piece {piece!r} shows:\n{_shown_text(cell)}"
        if "loss" in shown.groupdict():
            assert math.isfinite(float(shown["loss"])), shown["loss"]


def _notebook(tmp_path, *sources, parameters="overrides = {}\nrun_dir = None"):
    cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]})]
    cells += [nbformat.v4.new_code_cell(source) for source in sources]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    return path


def test_injected_parameters_follow_the_parameters_cell_and_win(tmp_path):
    path = _notebook(tmp_path, "print(overrides['num_iterations'], run_dir)")
    executed = notebooks.execute(path, {"overrides": {"num_iterations": 7}, "run_dir": "x"})
    assert executed.cells[1].metadata.tags == ["injected-parameters"]
    assert _outputs(executed, "stream")[-1].text == "7 x\n"


def test_papermills_command_line_passes_overrides_as_text_the_notebook_reads(tmp_path):
    path = _notebook(
        tmp_path, "from tfa_recipes import notebooks\nprint(notebooks.as_dict(overrides))"
    )
    out = tmp_path / "out.ipynb"
    result = run_cli(
        "papermill", str(path), str(out), "-p", "overrides", "{'num_iterations': 7}",
        "-k", notebooks.CURRENT_KERNEL, "--language", "python", "--no-progress-bar", timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert _outputs(notebooks.read(out), "stream")[-1].text == "{'num_iterations': 7}\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [({"a": 1}, {"a": 1}), ("{'a': 1}", {"a": 1}), ('{"a": 1}', {"a": 1}), ("", {})],
)
def test_overrides_are_a_dict_or_its_text(value, expected):
    assert notebooks.as_dict(value) == expected


@pytest.mark.parametrize("value", ["num_iterations=5", "[1, 2]", 3])
def test_overrides_that_are_no_dict_are_refused(value):
    with pytest.raises(ValueError, match="overrides must be a dict"):
        notebooks.as_dict(value)


def test_a_notebook_without_parameters_cell_is_refused(tmp_path):
    path = tmp_path / "bare.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), str(path))
    with pytest.raises(ValueError, match="no code cell tagged 'parameters'"):
        notebooks.execute(path, {"run_dir": "x"})


def test_the_kernel_is_the_tests_interpreter(tmp_path):
    import sys

    executed = notebooks.execute(_notebook(tmp_path, "import sys; print(sys.executable)"))
    assert _outputs(executed, "stream")[-1].text.strip() == sys.executable


def test_a_failing_cell_raises_with_its_error(tmp_path):
    path = _notebook(tmp_path, "x = 1", "raise ValueError('the cell failed')", "y = 2")
    with pytest.raises(PapermillExecutionError) as raised:
        notebooks.execute(path)
    assert raised.value.ename == "ValueError"
    assert "the cell failed" in str(raised.value)


def test_the_timeout_bounds_the_whole_notebook(tmp_path):
    path = _notebook(tmp_path, "import time; time.sleep(2)", "time.sleep(2)", "time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(CellTimeoutError):
        notebooks.execute(path, timeout=6)
    assert time.monotonic() - started < 30


def test_strip_removes_outputs_counts_and_timings(tmp_path):
    executed = notebooks.execute(_notebook(tmp_path, "print('hello')\n42"))
    assert notebooks.execution_traces(executed)
    assert notebooks.strip(executed) is True
    assert notebooks.execution_traces(executed) == []
    assert notebooks.strip(executed) is False


def test_check_command_fails_on_outputs_and_strip_command_fixes_them(tmp_path):
    path = _notebook(tmp_path, "1 + 1")
    notebook = notebooks.read(path)
    notebook.cells[1].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    notebook.cells[1].execution_count = 1
    nbformat.write(notebook, str(path))

    checked = run_cli("tfa_recipes.notebooks", "check", str(path), timeout=60)
    assert checked.returncode == 1
    assert "cell 1: outputs; cell 1: execution_count" in checked.stdout

    assert run_cli("tfa_recipes.notebooks", "strip", str(path), timeout=60).returncode == 0
    assert run_cli("tfa_recipes.notebooks", "check", str(path), timeout=60).returncode == 0
    assert notebooks.read(path).cells[1].source == "1 + 1"


def test_stored_notebooks_pass_the_check_command():
    result = run_cli("tfa_recipes.notebooks", "check", timeout=60)
    assert result.returncode == 0, result.stdout


def _snapshot(path):
    return {str(file): file.read_bytes() for file in sorted(path.rglob("*")) if file.is_file()}


def test_a_notebook_resuming_a_run_gets_the_command_lines_refusal(tmp_path):
    """The notebook reads its config through the run lifecycle the command line uses:
    resuming a run with another fixed setting stops at the config cell, before any piece is
    built, with the CLI's one line, and the run directory is left as it was."""
    from tfa_recipes.config import dump_config
    from tfa_recipes.dqn_cartpole import RECIPE

    run = tmp_path / "run"
    (run / "train" / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"recipe": "dqn_cartpole"}))
    (run / "train" / "checkpoints" / "manifest-200.json").write_text("{}")
    dump_config(RECIPE.config(env_name="CartPole-v1"), run / "config.json")
    before = _snapshot(run)
    output = tmp_path / "out.ipynb"
    with pytest.raises(PapermillExecutionError):
        notebooks.execute(
            notebooks.NOTEBOOKS_DIR / "dqn_cartpole.ipynb",
            {"overrides": {"env_name": "CartPole-v0"}, "run_dir": str(run)},
            timeout=300,
            output=output,
        )
    executed = nbformat.read(str(output), as_version=4)
    failed = [cell for cell in executed.cells if "notebooks.config_of(" in cell.source][0]
    assert [(out.output_type, out.get("name"), out.get("text")) for out in failed.outputs] == [
        ("stream", "stderr", "error: --env-name cannot change when a run resumes: "
         f"{run} was started with --env-name CartPole-v1, not CartPole-v0 (it shapes what "
         "the run's checkpoint holds); leave the flag out or pick another --run-dir\n")
    ]
    assert _snapshot(run) == before


def test_the_pieces_use_a_resumed_runs_saved_config_with_the_overrides(tmp_path):
    from tfa_recipes.config import dump_config
    from tfa_recipes.dqn_cartpole import RECIPE

    run = tmp_path / "run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"recipe": "dqn_cartpole"}))
    dump_config(RECIPE.config(seed=3, batch_size=32), run / "config.json")
    config = notebooks.config_of(RECIPE, "{'num_iterations': 7}", str(run))
    assert (config.seed, config.batch_size, config.num_iterations) == (3, 32, 7)
    assert notebooks.config_of(RECIPE, {"seed": 2}, None).seed == 2


def test_a_run_that_filmed_nothing_shows_a_line_not_a_traceback(tmp_path, capsys):
    from tfa_recipes.dqn_cartpole import RECIPE
    from tfa_recipes.run.directory import RunDir

    config = RECIPE.config(num_video_episodes=0)
    notebooks.show_videos(RunDir(tmp_path), config, "trained-agent", "random-agent")
    assert capsys.readouterr().out == "no videos: the run filmed none (num_video_episodes=0)\n"


def test_a_run_without_evaluations_shows_its_figures_without_plots(tmp_path, capsys):
    from tfa_recipes.run.directory import RunDir

    notebooks.show_results(RunDir(tmp_path), {"iterations": 0})
    assert capsys.readouterr().out == "random policy: -; trained agent: - after 0 iterations\n"
