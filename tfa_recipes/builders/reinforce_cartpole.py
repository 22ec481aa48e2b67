"""The TensorFlow side of `tfa_recipes.reinforce_cartpole`: its tutorial's pieces, wired (the
recipe's docstring tells them in the tutorial's order)."""

from __future__ import annotations

import tensorflow as tf
from tf_agents.agents import tf_agent as tf_agent_lib

from tfa_recipes.blocks import agents, networks, replay
from tfa_recipes.blocks.policies import CompiledPyTFEagerPolicy
from tfa_recipes.envs.gym import load_gym
from tfa_recipes.envs.names import is_tf_native
from tfa_recipes.envs.tf_cartpole import load_tf_env
from tfa_recipes.envs.tf_py import train_environments
from tfa_recipes.loop import roles
from tfa_recipes.loop.roles import Parts
from tfa_recipes.reinforce_cartpole import Config
from tfa_recipes.run.directory import RunDir
from tfa_recipes.seeds import LOOP_SEED_OFFSET


def make_env(config: Config, seed: int):
    return load_gym(config.env_name, seed=seed)


def build(config: Config, run: RunDir, env_factory, resources) -> Parts:
    if is_tf_native(config.env_name):
        return build_in_graph(config)
    train_py_env, train_env = train_environments(
        env_factory,
        config.seed,
        config.env_name,
        resources,
        network="the tutorial's ActorDistributionNetwork",
    )
    tf_agent = make_agent(config, train_env)
    rb = make_replay(config, tf_agent.collect_data_spec)
    resources.callback(rb.close)
    collector = make_collector(config, train_py_env, tf_agent, rb)
    # Built once: building it is 150-200 ms, five times the rest of an iteration.
    dataset = rb.replay_buffer.as_dataset(sample_batch_size=1)
    # The tutorial's quirk, kept: `sample_batch_size=1` samples ONE of the episodes just
    # collected (uniformly, so with two episodes the other is never learned from: the
    # table is cleared before the next iteration). A fresh iterator each time, as the
    # tutorial's, so no sample prefetched before the clear is trained on.
    learner = roles.tf_agents_learner(
        tf_agent, lambda: iter(dataset), fresh_iterator=True, after_train=rb.replay_buffer.clear
    )
    return Parts(agent=tf_agent, collector=collector, learner=learner)


def make_agent(config: Config, train_env) -> tf_agent_lib.TFAgent:
    """The tutorial's `ReinforceAgent`: its actor network, Adam, normalized returns."""
    actor_net = networks.actor_network(
        train_env.observation_spec(), train_env.action_spec(), config.fc_layer_params
    )
    return agents.reinforce(
        train_env.time_step_spec(),
        train_env.action_spec(),
        actor_net,
        tf.keras.optimizers.Adam(learning_rate=config.learning_rate),
        normalize_returns=True,
    )


def make_replay(config: Config, collect_data_spec) -> replay.ReverbReplay:
    """The tutorial's Reverb table of whole episodes, fed by `ReverbAddEpisodeObserver`.
    It is emptied after every train step, so a checkpoint needs no replay contents."""
    return replay.reverb_replay(
        collect_data_spec,
        max_size=config.replay_buffer_capacity,
        sequence_length=None,
        observer="episode",
    )


def make_collector(
    config: Config, train_py_env, tf_agent: tf_agent_lib.TFAgent, rb: replay.ReverbReplay
) -> roles.PyCollector:
    """The tutorial's `collect_episode`: a `PyDriver` (in a `tf_agents.train.Actor`) playing
    `collect_episodes_per_iteration` full episodes from a fresh reset with the agent's
    stochastic `collect_policy`, into the table."""
    return roles.PyCollector(
        train_py_env,
        CompiledPyTFEagerPolicy(tf_agent.collect_policy),
        [rb.observer],
        episodes_per_run=config.collect_episodes_per_iteration,
        reset_each_run=True,
    )


def build_in_graph(config: Config) -> Parts:
    """The same iteration with the TF-native environment, in the graph (`GraphEpisodes`):
    the episodes of an iteration are the copies of one environment batch, played side by
    side, and the in-graph buffer of episodes replaces the Reverb table. The environment
    and the loop's generator are checkpointed, so a run repeats and resumes exactly."""
    train_env = load_tf_env(
        config.env_name, batch_size=config.collect_episodes_per_iteration, seed=config.seed
    )
    tf_agent = make_agent(config, train_env)
    generator = tf.random.Generator.from_seed(config.seed + LOOP_SEED_OFFSET)
    iterations = roles.GraphEpisodes(train_env, tf_agent, generator=generator)
    return Parts(
        agent=tf_agent,
        iterations=iterations,
        trackables={"train_env": train_env, "loop_random": generator},
    )
