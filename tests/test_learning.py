"""Learning claim (slow): the learned-reward agent against the true-reward agent."""

import pytest

from agents.loop import RunConfig, run


@pytest.mark.slow
def test_reacher_ppo_with_200_oracle_labels_reaches_0_8_of_the_true_reward_agent(tmp_path):
    common = dict(env_id="Reacher-v0", algo="ppo", timesteps=100_000, seed=0, progress=False)
    baseline = run(RunConfig(**common, true_reward=True, out=tmp_path / "true"))
    learned = run(RunConfig(**common, teacher="oracle", labels=200, out=tmp_path / "learned",
                            baseline=tmp_path / "true"))
    assert learned["labels_used"] == 200
    assert baseline["true_return_mean"] > learned["random_return_mean"] + 20
    assert learned["normalized_score"] >= 0.8, learned
