"""Regression (slow): the recipes on the TF-native CartPole reach the bars their gym runs
are held to, over five seeds. A tf: run repeats exactly, so each seed's figures below are
what this machine kind gives every time (measured 2026-12-07, AVX-512, commit 094597a+):

    dqn_cartpole_classic --env-name tf:CartPole-v0, 20,000 iterations, eval every 1,000
      seed                       0      1      2      3      4
      first evaluation >= 195    13000  10000  7000   -      1000
      best                       198.7  200.0  200.0  150.1  200.0
      whole run (s)              7.7    7.3    7.1    6.8    7.1
      (the test stops a seed at its first evaluation >= 195: its best is then that one,
      197.9, 197.0, 197.5, 150.1, 200.0)

    reinforce_cartpole --env-name tf:CartPole-v0, 250 iterations (the tutorial's 191.5)
      seed                       0      1      2      3      4
      return at 250              136.4  167.7  196.5  86.2   156.5   (median 156.5)
      whole run (s)              4.0    4.3    4.5    4.1    4.0

Each test trains seeds 0-4 as one seed group, two processes sharing their compiled calls
(`loop.train.SharedLoop`): the same figures as five runs alone (both tests together:
83.7 s with `pytest -m slow tests/test_regression_tf_native.py`, load ~3 from other work).
The bars are the gym runs' (tests/test_dqn_cartpole_classic.py,
tests/test_reinforce_cartpole.py). Issue 26 asked for all five classic seeds at 195 within
5,000 iterations: with the older notebook's values (a QNetwork of 100, TF1 Adam) only seed
4 gets there, on gym as here.
"""

from __future__ import annotations

import statistics

import pytest
from cli_checks import seed_group


def seeds_0_to_4(tmp_path, module: str, *flags: str) -> dict[int, dict]:
    """Seeds 0-4 as one seed group (`--seeds`, sharing compiled calls)."""
    return seed_group(module, tmp_path / "group", "0-4", "--env-name", "tf:CartPole-v0",
                      *flags, timeout=500)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_dqn_classic_on_tf_cartpole_solves_most_seeds_and_learns_on_all(tmp_path):
    summaries = seeds_0_to_4(
        tmp_path, "tfa_recipes.dqn_cartpole_classic", "--num-iterations", "20000",
        "--stop-at-return", "195",
    )
    best = {seed: summary["best_average_return"] for seed, summary in summaries.items()}
    print(f"best return per seed: {best}")
    assert sum(value >= 195 for value in best.values()) >= 4, best
    assert min(best.values()) >= 150, best


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_reinforce_on_tf_cartpole_reaches_the_tutorials_region(tmp_path):
    summaries = seeds_0_to_4(tmp_path, "tfa_recipes.reinforce_cartpole")
    final = {seed: summary["final_average_return"] for seed, summary in summaries.items()}
    print(f"return at iteration 250 per seed: {final}")
    assert statistics.median(final.values()) >= 150, final
