"""The REINFORCE tutorial's own loop against `reinforce_cartpole`, each in a fresh process.

Both train CartPole-v0 for the tutorial's 250 iterations of 2 episodes with the same seed
and its hyperparameters, its evaluations of 10 episodes every 50 iterations included, as
the tutorial times them. The tutorial's loop is its cells in order: a new `PyDriver` (and
a new traced policy) per `collect_episode`, a new dataset per train step, eager
`compute_avg_return`. The recipe runs on gym (its Reverb table and PyDriver) and on
`tf:CartPole-v0` (the episodes collected in the graph, `loop.roles.GraphEpisodes`). See
timing.py for what the table holds; run it on an idle machine.

    python benchmarks/bench_reinforce.py [--num-iterations 250] [--seed 0]
"""

from __future__ import annotations

import time

import reverb
import tensorflow as tf
from tf_agents.agents.reinforce import reinforce_agent
from tf_agents.drivers import py_driver
from tf_agents.environments import suite_gym, tf_py_environment
from tf_agents.networks import actor_distribution_network
from tf_agents.policies import py_tf_eager_policy
from tf_agents.replay_buffers import reverb_replay_buffer, reverb_utils
from tf_agents.specs import tensor_spec
from tf_agents.utils import common
from timing import compare

from tfa_recipes.loop.evaluation import compute_avg_return


def tutorial_loop(num_iterations: int, seed: int) -> dict:
    """The tutorial's cells, in order, with its hyperparameters (timed from the train cell)."""
    tf.keras.utils.set_random_seed(seed)
    env_name, collect_episodes_per_iteration = "CartPole-v0", 2
    replay_buffer_capacity, fc_layer_params, learning_rate = 2000, (100,), 1e-3
    num_eval_episodes, eval_interval = 10, 50
    train_py_env = suite_gym.load(env_name)
    eval_py_env = suite_gym.load(env_name)
    train_py_env.seed(seed)
    eval_py_env.seed(seed + 1)
    train_env = tf_py_environment.TFPyEnvironment(train_py_env)
    eval_env = tf_py_environment.TFPyEnvironment(eval_py_env)
    actor_net = actor_distribution_network.ActorDistributionNetwork(
        train_env.observation_spec(), train_env.action_spec(), fc_layer_params=fc_layer_params
    )
    tf_agent = reinforce_agent.ReinforceAgent(
        train_env.time_step_spec(),
        train_env.action_spec(),
        actor_network=actor_net,
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate),
        normalize_returns=True,
        train_step_counter=tf.Variable(0),
    )
    tf_agent.initialize()
    table_name = "uniform_table"
    signature = tensor_spec.add_outer_dim(tensor_spec.from_spec(tf_agent.collect_data_spec))
    table = reverb.Table(
        table_name,
        max_size=replay_buffer_capacity,
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        rate_limiter=reverb.rate_limiters.MinSize(1),
        signature=signature,
    )
    reverb_server = reverb.Server([table])
    replay_buffer = reverb_replay_buffer.ReverbReplayBuffer(
        tf_agent.collect_data_spec,
        table_name=table_name,
        sequence_length=None,
        local_server=reverb_server,
    )
    rb_observer = reverb_utils.ReverbAddEpisodeObserver(
        replay_buffer.py_client, table_name, replay_buffer_capacity
    )
    env_steps = 0

    def collect_episode(environment, policy, num_episodes):
        nonlocal env_steps
        counted = []  # not in the tutorial: the steps, for steps per second
        driver = py_driver.PyDriver(
            environment,
            py_tf_eager_policy.PyTFEagerPolicy(policy, use_tf_function=True),
            [rb_observer, lambda trajectory: counted.append(not trajectory.is_boundary())],
            max_episodes=num_episodes,
        )
        initial_time_step = environment.reset()
        driver.run(initial_time_step)
        env_steps += sum(counted)

    started = time.perf_counter()
    tf_agent.train = common.function(tf_agent.train)
    tf_agent.train_step_counter.assign(0)
    returns = [compute_avg_return(eval_env, tf_agent.policy, num_eval_episodes)]
    for _ in range(num_iterations):
        collect_episode(train_py_env, tf_agent.collect_policy, collect_episodes_per_iteration)
        iterator = iter(replay_buffer.as_dataset(sample_batch_size=1))
        trajectories, _ = next(iterator)
        tf_agent.train(experience=trajectories)
        replay_buffer.clear()
        step = tf_agent.train_step_counter.numpy()
        if step % eval_interval == 0:
            returns.append(compute_avg_return(eval_env, tf_agent.policy, num_eval_episodes))
    seconds = time.perf_counter() - started
    reverb_server.stop()
    return {"seconds": seconds, "env_steps": env_steps, "final_return": float(returns[-1])}


def main() -> None:
    compare(
        __file__,
        __doc__.splitlines()[0],
        tutorial_loop,
        ("reinforce_cartpole", ("reinforce_cartpole", "--env-name", "tf:CartPole-v0")),
        default_iterations=250,
        title="CartPole REINFORCE",
    )


if __name__ == "__main__":
    main()
