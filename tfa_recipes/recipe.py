"""The recipe contract, as data: what a recipe declares, and what its builder provides.

A recipe module (`tfa_recipes/<recipe>.py`) declares a `Recipe` (a TF-Agents recipe run by
the shared loop) or a `Script` (Hands-On ML's from-scratch code): its name, its typed
config (TensorFlow-free, so flags are read and refused before TensorFlow loads) and the
module that builds it, `builders/<recipe>.py`, named as a string and imported only when
the recipe runs. Both kinds answer `main(argv)` (the command line, `cli`), and a
`Recipe` answers `train` and `evaluate` from Python through the same run lifecycle as the
command line (`runner`).

The builder of a `Recipe` provides (see `Builder`): `make_env(config, seed)` and
`build(config, run, make_env, resources) -> loop.roles.Parts`; a recipe that runs with
actors (`distributed=True`) also `make_agent(config, time_step_spec, action_spec)` and
`fleet(config) -> Fleet`, and optionally `eval_policy(config, agent)`. Each role of a run
with actors builds its agent from these, the same agent the single process trains.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

from tfa_recipes.config import load_config

if TYPE_CHECKING:
    from tfa_recipes.loop.roles import Parts
    from tfa_recipes.run.directory import RunDir
    from tfa_recipes.runner import Evaluated, Trained

# `Recipe.onednn`, set before TensorFlow loads (it reads it once).
# TensorFlow 2.15 turns its oneDNN kernels on by default only on CPUs with AVX-512 VNNI or
# newer; on this project's AVX2 machines they are off. For convolutions they are faster:
# in one `benchmarks/bench_updates.py --updates 20` run, the pixel CartPole update (batch 128
# of 40x90x3) took 110.2 ms with TF's own kernels and 79.3 ms with oneDNN (87.9 and 58.2 ms
# with the one-target-pass agent), Breakout's (batch 64 of 84x84x4) 95.2 and 81.2 ms (86.0
# and 76.6 ms). For the small dense networks of the CartPole recipes they are ~10% slower
# (15.1 against 16.6 s of loop for 3,000 `dqn_cartpole` iterations), so only the
# convolutional recipes ask for them.
ONEDNN_ENV = "TF_ENABLE_ONEDNN_OPTS"


@dataclass(frozen=True)
class Fleet:
    """The numbers a run with actors takes from a recipe's config (`builder.fleet`).

    sequence_length: items the replay table holds (2-step transitions for DQN).
    batch_size: items per train step.
    train_steps_per_env_step: the recipe's ratio, which the replay server's rate limiter
        keeps (`distributed.replay_server.rate_limiter`).
    initial_collect_steps: the random warm-up actor 0 collects in a fresh run.
    steps_per_run: environment steps an actor collects between weight pulls.
    """

    sequence_length: int
    batch_size: int
    train_steps_per_env_step: float
    initial_collect_steps: int
    steps_per_run: int

    @classmethod
    def for_dqn(cls, config: Any, *, steps_per_train_step: int) -> Fleet:
        """The tutorials' DQN: 2-step items, `config.batch_size` per train step, one train
        step per `steps_per_train_step` environment steps (an actor's run), and the
        warm-up of `config.initial_collect_steps`."""
        return cls(
            sequence_length=2,
            batch_size=config.batch_size,
            train_steps_per_env_step=1 / steps_per_train_step,
            initial_collect_steps=config.initial_collect_steps,
            steps_per_run=steps_per_train_step,
        )


class Builder(Protocol):
    """What `builders/<recipe>.py` provides for a `Recipe` (see the module docstring)."""

    def make_env(self, config: Any, seed: int) -> Any: ...

    def build(self, config: Any, run: RunDir, make_env: Callable[[int], Any], resources: Any
              ) -> Parts: ...


class AnyRecipe(Protocol):
    """What both kinds of recipe have: the command line is generated from it."""

    name: str
    description: str
    config_cls: type
    builder: str
    # Whether the recipe trains through the shared loop (resumable, evaluable).
    resumable: bool
    distributed: bool

    @property
    def module(self) -> str: ...


class _Declared:
    """What `Recipe` and `Script` share: the module path, the config from the recipe file,
    and the builder module imported on first use."""

    name: str
    builder: str
    config_cls: type
    onednn: bool = False

    @property
    def module(self) -> str:
        return f"tfa_recipes.{self.name}"

    def config(self, **overrides: Any) -> Any:
        """The recipe file's values (`recipes/<name>.toml`) with `overrides` applied."""
        return load_config(self.config_cls, self.name, **overrides)

    def built_by(self) -> ModuleType:
        """The builder module, imported now (and TensorFlow with it)."""
        if self.onednn and "tensorflow" not in sys.modules:
            # A user's choice (the variable set) stands.
            os.environ.setdefault(ONEDNN_ENV, "1")
        return importlib.import_module(self.builder)

    def main(self, argv: list[str] | None = None) -> int:
        """The command line; the exit code."""
        from tfa_recipes.cli import main

        return main(self, argv)


@dataclass(frozen=True)
class Recipe(_Declared):
    """A TF-Agents recipe: trained by the shared loop, checkpointed, resumable."""

    name: str
    description: str
    config_cls: type
    builder: str
    # The highest return the environment allows, for the plot's y axis (None: automatic).
    plot_ylim_top: float | None = 250
    # Frames per video at most (None: whole episodes); Atari episodes can last 27,000 steps.
    max_video_frames: int | None = None
    # The tutorial's published return, drawn on returns.png beside the random policy's:
    # (label, value), or None when the tutorial shows no figure.
    published_return: tuple[str, float] | None = None
    # Also export the greedy policy at its best evaluation (policies/best_policy), for a
    # recipe whose returns rise and collapse again during training (vanilla DQN from pixels).
    export_best_policy: bool = False
    # Takes --actors and --role: its builder provides make_agent and fleet.
    distributed: bool = False
    # Ask for TensorFlow's oneDNN kernels before it loads (the convolutional recipes).
    onednn: bool = False
    # On a TF-native environment its whole iterations are one compiled call, so the seeds
    # of a group share a process and that call (`loop.train.SharedLoop`).
    seeds_share_compiled_calls: bool = False
    resumable = True

    def make_env(self, config: Any, seed: int) -> Any:
        return self.built_by().make_env(config, seed)

    def train(
        self,
        overrides: Mapping[str, Any] | Any = None,
        run_dir: str | Path | None = None,
        *,
        out: Callable[[str], None] = print,
        runs_dir: str | Path = "runs",
    ) -> Trained:
        """Train, or resume the run in `run_dir`, through the command line's lifecycle: a
        resume takes the run's saved config, and `overrides` (a dict of fields, or a whole
        config) may change only what a resume may change; every refusal is the command
        line's `RecipeError`. A new run goes to `runs_dir`/<name>/<timestamp>_seed<k>/.
        Returns the run directory, the config and the summary."""
        from tfa_recipes.runner import train

        return train(self, overrides, run_dir, out=out, runs_dir=Path(runs_dir))

    def evaluate(
        self,
        run_dir: str | Path,
        *,
        best: bool = False,
        overrides: Mapping[str, Any] | None = None,
    ) -> Evaluated:
        """Score (and film) the exported policy of a finished run, as `--eval-only`."""
        from tfa_recipes.runner import evaluate

        return evaluate(self, run_dir, best=best, overrides=overrides)


@dataclass(frozen=True)
class Script(_Declared):
    """A recipe without the TF-Agents loop (the from-scratch Hands-On ML code).

    Its builder's `run(config, run) -> dict` does the work in a prepared run directory and
    returns the figures for summary.json. These runs take minutes at most, so they do not
    checkpoint or resume. From Python: `RECIPE.run(RECIPE.config(n_episodes=100))`.
    """

    name: str
    description: str
    config_cls: type
    builder: str
    resumable = False
    distributed = False

    def run(self, config: Any, run_dir: str | Path | RunDir | None = None) -> dict[str, Any]:
        """Run in `run_dir` (default: a new runs/<name>/<stamp>_seed<k>/); the summary."""
        from tfa_recipes.runner import run_script

        return run_script(self, config, run_dir).summary
