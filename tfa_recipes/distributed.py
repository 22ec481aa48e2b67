"""Actors and a learner over one Reverb server, in TF-Agents' distributed design.

The roles of TF-Agents' distributed examples (`tf_agents/experimental/distributed/
examples/sac`: a replay server, a train job, collect jobs), as processes of one recipe:

- replay: a Reverb server with the recipe's experience table, whose rate limiter keeps the
  recipe's train steps per environment step (`SampleToInsertRatio`), and a variable table
  the learner publishes the policy's weights to;
- learner: the recipe's own training loop (`training.train`: evaluation, checkpoints with
  the table's copy, export, plot, videos), training on what the actors wrote and pushing
  its weights every `PUSH_EVERY` train steps (`ReverbVariableContainer`);
- actor: a `tf_agents.train.Actor` over the recipe's environment with the collect policy,
  writing the tutorial's items with `ReverbAddTrajectoryObserver` and pulling the weights
  after every run; actor 0 also does the random warm-up of a fresh run.

`python -m tfa_recipes.dqn_cartpole --actors N` starts all of them on this machine and
supervises them (`launch`); `--role replay|learner|actor` starts one, for runs across
machines that share the run directory. Launchpad has no Python 3.11 wheels: these are
plain processes talking Reverb's gRPC.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import reverb
import tensorflow as tf
from tf_agents.agents import tf_agent
from tf_agents.drivers import py_driver
from tf_agents.experimental.distributed import reverb_variable_container
from tf_agents.policies import random_py_policy
from tf_agents.specs import tensor_spec
from tf_agents.train import actor as tf_actor

from tfa_recipes import replay, roles
from tfa_recipes.checkpoints import Checkpoints
from tfa_recipes.errors import RecipeError
from tfa_recipes.policies import CompiledPyTFEagerPolicy
from tfa_recipes.runs import INHERITED_LOCK_ENV, RunDir, RunLock, held_lock_fd
from tfa_recipes.training import Parts, StopRequest

ROLES = ("replay", "learner", "actor")
VARIABLES_TABLE = reverb_variable_container.DEFAULT_TABLE
# The learner publishes its weights every this many train steps: the single process acts
# with weights at most one update old, the actors with weights at most this many (each
# push is one small insert, ~0.3 ms for CartPole's network).
PUSH_EVERY = 10
# Actor i's environment and exploration seeds: the run's seed plus these.
ACTOR_SEED_OFFSET = 40_000
# How long a role waits for another before it gives up with one line.
CONNECT_TIMEOUT_SECONDS = 120.0
# Restarts of one actor the launcher allows before it stops the run.
MAX_ACTOR_RESTARTS = 5
# Seconds a process gets to stop after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 15.0


@dataclass(frozen=True)
class Fleet:
    """What a recipe hands the distributed roles.

    make_agent(config, time_step_spec, action_spec): the recipe's agent, the same in every
        role (the actors act with its collect policy, the replay server takes its specs).
    train_steps_per_env_step(config): the recipe's ratio, which the rate limiter keeps.
    eval_policy(config, agent): the policy the learner evaluates (default: agent.policy).
    """

    make_agent: Callable[..., tf_agent.TFAgent]
    sequence_length: int
    batch_size: Callable[[Any], int]
    train_steps_per_env_step: Callable[[Any], float]
    initial_collect_steps: Callable[[Any], int]
    steps_per_run: Callable[[Any], int]
    eval_policy: Callable[[Any, tf_agent.TFAgent], Any] | None = None


def dqn_fleet(
    make_agent: Callable[..., tf_agent.TFAgent],
    steps_per_train_step: Callable[[Any], int],
    eval_policy: Callable[[Any, tf_agent.TFAgent], Any] | None = None,
) -> Fleet:
    """The tutorials' DQN: 2-step items, `config.batch_size` per train step, one train step
    per `steps_per_train_step(config)` environment steps (an actor's run), and the
    warm-up of `config.initial_collect_steps`."""
    return Fleet(
        make_agent=make_agent,
        sequence_length=2,
        batch_size=lambda config: config.batch_size,
        train_steps_per_env_step=lambda config: 1 / steps_per_train_step(config),
        initial_collect_steps=lambda config: config.initial_collect_steps,
        steps_per_run=steps_per_train_step,
        eval_policy=eval_policy,
    )


def parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RecipeError(f"--replay-address must be HOST:PORT, got {text!r}")
    return host, int(port)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refuse_port_in_use(port: int) -> None:
    """gRPC binds with SO_REUSEPORT, so a second Reverb server on a busy port starts and
    shares it silently; a plain bind finds the port taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise RecipeError(
                    f"port {port} is in use: pick another --replay-address"
                ) from None
            raise


def wait_for_server(address: str, timeout: float | None = None) -> reverb.Client:
    """A client of the replay server at `address` once it answers, or one line."""
    timeout = CONNECT_TIMEOUT_SECONDS if timeout is None else timeout
    client = reverb.Client(address)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.server_info(timeout=5)
            return client
        except Exception as error:  # noqa: BLE001 - gRPC raises several kinds
            if time.monotonic() > deadline:
                raise RecipeError(
                    f"no replay server answers at {address} after {timeout:.0f} s "
                    f"({str(error).splitlines()[0][:120]}); start it with --role replay"
                ) from None
            time.sleep(0.5)


def policy_variables(agent: tf_agent.TFAgent, train_step: tf.Variable) -> dict[str, Any]:
    return {
        reverb_variable_container.POLICY_KEY: agent.collect_policy.variables(),
        reverb_variable_container.TRAIN_STEP_KEY: train_step,
    }


def agent_for(recipe, config, seed: int) -> tuple[Any, tf_agent.TFAgent]:
    """The recipe's environment with `seed` and its fleet's agent, as every role builds
    them."""
    env = recipe.make_env(config, seed)
    time_step_spec = tensor_spec.from_spec(env.time_step_spec())
    action_spec = tensor_spec.from_spec(env.action_spec())
    return env, recipe.fleet.make_agent(config, time_step_spec, action_spec)


# The replay role.


def rate_limiter(fleet: Fleet, config) -> reverb.rate_limiters.SampleToInsertRatio:
    """`samples_per_insert` items sampled per item inserted: a batch per train step, and
    the recipe's train steps per environment step. Sampling starts once the warm-up is
    in; the slack is TF-Agents' (10% of the warm-up's worth), at least what Reverb needs."""
    samples_per_insert = fleet.batch_size(config) * fleet.train_steps_per_env_step(config)
    min_size = max(1, fleet.initial_collect_steps(config))
    error_buffer = max(0.1 * min_size * samples_per_insert, 2.0 * max(1.0, samples_per_insert))
    return reverb.rate_limiters.SampleToInsertRatio(
        samples_per_insert=samples_per_insert,
        min_size_to_sample=min_size,
        error_buffer=error_buffer,
    )


def serve_replay(recipe, config, run: RunDir, address: str, say=print) -> int:
    """Serve the run's tables until the learner has finished (its summary names the last
    iteration) or SIGTERM/SIGINT. A resumed run's table is loaded from the copy of the
    checkpoint the learner restores."""
    fleet = recipe.fleet
    _, port = parse_address(address)
    refuse_port_in_use(port)
    checkpoints = Checkpoints(run)
    checkpoints.stage_replay(checkpoints.select(lambda line: None))
    env, agent = agent_for(recipe, config, config.seed)
    env.close()  # only its specs were needed
    variables = policy_variables(agent, tf.Variable(0, dtype=tf.int64))
    tables = [
        replay.uniform_table(
            agent.collect_data_spec,
            max_size=config.replay_buffer_max_length,
            rate_limiter=rate_limiter(fleet, config),
        ),
        reverb.Table(
            VARIABLES_TABLE,
            sampler=reverb.selectors.Uniform(),
            remover=reverb.selectors.Fifo(),
            rate_limiter=reverb.rate_limiters.MinSize(1),
            max_size=1,
            max_times_sampled=0,
            signature=tf.nest.map_structure(
                lambda variable: tf.TensorSpec(variable.shape, variable.dtype), variables
            ),
        ),
    ]
    server = reverb.Server(
        tables, port=port, checkpointer=replay.reverb_checkpointer(run.replay_dir)
    )
    say(f"replay server: listening on {address}")
    with StopRequest() as stop:
        while not stop.requested and not _learner_finished(run, config):
            time.sleep(0.5)
    server.stop()
    return 0


def _learner_finished(run: RunDir, config) -> bool:
    try:
        summary = json.loads(run.summary_json.read_text())
    except (OSError, ValueError):
        return False
    return "final_average_return" in summary and (
        summary.get("iterations", 0) >= config.num_iterations
        or "stopped_at_return" in summary
    )


class _FinishedWatch:
    """`_learner_finished`, read at most once every CHECK_SECONDS: an actor asks between
    collect calls of one environment step each."""

    CHECK_SECONDS = 2.0

    def __init__(self, run: RunDir, config) -> None:
        self.run, self.config = run, config
        self.next_check = 0.0
        self.finished = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self.finished and now >= self.next_check:
            self.next_check = now + self.CHECK_SECONDS
            self.finished = _learner_finished(self.run, self.config)
        return self.finished


# The learner role.


class RemoteLockstep:
    """The learner's side of a run with actors, as the training loop's `Lockstep`: each
    call trains on what the actors wrote (the rate limiter holds it to the recipe's ratio)
    and publishes the new weights; the environment steps are the table's new items."""

    max_iterations_per_call = PUSH_EVERY

    def __init__(
        self,
        learner: roles.TFAgentsLearner,
        table: replay.ReverbReplay,
        agent: tf_agent.TFAgent,
        *,
        min_items: int,
        say: Callable[[str], None] = print,
    ) -> None:
        self._learner, self._table = learner, table
        self._variables = policy_variables(agent, agent.train_step_counter)
        self._container = reverb_variable_container.ReverbVariableContainer(
            table.address, table_names=[VARIABLES_TABLE]
        )
        self._min_items = min_items
        self._say = say
        self._inserts = None

    def _new_inserts(self) -> int:
        total = self._table.num_inserts()
        new = total - (self._inserts if self._inserts is not None else total)
        self._inserts = total
        return new

    def initial_collect(self) -> int:
        """Publish the weights the actors start from, and wait for the warm-up."""
        self._container.push(self._variables)
        self._new_inserts()
        deadline = time.monotonic() + CONNECT_TIMEOUT_SECONDS
        while self._table.num_items() < self._min_items:
            if time.monotonic() > deadline:
                raise RecipeError(
                    f"the replay table at {self._table.address} holds "
                    f"{self._table.num_items()} items after {CONNECT_TIMEOUT_SECONDS:.0f} s, "
                    f"the warm-up needs {self._min_items}: are the actors running?"
                )
            time.sleep(0.2)
        return self._new_inserts()

    def run(self, iterations: int) -> tuple[int, tf_agent.LossInfo]:
        if self._inserts is None:
            # A resumed run: the actors wait for the restored weights.
            self._container.push(self._variables)
            self._new_inserts()
        loss_info = self._learner.run(iterations)
        self._container.push(self._variables)
        return self._new_inserts(), loss_info


def learner_parts(recipe, config, run: RunDir, resources, address: str) -> Parts:
    """The learner's `Parts`: the recipe's agent trained, as its single process trains it,
    on batches of the replay server's table, through `RemoteLockstep`."""
    fleet = recipe.fleet
    env, agent = agent_for(recipe, config, config.seed)
    resources.callback(env.close)
    wait_for_server(address)
    table = replay.remote_replay(
        agent.collect_data_spec,
        address=address,
        sequence_length=fleet.sequence_length,
        checkpoint_dir=run.replay_dir,
    )
    resources.callback(table.close)
    learner = roles.tf_agents_learner(
        agent,
        lambda: iter(
            table.dataset(batch_size=fleet.batch_size(config), num_steps=fleet.sequence_length)
        ),
    )
    lockstep = RemoteLockstep(
        learner, table, agent, min_items=fleet.initial_collect_steps(config)
    )
    return Parts(
        agent=agent,
        lockstep=lockstep,
        replay=table,
        eval_policy=None if fleet.eval_policy is None else fleet.eval_policy(config, agent),
    )


# The actor role.


def run_actor(recipe, config, run: RunDir, address: str, actor_id: int, say=print) -> int:
    """Collect with the newest weights the learner published until it has trained
    `num_iterations` steps, or SIGTERM/SIGINT."""
    fleet = recipe.fleet
    seed = config.seed + ACTOR_SEED_OFFSET + actor_id
    tf.keras.utils.set_random_seed(seed)
    env, agent = agent_for(recipe, config, seed)
    wait_for_server(address)
    table = replay.remote_replay(
        agent.collect_data_spec,
        address=address,
        sequence_length=fleet.sequence_length,
        write=True,
    )
    # The agent's own counter: a collect policy whose epsilon decays with the train step
    # (Breakout's) follows the learner's.
    train_step = agent.train_step_counter
    variables = policy_variables(agent, train_step)
    container = reverb_variable_container.ReverbVariableContainer(
        address, table_names=[VARIABLES_TABLE]
    )
    with StopRequest() as stop, contextlib.closing(table):
        # Blocks until the learner has published its first weights.
        container.update(variables)
        if actor_id == 0 and table.num_items() == 0:
            py_driver.PyDriver(
                env,
                random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec()),
                [table.observer],
                max_steps=fleet.initial_collect_steps(config),
            ).run(env.reset())
        # TF-Agents' collect metrics (episodes, steps, average return and length of the
        # last 10 episodes) as TensorBoard summaries of this actor, train/actor_<id>, on
        # the learner's train step: the learner does not see the episodes.
        collector = roles.PyCollector(
            env,
            CompiledPyTFEagerPolicy(agent.collect_policy),
            [table.observer],
            steps_per_run=fleet.steps_per_run(config),
            # The collector counts EnvironmentSteps itself; the rest of the set.
            metrics=[
                metric
                for metric in tf_actor.collect_metrics(10)
                if metric.name != "EnvironmentSteps"
            ],
            summary_dir=str(run.train_dir / f"actor_{actor_id}"),
            summary_interval=config.log_interval,
            train_step=train_step,
        )
        collector.initial_collect()
        say(f"actor {actor_id}: collecting from train step {int(train_step.numpy())}")
        # The learner's summary tells a run stopped by --stop-at-return before its budget.
        finished = _FinishedWatch(run, config)
        while (
            not stop.requested
            and int(train_step.numpy()) < config.num_iterations
            and not finished()
        ):
            collector.run()
            _wait_for_the_learner(table.observer, lambda: stop.requested or finished())
            container.update(variables)
        collector.write_summaries()
    env.close()
    return 0


