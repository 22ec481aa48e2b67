"""dqn_cartpole reaches the tutorial's returns with the tutorial's hyperparameters.

The tutorial shows Average Return 200.0 from iteration 2,000 (one run). Measured here
(`python -m tfa_recipes.dqn_cartpole --num-iterations 10000 --eval-interval 500 --seed k`,
first evaluation >= 195): seeds 0-9 -> 1500, 2000, 2500, >5000 (seed 3: best 190 by 5,000),
2500, 2000, 3000, (7 not measured), 3500, 2000. Reverb's sampler takes no seed, so a seed's
run is not repeatable and each seed misses a 5,000 budget about one time in nine; a budget
of 10,000 iterations (the tutorial trains 20,000) gives every measured seed room.
"""

from __future__ import annotations

import pytest

from conftest import read_summary, run_cli

BAR = 195.0  # CartPole-v0 is "solved" at an average return of 195
BUDGET = 10_000
SEEDS = (0, 1, 2)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", SEEDS)
def test_reaches_the_cartpole_bar_within_budget(tmp_path, seed):
    run_dir = tmp_path / f"seed{seed}"
    result = run_cli(
        "tfa_recipes.dqn_cartpole",
        "--num-iterations", str(BUDGET),
        "--eval-interval", "500",
        "--log-interval", "1000",
        "--num-video-episodes", "0",
        "--seed", str(seed),
        "--run-dir", str(run_dir),
        timeout=880,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = read_summary(run_dir)
    returns = [value for _, value in summary["evaluations"]]
    first = next((it for it, value in summary["evaluations"] if value >= BAR), None)
    print(f"seed {seed}: first >= {BAR} at iteration {first}; evaluations {returns}")
    assert first is not None, f"seed {seed} never reached {BAR}: {returns}"
    # The random policy scores ~22 (the tutorial: 22.2).
    assert 15 <= summary["random_average_return"] <= 30
