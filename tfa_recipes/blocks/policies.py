"""Python-side policies for drivers, compiled once instead of dispatched every step."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from tf_agents.policies import py_tf_eager_policy, tf_policy
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import policy_step


class CompiledPyTFEagerPolicy(py_tf_eager_policy.PyTFEagerPolicy):
    """`PyTFEagerPolicy(policy, use_tf_function=True)` bound to one traced graph.

    Why: the tutorials' drivers take one action per call, and for CartPole's small
    networks the Python around the graph costs more than the graph. A `tf.function` call
    spends most of its time matching its arguments to a trace (typing.Protocol isinstance
    checks on Python 3.11), and PyTFEagerPolicy maps, converts, batches and unbatches each
    nest on the way in and out. For a stateless policy this one flattens the time step
    once and calls the traced graph's flat entry point directly: the same graph, the same
    variables, the same random ops, at about a third of the cost per action. Stateful
    policies keep PyTFEagerPolicy's own path through a concrete function.
    """

    def __init__(self, policy: tf_policy.TFPolicy) -> None:
        super().__init__(policy, use_tf_function=True)
        time_step_spec = tensor_spec.add_outer_dim(policy.time_step_spec, 1)
        # TF-Agents policies are written for graphs without AutoGraph (common.function
        # turns it off too); converting their source took most of a recipe's start-up.
        self._flat_action = None
        if tf.nest.flatten(policy.policy_state_spec):
            state_spec = tensor_spec.add_outer_dim(policy.policy_state_spec, 1)
            action = tf.function(
                lambda time_step, policy_state: policy.action(time_step, policy_state),
                autograph=False,
            )
            self._policy_action_fn = action.get_concrete_function(time_step_spec, state_spec)
            return

        def flat_action(*flat_time_step):
            time_step = tf.nest.pack_sequence_as(time_step_spec, flat_time_step)
            step = policy.action(time_step)
            return tf.nest.flatten((step.action, step.info))

        self._flat_action = tf.function(flat_action, autograph=False).get_concrete_function(
            *tf.nest.flatten(time_step_spec)
        )
        self._outputs = (policy.action_spec, policy.info_spec)

    def _action(self, time_step, policy_state, seed=None) -> policy_step.PolicyStep:
        if self._flat_action is None or seed is not None:
            return super()._action(time_step, policy_state, seed=seed)
        inputs = [tf.constant(np.expand_dims(item, 0)) for item in tf.nest.flatten(time_step)]
        # `_call_flat` is ConcreteFunction's own entry after argument binding (TF 2.15,
        # pinned); the inputs are already the flat tensors the binding would produce.
        outputs = self._flat_action._call_flat(inputs, self._flat_action.captured_inputs)
        action, info = tf.nest.pack_sequence_as(
            self._outputs, [output.numpy()[0, ...] for output in outputs]
        )
        return policy_step.PolicyStep(action, policy_state, info)
