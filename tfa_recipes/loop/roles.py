"""The roles a recipe hands the training loop, in the shape of TF-Agents' `tf_agents/train`,
and `Parts`, the bundle a recipe's builder returns.

A recipe builds either a collector and a learner, which the loop alternates one iteration
at a time (the tutorials' Python loop: `actor.run()`, then `learner.run()`), or an
`Iterations`, which runs several whole iterations (collect, then train) in one compiled call.
Each reports the environment steps it took; the loop adds them up, in one place.

TF-Agents' own classes do the work where they fit: `tf_agents.train.Actor` drives a
`PyDriver`, `tf_agents.train.Learner` runs the agent's train step (`run(iterations=k)`
compiles k steps into one `tf.while_loop`), and `GraphIterations` reuses the learner's
`single_train_step` inside its loop.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.drivers import dynamic_step_driver
from tf_agents.metrics import py_metrics
from tf_agents.policies import tf_policy
from tf_agents.train import actor, learner
from tf_agents.utils import common

from tfa_recipes.blocks import episodes
from tfa_recipes.blocks.randomness import drawn_from
from tfa_recipes.run.checkpoints import ReplayStore


class Collector(Protocol):
    def initial_collect(self) -> int:
        """The random warm-up of a fresh run (or of a resumed one without its replay)."""

    def run(self) -> int:
        """One iteration's collection; returns the environment steps it took."""


class Learner(Protocol):
    def run(self, iterations: int) -> tf_agent.LossInfo | None:
        """`iterations` train steps; the last LossInfo, or None if there was nothing to
        learn from yet."""


class Iterations(Protocol):
    """Whole iterations per call. It may set `max_iterations_per_call`: the loop
    then asks for no more at once (it answers a stop request only between calls)."""

    def initial_collect(self) -> int: ...

    def run(self, iterations: int) -> tuple[int, tf_agent.LossInfo | None]:
        """`iterations` whole iterations (collect, then train); (environment steps,
        last LossInfo or None)."""


def no_initial_collect() -> int:
    return 0


class PyCollector:
    """`tf_agents.train.Actor` over a py environment, as the tutorials' PyDriver collects.

    steps_per_run / episodes_per_run: one iteration's collection, as the Actor takes them.
    reset_each_run: start every iteration from a fresh reset (REINFORCE's
        `collect_episode`); otherwise an iteration goes on from where the last one stopped.
    initial: the warm-up collection (a callable returning its steps); the environment is
        reset after it, as the tutorials reset before their loop.
    metrics, summary_dir, summary_interval, train_step: the Actor's own collect metrics
        and TensorBoard summaries, written every `summary_interval` of `train_step` (an
        actor process of a run with actors; the single process's loop logs its own).
    Steps are counted as TF-Agents' `EnvironmentSteps` metric and the drivers' step
    limits count them: the step from an episode's last time step into the reset is not one.
    """

    def __init__(
        self,
        env,
        policy,
        observers: Sequence[Callable[[Any], None]],
        *,
        steps_per_run: int | None = None,
        episodes_per_run: int | None = None,
        reset_each_run: bool = False,
        initial: Callable[[], int] = no_initial_collect,
        metrics: Sequence[Any] = (),
        summary_dir: str | None = None,
        summary_interval: int = 1000,
        train_step: tf.Variable | None = None,
    ) -> None:
        self._steps = py_metrics.EnvironmentSteps()
        self._actor = actor.Actor(
            env,
            policy,
            train_step if train_step is not None else tf.Variable(0, dtype=tf.int64),
            steps_per_run=steps_per_run,
            episodes_per_run=episodes_per_run,
            observers=observers,
            metrics=[self._steps, *metrics],
            summary_dir=summary_dir,
            summary_interval=summary_interval,
        )
        self._reset_each_run = reset_each_run
        self._initial = initial

    def initial_collect(self) -> int:
        steps = self._initial()
        self._actor.reset()
        return steps

    def run(self) -> int:
        if self._reset_each_run:
            self._actor.reset()
        before = self._steps.result()
        self._actor.run()
        return int(self._steps.result() - before)

    def write_summaries(self) -> None:
        """The metrics' summaries now, flushed (a process about to end)."""
        self._actor.write_metric_summaries()
        self._actor.summary_writer.flush()


def tf_agents_learner(
    agent: tf_agent.TFAgent,
    experience: Callable[[], Iterator] | None = None,
    *,
    fresh_iterator: bool = False,
    after_train: Callable[[], None] | None = None,
) -> TFAgentsLearner:
    """A `tf_agents.train.Learner` that trains `agent` on batches from `experience()`.

    `experience` makes the iterator on the first train step, not before: a replay
    buffer's dataset starts sampling when iterated, and at build time the buffer may be
    empty. `fresh_iterator`: a new one every call (nothing sampled ahead survives a
    table's clearing). `after_train` runs after each call (REINFORCE empties its table).
    """
    return TFAgentsLearner(agent, experience, fresh_iterator, after_train)


