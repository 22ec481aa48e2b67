"""REINFORCE on CartPole: TF-Agents' "REINFORCE agent" tutorial.

The tutorial's pieces, in its order: `suite_gym` CartPole-v0, an `ActorDistributionNetwork`,
`ReinforceAgent` with Adam and normalized returns, a Reverb uniform table fed whole
episodes by `ReverbAddEpisodeObserver`, `PyDriver` collection of a few episodes per
iteration, one train step on an episode sampled from the table, and the table cleared
after it. Faster than the tutorial with the same loop: compiled batched evaluation, one
collect driver with a pre-traced collect policy instead of a new driver (and a new trace
of the policy) every iteration, and one dataset with a new iterator per train step.

Reproducibility: Reverb's sampler takes no seed (google-deepmind/reverb#25), and with two
episodes in the table the sample decides which one the agent learns from, so training
differs between runs of one seed. The seed does fix the network's initialisation, the
environments and the collect policy's sampling: the random baseline, the untrained
policy's returns and the first iteration's episodes repeat exactly.

    python -m tfa_recipes.reinforce_cartpole [--num-iterations 250] [--seed 0] [--help]
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
    collect_episodes_per_iteration: int = param("episodes collected per iteration", minimum=1)
    replay_buffer_capacity: int = param(
        "Reverb table size, and the longest episode the observer writes", minimum=1
    )
    learning_rate: float = learning_rate_param("Adam learning rate")
    fc_layer_params: tuple[int, ...] = param(
        "hidden Dense layer sizes of the actor network", minimum=1, fixed=True
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        check_tf_native(self.env_name)


RECIPE = Recipe(
    name="reinforce_cartpole",
    description="REINFORCE on CartPole (TF-Agents tutorial: Reverb episodes + PyDriver).",
    config_cls=Config,
    builder="tfa_recipes.builders.reinforce_cartpole",
    published_return=("tutorial at iteration 250", 191.5),
    seeds_share_compiled_calls=True,
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
