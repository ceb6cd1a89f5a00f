import json

import numpy as np
import pytest
import torch
from conftest import one_line
from gymnasium import spaces

from feedback.errors import FeedbackError, ModelCardError
from feedback.reward_model import RewardModel
from feedback.segments import cut_segments, sample_pairs
from feedback.teachers import make_teacher

CHEETAH_OBS = spaces.Box(-np.inf, np.inf, (17,), np.float64)
CHEETAH_ACT = spaces.Box(-1, 1, (6,), np.float32)


def oracle_pairs(segments, n, seed):
    pairs = sample_pairs(len(segments), n, np.random.default_rng(seed))
    left = [segments[i] for i in pairs[:, 0]]
    right = [segments[i] for i in pairs[:, 1]]
    return pairs, left, right, make_teacher("oracle").answer_segments(left, right)


@pytest.fixture(scope="module")
def fitted(cheetah_train):
    model = RewardModel(CHEETAH_OBS, CHEETAH_ACT, env_id="HalfCheetah-v5", seed=0)
    pairs, _, _, answers = oracle_pairs(cheetah_train, 500, seed=0)
    report = model.fit(cheetah_train, pairs, answers, epochs=40)
    return model, report


def test_500_oracle_labels_agree_with_the_oracle_on_fresh_pairs(fitted, cheetah_test):
    model, report = fitted
    assert report.n_train + report.n_heldout == 500
    assert report.heldout_agreement is not None and report.heldout_agreement >= 0.8
    _, left, right, answers = oracle_pairs(cheetah_test, 1000, seed=1)
    assert model.agreement(left, right, answers) >= 0.85


def test_numpy_predict_matches_the_torch_ensemble(fitted, cheetah_test):
    model, _ = fitted
    segment = cheetah_test[0]
    fast = model.predict(segment.obs, segment.acts)
    features = torch.from_numpy(model.feature_spec.encode(segment.obs, segment.acts))
    with torch.no_grad():
        members = model._members(features.expand(model.ensemble_size, -1, -1))
    slow = (members.mean(0).numpy() - model.output_mean) / model.output_std
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-4)
    # Output normalisation: about zero mean and unit spread over what it was fitted on.
    everything = np.concatenate([model.predict(s.obs, s.acts) for s in cheetah_test])
    assert abs(everything.mean()) < 0.5 and 0.5 < everything.std() < 2.0


def test_save_and_load_round_trip(fitted, tmp_path, cheetah_test):
    model, _ = fitted
    model.save(tmp_path / "rm")
    card = json.loads((tmp_path / "rm" / "card.json").read_text())
    assert card["env_id"] == "HalfCheetah-v5" and card["label_count"] == 500
    assert len(card["labels_hash"]) == 64 and card["metrics"]["heldout_agreement"] >= 0.8
    loaded = RewardModel.load(tmp_path / "rm", env_id="HalfCheetah-v5",
                              observation_space=CHEETAH_OBS, action_space=CHEETAH_ACT)
    segment = cheetah_test[3]
    np.testing.assert_allclose(loaded.predict(segment.obs, segment.acts),
                               model.predict(segment.obs, segment.acts), rtol=1e-6)


def test_bad_model_files_give_one_line(fitted, tmp_path):
    model, _ = fitted
    path = model.save(tmp_path / "rm")
    with pytest.raises(ModelCardError) as err:
        RewardModel.load(path, env_id="Hopper-v5")
    assert "trained for HalfCheetah-v5, not Hopper-v5" in one_line(err)
    with pytest.raises(ModelCardError) as err:
        RewardModel.load(path, observation_space=spaces.Box(-1, 1, (11,)))
    assert "observation space differs" in one_line(err)

    weights = path / "weights.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelCardError) as err:
        RewardModel.load(path)
    assert "truncated" in one_line(err)
    weights.write_bytes(data)

    card_path = path / "card.json"
    card = json.loads(card_path.read_text())
    card_path.write_text(json.dumps({**card, "format_version": 99}))
    with pytest.raises(ModelCardError) as err:
        RewardModel.load(path)
    assert "format version 99" in one_line(err)
    card_path.write_text("{not json")
    with pytest.raises(ModelCardError) as err:
        RewardModel.load(path)
    assert "not valid JSON" in one_line(err)
    with pytest.raises(ModelCardError) as err:
        RewardModel.load(tmp_path / "nowhere")
    assert "no card.json" in one_line(err)


def test_discrete_actions_and_next_observations():
    rng = np.random.default_rng(0)
    obs_space, act_space = spaces.Box(-1, 1, (3,), np.float32), spaces.Discrete(4)
    # True reward: +1 for action 2, else 0; plus a little from the next observation.
    segments = []
    for episode in range(40):
        obs = rng.uniform(-1, 1, (51, 3)).astype(np.float32)
        acts = rng.integers(0, 4, 50)
        rewards = (acts == 2).astype(float) + 0.1 * obs[1:, 0]
        segments += cut_segments(obs, acts, rewards, length=10, episode=episode)
    model = RewardModel(obs_space, act_space, use_next_obs=True, seed=1)
    pairs, left, right, answers = oracle_pairs(segments, 400, seed=2)
    model.fit(segments, pairs, answers, epochs=30)
    assert model.agreement(left, right, answers) > 0.85
    probe = np.zeros((4, 3), np.float32)
    rewards = model.predict(probe, np.arange(4), probe)
    assert rewards.argmax() == 2
    features = model.feature_spec.encode(probe, np.arange(4), probe)
    assert features.shape == (4, 3 + 4 + 3)
    with pytest.raises(FeedbackError) as err:
        model.predict(probe, np.arange(4))
    assert "next observations" in one_line(err)


