"""DQN on CartPole from pixels: the PyTorch "Reinforcement Learning (DQN)" tutorial
(pixel variant, seed 004) in TF-Agents and Keras.

The tutorial's pieces, in its order: CartPole-v1 seen through `get_screen` (here the
`ScreenPatchDifference` wrapper: the difference of two cart-centred 40x90 screen
patches), the conv + batch-norm `DQN` module (here a `sequential.Sequential` Q-network),
a 10,000-transition replay memory (here a `TFUniformReplayBuffer`), epsilon-greedy
exploration decaying from 0.9 to 0.05 with a 200-step time constant, Huber loss,
RMSprop with every gradient element clamped to [-1, 1], gamma 0.999, batch 128, and a
target network copied every 10 episodes; 200 episodes, then 100 test games.

How the tutorial maps onto TF-Agents (where it does not, the choice closest to it):
- One loop iteration is one episode, so `num_iterations = 200` is the tutorial's
  `num_episodes`, and the intervals count episodes (a test every 50, as the tutorial).
- Training: one update after every environment step once the memory holds a batch,
  the tutorial's `optimize_model()`: a `PyDriver` takes one step at a time, so the
  network that acts changes during an episode, as the tutorial's does.
- Target network: the tutorial copies it after episodes 0, 10, 20, ... DqnAgent's
  `target_update_period` counts train steps, and an episode's steps vary (10 to 500),
  so the agent's own updates are off and the recipe copies the weights (with batch
  norm's moving averages, as `load_state_dict` does) after those episodes.
- Epsilon: the tutorial's `EPS_END + (EPS_START - EPS_END) * exp(-steps_done / EPS_DECAY)`
  as DqnAgent's callable `epsilon_greedy`, read from a step counter in the checkpoint.
- Gradient clipping: `param.grad.data.clamp_(-1, 1)` clips every element. DqnAgent's
  `gradient_clipping` rescales each gradient tensor to a maximum norm instead, so the
  recipe leaves it off and sets Keras' `clipvalue=1.0` on RMSprop, which is the
  element-wise clamp.
- RMSprop: torch's defaults (lr 0.01, alpha 0.99, eps 1e-8), not Keras' (0.001, 0.9,
  1e-7). Keras adds epsilon inside the square root, torch outside it, so the recipe's
  epsilon is 1e-16: the same 1e-8 floor under small gradients (Keras' 1e-8 would make
  it 1e-4 and damp the first updates).
- Huber loss: `nn.SmoothL1Loss()` is `element_wise_huber_loss` averaged over the batch.
- Batch norm when acting: the tutorial never calls `policy_net.eval()`, so it picks
  actions with batch statistics of a single frame. TF-Agents policies call the network
  with `training=False`, i.e. the moving averages, which is what batch norm is meant
  to do at inference (and what the tutorial's target network does): the default.
  `--act-with-frame-statistics` acts (collection, evaluation, videos) as the
  tutorial does, through `networks.PerFrameBatchNorm`; the exported policy keeps the
  moving averages. The tutorial's acting calls also feed torch's running averages;
  here only the updates do.
- Episode ends: the tutorial treats the 500-step time limit like a fall (no bootstrap);
  TF-Agents' `TimeLimit` keeps the discount, so a truncated episode bootstraps.
- The random baseline and every evaluation play `num_eval_episodes` = 100 games, the
  tutorial's count for both.

What learns here: the tutorial's values (the defaults) reproduce its set-up, not its
93.59; torch's RMSprop learning rate 0.01 makes the greedy policy collapse onto one action
on most seeds. `--learning-rate 0.001` (Keras' RMSprop default) learns to balance within
the tutorial's 200 episodes, but, as vanilla DQN from pixels does, forgets again between
evaluations; so the run also exports the policy of its best evaluation
(`policies/best_policy`, `best-agent.gif`, `--eval-only --best`). Measured figures:
tests/test_regression_dqn_cartpole_pixels.py and the README.

Costs: every step renders a 600x400 frame and every update runs three convolutions over
128x40x90x3 twice (online and target), about 0.2 s on two shared CPU cores.

    python -m tfa_recipes.dqn_cartpole_pixels [--num-iterations 200] [--seed 0] [--help]
"""

from __future__ import annotations

import dataclasses
import sys

from tfa_recipes.config import LoopConfig, learning_rate_param, param
from tfa_recipes.envs.names import is_tf_native
from tfa_recipes.errors import RecipeError
from tfa_recipes.recipe import Recipe


@dataclasses.dataclass(frozen=True)
class Config(LoopConfig):
    env_name: str = param(
        "gym CartPole id; observations are screen-patch differences", fixed=True
    )
    replay_memory_capacity: int = param(
        "transitions the replay memory keeps", minimum=2, fixed=True
    )
    batch_size: int = param("transitions per update (BATCH_SIZE)", minimum=1)
    gamma: float = param("discount (GAMMA)", minimum=0)
    eps_start: float = param("exploration epsilon at the first step (EPS_START)", minimum=0)
    eps_end: float = param("epsilon it decays towards (EPS_END)", minimum=0)
    eps_decay: float = param("decay time constant in environment steps (EPS_DECAY)", minimum=1)
    target_update: int = param("copy the target network every this many episodes", minimum=1)
    learning_rate: float = learning_rate_param("RMSprop learning rate (torch's default)")
    rmsprop_rho: float = param(
        "RMSprop decay of the squared-gradient average (torch's alpha)", minimum=0
    )
    rmsprop_epsilon: float = param("RMSprop epsilon", minimum=0)
    gradient_clip_value: float = param("clamp every gradient element to [-v, v]", minimum=0)
    act_with_frame_statistics: bool = param(
        "pick actions with batch norm normalising each frame by its own statistics, as the "
        "tutorial's never-eval()ed network (false: the moving averages)"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("gamma", "eps_start", "eps_end", "rmsprop_rho"):
            value = getattr(self, name)
            if value > 1:
                raise RecipeError(f"--{name.replace('_', '-')} must be <= 1, got {value}")
        if is_tf_native(self.env_name):
            raise RecipeError(
                f"--env-name {self.env_name}: the pixel recipe films gym's own CartPole; "
                "give a gym id (CartPole-v1)"
            )


RECIPE = Recipe(
    name="dqn_cartpole_pixels",
    description="DQN on CartPole from screen patches (PyTorch DQN tutorial, in TF-Agents).",
    config_cls=Config,
    builder="tfa_recipes.builders.dqn_cartpole_pixels",
    published_return=("tutorial after 200 episodes", 93.59),
    plot_ylim_top=None,
    export_best_policy=True,
    # Faster convolutions (see recipe.ONEDNN_ENV).
    onednn=True,
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
