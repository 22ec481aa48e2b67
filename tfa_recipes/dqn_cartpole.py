"""DQN on CartPole: TF-Agents' "Train a Deep Q Network" tutorial (Reverb + PyDriver).

The tutorial's pieces, in its order: `suite_gym` CartPole-v0 in a `TFPyEnvironment`, the
`sequential.Sequential` Q-network, `DqnAgent` with Adam and squared TD loss, a Reverb
uniform table fed by `ReverbAddTrajectoryObserver(sequence_length=2)`, `PyDriver`
collection (a `tf_agents.train.Actor`), a dataset of 2-step samples, and a compiled
`agent.train` (a `tf_agents.train.Learner`). Faster than the tutorial with the same 1:1
collect/train loop: compiled evaluation (the tutorial's eager evaluation is two thirds of
its run time), the sample-and-train step compiled into one call, a single-stream Reverb
dataset (see `replay.ReverbReplay.dataset`), and by default (`--driver graph`) collection
by a `DynamicStepDriver` writing the same Reverb items, compiled with the train step into
one loop of many iterations; `--driver py` keeps the tutorial's PyDriver (with a
pre-traced collect policy), one iteration per Python call.

    python -m tfa_recipes.dqn_cartpole [--num-iterations 20000] [--seed 0] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

from tfa_recipes.config import LoopConfig, actors_param, learning_rate_param, param
from tfa_recipes.envs.names import check_tf_native, is_tf_native
from tfa_recipes.errors import RecipeError
from tfa_recipes.recipe import Recipe


@dataclasses.dataclass(frozen=True)
class Config(LoopConfig):
    env_name: str = param(
        "gym environment id, loaded with suite_gym (tf:CartPole-v0 or tf:CartPole-v1: the "
        "TF-native CartPole, stepped in the graph)",
        fixed=True,
    )
    initial_collect_steps: int = param(
        "random-policy steps stored before training",
        minimum=1,
        why="the table holds 2-step items: the first train step needs one stored step "
        "before the first iteration's",
    )
    collect_steps_per_iteration: int = param("environment steps collected per iteration", minimum=1)
    replay_buffer_max_length: int = param(
        "Reverb table size (FIFO beyond it)", minimum=1, fixed=True
    )
    batch_size: int = param("experience samples per train step", minimum=1)
    learning_rate: float = learning_rate_param("Adam learning rate")
    fc_layer_params: tuple[int, ...] = param(
        "hidden Dense layer sizes of the Q-network", minimum=None, fixed=True
    )
    driver: str = param(
        "graph: many collect+train iterations per compiled call (DynamicStepDriver, the same "
        "Reverb items); py: the tutorial's PyDriver, one iteration per Python call",
        choices=("graph", "py"),
    )
    actors: int = actors_param()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.fc_layer_params or min(self.fc_layer_params) < 1:
            raise RecipeError(
                f"--fc-layer-params must be positive sizes, got {self.fc_layer_params}"
            )
        check_tf_native(self.env_name)
        if is_tf_native(self.env_name) and (self.driver == "py" or self.actors):
            # A TF-native environment lives in the graph: a PyDriver (or an actor process)
            # would step it from Python, one eager call a step, slower than gym itself.
            raise RecipeError(
                f"{self.env_name} runs in the graph: it goes with --driver graph and "
                f"--actors 0, not {'--driver py' if self.driver == 'py' else '--actors N'}"
            )


RECIPE = Recipe(
    name="dqn_cartpole",
    description="DQN on CartPole (TF-Agents tutorial: Reverb + PyDriver).",
    config_cls=Config,
    builder="tfa_recipes.builders.dqn_cartpole",
    published_return=("tutorial, iterations 2,000-20,000", 200.0),
    distributed=True,
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
