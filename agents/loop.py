"""The RLHF loop, top to bottom: roll out, pick pairs, ask, fit the reward model, train on.

    1. random rollouts -> segments          (SegmentRecorder on the VecEnv)
    2. first labels: a quarter of the budget (Christiano et al. 2017), then fit
    3. the agent trains on LearnedRewardVecEnv; its experience becomes new segments
    4. query selection (ensemble disagreement) -> labels -> refit; SAC's replay buffer
       is relabelled with the new reward
    5. repeat 3-4 with a label schedule that front-loads labels; checkpoint each time
    6. evaluate on the true reward, write metrics.json, report.md, rollout.mp4

``--true-reward`` runs the same agent with the same steps and seed on the hidden task
reward: the baseline that normalised scores are measured against.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
from stable_baselines3 import SAC
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from agents.config import (
    ALGOS,
    HUMAN_TEACHER,
    STORE_TEACHER,
    LoopState,
    RunConfig,
    check_config,
    resolve_device,
)
from agents.envs import evaluate, make_reward_env
from agents.human_teacher import HumanTeacher
from agents.hyperparams import settings_for
from agents.run_dir import checkpoint_dir, prepare_out, save_checkpoint, write_outputs
from feedback.errors import FeedbackError
from feedback.queries import select_pairs
from feedback.reward_model import RewardModel
from feedback.segments import SegmentBuffer, true_returns
from feedback.store import FeedbackStore
from feedback.teachers import make_teacher
from feedback.training_pairs import training_pairs
from rlhf_envs.agent_checkpoint import restore_agent
from rlhf_envs.segment_recorder import SegmentRecorder


def label_targets(budget: int, iterations: int, first_share: float) -> list[int]:
    """Cumulative labels to have asked by the end of each iteration's labelling.

    A ``first_share`` of the budget comes first, the rest falls off as 1/k over the
    remaining iterations, so early (most informative) iterations get the most.
    """
    first = math.ceil(budget * first_share) if iterations > 1 else budget
    weights = np.array([1.0 / k for k in range(1, iterations)])
    later = (budget - first) * np.cumsum(weights) / max(weights.sum(), 1e-12)
    return [first, *[first + int(round(x)) for x in later]]


class Progress(BaseCallback):
    """A tqdm bar over the run's steps, showing labels and the latest true return."""

    def __init__(self, bar: tqdm, recorder: SegmentRecorder, labels: int) -> None:
        super().__init__()
        self.bar, self.recorder, self.labels = bar, recorder, labels

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        if self.n_calls % 200 == 0 and self.recorder.episode_true_returns:
            self.bar.set_postfix(labels=self.labels,
                                 true_return=f"{self.recorder.episode_true_returns[-1]:.1f}")
        return True


def correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or np.std(a) < 1e-12 or np.std(b) < 1e-12:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def reward_hacking(history: list[dict]) -> bool:
    """Learned return rose while true return fell, over the last two iterations."""
    if len(history) < 3:
        return False
    learned = [h["learned_return_mean"] for h in history[-3:]]
    true = [h["true_segment_return_mean"] for h in history[-3:]]
    if None in learned or None in true:
        return False
    return learned[0] < learned[1] < learned[2] and true[0] > true[1] > true[2]


