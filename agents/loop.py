"""The RLHF loop, top to bottom: ask for labels, fit the reward model, train the agent.

    1. random rollouts -> the first candidate segments (SegmentRecorder on the VecEnv)
    2. ask: a quarter of the label budget first (Christiano et al. 2017), later pairs by
       ensemble disagreement, with label batches falling off as 1/k
    3. fit the reward model on all the store's feedback; the VecEnv's reward is swapped,
       SAC's replay buffer relabelled
    4. the agent trains on the learned reward; its experience becomes new candidates
    5. record the iteration's figures and checkpoint; repeat 2-5
    6. finish: evaluate on the true reward, write metrics.json, report.md, rollout.mp4

``--true-reward`` runs the same loop with the feedback steps switched off (one object,
:class:`~agents.reward_learning.TrueRewardBaseline`): the same agent, steps and seed on
the hidden task reward, the baseline that normalised scores are measured against.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
from stable_baselines3 import SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from tqdm import tqdm

from agents.config import (
    ALGOS,
    LoopState,
    RunConfig,
    check_config,
    resolve_device,
    shared_run_id,
    steps_per_iteration,
)
from agents.envs import evaluate, make_reward_env
from agents.hyperparams import Settings
from agents.monitoring import IterationRecord, correlation, oracle_agreement, reward_hacking
from agents.reward_learning import RewardLearning, TrueRewardBaseline, label_targets
from agents.run_dir import checkpoint_dir, prepare_out, save_checkpoint, write_outputs
from feedback.errors import FeedbackError
from feedback.reward_model import FitReport, RewardModel
from feedback.segments import Segment, true_returns
from rlhf_envs.policies import agent_policy
from rlhf_envs.sb3.checkpoint import restore_agent
from rlhf_envs.sb3.obs_normalization import acting_policy, normalize_obs_env
from rlhf_envs.sb3.segment_recorder import SegmentRecorder

__all__ = ["RunConfig", "label_targets", "relabel_replay_buffer", "run"]

RANDOM_POLICY_EVAL_SEED = 10_000  # evaluation episodes are seeded from seed + these
FINAL_EVAL_SEED = 20_000
SEGMENT_ID_STREAM = 1  # segment ids come from np.random.default_rng([seed, 1, resumes])
RECENT_EPISODES = 20  # episodes that make an iteration's true return
RELABEL_CHUNK = 65_536  # transitions per predict call when relabelling a replay buffer
Feedback = RewardLearning | TrueRewardBaseline


def run(config: RunConfig) -> dict:
    """Run (or resume) one training run; return the metrics written to metrics.json."""
    clock = now()
    settings = check_config(config)
    steps = steps_per_iteration(config, settings)
    out = prepare_out(config.out, config.resume)
    device = resolve_device(config.device, config.threads)
    envs, recorder, agent = build_envs(config, settings, out, device)
    # The one switch between the baseline and RLHF: the feedback steps, or none.
    feedback = (TrueRewardBaseline() if config.true_reward
                else RewardLearning(config, settings, recorder, out, device))
    state = resume(config, out, envs, recorder, agent, feedback) if config.resume else LoopState()
    if not state.random_returns:
        state.random_returns = evaluate(config.env_id, settings.loop.eval_episodes,
                                        config.seed + RANDOM_POLICY_EVAL_SEED).returns
    if state.iteration == 0:
        feedback.first_segments(recorder, config.seed)

    bar = tqdm(total=sum(steps), initial=sum(steps[: state.iteration]), unit="step",
               desc=config.env_id, disable=not config.progress)
    for iteration in range(state.iteration, settings.loop.iterations):
        started = time.process_time()
        feedback.ask(iteration)
        report = fit(feedback, envs, agent, iteration)
        labels = feedback.label_count()
        agent_started = time.process_time()
        segments = train_agent(agent, recorder, steps[iteration], bar, labels)
        agent_cpu = time.process_time() - agent_started
        feedback.keep(segments)
        record_iteration(state, iteration, labels, agent, recorder, segments, feedback, report,
                         started, agent_cpu)
        state.iteration, state.buffer_ids = iteration + 1, feedback.buffer_ids()
        clock = charge(state, clock)
        save_checkpoint(out, agent, feedback.model, envs, state)
    bar.close()
    return finish(config, settings, out, state, envs, recorder, agent, feedback, clock)


def now() -> tuple[float, float]:
    """Wall and CPU time now.

    CPU time is this process's, all threads (its envs step in it): a run's cost that
    other work on the machine, or a paused run, does not inflate.
    """
    return time.monotonic(), time.process_time()


def charge(state: LoopState, since: tuple[float, float]) -> tuple[float, float]:
    """Add the wall and CPU time since ``since`` to the run's; the time now."""
    clock = now()
    state.wall_seconds += clock[0] - since[0]
    if state.cpu_seconds is not None:  # None: resumed from a checkpoint that lacked it
        state.cpu_seconds += clock[1] - since[1]
    return clock


