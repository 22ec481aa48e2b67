"""The DQN tutorial's own loop against `dqn_cartpole`, each in a fresh process.

The recipe runs twice: `--driver graph` (its default: many collect+train iterations per
compiled call, the same Reverb items) and `--driver py` (the tutorial's PyDriver, one
iteration per Python call). All three train CartPole-v0 for the same number of
iterations with the same seed and the tutorial's hyperparameters (eval of 10 episodes
every 1,000 iterations included, as the tutorial times it). Prints, per side,
whole-process and loop seconds, start-up and finish, environment steps per second, peak
RSS, the load average before it, and the ratio of the tutorial's whole process to each
recipe side's (see timing.py). Run it on an idle machine.

    python benchmarks/bench_dqn_cartpole.py [--num-iterations 20000] [--seed 0]
"""

from __future__ import annotations

import time

import reverb
import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent
from tf_agents.drivers import py_driver
from tf_agents.environments import suite_gym, tf_py_environment
from tf_agents.networks import sequential
from tf_agents.policies import py_tf_eager_policy, random_tf_policy
from tf_agents.replay_buffers import reverb_replay_buffer, reverb_utils
from tf_agents.specs import tensor_spec
from tf_agents.utils import common
from timing import compare

from tfa_recipes.loop.evaluation import compute_avg_return


def tutorial_loop(num_iterations: int, seed: int) -> dict:
    """The tutorial's cells, in order, with its hyperparameters (timed from the train cell)."""
    tf.keras.utils.set_random_seed(seed)
    initial_collect_steps, collect_steps_per_iteration = 100, 1
    replay_buffer_max_length, batch_size, learning_rate = 100000, 64, 1e-3
    num_eval_episodes, eval_interval = 10, 1000
    env_name = "CartPole-v0"
    env = suite_gym.load(env_name)
    train_py_env = suite_gym.load(env_name)
    eval_py_env = suite_gym.load(env_name)
    for offset, py_env in enumerate((env, train_py_env, eval_py_env)):
        py_env.seed(seed + offset)
    train_env = tf_py_environment.TFPyEnvironment(train_py_env)
    eval_env = tf_py_environment.TFPyEnvironment(eval_py_env)

    def dense_layer(num_units):
        return tf.keras.layers.Dense(
            num_units,
            activation=tf.keras.activations.relu,
            kernel_initializer=tf.keras.initializers.VarianceScaling(
                scale=2.0, mode="fan_in", distribution="truncated_normal"
            ),
        )

    dense_layers = [dense_layer(num_units) for num_units in (100, 50)]
    q_values_layer = tf.keras.layers.Dense(
        2,
        activation=None,
        kernel_initializer=tf.keras.initializers.RandomUniform(minval=-0.03, maxval=0.03),
        bias_initializer=tf.keras.initializers.Constant(-0.2),
    )
    q_net = sequential.Sequential(dense_layers + [q_values_layer])
    agent = dqn_agent.DqnAgent(
        train_env.time_step_spec(),
        train_env.action_spec(),
        q_network=q_net,
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate),
        td_errors_loss_fn=common.element_wise_squared_loss,
        train_step_counter=tf.Variable(0),
    )
    agent.initialize()
    random_policy = random_tf_policy.RandomTFPolicy(
        train_env.time_step_spec(), train_env.action_spec()
    )

    table_name = "uniform_table"
    replay_buffer_signature = tensor_spec.add_outer_dim(
        tensor_spec.from_spec(agent.collect_data_spec)
    )
    table = reverb.Table(
        table_name,
        max_size=replay_buffer_max_length,
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        rate_limiter=reverb.rate_limiters.MinSize(1),
        signature=replay_buffer_signature,
    )
    reverb_server = reverb.Server([table])
    replay_buffer = reverb_replay_buffer.ReverbReplayBuffer(
        agent.collect_data_spec,
        table_name=table_name,
        sequence_length=2,
        local_server=reverb_server,
    )
    rb_observer = reverb_utils.ReverbAddTrajectoryObserver(
        replay_buffer.py_client, table_name, sequence_length=2
    )
    py_driver.PyDriver(
        env,
        py_tf_eager_policy.PyTFEagerPolicy(random_policy, use_tf_function=True),
        [rb_observer],
        max_steps=initial_collect_steps,
    ).run(train_py_env.reset())
    dataset = replay_buffer.as_dataset(
        num_parallel_calls=3, sample_batch_size=batch_size, num_steps=2
    ).prefetch(3)
    iterator = iter(dataset)

    started = time.perf_counter()
    agent.train = common.function(agent.train)
    agent.train_step_counter.assign(0)
    avg_return = compute_avg_return(eval_env, agent.policy, num_eval_episodes)
    returns = [avg_return]
    time_step = train_py_env.reset()
    collect_driver = py_driver.PyDriver(
        env,
        py_tf_eager_policy.PyTFEagerPolicy(agent.collect_policy, use_tf_function=True),
        [rb_observer],
        max_steps=collect_steps_per_iteration,
    )
    for _ in range(num_iterations):
        time_step, _ = collect_driver.run(time_step)
        experience, unused_info = next(iterator)
        train_loss = agent.train(experience).loss  # noqa: F841 (the tutorial's line)
        step = agent.train_step_counter.numpy()
        if step % eval_interval == 0:
            avg_return = compute_avg_return(eval_env, agent.policy, num_eval_episodes)
            returns.append(avg_return)
    seconds = time.perf_counter() - started
    reverb_server.stop()
    return {"seconds": seconds, "env_steps": num_iterations, "final_return": float(returns[-1])}


def main() -> None:
    compare(
        __file__,
        __doc__.splitlines()[0],
        tutorial_loop,
        (("dqn_cartpole", "--driver", "graph"), ("dqn_cartpole", "--driver", "py")),
        default_iterations=20000,
        title="CartPole DQN",
    )


if __name__ == "__main__":
    main()
