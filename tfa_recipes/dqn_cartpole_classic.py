"""DQN on CartPole, the older TF-Agents notebook: QNetwork, TFUniformReplayBuffer, drivers.

The notebook's pieces, in its order: `suite_gym` CartPole-v0 in a `TFPyEnvironment`,
`q_network.QNetwork`, `DqnAgent` with the TF1 `AdamOptimizer` and squared TD loss, a
`TFUniformReplayBuffer` as long as the replay and as wide as the environment's batch, 100
random steps to start, a dataset of 2-step samples, and `common.function(agent.train)`.
The notebook's hand-written `collect_step` loop is what `DynamicStepDriver` replaces; its
`run` is compiled with `common.function`, as Hands-On ML does. The replay buffer lives in
TensorFlow variables, so it is saved in the checkpoint beside the agent.

    python -m tfa_recipes.dqn_cartpole_classic [--num-iterations 20000] [--seed 0] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

from tfa_recipes.config import LoopConfig, learning_rate_param, param
from tfa_recipes.envs.names import check_tf_native
from tfa_recipes.recipe import Recipe


@dataclasses.dataclass(frozen=True)
class Config(LoopConfig):
    env_name: str = param(
        "gym environment id, loaded with suite_gym (tf:CartPole-v0 or tf:CartPole-v1: the "
        "TF-native CartPole, stepped in the graph)",
        fixed=True,
    )
    initial_collect_steps: int = param(
        "random-policy steps stored before training (the first sample needs 2)", minimum=1
    )
    collect_steps_per_iteration: int = param("environment steps collected per iteration", minimum=1)
    replay_buffer_max_length: int = param(
        "TFUniformReplayBuffer length (oldest overwritten)", minimum=1, fixed=True
    )
    batch_size: int = param("experience samples per train step", minimum=1)
    learning_rate: float = learning_rate_param("Adam learning rate")
    fc_layer_params: tuple[int, ...] = param(
        "hidden Dense layer sizes of the Q-network", minimum=1, fixed=True
    )
    jit_compile: bool = param(
        "with a tf: environment, compile the loop with XLA (its replay is then a ring buffer "
        "without TFUniformReplayBuffer's CriticalSection, which XLA cannot compile); gym "
        "environments are stepped in Python, outside what XLA compiles"
    )
    prefetch_samples: bool = param(
        "sample through the notebook's prefetching dataset; false: the same sampler inside "
        "the compiled train step, so a seed's run repeats exactly"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_tf_native(self.env_name)


RECIPE = Recipe(
    name="dqn_cartpole_classic",
    description=(
        "DQN on CartPole (older TF-Agents notebook: TFUniformReplayBuffer + DynamicStepDriver)."
    ),
    config_cls=Config,
    builder="tfa_recipes.builders.dqn_cartpole_classic",
    seeds_share_compiled_calls=True,
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
