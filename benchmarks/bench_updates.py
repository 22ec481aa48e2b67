"""Milliseconds per DQN update for the convolutional recipes, and what changes them.

For the pixel CartPole network (batch 128 of 40x90x3 screen-patch differences, conv +
batch norm, RMSprop) and Breakout's (batch 64 of 84x84x4 uint8 frames, the Atari conv
net, centered RMSprop), times `agent.train` on a fixed batch of 2-step experience, each
variant in a fresh process (oneDNN is chosen when TensorFlow loads):

- TF-Agents' `DqnAgent` or `agents.DqnAgent` (one target-network pass per TD target);
- TensorFlow's own CPU kernels or oneDNN's (`TF_ENABLE_ONEDNN_OPTS`).

It prints the update's floating-point operations as TensorFlow's profiler counts them
(forward and backward convolutions and matrix products) and the rate achieved.

    python benchmarks/bench_updates.py [--updates 30] [--network pixels|breakout|both]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measure(network: str, agent_kind: str, updates: int) -> dict:
    import numpy as np
    import tensorflow as tf
    from tf_agents.agents.dqn import dqn_agent
    from tf_agents.specs import tensor_spec
    from tf_agents.trajectories import time_step as ts
    from tf_agents.utils import common

    from tfa_recipes.blocks import agents, networks

    tf.keras.utils.set_random_seed(0)
    if network == "pixels":
        observation_spec = tensor_spec.TensorSpec((40, 90, 3), tf.float32)
        action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
        q_net = networks.pixel_q_network(observation_spec, action_spec)
        target = networks.pixel_q_network(observation_spec, action_spec)
        optimizer = tf.keras.optimizers.RMSprop(0.001, rho=0.99, epsilon=1e-16, clipvalue=1.0)
        batch, kwargs = 128, {"gamma": 0.999, "target_update_period": None}
    else:
        observation_spec = tensor_spec.BoundedTensorSpec((84, 84, 4), tf.uint8, 0, 255)
        action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 3)
        q_net = networks.classic_q_network(
            observation_spec, action_spec, [512],
            conv_layer_params=[(32, (8, 8), 4), (64, (4, 4), 2), (64, (3, 3), 1)],
            preprocessing_layers=tf.keras.layers.Lambda(lambda obs: tf.cast(obs, tf.float32) / 255),
        )
        target = None
        optimizer = tf.keras.optimizers.RMSprop(2.5e-4, rho=0.95, epsilon=1e-5, centered=True)
        batch, kwargs = 64, {"gamma": 0.99, "target_update_period": 2000}
    agent_cls = agents.DqnAgent if agent_kind == "one-target-pass" else dqn_agent.DqnAgent
    agent = agent_cls(
        ts.time_step_spec(observation_spec), action_spec, q_network=q_net,
        target_q_network=target, optimizer=optimizer,
        td_errors_loss_fn=common.element_wise_huber_loss,
        train_step_counter=tf.Variable(0, dtype=tf.int64), **kwargs,
    )
    agent.initialize()
    spec = tensor_spec.add_outer_dim(tensor_spec.add_outer_dim(agent.collect_data_spec, 2), batch)
    rng = np.random.default_rng(0)
    sample = tensor_spec.sample_spec_nest(spec, seed=0)
    observation = (
        rng.normal(size=sample.observation.shape).astype(np.float32)
        if network == "pixels"
        else rng.integers(0, 255, size=sample.observation.shape, dtype=np.uint8)
    )
    experience = sample._replace(
        observation=tf.constant(observation),
        step_type=tf.ones_like(sample.step_type),
        next_step_type=tf.ones_like(sample.next_step_type),
        discount=tf.ones_like(sample.discount),
        reward=tf.ones_like(sample.reward),
        policy_info=(),
    )
    train = tf.function(agent.train)
    concrete = train.get_concrete_function(experience)
    flops = _float_ops(concrete.graph)
    for _ in range(3):
        train(experience).loss.numpy()
    started = time.perf_counter()
    for _ in range(updates):
        loss = train(experience).loss
    loss.numpy()
    seconds = (time.perf_counter() - started) / updates
    return {"ms": seconds * 1e3, "gflop": flops / 1e9, "gflops": flops / seconds / 1e9}


def _float_ops(graph) -> float:
    import tensorflow as tf

    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    try:
        return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)
    except Exception:  # noqa: BLE001 - the count is a figure, not a requirement
        return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--network", choices=("pixels", "breakout", "both"), default="both")
    parser.add_argument("--child", nargs=2, metavar=("NETWORK", "AGENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print("RESULT " + json.dumps(measure(*args.child, args.updates)), flush=True)
        return
    networks = ("pixels", "breakout") if args.network == "both" else (args.network,)
    print(f"CPU cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'network':9} {'agent':17} {'kernels':8} {'ms/update':>10} {'GFLOP':>7} {'GFLOP/s':>8}")
    for network in networks:
        for agent_kind in ("DqnAgent", "one-target-pass"):
            for onednn in ("0", "1"):
                env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn, "TF_CPP_MIN_LOG_LEVEL": "3"}
                completed = subprocess.run(
                    [sys.executable, __file__, "--child", network, agent_kind,
                     "--updates", str(args.updates)],
                    capture_output=True, text=True, env=env, cwd=REPO, check=True,
                )
                line = next(
                    out for out in completed.stdout.splitlines() if out.startswith("RESULT ")
                )
                row = json.loads(line[len("RESULT "):])
                kernels = "oneDNN" if onednn == "1" else "TF"
                print(f"{network:9} {agent_kind:17} {kernels:8} {row['ms']:10.1f} "
                      f"{row['gflop']:7.2f} {row['gflops']:8.1f}")


if __name__ == "__main__":
    main()