def segment_id_stream(config: RunConfig) -> list[int]:
    """The seed of the run's segment ids (in a shared store, with the run id in it).

    So two runs with one --seed in one store never draw the same segment ids.
    """
    run_id = shared_run_id(config)
    if run_id is None:
        return [config.seed, SEGMENT_ID_STREAM]
    digest = hashlib.sha256(run_id.encode()).digest()
    return [config.seed, SEGMENT_ID_STREAM, int.from_bytes(digest[:8], "big")]


def build_envs(config: RunConfig, settings: Settings, out: Path, device: str):
    """The env stack, bottom up: our envs -> reward swap -> segment recorder -> agent.

    With ``normalize_obs``, SB3's VecNormalize (observations only) sits between the
    recorder and the agent: the agent alone sees normalised observations; segments, the
    reward model and the teachers see raw ones.
    """
    envs = make_reward_env(config.env_id, settings.loop.n_envs, config.seed,
                           true_reward=config.true_reward,
                           normalize_reward=settings.loop.normalize_reward,
                           gamma=settings.gamma, reward_term=config.reward_term)
    recorder = SegmentRecorder(envs, config.env_id, settings.loop.segment_length,
                               rng=np.random.default_rng(segment_id_stream(config)))
    agent_env = normalize_obs_env(recorder) if settings.loop.normalize_obs else recorder
    policy, policy_kwargs = agent_policy(recorder, config.algo, settings.policy_kwargs)
    agent = ALGOS[config.algo](policy, agent_env, seed=config.seed, device=device,
                               verbose=0, tensorboard_log=str(out / "tensorboard"),
                               policy_kwargs=policy_kwargs or None, **settings.agent)
    return envs, recorder, agent


def resume(config: RunConfig, out: Path, envs, recorder: SegmentRecorder,
           agent: BaseAlgorithm, feedback: Feedback) -> LoopState:
    """Restore a run from its last checkpoint: loop state, agent, model, buffer, scale.

    The agent's checkpoint holds its observation statistics, if it normalises them.
    """
    checkpoint = checkpoint_dir(out)
    try:
        # A checkpoint from before CPU time was recorded: its first part's is unknown.
        state = LoopState(**{"cpu_seconds": None,
                             **json.loads((checkpoint / "state.json").read_text())})
    except (OSError, ValueError, TypeError) as err:
        raise FeedbackError(f"--resume: {checkpoint / 'state.json'} is damaged ({err})") from None
    state.resumes += 1  # new segment ids, apart from those drawn before the stop
    recorder.reseed_ids(np.random.default_rng([*segment_id_stream(config), state.resumes]))
    restore_agent(agent, checkpoint / "agent")
    model = feedback.restore(checkpoint, state)
    if model is not None:
        envs.set_reward_model(model)
    if state.reward_normalization is not None and envs.normalizer is not None:
        envs.normalizer.load_state_dict(state.reward_normalization)
    return state


def fit(feedback: Feedback, envs, agent: BaseAlgorithm, iteration: int) -> FitReport | None:
    """Refit the reward model on all feedback; the envs (and SAC's buffer) use it at once."""
    report = feedback.fit(iteration)
    if report is not None:
        envs.set_reward_model(feedback.model)
        if isinstance(agent, SAC):
            relabel_replay_buffer(agent, feedback.model)
    return report


