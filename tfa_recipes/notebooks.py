"""The notebooks in notebooks/: their run directories, parameters, execution and stripping,
and the helpers their cells call.

Each TF-Agents notebook builds its tutorial's pieces in the tutorial's order with the
recipe's own builder functions, showing their source (`show_source`), then trains with
`RECIPE.train(overrides, run_dir)`; `config_of` gives the pieces the config that training
will use (a resumed run's saved one), refused as the command line refuses it. A cell that
builds a piece is tagged `piece-<name>`, and the tests check what each one shows.

Each notebook's first code cell is tagged `parameters` (papermill's convention): it holds
`overrides` (config fields changed from the recipe file, e.g. a smaller budget) and
`run_dir`. Notebooks run headless with papermill itself, which injects other values as a
cell right after that one; the tests call `execute`, papermill with a bound on the whole
notebook. Stored notebooks carry no outputs, so diffs stay readable and no stale figure
ships:

    papermill notebooks/dqn_cartpole.ipynb out.ipynb -p overrides '{"num_iterations": 5000}'
    python -m tfa_recipes.notebooks strip [NOTEBOOK ...]     # default: every notebook
    python -m tfa_recipes.notebooks check [NOTEBOOK ...]     # exit 1 if one has outputs
"""

from __future__ import annotations

import argparse
import ast
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfa_recipes.errors import RecipeError

# The checkout: the notebooks are not part of the installed package.
REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = REPO / "notebooks"
RUNS_DIR = REPO / "runs"
PARAMETERS_TAG = "parameters"
# The kernel of the interpreter running the code: nbclient starts `python3` with
# sys.executable, so tests and `run` use the project's virtualenv whatever is registered.
CURRENT_KERNEL = "python3"
# Cell metadata that records an execution (nbclient's timings, Jupyter's view state).
_EXECUTION_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def one_line_errors() -> None:
    """In a Jupyter kernel: a `RecipeError` (a refused resume, a bad override) shows as the
    command line shows it, one `error: ...` line, not a traceback; the cell still fails,
    so papermill and "Run All" stop there."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return

    def show(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> None:
        print(f"error: {' '.join(str(value).split())}", file=sys.stderr)

    shell.set_custom_exc((RecipeError,), show)


def config_of(recipe: Any, overrides: Any, run_dir: str | Path | None) -> Any:
    """The config `recipe.train(overrides, run_dir)` will train with, checked as the
    command line checks it and writing nothing: the recipe file's values with
    `overrides`, or, for an existing run, its saved config with them (a changed fixed
    field is refused here, before any piece is built)."""
    from tfa_recipes.run.lifecycle import as_run_dir, resolve_config

    config, _ = resolve_config(recipe, as_dict(overrides), as_run_dir(run_dir), "train")
    return config


def show_source(*objects: Any) -> None:
    """The source of the package's functions a cell calls: what the notebook shows is
    what the recipe runs, so the two cannot drift apart."""
    import inspect

    from IPython.display import Code, display

    for item in objects:
        display(Code(inspect.getsource(item), language="python"))


def show_specs(env: Any) -> None:
    """What the tutorials print of an environment: its observation, reward and action specs."""
    for name, spec in (
        ("Observation Spec", env.time_step_spec().observation),
        ("Reward Spec", env.time_step_spec().reward),
        ("Action Spec", env.action_spec()),
    ):
        print(f"{name}:\n{spec}")


def shapes(nest: Any) -> Any:
    """The shape of every tensor in a nest (a `Trajectory`, a batch of them)."""
    import tensorflow as tf

    return tf.nest.map_structure(lambda tensor: tuple(tensor.shape), nest)


def show_results(run: Any, summary: dict[str, Any], unit: str = "iterations") -> None:
    """A trained run's evaluation as the tutorials plot it: the random policy's and the
    trained agent's average return, returns.png and (if the run logged a loss) loss.png."""
    from IPython.display import Image, display

    def figure(key: str) -> str:
        value = summary.get(key)
        return "-" if value is None else f"{value:.2f}"

    print(f"random policy: {figure('random_average_return')}; trained agent: "
          f"{figure('final_average_return')} after {summary.get('iterations')} {unit}")
    for plot in (run.returns_png, run.loss_png):
        if plot.is_file():  # no evaluation (or no loss) logged yet: nothing to plot
            display(Image(filename=str(plot)))


