"""The older DQN notebook's own loop against `dqn_cartpole_classic` (and `dqn_cartpole`).

All rows train CartPole-v0 for the same number of iterations with the same seed and the
notebook's hyperparameters, evaluation of 10 episodes every 1,000 iterations included.
The notebook's loop is written as the notebook writes it: a hand-written eager
`collect_step` feeding TFUniformReplayBuffer and an eager `compute_avg_return`, timed from
its training cell. The recipes run through `Recipe.train` without videos (the notebook's
timed cell has none); their evaluation, checkpoints, metrics, plot and exported policy
are in. Each side runs in a fresh process (see timing.py); run it on an idle machine.

    python benchmarks/bench_classic.py [--num-iterations 20000] [--seed 0] [--skip-notebook]
"""

from __future__ import annotations

import time

import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent
from tf_agents.environments import suite_gym, tf_py_environment
from tf_agents.networks import q_network
from tf_agents.policies import random_tf_policy
from tf_agents.replay_buffers import tf_uniform_replay_buffer
from tf_agents.trajectories import trajectory
from tf_agents.utils import common
from timing import compare

from tfa_recipes.loop.evaluation import compute_avg_return


def notebook_loop(num_iterations: int, seed: int) -> dict:
    """The notebook's cells, in order, with its hyperparameters (timed from the train cell)."""
    tf.keras.utils.set_random_seed(seed)
    initial_collect_steps, collect_steps_per_iteration = 100, 1
    replay_buffer_max_length, batch_size, learning_rate = 100000, 64, 1e-3
    log_interval, num_eval_episodes, eval_interval = 200, 10, 1000
    env_name = "CartPole-v0"
    train_py_env = suite_gym.load(env_name)
    eval_py_env = suite_gym.load(env_name)
    train_py_env.seed(seed)
    eval_py_env.seed(seed + 1)
    train_env = tf_py_environment.TFPyEnvironment(train_py_env)
    eval_env = tf_py_environment.TFPyEnvironment(eval_py_env)
    q_net = q_network.QNetwork(
        train_env.observation_spec(), train_env.action_spec(), fc_layer_params=(100,)
    )
    agent = dqn_agent.DqnAgent(
        train_env.time_step_spec(),
        train_env.action_spec(),
        q_network=q_net,
        optimizer=tf.compat.v1.train.AdamOptimizer(learning_rate=learning_rate),
        td_errors_loss_fn=common.element_wise_squared_loss,
        train_step_counter=tf.Variable(0),
    )
    agent.initialize()
    random_policy = random_tf_policy.RandomTFPolicy(
        train_env.time_step_spec(), train_env.action_spec()
    )

    replay_buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        data_spec=agent.collect_data_spec,
        batch_size=train_env.batch_size,
        max_length=replay_buffer_max_length,
    )

    def collect_step(environment, policy, buffer):
        time_step = environment.current_time_step()
        action_step = policy.action(time_step)
        next_time_step = environment.step(action_step.action)
        traj = trajectory.from_transition(time_step, action_step, next_time_step)
        buffer.add_batch(traj)

    def collect_data(env, policy, buffer, steps):
        for _ in range(steps):
            collect_step(env, policy, buffer)

    collect_data(train_env, random_policy, replay_buffer, initial_collect_steps)
    dataset = replay_buffer.as_dataset(
        num_parallel_calls=3, sample_batch_size=batch_size, num_steps=2
    ).prefetch(3)
    iterator = iter(dataset)

    started = time.perf_counter()
    agent.train = common.function(agent.train)
    agent.train_step_counter.assign(0)
    avg_return = compute_avg_return(eval_env, agent.policy, num_eval_episodes)
    returns = [avg_return]
    for _ in range(num_iterations):
        collect_data(train_env, agent.collect_policy, replay_buffer, collect_steps_per_iteration)
        experience, unused_info = next(iterator)
        train_loss = agent.train(experience).loss
        step = agent.train_step_counter.numpy()
        if step % log_interval == 0:
            print(f"step = {step}: loss = {train_loss}")
        if step % eval_interval == 0:
            avg_return = compute_avg_return(eval_env, agent.policy, num_eval_episodes)
            print(f"step = {step}: Average Return = {avg_return}")
            returns.append(avg_return)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "env_steps": num_iterations * collect_steps_per_iteration,
        "final_return": float(returns[-1]),
    }


def main() -> None:
    compare(
        __file__,
        __doc__.splitlines()[0],
        notebook_loop,
        ("dqn_cartpole_classic", "dqn_cartpole"),
        default_iterations=20000,
        title="CartPole DQN",
        baseline_name="notebook's code",
        skippable=True,
    )


if __name__ == "__main__":
    main()