# Items an actor may have sent that the rate limiter has not let in yet.
PENDING_ITEMS = 2


def _wait_for_the_learner(observer, done: Callable[[], bool]) -> None:
    """Hold the actor while the rate limiter holds its items back. Its writer sends items
    in the background and would go on stepping the environment (and queueing items)
    far ahead of the learner; the flush blocks instead, in short waits, so a stop
    request, or a learner that has finished, is seen."""
    # TF-Agents' observer flushes without a timeout; its writer takes one.
    writer = observer._get_writer()
    while not done():
        try:
            writer.flush(block_until_num_items=PENDING_ITEMS, timeout_ms=500)
            return
        except reverb.errors.DeadlineExceededError:
            continue


# The launcher: every role on this machine.

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: the kernel sends SIGTERM if the launcher dies, however
    it dies (SIGKILL included), so no role outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class _Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    restarts: int = 0

    lock_fd: int | None = None

    def start(self) -> None:
        # A session of its own: a Ctrl-C at the terminal reaches the launcher only, which
        # stops the roles in order (the learner saves while the server still runs).
        env = dict(os.environ)
        if self.lock_fd is not None:
            env[INHERITED_LOCK_ENV] = str(self.lock_fd)
        self.process = subprocess.Popen(
            self.argv,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            stdin=subprocess.DEVNULL,
            env=env,
            pass_fds=() if self.lock_fd is None else (self.lock_fd,),
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)

    def wait(self, deadline: float) -> None:
        """Wait until `deadline` (time.monotonic()), then SIGKILL."""
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def stop_all(children: Sequence[_Child], signum: int = signal.SIGTERM) -> None:
    """Signal every child, then give them STOP_GRACE_SECONDS together before SIGKILL."""
    for child in children:
        child.signal(signum)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        child.wait(deadline)


