"""Where an iteration of `dqn_cartpole_classic --env-name tf:CartPole-v0` goes, piece by
piece, each piece compiled with XLA in a loop of its own as the recipe compiles the whole:

- act and step: the collect policy's action and the TF-native environment's step;
- replay add: `RingReplayBuffer.add_batch` of one item;
- sample: a batch of 64 2-step items;
- update: `DqnAgent.train` on a fixed batch (the Q-network's forward and backward passes,
  the target network, Adam);
- the whole iteration, as the recipe runs it (`GraphIterations`, XLA);
- an evaluation: 10 episodes of the greedy policy, one batch in one XLA program;
- and the update's floor: the same MLP update (forward, TD target, backward, Adam) written
  as one plain `tf.function` over raw variables, no TF-Agents, XLA-compiled.

Prints microseconds per call (the median of `--repeats` timed loops of `--calls` calls),
the XLA compile time of the whole iteration, and the load average before. Run it on an idle
machine:

    .venv/bin/python benchmarks/profile_tf_native.py [--calls 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import tensorflow as tf
from tf_agents.drivers import dynamic_step_driver
from tf_agents.policies import random_tf_policy

from tfa_recipes.blocks import agents, networks, replay
from tfa_recipes.blocks.randomness import drawn_from
from tfa_recipes.blocks.ring_replay import RingReplayBuffer
from tfa_recipes.envs.tf_cartpole import load_tf_env
from tfa_recipes.loop import roles
from tfa_recipes.loop.evaluation import Evaluator
from tfa_recipes.seeds import set_seeds


def timed(function, calls: int, repeats: int) -> float:
    """Microseconds per call of `function(calls)` (a compiled loop of `calls` calls)."""
    function(tf.constant(10))  # trace and compile
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function(tf.constant(calls))
        tf.nest.map_structure(lambda value: value.numpy(), result)
        times.append(time.perf_counter() - started)
    return 1e6 * statistics.median(times) / calls


def compiled_loop(body):
    @tf.function(jit_compile=True, autograph=False)
    def loop(count):
        return tf.while_loop(lambda i, _: i < count, lambda i, x: (i + 1, body(x)),
                             (tf.constant(0), tf.constant(0.0)))[1]

    return loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    set_seeds(0)
    env = load_tf_env("tf:CartPole-v0", seed=0)
    q_net = networks.classic_q_network(env.observation_spec(), env.action_spec(), (100,))
    optimizer = tf.compat.v1.train.AdamOptimizer(1e-3)
    agent = agents.dqn(env.time_step_spec(), env.action_spec(), q_net, optimizer,
                       td_errors_loss_fn="element_wise_squared_loss")
    buffer = RingReplayBuffer(agent.collect_data_spec, 100_000)
    generator = tf.random.Generator.from_seed(1)
    random_policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
    dynamic_step_driver.DynamicStepDriver(env, random_policy, [buffer.add_batch],
                                          num_steps=1000).run()
    batch, _ = buffer.get_next(sample_batch_size=64, num_steps=2)
    policy = agent.collect_policy
    rows = {}
    with drawn_from(generator):
        def act_and_step(x):
            time_step = env.current_time_step()
            next_step = env.step(policy.action(time_step).action)
            return x + next_step.reward[0]

        rows["act and step"] = timed(compiled_loop(act_and_step), args.calls, args.repeats)
        item = tf.nest.map_structure(lambda value: value[:1, 0], batch)

        def add(x):
            buffer.add_batch(item)
            return x + 1.0

        rows["replay add"] = timed(compiled_loop(add), args.calls, args.repeats)

        def sample(x):
            data, _ = buffer.get_next(sample_batch_size=64, num_steps=2)
            return x + tf.reduce_sum(data.reward)

        rows["sample (64 x 2 steps)"] = timed(compiled_loop(sample), args.calls, args.repeats)

        def update(x):
            return x + agent.train(batch).loss

        rows["update (DqnAgent.train)"] = timed(compiled_loop(update), args.calls, args.repeats)
        rows["update floor (one tf.function)"] = timed(
            compiled_loop(floor_update(batch)), args.calls, args.repeats
        )
        driver = dynamic_step_driver.DynamicStepDriver(env, policy, [buffer.add_batch],
                                                       num_steps=1)
        iterations = roles.GraphIterations(
            driver,
            roles.tf_agents_learner(
                agent, lambda: replay.InOrderSampler(buffer, batch_size=64, num_steps=2)
            ),
            steps_per_iteration=1,
            generator=generator,
            jit_compile=True,
        )
        started = time.perf_counter()
        iterations.run(1)
        compile_seconds = time.perf_counter() - started
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            iterations.run(args.calls)[1].loss.numpy()
            times.append(time.perf_counter() - started)
        rows["whole iteration (the recipe's)"] = 1e6 * statistics.median(times) / args.calls
    evaluator = Evaluator(None, 10, 10_000, tf_env_name="tf:CartPole-v0")
    evaluator(agent.policy)
    started = time.perf_counter()
    for _ in range(args.repeats):
        evaluator(agent.policy)
    rows["evaluation (10 episodes)"] = 1e6 * (time.perf_counter() - started) / args.repeats
    width = max(map(len, rows)) + 2
    for name, micros in rows.items():
        print(f"{name:{width}} {micros:10.1f} us")
    print(f"{'XLA compile of the whole iteration':{width}} {compile_seconds:10.2f} s")


def floor_update(batch):
    """The same update with nothing around it: a Dense(100)-ReLU-Dense(2) Q-network, its
    target copy, the squared TD error of 64 transitions, gradients, Adam."""
    first = batch.observation[:, 0]
    second = batch.observation[:, 1]
    action = tf.cast(batch.action[:, 0], tf.int32)
    reward = batch.reward[:, 0]
    discount = batch.discount[:, 0]
    layers = [tf.keras.layers.Dense(100, activation="relu"), tf.keras.layers.Dense(2)]
    target = [tf.keras.layers.Dense(100, activation="relu"), tf.keras.layers.Dense(2)]
    optimizer = tf.keras.optimizers.Adam(1e-3)

    def q(net, observation):
        return net[1](net[0](observation))

    q(layers, first), q(target, first)
    variables = layers[0].trainable_variables + layers[1].trainable_variables

    def body(x):
        next_q = tf.reduce_max(q(target, second), axis=-1)
        td_target = tf.stop_gradient(reward + 0.99 * discount * next_q)
        with tf.GradientTape() as tape:
            chosen = tf.gather(q(layers, first), action, batch_dims=1)
            loss = tf.reduce_mean(tf.square(td_target - chosen))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        for online, copy in zip(variables, target[0].variables + target[1].variables,
                                strict=True):
            copy.assign(online)
        return x + loss

    return body


if __name__ == "__main__":
    main()