class TFAgentsLearner:
    def __init__(self, agent, experience, fresh_iterator, after_train) -> None:
        # Checkpoints, summaries and the optimizer's variable-creating trace are the
        # loop's business (it checkpoints more than the agent); the Learner only trains.
        # Its checkpoint directory is never written (checkpoint_interval=-1), but the
        # Learner restores whatever it finds there: a new empty folder of its own, never a
        # shared path (or the run's train/, where the loop's checkpoints are).
        self._unused_root = tempfile.TemporaryDirectory(prefix="tfa_recipes-learner-")
        self.learner = learner.Learner(
            self._unused_root.name,
            agent.train_step_counter,
            agent,
            checkpoint_interval=-1,
            summary_interval=0,
            run_optimizer_variable_init=False,
        )
        self._experience = experience
        self._fresh_iterator = fresh_iterator
        self._iterator = None
        self._train_once = None
        self._after_train = after_train

    def iterator(self) -> Iterator:
        if self._iterator is None:
            self._iterator = self._experience()
        return self._iterator

    def run(self, iterations: int) -> tf_agent.LossInfo:
        if self._fresh_iterator:
            loss_info = self.learner.run(iterations=iterations, iterator=self._experience())
        elif iterations == 1:
            # The tutorials' loops train one step per iteration. `Learner.run` spends
            # ~1.5 ms a call around the graph here (summary and strategy scopes, matching
            # the iterator argument): more than the update. Its `single_train_step`,
            # compiled with the iterator captured, is the same train step for one call.
            if self._train_once is None:
                iterator, step = self.iterator(), self.learner.single_train_step
                self._train_once = common.function(lambda: step(iterator))
            loss_info = self._train_once()
        else:
            loss_info = self.learner.run(iterations=iterations, iterator=self.iterator())
        if self._after_train is not None:
            self._after_train()
        return loss_info


class GraphIterations:
    """Whole iterations in one compiled `tf.while_loop`: the driver's `run()` (an in-graph
    `DynamicStepDriver`), then the learner's `single_train_step`, `iterations` times.

    The same work in the same order as calling them one after the other from Python, as
    the older notebooks do; one graph call per chunk of iterations instead of two per
    iteration.
    """

    def __init__(
        self,
        driver: dynamic_step_driver.DynamicStepDriver,
        train: TFAgentsLearner,
        *,
        steps_per_iteration: int,
        initial: Callable[[], int] = no_initial_collect,
        max_iterations_per_call: int | None = None,
        generator: tf.random.Generator | None = None,
        jit_compile: bool = False,
    ) -> None:
        """generator: the loop's randomness (exploration, replay sampling) drawn from it
        (`blocks.randomness`), so a resumed run draws what an uninterrupted one draws.
        jit_compile: compile the iterations with XLA (everything in them must be in the
        graph, with no CriticalSection: a TF-native environment, `RingReplayBuffer`)."""
        self.max_iterations_per_call = max_iterations_per_call
        self._jit_compile = jit_compile
        self._generator = generator
        self._driver = driver
        self._train = train
        self._steps_per_iteration = steps_per_iteration
        self._initial = initial
        self._run_iterations = None

    def _compile(self) -> Callable[[tf.Tensor], tf.Tensor]:
        driver, iterator = self._driver, self._train.iterator()
        train_step = self._train.learner.single_train_step

        # AutoGraph off, as `common.function` has it: TF-Agents' code is written for graphs.
        @common.function(jit_compile=self._jit_compile)
        def run_iterations(iterations):
            def body(i, _):
                driver.run()
                return i + 1, train_step(iterator).loss

            # The first iteration outside the loop gives the loss its shape.
            first = body(tf.constant(0), tf.constant(0.0))
            _, loss = tf.while_loop(
                lambda i, _: i < iterations, body, first, parallel_iterations=1
            )
            return loss

        return run_iterations

    def initial_collect(self) -> int:
        return self._initial()

    def trace(self) -> None:
        """Trace the compiled call without running it: the variables its first call
        creates (the optimizer's slots) then exist, at their initial values."""
        with drawn_from(self._generator) if self._generator else contextlib.nullcontext():
            self._compiled().get_concrete_function(tf.TensorSpec([], tf.int32))

    def _compiled(self) -> Callable[[tf.Tensor], tf.Tensor]:
        if self._run_iterations is None:
            self._run_iterations = self._compile()
        return self._run_iterations

    def run(self, iterations: int) -> tuple[int, tf_agent.LossInfo]:
        # The first call traces (and a retrace would trace again) inside the substitution.
        with drawn_from(self._generator) if self._generator else contextlib.nullcontext():
            loss = self._compiled()(tf.constant(iterations))
        return iterations * self._steps_per_iteration, tf_agent.LossInfo(loss=loss, extra=())


