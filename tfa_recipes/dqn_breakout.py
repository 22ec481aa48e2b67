"""DQN on Atari Breakout: Hands-On ML's "Using TF-Agents to Beat Breakout", offline.

The book's pieces, in its order: `suite_atari.load("BreakoutNoFrameskip-v4",
max_episode_steps=27000, gym_env_wrappers=[AtariPreprocessingWithAutoFire, FrameStack4])`
(ROMs from ale-py, ids registered by `tfa_recipes.envs.atari`), a `TFPyEnvironment`, a
`QNetwork` whose Lambda layer scales the uint8 frames to [0, 1], three conv layers and a
512-unit layer, `DqnAgent` with centered RMSprop, Huber loss, gamma 0.99, a target network
updated every 2,000 train steps and an epsilon that decays from 1.0 to 0.01 over 62,500
train steps (1M ALE frames), a `TFUniformReplayBuffer`, 20,000 random steps to start, a
`DynamicStepDriver` of 4 steps per train step that also feeds the `tf_metrics` logged every
1,000 iterations, a dataset of 64 2-step samples, and compiled `run` and `train`.

Differences, and why:
- Evaluation. The book only logs the training metrics (epsilon-greedy episodes, the last 10
  averaged): they are logged here too, as `step = N: NumberOfEpisodes = ...`, in
  metrics.csv as `Train<name>` and in TensorBoard as train/Metrics/<name>. The shared loop
  also evaluates every `eval_interval` iterations, with epsilon = `eval_epsilon` (0.05, as
  Mnih et al. 2015 evaluate): `-v4` Atari has no randomness, so a greedy policy would play
  the same episode in each of the `num_eval_episodes` copies. The exported policy is greedy.
- The TD loss is `element_wise_huber_loss`: the book's `keras.losses.Huber(reduction="none")`
  averages its [B] input to one number before DqnAgent masks episode ends per sample.
- The replay memory is 100,000 steps of (84, 84, 4) uint8 stacks: 100,000 x 28,248 bytes
  = 2.8 GB of RAM, allocated at start (the book's 1M would be 28 GB). With
  `checkpoint_replay = true` it is saved in every checkpoint (2.8 GB written, whatever its
  fill) and a resumed run continues with it; with false, checkpoints hold only the agent
  and a resumed run refills the replay with `initial_collect_steps` random steps.

    python -m tfa_recipes.dqn_breakout [--game SpaceInvaders] [--num-iterations 50000]
    python -m tfa_recipes.envs.atari   # the games
"""

from __future__ import annotations

import dataclasses
import sys

from tfa_recipes.config import LoopConfig, actors_param, learning_rate_param, param
from tfa_recipes.envs import atari_games
from tfa_recipes.recipe import Recipe


@dataclasses.dataclass(frozen=True)
class Config(LoopConfig):
    game: str = param(
        f"Atari game, loaded as <game>NoFrameskip-v4 (list: {atari_games.LIST_GAMES_COMMAND})",
        fixed=True,
    )
    max_episode_steps: int = param("steps per episode at most (4 ALE frames each)", minimum=1)
    initial_collect_steps: int = param(
        "random-policy steps stored before training",
        minimum=2,
        why="the prefetching dataset draws its first 2-step sample before the first "
        "iteration collects",
    )
    update_period: int = param("environment steps collected per train step", minimum=1)
    replay_buffer_max_length: int = param(
        "TFUniformReplayBuffer length in steps; 28,248 bytes of RAM each", minimum=2, fixed=True
    )
    checkpoint_replay: bool = param(
        "save the replay buffer in every checkpoint (else a resumed run refills it at random)"
    )
    batch_size: int = param("experience samples per train step", minimum=1)
    learning_rate: float = learning_rate_param("RMSprop learning rate")
    rmsprop_rho: float = param("RMSprop discounting factor rho", minimum=0)
    rmsprop_epsilon: float = param("RMSprop epsilon", minimum=0)
    initial_epsilon: float = param("collect policy's epsilon at train step 0", minimum=0)
    final_epsilon: float = param("collect policy's epsilon after the decay", minimum=0)
    epsilon_decay_steps: int = param("train steps over which epsilon decays", minimum=1)
    target_update_period: int = param("train steps between target-network updates", minimum=1)
    gamma: float = param("discount factor", minimum=0)
    fc_layer_params: tuple[int, ...] = param(
        "Dense layer sizes after the conv layers", minimum=1, fixed=True
    )
    eval_epsilon: float = param("epsilon of the evaluated policy (0: greedy)", minimum=0)
    actors: int = actors_param()

    def __post_init__(self) -> None:
        super().__post_init__()
        atari_games.environment_name(self.game)


RECIPE = Recipe(
    name="dqn_breakout",
    description="DQN on Atari Breakout (Hands-On ML: suite_atari, TFUniformReplayBuffer, "
    "DynamicStepDriver).",
    config_cls=Config,
    builder="tfa_recipes.builders.dqn_breakout",
    # The book reports its training AverageReturn metric: 5.1-7.8 at 176k-196k env steps.
    published_return=("book, training AverageReturn near 196k env steps", 5.1),
    plot_ylim_top=None,
    # 2,000 steps (about a minute at 30 fps); a good player's game can last 27,000.
    max_video_frames=2000,
    distributed=True,
    # Faster convolutions (see recipe.ONEDNN_ENV).
    onednn=True,
)

if __name__ == "__main__":
    sys.exit(RECIPE.main())