def train_agent(agent: BaseAlgorithm, recorder: SegmentRecorder, steps: int, bar: tqdm,
                labels: int) -> list[Segment]:
    """Train ``steps`` agent steps on the current reward; return the segments they made."""
    agent.learn(steps, reset_num_timesteps=False, tb_log_name="agent",
                callback=Progress(bar, recorder, labels))
    return recorder.drain()


def record_iteration(state: LoopState, iteration: int, labels: int, agent: BaseAlgorithm,
                     recorder: SegmentRecorder, segments: list[Segment], feedback: Feedback,
                     report: FitReport | None, started: float,
                     agent_cpu: float) -> IterationRecord:
    """Log the iteration's figures (history, TensorBoard) and flag reward hacking.

    :param started: CPU time (``time.process_time``) when the iteration began
    :param agent_cpu: CPU seconds of the iteration's agent learning, of all since ``started``
    """
    true_segment = true_returns(segments) if segments else np.array([])
    learned_segment = feedback.learned_returns(segments) if report is not None else None
    episodes = list(recorder.episode_true_returns)[-RECENT_EPISODES:]
    feedback_cpu = time.process_time() - started - agent_cpu
    record = IterationRecord(
        iteration=iteration,
        timesteps=int(agent.num_timesteps),
        labels=labels,
        heldout_agreement=report.heldout_agreement if report is not None else None,
        return_correlation=None if learned_segment is None
        else correlation(learned_segment, true_segment),
        oracle_agreement=None if learned_segment is None
        else oracle_agreement(learned_segment, true_segment),
        true_return_mean=float(np.mean(episodes)) if episodes else None,
        true_segment_return_mean=float(true_segment.mean()) if len(true_segment) else None,
        learned_return_mean=None if learned_segment is None else float(learned_segment.mean()),
        agent_cpu_seconds=round(agent_cpu, 2),
        feedback_cpu_seconds=round(feedback_cpu, 2),
    )
    state.history.append(asdict(record))
    for key, value in state.history[-1].items():  # TensorBoard, beside SB3's own
        if value is not None and key not in ("iteration", "timesteps"):
            agent.logger.record(f"rlhf/{key}", value)
    agent.logger.dump(agent.num_timesteps)
    if reward_hacking(state.history):
        alert = (f"iteration {iteration}: learned return rose while true return fell over "
                 "two iterations (possible reward hacking)")
        warnings.warn(alert, stacklevel=2)
        state.alerts.append(alert)
    return record


def finish(config: RunConfig, settings: Settings, out: Path, state: LoopState, envs,
           recorder: SegmentRecorder, agent: BaseAlgorithm, feedback: Feedback,
           clock: tuple[float, float]) -> dict:
    """Evaluate on the true reward, save the agent and model, write the outputs."""
    evaluation = evaluate(config.env_id, settings.loop.eval_episodes,
                          config.seed + FINAL_EVAL_SEED, acting_policy(agent), keep_states=True,
                          deterministic=settings.loop.eval_deterministic)
    agent.save(out / "policy.zip")
    if feedback.model is not None and feedback.model.label_count:
        feedback.model.save(out / "reward_model")
    charge(state, clock)
    metrics = write_outputs(config, out, state, feedback.model, feedback.counts(), evaluation,
                            agent, envs.normalizer)
    feedback.close()
    recorder.close()
    return metrics


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


def relabel_replay_buffer(agent: SAC, model: RewardModel, chunk: int = RELABEL_CHUNK) -> None:
    """Recompute every stored reward with the refitted model (off-policy data stays valid)."""
    buffer = agent.replay_buffer
    filled = buffer.buffer_size if buffer.full else buffer.pos
    if not filled:
        return
    n_envs = buffer.n_envs
    obs = buffer.observations[:filled].reshape(filled * n_envs, -1)
    acts = agent.policy.unscale_action(buffer.actions[:filled].reshape(filled * n_envs, -1))
    next_obs = None
    if model.use_next_obs:
        next_obs = buffer.next_observations[:filled].reshape(filled * n_envs, -1)
    rewards = np.concatenate([
        model.predict(obs[k : k + chunk], acts[k : k + chunk],
                      None if next_obs is None else next_obs[k : k + chunk])
        for k in range(0, len(obs), chunk)
    ])
    buffer.rewards[:filled] = rewards.reshape(filled, n_envs)