class GraphEpisodes:
    """REINFORCE's iteration in the graph, many per compiled call: a batch of episodes from
    a TF-native environment (`blocks.episodes.collect_episodes`), one of them picked and
    trained on (the tutorial's `sample_batch_size=1` from a table it then clears), with the
    loop's randomness drawn from `generator` (`blocks.randomness`)."""

    def __init__(
        self,
        env: Any,
        agent: tf_agent.TFAgent,
        *,
        generator: tf.random.Generator,
        max_iterations_per_call: int | None = None,
    ) -> None:
        self.max_iterations_per_call = max_iterations_per_call
        self._env, self._agent, self._generator = env, agent, generator
        self._run_iterations = None

    def _compile(self) -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
        env, agent = self._env, self._agent
        # A boundary after the longest episode, and one spare step.
        max_length = env.max_episode_steps + 2

        # The collection compiles with XLA (its shapes are static: a batch of episodes of
        # at most `max_length`); the update takes the picked episode at its own length,
        # which XLA would compile anew for every length, so it stays a graph.
        @tf.function(jit_compile=True, autograph=False)
        def collect():
            return episodes.collect_episodes(
                env, agent.collect_policy, agent.collect_data_spec, max_length
            )

        @common.function
        def run_iterations(iterations):
            def body(i, steps, _):
                trajectories, lengths = collect()
                episode, _ = episodes.one_episode(trajectories, lengths)
                loss = agent.train(episode).loss
                return i + 1, steps + tf.reduce_sum(lengths - 1), loss

            first = body(tf.constant(0), tf.constant(0), tf.constant(0.0))
            _, steps, loss = tf.while_loop(
                lambda i, *_: i < iterations, body, first, parallel_iterations=1
            )
            return steps, loss

        return run_iterations

    def initial_collect(self) -> int:
        return 0

    def trace(self) -> None:
        """As `GraphIterations.trace`."""
        with drawn_from(self._generator):
            self._compiled().get_concrete_function(tf.TensorSpec([], tf.int32))

    def _compiled(self) -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]:
        if self._run_iterations is None:
            self._run_iterations = self._compile()
        return self._run_iterations

    def run(self, iterations: int) -> tuple[int, tf_agent.LossInfo]:
        with drawn_from(self._generator):
            steps, loss = self._compiled()(tf.constant(iterations))
        return int(steps), tf_agent.LossInfo(loss=loss, extra=())


class SerialIterations:
    """A collector and a learner, one iteration at a time: `collector.run()`, then
    `learner.run(1)`, as the tutorials' loops alternate them."""

    # The loop looks between calls for a stop request and for due triggers.
    max_iterations_per_call = 1

    def __init__(self, collector: Collector, learner: Learner) -> None:
        self._collector = collector
        self._learner = learner

    def initial_collect(self) -> int:
        return self._collector.initial_collect()

    def run(self, iterations: int) -> tuple[int, tf_agent.LossInfo | None]:
        steps, loss_info = 0, None
        for _ in range(iterations):
            steps += self._collector.run()
            loss_info = self._learner.run(1)
        return steps, loss_info


@dataclass(frozen=True)
class Parts:
    """What a recipe's builder builds; the loop drives it.

    Either `iterations` (whole iterations per compiled call) or a `collector` and a
    `learner` (one iteration at a time from Python).
    trackables: state saved in the checkpoint beside the agent (an in-graph replay
        buffer, the recipe's own counters).
    replay: replay contents that live outside the checkpoint (Reverb): written with each
        checkpoint, and refilled by the warm-up if a resumed run finds them gone.
    eval_policy: the policy evaluated and filmed (default: `agent.policy`).
    train_metrics: `tf_metrics` that collection feeds; logged with the loss (console,
        TensorBoard `train/Metrics/<name>`, metrics.csv `Train<name>`) and checkpointed.
    """

    agent: tf_agent.TFAgent
    iterations: Iterations | None = None
    collector: Collector | None = None
    learner: Learner | None = None
    trackables: Mapping[str, Any] = field(default_factory=dict)
    replay: ReplayStore | None = None
    eval_policy: tf_policy.TFPolicy | None = None
    train_metrics: Sequence[Any] = ()

    def __post_init__(self) -> None:
        serial = self.collector is not None and self.learner is not None
        if serial == (self.iterations is not None):
            raise ValueError("Parts needs a collector and a learner, or iterations alone")

    def runner(self) -> Iterations:
        """What the loop calls for whole iterations."""
        if self.iterations is not None:
            return self.iterations
        return SerialIterations(self.collector, self.learner)