def show_videos(run: Any, config: Any, *names: str) -> None:
    """The run's videos `names` (trained-agent, random-agent, ...) inline; a run that
    filmed nothing (`num_video_episodes` 0) says so instead."""
    filmed = [run.video(name, config.video_format) for name in names]
    filmed = [path for path in filmed if path.is_file()]
    if not filmed:
        print(f"no videos: the run filmed none (num_video_episodes={config.num_video_episodes})")
        return
    from IPython.display import display

    from tfa_recipes.output import media

    for path in filmed:
        print(path.name)
        display(media.embed_video(path))


def stored_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def read(path: Path) -> Any:
    import nbformat

    return nbformat.read(str(path), as_version=4)


def write(notebook: Any, path: Path) -> None:
    import nbformat

    nbformat.validate(notebook)
    nbformat.write(notebook, str(path))


def recipes_of(notebook: Any) -> list[str]:
    """The registered recipes a notebook demonstrates (its `tfa_recipes.recipes` metadata)."""
    return list(notebook.metadata.get("tfa_recipes", {}).get("recipes", []))


def execution_traces(notebook: Any) -> list[str]:
    """What an executed notebook leaves behind: outputs, execution counts, timings."""
    traces = []
    for index, cell in enumerate(notebook.cells):
        if cell.get("outputs"):
            traces.append(f"cell {index}: outputs")
        if cell.get("execution_count") is not None:
            traces.append(f"cell {index}: execution_count")
        kept = [key for key in _EXECUTION_METADATA if key in cell.metadata]
        if kept:
            traces.append(f"cell {index}: metadata {', '.join(kept)}")
    return traces


def strip(notebook: Any) -> bool:
    """Remove outputs, execution counts and timings in place; True if anything changed."""
    changed = bool(execution_traces(notebook))
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in _EXECUTION_METADATA:
            cell.metadata.pop(key, None)
    return changed


def parameters_index(notebook: Any) -> int:
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and PARAMETERS_TAG in cell.metadata.get("tags", []):
            return index
    raise ValueError(f"no code cell tagged {PARAMETERS_TAG!r}")


def as_dict(overrides: Any) -> dict[str, Any]:
    """The `overrides` parameter as a dict: papermill's `-p overrides '{...}'` passes the
    text of one (`-y` or the Python API pass the dict itself)."""
    if isinstance(overrides, str):
        try:
            overrides = ast.literal_eval(overrides) if overrides.strip() else {}
        except (ValueError, SyntaxError):
            raise ValueError(f"overrides must be a dict literal, got {overrides!r}") from None
    if not isinstance(overrides, dict):
        raise ValueError(f"overrides must be a dict, got {overrides!r}")
    return dict(overrides)


def execute(
    path: Path,
    parameters: dict[str, Any] | None = None,
    *,
    timeout: float = 600,
    kernel_name: str = CURRENT_KERNEL,
    output: Path | None = None,
) -> Any:
    """Run the notebook at `path` top to bottom with papermill; returns it executed.

    The kernel starts in the notebook's folder, as Jupyter starts it. `timeout` bounds the
    whole notebook: each cell may use what the cells before it left. A failing cell raises
    papermill's `PapermillExecutionError` (its `ename`, `evalue` and traceback); running
    out of time raises nbclient's `CellTimeoutError`.
    """
    import papermill

    path = Path(path)
    parameters_index(read(path))  # a notebook without the parameters cell is refused
    deadline = time.monotonic() + timeout

    def cell_timeout(cell: Any) -> int:
        return max(1, math.ceil(deadline - time.monotonic()))

    return papermill.execute_notebook(
        str(path),
        str(output) if output is not None else None,
        parameters=parameters or {},
        kernel_name=kernel_name,
        # How papermill writes the injected cell; every notebook here is Python.
        language="python",
        cwd=str(path.resolve().parent),
        progress_bar=False,
        # nbclient's per-cell bound, computed from the whole notebook's deadline.
        timeout_func=cell_timeout,
        # Plain tracebacks: a failing cell's error reads cleanly in a test report.
        extra_arguments=["--InteractiveShell.colors=NoColor"],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfa_recipes.notebooks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("strip", "remove outputs, execution counts and timings"),
        ("check", "exit 1 if a notebook has outputs, execution counts or timings"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)

    paths = args.notebooks or stored_notebooks()
    dirty = []
    for path in paths:
        notebook = read(path)
        if args.command == "strip":
            if strip(notebook):
                write(notebook, path)
                print(f"stripped {path}")
        elif execution_traces(notebook):
            dirty.append(path)
            print(f"{path}: {'; '.join(execution_traces(notebook))}")
    if dirty:
        print("run: python -m tfa_recipes.notebooks strip", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