def describe_exit(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def role_argv(recipe, argv: Sequence[str], run: RunDir, address: str, role: str) -> list[str]:
    """The launcher's own command line for one role: the same flags (so the same config),
    the run directory and the server's address."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--run-dir", "--replay-address"):
            skip = True
            continue
        if arg.startswith(("--run-dir=", "--replay-address=")):
            continue
        kept.append(arg)
    return [
        sys.executable, "-m", recipe.module, *kept,
        "--run-dir", str(run.path), "--replay-address", address, "--role", role,
    ]


def launch(recipe, config, run: RunDir, argv: Sequence[str], address: str | None) -> int:
    """Start the replay server, the learner and `config.actors` actors on this machine;
    restart an actor that dies; stop every process on the way out. The exit code is the
    learner's (130 after Ctrl-C or SIGTERM, once the learner has saved)."""
    if address is None:
        address = f"127.0.0.1:{free_port()}"
    else:
        refuse_port_in_use(parse_address(address)[1])
    base = role_argv(recipe, argv, run, address, "replay")
    with RunLock(run):
        run.claim(recipe.name)
        # The learner shares this process's lock on the run: a second launcher on the same
        # run directory stops before it starts anything.
        return _launch(config, run, address, base, held_lock_fd(run))


def _launch(config, run: RunDir, address: str, base: list[str], lock_fd: int) -> int:
    server = _Child("replay server", base)
    learner = _Child("learner", base[:-1] + ["learner"], lock_fd=lock_fd)
    actors = [
        _Child(f"actor {i}", base[:-1] + ["actor", "--actor-id", str(i)])
        for i in range(config.actors)
    ]
    stopping = False

    def stop_request(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop_request) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        print(f"replay server: pid {server.pid} on {address}", flush=True)
        wait_for_server(address)
        learner.start()
        print(f"learner: pid {learner.pid}", flush=True)
        for actor in actors:
            actor.start()
            print(f"{actor.name}: pid {actor.pid}", flush=True)
        return _supervise(server, learner, actors, lambda: stopping)
    finally:
        # Actors first (nothing they hold needs saving), then the learner, which saves
        # while the server still runs, then the server.
        stop_all(actors)
        stop_all([learner], signal.SIGINT)
        stop_all([server])
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _supervise(server: _Child, learner: _Child, actors: list[_Child], stopping) -> int:
    forwarded = False
    while True:
        if stopping() and not forwarded:
            # The learner saves a checkpoint (the table's copy included) and exits 130.
            learner.process.send_signal(signal.SIGINT)
            forwarded = True
        code = learner.process.poll()
        if code is not None:
            if code < 0:
                print(
                    f"error: the learner stopped ({describe_exit(code)}); its last "
                    "checkpoint is kept: run the same command to resume",
                    file=sys.stderr,
                )
                return 1
            return code
        code = server.process.poll()
        # Exit 0: the server saw the learner's final summary and stopped by itself.
        if code is not None and code != 0:
            print(
                f"error: the replay server stopped ({describe_exit(code)}); the learner "
                "saves what it can: run the same command to resume",
                file=sys.stderr,
            )
            stop_all([learner], signal.SIGINT)
            return 1
        for actor in actors:
            code = actor.process.poll()
            if code is None or code == 0 or forwarded:
                continue
            if actor.restarts >= MAX_ACTOR_RESTARTS:
                print(
                    f"error: {actor.name} stopped {actor.restarts + 1} times (last: "
                    f"{describe_exit(code)}); stopping the run",
                    file=sys.stderr,
                )
                stop_all([learner], signal.SIGINT)
                return 1
            actor.restarts += 1
            print(f"{actor.name} stopped ({describe_exit(code)}); restarting it", flush=True)
            actor.start()
            print(f"{actor.name}: pid {actor.pid}", flush=True)
        time.sleep(0.2)


def refuse_mode_change(started, config, run: RunDir) -> None:
    """A run keeps whether it has actors: its checkpoints' copy of the table holds the
    tables of that set-up (with actors, a rate-limited table and the weights' table), which
    the other set-up's server cannot load. The number of actors may change."""
    if (started.actors == 0) != (config.actors == 0):
        then, now = ("with", "--actors N (N >= 1)") if started.actors else ("without", "--actors 0")
        raise RecipeError(
            f"{run.path} was started {then} actors, and its checkpoints' replay table is for "
            f"that set-up: resume it with {now}"
        )


def check_role_flags(config, role: str | None, address: str | None, actor_id: int | None) -> None:
    if role is None:
        if actor_id is not None:
            raise RecipeError("--actor-id goes with --role actor")
        return
    if role not in ROLES:
        raise RecipeError(f"--role must be one of {', '.join(ROLES)}, got {role!r}")
    if address is None:
        raise RecipeError(f"--role {role} needs --replay-address HOST:PORT")
    parse_address(address)
    if role == "actor" and actor_id is None:
        raise RecipeError("--role actor needs --actor-id N")
    if role != "actor" and actor_id is not None:
        raise RecipeError("--actor-id goes with --role actor")
    if actor_id is not None and actor_id < 0:
        raise RecipeError(f"--actor-id must be >= 0, got {actor_id}")


__all__ = [
    "Fleet",
    "dqn_fleet",
    "RemoteLockstep",
    "agent_for",
    "check_role_flags",
    "refuse_mode_change",
    "launch",
    "learner_parts",
    "run_actor",
    "serve_replay",
]