def run(config: RunConfig) -> dict:
    """Run (or resume) one training run; returns the metrics written to metrics.json."""
    started = time.monotonic()
    name = check_config(config)
    out = Path(config.out)
    prepare_out(out, config.resume)
    device = resolve_device(config.device)
    settings = settings_for(name, config.algo)
    loop = settings["loop"]
    iterations = loop["iterations"] if config.iterations is None else config.iterations
    n_envs = loop["n_envs"] if config.n_envs is None else config.n_envs
    env_id, seed, learned = config.env_id, config.seed, not config.true_reward
    rng = np.random.default_rng(seed)

    # --- the env stack: domain envs -> reward swap -> segment recorder -> agent
    reward_env = make_reward_env(env_id, n_envs, seed, true_reward=config.true_reward,
                                 normalize=loop["normalize_reward"],
                                 gamma=settings["agent"]["gamma"])
    recorder = SegmentRecorder(reward_env, env_id, loop["segment_length"],
                               rng=np.random.default_rng([seed, 1]))
    agent = ALGOS[config.algo]("MlpPolicy", recorder, seed=seed, device=device, verbose=0,
                               tensorboard_log=str(out / "tensorboard"), **settings["agent"])

    # --- the feedback side: store, teacher, reward model, candidate clips
    store = FeedbackStore(out / "feedback.db") if learned else None
    teacher = None
    if learned and config.teacher == HUMAN_TEACHER:
        teacher = HumanTeacher(env_id, config.annotator)
    elif learned and config.teacher != STORE_TEACHER:
        teacher = make_teacher(config.teacher, seed=seed)
    model = RewardModel(recorder.observation_space, recorder.action_space, env_id=env_id,
                        device=device, seed=seed) if learned else None
    buffer = SegmentBuffer(loop["buffer_capacity"])
    state = LoopState()
    if config.resume:
        ckpt = checkpoint_dir(out)
        try:
            state = LoopState(**json.loads((ckpt / "state.json").read_text()))
        except (OSError, ValueError, TypeError) as err:
            raise FeedbackError(f"--resume: {ckpt / 'state.json'} is damaged ({err})") from None
        state.resumes += 1
        recorder.reseed_ids(np.random.default_rng([seed, 1, state.resumes]))
        restore_agent(agent, ckpt / "agent")
        if learned and (ckpt / "reward_model").exists():
            model = RewardModel.load(ckpt / "reward_model", env_id=env_id, device=device)
            reward_env.set_reward_model(model)
        if learned:
            buffer.add(store.get_segments(state.buffer_ids))

    # --- 1. the random policy's true return; random rollouts give the first clips
    if not state.random_returns:
        state.random_returns = evaluate(env_id, loop["eval_episodes"], seed + 10_000)[0]
    if learned and state.iteration == 0 and not len(buffer):
        recorder.source = "random"
        recorder.reset()
        recorder.action_space.seed(seed)
        for _ in range(max(2_000, loop["segment_length"] * config.labels // 2) // n_envs):
            recorder.step(np.stack([recorder.action_space.sample() for _ in range(n_envs)]))
        first_clips = recorder.drain()
        store.add_segments(first_clips)  # a checkpoint names buffer clips by id
        buffer.add(first_clips)
        recorder.episode_true_returns.clear()
        recorder.source = "policy"

    targets = label_targets(config.labels, iterations, loop["first_label_share"])
    steps_per_iteration = config.timesteps // iterations
    if config.algo == "ppo":  # PPO learns in whole rollouts: n_steps from each env
        rollout = settings["agent"]["n_steps"] * n_envs
        steps_per_iteration = max(rollout, round(steps_per_iteration / rollout) * rollout)
    bar = tqdm(total=steps_per_iteration * iterations, unit="step", desc=name,
               initial=state.iteration * steps_per_iteration, disable=not config.progress)
    for iteration in range(state.iteration, iterations):
        # --- 2/4. ask for labels up to this iteration's target, then refit
        fit = None
        if learned:
            if teacher is not None:
                ask(store, teacher, buffer, model, targets[iteration], iteration, rng,
                    config.query_strategy if iteration else "uniform")
            data = training_pairs(store, loop["segment_length"])
            if data.left_out and iteration == state.iteration:
                warnings.warn(f"{data.left_out} feedback pairs in {out / 'feedback.db'} are of "
                              f"clips of another length than {loop['segment_length']} steps; "
                              "they are left out", stacklevel=2)
            if data.answers:
                fit = model.fit(data.segments, data.pairs, data.answers,
                                epochs=loop["fit_epochs"], weights=data.weights)
                reward_env.set_reward_model(model)
                if config.algo == "sac":
                    relabel_replay_buffer(agent, model)
            elif iteration == 0:
                raise FeedbackError(f"no labels, ratings or demonstrations in "
                                    f"{out / 'feedback.db'} to fit a reward model on")

        # --- 3. the agent trains on the (learned) reward; its clips are the next candidates
        labels_so_far = store.label_count() if learned else 0
        agent.learn(steps_per_iteration, reset_num_timesteps=False, tb_log_name="agent",
                    callback=Progress(bar, recorder, labels_so_far))
        fresh = recorder.drain()
        if learned and fresh:
            store.add_segments(fresh)
            buffer.add(fresh)

        # --- monitoring: agreement, learned vs true return, reward hacking
        true_seg = true_returns(fresh) if fresh else np.array([])
        learned_seg = model.segment_returns(fresh) if learned and fresh and fit else None
        episodes = list(recorder.episode_true_returns)[-20:]
        state.history.append({
            "iteration": iteration,
            "timesteps": int(agent.num_timesteps),
            "labels": labels_so_far,
            "heldout_agreement": fit.heldout_agreement if fit else None,
            "return_correlation": correlation(learned_seg, true_seg)
            if learned_seg is not None else None,
            "true_return_mean": float(np.mean(episodes)) if episodes else None,
            "true_segment_return_mean": float(true_seg.mean()) if len(true_seg) else None,
            "learned_return_mean": float(learned_seg.mean()) if learned_seg is not None else None,
        })
        for key, value in state.history[-1].items():  # TensorBoard, beside SB3's own
            if value is not None and key not in ("iteration", "timesteps"):
                agent.logger.record(f"rlhf/{key}", value)
        agent.logger.dump(agent.num_timesteps)
        if learned and reward_hacking(state.history):
            alert = (f"iteration {iteration}: learned return rose while true return fell over "
                     "two iterations (possible reward hacking)")
            warnings.warn(alert, stacklevel=2)
            state.alerts.append(alert)
        state.iteration = iteration + 1
        state.buffer_ids = [s.id for s in buffer]
        state.wall_seconds += time.monotonic() - started
        started = time.monotonic()
        save_checkpoint(out, agent, model, state)
    bar.close()

    # --- 6. evaluate on the true reward and write everything down
    returns, states = evaluate(env_id, loop["eval_episodes"], seed + 20_000, agent,
                               keep_states=True)
    agent.save(out / "policy.zip")
    if learned and model.label_count:
        model.save(out / "reward_model")
    state.wall_seconds += time.monotonic() - started
    metrics = write_outputs(config, out, state, model, store, returns, states, agent)
    if store is not None:
        store.close()
    recorder.close()
    return metrics


def ask(store: FeedbackStore, teacher, buffer: SegmentBuffer, model: RewardModel,
        target: int, iteration: int, rng: np.random.Generator, strategy: str) -> None:
    """Bring the number of asked queries up to ``target``; each pair is asked once.

    Queries asked before a crash but not yet answered are answered first.
    """
    pending = store.pending_queries()
    asked = store.asked_pairs()
    wanted = max(0, target - len(asked))
    candidates = buffer.segments
    chosen = select_pairs(candidates, wanted, rng, strategy=strategy,
                          model=model if model.label_count else None, exclude=asked)
    if len(chosen):  # every buffer clip is in the store already
        store.add_queries([(candidates[i].id, candidates[j].id) for i, j in chosen],
                          strategy=strategy, iteration=iteration)
        pending = store.pending_queries()
    if not pending:
        return
    if isinstance(teacher, HumanTeacher):  # the person answers in the viewer, one by one
        teacher.label_pending(store)
        return
    ids = [i for q in pending for i in (q.left_id, q.right_id)]
    segments = dict(zip(ids, store.get_segments(ids)))
    answers = teacher.answer_segments([segments[q.left_id] for q in pending],
                                      [segments[q.right_id] for q in pending])
    store.add_labels(zip([q.id for q in pending], answers), teacher.name)


def relabel_replay_buffer(agent: SAC, model: RewardModel, chunk: int = 65_536) -> None:
    """Recompute every stored reward with the refitted model (off-policy data stays valid)."""
    buffer = agent.replay_buffer
    filled = buffer.buffer_size if buffer.full else buffer.pos
    if not filled:
        return
    n_envs = buffer.n_envs
    obs = buffer.observations[:filled].reshape(filled * n_envs, -1)
    acts = agent.policy.unscale_action(buffer.actions[:filled].reshape(filled * n_envs, -1))
    next_obs = None
    if model.spec.use_next_obs:
        next_obs = buffer.next_observations[:filled].reshape(filled * n_envs, -1)
    rewards = np.concatenate([
        model.predict(obs[k : k + chunk], acts[k : k + chunk],
                      None if next_obs is None else next_obs[k : k + chunk])
        for k in range(0, len(obs), chunk)
    ])
    buffer.rewards[:filled] = rewards.reshape(filled, n_envs)
