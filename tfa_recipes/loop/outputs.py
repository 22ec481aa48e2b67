"""What a run leaves a user to open besides its metrics: the plots, the videos of the
trained, random and best agents, and the evaluation of an exported policy."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tf_agents.policies import py_tf_eager_policy, random_py_policy, tf_policy

from tfa_recipes.blocks.policies import CompiledPyTFEagerPolicy
from tfa_recipes.envs.names import tf_native_name
from tfa_recipes.errors import RecipeError, first_line
from tfa_recipes.loop.evaluation import Evaluator
from tfa_recipes.output import media
from tfa_recipes.run.directory import RunDir
from tfa_recipes.seeds import EVAL_SEED_OFFSET, VIDEO_SEED_OFFSET


def plot_returns(recipe: Any, run: RunDir, random_average_return: float | None) -> None:
    """returns.png and loss.png, with the random policy's and the tutorial's returns."""
    references = {}
    if random_average_return is not None:
        references["random policy"] = random_average_return
    if recipe.published_return is not None:
        label, value = recipe.published_return
        references[label] = value
    media.plot_run(run, ylim_top=recipe.plot_ylim_top, references=references)


def write_agent_videos(
    recipe: Any, config: Any, run: RunDir, trained_policy: tf_policy.TFPolicy
) -> None:
    """trained-agent and random-agent videos, as the tutorials end (and best-agent, the
    policy kept at its best evaluation, where the recipe keeps one)."""
    if config.num_video_episodes == 0:
        return
    py_env = recipe.make_env(config, config.seed + VIDEO_SEED_OFFSET)
    policies = {
        "trained-agent": CompiledPyTFEagerPolicy(trained_policy),
        "random-agent": random_py_policy.RandomPyPolicy(
            py_env.time_step_spec(), py_env.action_spec()
        ),
    }
    if recipe.export_best_policy and (run.best_policy_dir / "saved_model.pb").is_file():
        policies["best-agent"] = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
            str(run.best_policy_dir), py_env.time_step_spec(), py_env.action_spec()
        )
    for name, policy in policies.items():
        media.record_policy(
            py_env,
            policy,
            run.video(name, config.video_format),
            num_episodes=config.num_video_episodes,
            fps=config.video_fps,
            max_frames=recipe.max_video_frames,
        )


def evaluate_saved_policy(
    recipe: Any, config: Any, run: RunDir, *, best: bool = False
) -> tuple[float, Any]:
    """Load `policies/policy` (or `policies/best_policy`) of a run, evaluate it and film it.

    The evaluation is training's: the same compiled `Evaluator` on the same seeded
    episodes (`config.seed + EVAL_SEED_OFFSET`), so a greedy policy scores what the run's
    last evaluation of it scored. Returns the average return over `num_eval_episodes`
    and the video path (or None).
    """
    policy_dir = run.best_policy_dir if best else run.policy_dir
    if not (policy_dir / "saved_model.pb").is_file():
        raise RecipeError(f"no exported policy in {policy_dir}: train the run first")

    def make_env(seed: int) -> Any:
        return recipe.make_env(config, seed)

    def unreadable(error: Exception) -> RecipeError:
        return RecipeError(f"cannot load the policy in {policy_dir}: {first_line(error)}")

    try:
        policy = tf.saved_model.load(str(policy_dir))
    except Exception as error:  # noqa: BLE001 - a damaged SavedModel fails in many ways
        # (truncated variables: IndexError "Read less bytes than requested")
        raise unreadable(error) from None
    try:
        evaluator = Evaluator(
            make_env,
            config.num_eval_episodes,
            config.seed + EVAL_SEED_OFFSET,
            tf_env_name=tf_native_name(config),
        )
        result = evaluator(policy)
    except (OSError, ValueError, tf.errors.OpError) as error:
        raise unreadable(error) from None
    video = None
    if config.num_video_episodes:
        py_env = make_env(config.seed + VIDEO_SEED_OFFSET)
        video = media.record_policy(
            py_env,
            py_tf_eager_policy.SavedModelPyTFEagerPolicy(
                str(policy_dir), py_env.time_step_spec(), py_env.action_spec()
            ),
            run.video("saved-best-policy" if best else "saved-policy", config.video_format),
            num_episodes=config.num_video_episodes,
            fps=config.video_fps,
            max_frames=recipe.max_video_frames,
        )
    return result.average_return, video
