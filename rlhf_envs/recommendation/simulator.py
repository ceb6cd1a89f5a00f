"""SlateRec: a slate recommender following RecSim's interest-evolution user model.

Ie et al. 2019, "RecSim: A Configurable Simulation Platform for Recommender Systems".
Every step the env offers ``num_candidates`` documents drawn from a corpus; the agent
scores them and the ``slate_size`` best-scored form the slate, best first. The user model:

- *choice*: a multinomial logit over the slate plus a no-click option; item ``d`` in slot
  ``k`` has logit ``2 * interest[topic_d] + 3 * appeal_d + k * log(position_decay)``, no
  click has ``no_click_logit``;
- *watching*: ``length_d * clip(0.6 + 0.6 * quality_d, 0.05, 1)`` minutes (people leave
  bad videos early), at most the remaining budget;
- *budget* (minutes): ``browse_cost`` per step; a click costs its watch time and gives
  back ``refill * watch * (quality_d + 0.5 * interest[topic_d])`` (RecSim's update), so
  good content that the user likes gives most of its time back and bad content takes
  extra (with the default ``refill`` of 0.6 at most 90% comes back, so the budget never
  grows; above 2/3 the best-liked content extends it). The session terminates when the
  budget is spent;
- *interest drift*: ``interest[topic_d] += interest_drift * (1 - interest[topic_d])``.

The corpus: a ``clickbait_fraction`` of documents are clickbait (quality U(-1, -0.3),
appeal U(0.6, 1)); the rest have quality N(0.4, 0.35) clipped to [-1, 1] and appeal
U(0, 0.8); lengths are U(min_length, max_length) for all.

The true reward is the step's watch time, so the return is the session's total watch
time. Clicks, the reward one would write by hand, are the wrong proxy: clickbait is
clicked more and bounced off quickly. With the defaults (20 sessions each) a random
slate gets ~113 steps, 92 clicks, 199 minutes; clickbait first ~113 clicks, 153 minutes;
the highest-quality items first ~95 clicks, 317 minutes.

Vectorised with numpy and precomputed per reset, so a step is a few small array ops.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from feedback.errors import FeedbackError, check_count
from rlhf_envs.clips import task_info
from rlhf_envs.recommendation.render import HEADER, SlateRecClipRenderer, render_state_size

TERMS = ("watch_time", "clicks", "clickbait")
DOC_FEATURES = 3  # appeal, rating, length (after the topic one-hot)


class SlateRecEnv(gym.Env):
    """Slate recommendation with a hidden long-term reward (total watch time).

    **Action**: ``Box(-1, 1, (num_candidates,))`` float32 scores; the slate is the
    ``slate_size`` top-scored candidates, ordered by score (slot 0 = highest score, the
    one the user looks at first). A continuous action works for both PPO and SAC.

    **Observation**: flat float32 ``Box`` of size ``T + (C + K) * (T + 3) + K + 2``:

    - ``[0, T)``: the user's interest per topic, in [-1, 1] (RecSim also exposes it);
    - per candidate ``c``, at ``T + c * (T + 3)``: topic one-hot (``T``), then *appeal*
      (how clickable its title and thumbnail look, [0, 1]), *rating* (true quality plus
      fixed per-document noise of std ``rating_noise``, clipped to [-2, 2]), and
      *length* (duration / ``max_length``, [0, 1]);
    - the response to the last slate, what a platform logs and a person judging the
      session would see: the features of each of its ``K`` documents as above, the slot
      clicked (one-hot over ``K``, all zeros for no click) and the watch time /
      ``max_length`` (all zeros after a reset);
    - last: remaining budget as a fraction of the initial budget, [0, ``max_budget_factor``].

    The reward model reads only that response block of ``s'`` (:attr:`reward_view`):
    what a person judging the session sees, the slates and what the user did with them.
    The chance in the watch time (which item the user picks) is then in its inputs, not
    left to be guessed from the scores, and the next step's candidates (130 numbers that
    say nothing about this step) are not there to overfit on.

    The true quality and the clickbait flag are hidden: appeal of clickbait and of normal
    documents overlaps, and the rating is noisy, so a learner has to work out which
    appealing items are worth showing, not read it off one feature.

    **Episode**: terminates when the budget runs out; the env itself truncates after
    ``max_steps`` steps (register it without ``max_episode_steps``).

    **Reward**: the watch time of the step in minutes. ``info["reward_terms"]`` holds
    ``watch_time``, ``clicks`` (1 if an item was clicked) and ``clickbait`` (1 if the
    clicked item was clickbait); ``info["render_state"]`` is laid out in
    :mod:`rlhf_envs.recommendation.render`.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        num_candidates: int = 10,
        slate_size: int = 3,
        num_topics: int = 10,
        corpus_size: int = 500,
        max_steps: int = 200,
        clickbait_fraction: float = 0.2,
        initial_budget: float = 180.0,
        max_budget_factor: float = 2.0,
        browse_cost: float = 0.5,
        refill: float = 0.6,
        interest_drift: float = 0.1,
        position_decay: float = 0.7,
        no_click_logit: float = 1.5,
        rating_noise: float = 0.5,
        min_length: float = 1.0,
        max_length: float = 6.0,
        render_mode: str | None = None,
        render_size: int = 256,
    ) -> None:
        self.C = check_count("num_candidates", num_candidates, 1)
        self.K = check_count("slate_size", slate_size, 1)
        self.T = check_count("num_topics", num_topics, 1)
        self.N = check_count("corpus_size", corpus_size, 1)
        self.max_steps = check_count("max_steps", max_steps, 1)
        if self.K > self.C:
            raise FeedbackError(
                f"slate_size ({self.K}) must not exceed num_candidates ({self.C})"
            )
        if self.C > self.N:
            raise FeedbackError(f"num_candidates ({self.C}) must not exceed corpus_size ({self.N})")
        _in_range("clickbait_fraction", clickbait_fraction, 0.0, 1.0)
        _in_range("interest_drift", interest_drift, 0.0, 1.0)
        _in_range("position_decay", position_decay, 0.0, 1.0, positive=True)
        for name, value in [("initial_budget", initial_budget), ("browse_cost", browse_cost),
                            ("min_length", min_length)]:
            _in_range(name, value, positive=True)
        _in_range("max_length", max_length, low=min_length)
        _in_range("max_budget_factor", max_budget_factor, low=1.0)
        _in_range("refill", refill, low=0.0)
        _in_range("rating_noise", rating_noise, low=0.0)
        _in_range("no_click_logit", no_click_logit)
        render_size = check_count("render_size", render_size, 32)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise FeedbackError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.clickbait_fraction = float(clickbait_fraction)
        self.initial_budget, self.browse_cost = float(initial_budget), float(browse_cost)
        self.max_budget = float(initial_budget * max_budget_factor)
        self.refill, self.interest_drift = float(refill), float(interest_drift)
        self.no_click_weight = float(np.exp(no_click_logit))
        self.rating_noise = float(rating_noise)
        self.min_length, self.max_length = float(min_length), float(max_length)
        self.render_mode = render_mode
        self._renderer = SlateRecClipRenderer("rlhf_envs/SlateRec-v0", render_size, render_size)

        self.interest_scale, self.appeal_scale = 2.0, 3.0  # logit weights of interest, appeal
        self.interest_utility = 0.5  # how much topic interest adds to satisfaction
        self._log_attention = np.log(position_decay) * np.arange(self.K)
        self.doc_size = self.T + DOC_FEATURES
        self.response_size = self.K * self.doc_size + self.K + 1
        obs_size = self.T + self.C * self.doc_size + self.response_size + 1
        low = np.zeros(obs_size, np.float32)
        high = np.ones(obs_size, np.float32)
        low[: self.T] = -1.0
        ratings = self.T + self.T + 1 + self.doc_size * np.arange(self.C + self.K)
        low[ratings], high[ratings] = -2.0, 2.0
        high[-1] = max_budget_factor
        self.observation_space = spaces.Box(low, high, dtype=np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (self.C,), dtype=np.float32)
        self._render_state = np.zeros(render_state_size(self.K, self.T))
        self._render_state[:2] = self.K, self.T
        self._render_state[5] = self.max_length

    @property
    def slate_layout(self) -> dict[str, int]:
        """Where candidates are in the observation, for policies that score each one."""
        return {"num_topics": self.T, "num_candidates": self.C, "doc_size": self.doc_size}

    @property
    def reward_view(self) -> dict[str, list[int]]:
        """What a reward model of this env reads: the response block of the next observation."""
        start = self.T + self.C * self.doc_size
        return {"next_obs": list(range(start, start + self.response_size))}

    # -- corpus and state -------------------------------------------------------------
    def _sample_corpus(self) -> None:
        """Draw documents: topic, clickbait flag, quality, appeal, rating and length."""
        rng, n = self.np_random, self.N
        self.topic = rng.integers(0, self.T, n)
        self.clickbait = rng.random(n) < self.clickbait_fraction
        self.quality = np.where(self.clickbait, rng.uniform(-1.0, -0.3, n),
                                np.clip(rng.normal(0.4, 0.35, n), -1.0, 1.0))
        self.appeal = np.where(self.clickbait, rng.uniform(0.6, 1.0, n), rng.uniform(0.0, 0.8, n))
        self.length = rng.uniform(self.min_length, self.max_length, n)
        # Users abandon bad videos early: the part watched grows with quality.
        self.watch = self.length * np.clip(0.6 + 0.6 * self.quality, 0.05, 1.0)
        rating = np.clip(self.quality + self.rating_noise * rng.normal(size=n), -2.0, 2.0)
        features = np.zeros((n, self.doc_size), np.float32)
        features[np.arange(n), self.topic] = 1.0
        features[:, self.T:] = np.stack([self.appeal, rating, self.length / self.max_length], 1)
        self._features = features
        self._appeal_logit = self.appeal_scale * self.appeal

    def _observe(self) -> np.ndarray:
        return np.concatenate([
            self.interests.astype(np.float32),
            self._features[self.candidates].ravel(),
            self._response,
            np.array([self.budget / self.initial_budget], np.float32),
        ])

    def _respond(self, slate: np.ndarray, chosen: int, watch_time: float) -> None:
        """The observation's response block: the slate shown, the click, the watch time."""
        k, size = self.K, self.K * self.doc_size
        self._response[:size] = self._features[slate].ravel()
        self._response[size:size + k] = 0.0
        if chosen >= 0:
            self._response[size + chosen] = 1.0
        self._response[-1] = watch_time / self.max_length

    def _sample_candidates(self) -> None:
        self.candidates = self.np_random.choice(self.N, self.C, replace=False)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Sample a new corpus, user (interests in [-1, 1]) and first candidates."""
        super().reset(seed=seed)
        self._sample_corpus()
        self.interests = self.np_random.uniform(-1.0, 1.0, self.T)
        self.budget, self.steps = self.initial_budget, 0
        self.slate = np.zeros(0, np.int64)
        self.chosen = -1
        self._response = np.zeros(self.response_size, np.float32)
        self._sample_candidates()
        state = self._render_state
        state[2:5] = -1.0, 1.0, 0.0
        state[HEADER:HEADER + 3 * self.K] = -1.0  # no slate shown yet
        state[HEADER + 3 * self.K:] = self.interests
        return self._observe(), task_info({}, 0.0, dict.fromkeys(TERMS, 0.0), state.copy())

    def step(self, action):
        """Show the top-scored slate; the user clicks one item or none, and watches it."""
        scores = np.asarray(action, dtype=np.float64).reshape(self.C)
        order = np.argsort(-scores, kind="stable")[: self.K]
        slate = self.candidates[order]
        topics = self.topic[slate]
        weights = np.exp(self.interest_scale * self.interests[topics]
                         + self._appeal_logit[slate] + self._log_attention)
        cumulative = np.cumsum(weights)
        pick = self.np_random.random() * (cumulative[-1] + self.no_click_weight)
        chosen = int(np.searchsorted(cumulative, pick, side="right"))

        self.budget -= self.browse_cost
        watch_time = clicked = bait = 0.0
        if chosen < self.K and self.budget > 0.0:  # a user out of time leaves, unclicked
            doc = slate[chosen]
            topic = topics[chosen]
            watch_time = min(self.watch[doc], self.budget)
            utility = self.quality[doc] + self.interest_utility * self.interests[topic]
            self.budget += watch_time * (self.refill * utility - 1.0)
            self.interests[topic] += self.interest_drift * (1.0 - self.interests[topic])
            clicked, bait = 1.0, float(self.clickbait[doc])
        else:
            chosen = -1
        self.budget = min(self.budget, self.max_budget)
        self.steps += 1
        terminated = self.budget <= 0.0
        truncated = not terminated and self.steps >= self.max_steps
        self.budget = max(self.budget, 0.0)
        self.slate, self.chosen = slate, chosen
        self._respond(slate, chosen, watch_time)
        self._sample_candidates()

        state, k = self._render_state, self.K
        state[2:5] = chosen, self.budget / self.initial_budget, watch_time
        state[HEADER:HEADER + k] = topics
        state[HEADER + k:HEADER + 2 * k] = self.quality[slate]
        state[HEADER + 2 * k:HEADER + 3 * k] = self.clickbait[slate]
        state[HEADER + 3 * k:] = self.interests
        terms = {"watch_time": watch_time, "clicks": clicked, "clickbait": bait}
        info = task_info({}, watch_time, terms, state.copy())
        return self._observe(), float(watch_time), terminated, truncated, info

    def render(self) -> np.ndarray | None:
        """The current step's picture (``render_mode="rgb_array"``), else ``None``."""
        if self.render_mode != "rgb_array":
            return None
        return self._renderer.draw(self._render_state)


def _in_range(
    name: str, value: float, low: float = -np.inf, high: float = np.inf, positive: bool = False
) -> None:
    """Raise a one-line error unless ``value`` is a finite number in range."""
    try:
        ok = bool(np.isfinite(value)) and low <= value <= high and (value > 0 or not positive)
    except TypeError:
        ok = False
    if ok:
        return
    if np.isfinite(high):
        want = f"between {low:g} and {high:g}" + (", above 0" if positive else "")
    elif positive:
        want = "a number above 0"
    else:
        want = f"a number of at least {low:g}" if np.isfinite(low) else "a finite number"
    raise FeedbackError(f"{name} must be {want}, got {value!r}")