@pytest.mark.parametrize("hidden_sizes", [(8,), (16, 8), (8, 8, 8)])
def test_folded_forward_pass_matches_torch_for_every_space_and_depth(hidden_sizes):
    obs_space = spaces.Box(-1, 1, (2, 3), np.float32)
    act_space = spaces.MultiDiscrete([3, 2])
    model = RewardModel(obs_space, act_space, hidden_sizes=hidden_sizes, use_next_obs=True,
                        ensemble_size=2, seed=3)
    rng = np.random.default_rng(0)
    with torch.no_grad():  # make the folded normalisations matter
        model.feature_mean = torch.from_numpy(rng.normal(size=model.feature_spec.dim)).float()
        model.feature_std = torch.from_numpy(rng.uniform(0.5, 2, model.feature_spec.dim)).float()
    model.output_mean, model.output_std = 0.3, 1.7
    model._refresh_numpy()
    for n in (1, 8, 300):  # 300: above the batch size whose buffers are kept
        obs = rng.uniform(-1, 1, (n, 2, 3)).astype(np.float32)
        next_obs = rng.uniform(-1, 1, (n, 2, 3))
        acts = np.stack([rng.integers(0, 3, n), rng.integers(0, 2, n)], axis=1)
        features = torch.from_numpy(model.feature_spec.encode(obs, acts, next_obs))
        with torch.no_grad():
            members = model._members(features.expand(model.ensemble_size, -1, -1))
        slow = (members.mean(0).numpy() - 0.3) / 1.7
        fast = model.predict(obs, acts, next_obs)
        np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-5)
        again = model.predict(obs[::-1].copy(), acts[::-1].copy(), next_obs[::-1].copy())
        np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-5)  # not overwritten
        np.testing.assert_allclose(again, slow[::-1], rtol=1e-4, atol=1e-5)
    with pytest.raises(FeedbackError) as err:
        RewardModel(obs_space, act_space, hidden_sizes=())
    assert "at least one hidden layer" in one_line(err)


def test_fit_rejects_bad_labels(cheetah_train):
    model = RewardModel(CHEETAH_OBS, CHEETAH_ACT)
    pairs = np.array([[0, 1], [2, 3]])
    with pytest.raises(FeedbackError) as err:
        model.fit(cheetah_train, pairs, ["left", "maybe"])
    assert "unknown answers" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        model.fit(cheetah_train, pairs, ["skip", "skip"])
    assert "no usable labels" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        model.fit(cheetah_train, pairs, ["left"])
    one_line(err)
    with pytest.raises(FeedbackError) as err:
        RewardModel(CHEETAH_OBS, CHEETAH_ACT, ensemble_size=0)
    assert "ensemble size" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        RewardModel(spaces.Dict({"a": CHEETAH_OBS}), CHEETAH_ACT)
    assert "not Dict" in one_line(err)


def test_equal_answers_pull_returns_together(cheetah_train):
    model = RewardModel(CHEETAH_OBS, CHEETAH_ACT, seed=0)
    pairs = np.array([[0, 1]] * 64)
    model.fit(cheetah_train, pairs, ["equal"] * 64, epochs=30, heldout_fraction=0)
    returns = model.member_returns(cheetah_train[:2])
    assert np.abs(returns[:, 0] - returns[:, 1]).max() < 0.5


def test_models_survive_copy_and_pickle(fitted, cheetah_test):
    import copy
    import pickle

    model, _ = fitted
    segment = cheetah_test[0]
    expected = model.predict(segment.obs, segment.acts)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_allclose(clone.predict(segment.obs, segment.acts), expected)


def test_a_view_reads_only_its_columns_in_both_paths_and_is_saved(tmp_path):
    obs_space, act_space = spaces.Box(-1, 1, (5,), np.float32), spaces.Box(-1, 1, (2,))
    model = RewardModel(obs_space, act_space, view={"next_obs": [1, 3]}, seed=0)
    assert model.use_next_obs and model.feature_spec.dim == 2
    rng = np.random.default_rng(0)
    obs, acts, next_obs = rng.uniform(-1, 1, (3, 8, 5)).astype(np.float32)[[0, 1, 2]]
    before = model.predict(obs, acts[:, :2], next_obs)
    changed = next_obs.copy()
    changed[:, [0, 2, 4]] = 0.5  # columns it does not read
    np.testing.assert_array_equal(model.predict(rng.normal(size=(8, 5)), acts[:, :2] * 0,
                                                changed), before)
    features = torch.from_numpy(model.feature_spec.encode(obs, acts[:, :2], next_obs))
    with torch.no_grad():
        slow = model._members(features.expand(model.ensemble_size, -1, -1)).mean(0).numpy()
    np.testing.assert_allclose(before, slow, rtol=1e-4, atol=1e-5)
    loaded = RewardModel.load(model.save(tmp_path / "model"))
    assert loaded.feature_spec.view == {"next_obs": [1, 3]}
    np.testing.assert_allclose(loaded.predict(obs, acts[:, :2], next_obs), before, rtol=1e-6)
    with pytest.raises(FeedbackError) as err:
        RewardModel(obs_space, act_space, view={"next_obs": [7]})
    assert "columns to read must be 0..4" in one_line(err)
    with pytest.raises(FeedbackError) as err:
        RewardModel(obs_space, act_space, view={"state": None})
    assert "view names some of obs, acts, next_obs" in one_line(err)
