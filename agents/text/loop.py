"""The feedback loop on a text task, top to bottom: generate, ask, fit, (optionally) GRPO.

1. sample ``completions`` completions of every prompt from the LM, score them with the
   task's hidden rule, and store them as text segments;
2. over ``iterations``, choose pairs of completions of one prompt (uniformly first, then
   by the reward model's disagreement), have the teacher answer them, store the answers,
   and refit the reward model on every answer so far;
3. measure the model against the rule on pairs it never saw, export the answers as TRL
   preference rows, save the model;
4. optionally train the LM with TRL's GRPO on the learned reward, then sample again and
   compare learned and true scores before and after (reward hacking shows as a learned
   score that rises while the true one does not).

``--teacher store`` answers nothing itself: it fits on the answers people gave in the
run's store (``python -m rlhf_envs.compare --text DIR``), after posting the queries.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from agents.config import STORE_TEACHER
from agents.monitoring import correlation
from agents.text.generation import Generator
from agents.text.models import load_language_model
from agents.text.reward_model import TextEncoder, TextRewardModel
from agents.text.rows import preference_rows, write_rows
from agents.text.tasks import TextTask, read_prompts
from agents.text.trainers import reward_function, train_grpo
from feedback.answers import LEFT, RIGHT
from feedback.errors import FeedbackError
from feedback.files import write_json, write_text
from feedback.queries import select_pairs
from feedback.segments import Segment, true_returns
from feedback.store import HUMAN, FeedbackStore
from feedback.teachers import SyntheticTeacher, make_teacher
from feedback.text import text_segment

HELDOUT_PROMPTS = 0.2  # share of prompts never asked about, to measure the model on
EVALUATION_PAIRS = 500  # the most pairs of those prompts it is measured on


def generate_segments(generator: Generator, task: TextTask, per_prompt: int) -> list[Segment]:
    """Completions of every prompt as scored text segments (repeated texts kept once)."""
    segments: dict[str, Segment] = {}
    for index, (prompt, completions) in enumerate(
            zip(task.prompts, generator.sample(task.prompts, per_prompt))):
        for sample, (completion, score) in enumerate(zip(completions,
                                                         task.scores(completions))):
            segment = text_segment(prompt, completion, score, task=task.name,
                                   episode=index, start=sample)
            segments.setdefault(segment.id, segment)
    return list(segments.values())


def rule_agreement(model: TextRewardModel, segments: list[Segment], pairs: np.ndarray) -> float:
    """Share of ``pairs`` with different true scores that the model orders as the rule does."""
    true = true_returns(segments)
    pairs = pairs[true[pairs[:, 0]] != true[pairs[:, 1]]]
    if not len(pairs):
        raise FeedbackError("no evaluation pair has two different true scores")
    left, right = [segments[i] for i in pairs[:, 0]], [segments[i] for i in pairs[:, 1]]
    answers = [LEFT if true[i] > true[j] else RIGHT for i, j in pairs.tolist()]
    return float(model.agreement(left, right, answers))


def post_queries(store: FeedbackStore, segments: list[Segment], labels: int,
                 rng: np.random.Generator) -> None:
    """Post ``labels`` queries for people, unless the store has queries already."""
    if not store.pending_queries() and not store.labels():
        pairs = select_pairs(segments, labels, rng, strategy="uniform",
                             groups=[s.episode for s in segments])
        store.add_queries([(segments[i].id, segments[j].id) for i, j in pairs])


def ask(store: FeedbackStore, teacher: SyntheticTeacher, model: TextRewardModel,
        segments: list[Segment], budget: int, rng: np.random.Generator, iteration: int,
        strategy: str) -> None:
    """Choose ``budget`` new pairs (uniform in the first iteration), answer and store them."""
    strategy = "uniform" if iteration == 0 else strategy
    pairs = select_pairs(segments, budget, rng, strategy=strategy,
                         model=model if iteration else None,
                         groups=[s.episode for s in segments], exclude=store.asked_pairs())
    left, right = [segments[i] for i in pairs[:, 0]], [segments[j] for j in pairs[:, 1]]
    ids = store.add_queries([(a.id, b.id) for a, b in zip(left, right)], strategy=strategy,
                            iteration=iteration)
    store.add_labels(zip(ids, teacher.answer_segments(left, right)), teacher.name)


def run(args: argparse.Namespace) -> dict:
    """Run the loop the arguments ask for; writes the run directory and returns its metrics."""
    started = time.perf_counter()
    out = Path(args.out)
    task = TextTask(args.task, read_prompts(args.prompts), args.rule)
    lm, tokenizer = load_language_model(args.model, args.device, download=args.download)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    generator = Generator(lm, tokenizer, max_new_tokens=args.max_new_tokens, seed=args.seed)

    t0 = time.perf_counter()
    segments = generate_segments(generator, task, args.completions)
    generation_seconds = time.perf_counter() - t0
    # A share of the prompts is never asked about: the model is measured on their pairs.
    heldout_prompts = set(rng.permutation(len(task.prompts))[
        :max(1, round(HELDOUT_PROMPTS * len(task.prompts)))].tolist())
    asked = [s for s in segments if s.episode not in heldout_prompts]
    kept = [s for s in segments if s.episode in heldout_prompts]
    evaluation = select_pairs(kept, EVALUATION_PAIRS, rng, strategy="uniform",
                              groups=[s.episode for s in kept])
    encoder = TextEncoder(lm.base_model, tokenizer)
    model = TextRewardModel(encoder, task=task.name, seed=args.seed, device=args.device)

    history, labelling_seconds = [], 0.0
    with FeedbackStore(out / "feedback.db") as store:
        store.add_segments(segments)
        if args.teacher == STORE_TEACHER:
            post_queries(store, asked, args.labels, rng)
            fit = _fit(model, store, segments, args.epochs)
        else:
            teacher = make_teacher(args.teacher, seed=args.seed)
            for iteration, budget in enumerate(_budgets(args.labels, args.iterations)):
                t0 = time.perf_counter()
                ask(store, teacher, model, asked, budget, rng, iteration, args.queries)
                labelling_seconds += time.perf_counter() - t0
                fit = _fit(model, store, segments, args.epochs)
                history.append({"iteration": iteration, **fit})
        rows = preference_rows(store)
    write_rows(out / "preferences.jsonl", rows)
    model.save(out / "reward_model")

    metrics = {
        "task": task.name, "rule": task.rule, "model": str(args.model),
        "teacher": args.teacher, "seed": args.seed, "prompts": len(task.prompts),
        "completions": len(segments), "labels": fit["labels"], "labels_from_people": fit["people"],
        "preference_rows": len(rows),
        "heldout_agreement": fit["heldout_agreement"],
        "rule_agreement": rule_agreement(model, kept, evaluation),
        "rule_agreement_pairs": len(evaluation),
        "score_correlation": correlation(model.segment_returns(segments),
                                         true_returns(segments)),
        "generation_seconds": generation_seconds,
        "completions_per_second": len(task.prompts) * args.completions / generation_seconds,
        "labelling_seconds": labelling_seconds, "fit_seconds": fit["fit_seconds"],
        "device": args.device,
    }
    if args.grpo_steps:
        metrics |= _grpo(args, task, model, lm, tokenizer, out)
    metrics["seconds"] = time.perf_counter() - started
    write_json(out / "metrics.json", metrics)
    write_json(out / "history.json", history)
    write_text(out / "report.md", _report(metrics, history))
    return metrics


def _budgets(labels: int, iterations: int) -> list[int]:
    """``labels`` split over ``iterations`` (the first ones get the remainder)."""
    base, extra = divmod(labels, iterations)
    return [base + (k < extra) for k in range(iterations) if base + (k < extra)]


def _fit(model: TextRewardModel, store: FeedbackStore, segments: list[Segment],
         epochs: int) -> dict:
    """Refit on every answer in the store (any annotator); one-line error if there is none."""
    position = {s.id: k for k, s in enumerate(segments)}
    labels = [lab for lab in store.labels()
              if lab.left_id in position and lab.right_id in position]
    if not labels:
        raise FeedbackError(f"no answers in {store.path} yet: give them with python -m "
                            f"rlhf_envs.compare --text {store.path.parent}")
    pairs = np.array([(position[lab.left_id], position[lab.right_id]) for lab in labels])
    report = model.fit(segments, pairs, [lab.answer for lab in labels], epochs=epochs)
    return {"labels": len(labels), "heldout_agreement": report.heldout_agreement,
            "fit_seconds": report.seconds,
            "people": sum(lab.annotator_kind == HUMAN for lab in labels)}


def _grpo(args, task: TextTask, model: TextRewardModel, lm, tokenizer, out: Path) -> dict:
    """A few GRPO steps on the learned reward; learned and true scores before and after."""
    def scores(generator: Generator) -> tuple[float, float]:
        completions = generator.sample(task.prompts, 2)
        prompts = [p for p, cs in zip(task.prompts, completions) for _ in cs]
        flat = [c for cs in completions for c in cs]
        return float(np.mean(model.score(prompts, flat))), float(np.mean(task.scores(flat)))

    options = dict(max_new_tokens=args.max_new_tokens, seed=args.seed + 1)
    before = scores(Generator(lm, tokenizer, **options))
    policy_dir = out / "policy"
    lm.save_pretrained(policy_dir / "start")
    tokenizer.save_pretrained(policy_dir / "start")
    loss = train_grpo(task.prompts, policy_dir / "start", [reward_function(model)], policy_dir,
                      steps=args.grpo_steps, max_completion_length=args.max_new_tokens,
                      device=args.device)
    tuned, tuned_tokenizer = load_language_model(policy_dir, args.device)
    after = scores(Generator(tuned, tuned_tokenizer, **options))
    return {"grpo_steps": args.grpo_steps, "grpo_loss": loss,
            "learned_score_before": before[0], "true_score_before": before[1],
            "learned_score_after": after[0], "true_score_after": after[1]}


def _report(metrics: dict, history: list[dict]) -> str:
    lines = [f"# Text run: {metrics['task']} ({metrics['rule']})", "",
             f"Model {metrics['model']}, teacher {metrics['teacher']}, seed {metrics['seed']}: "
             f"{metrics['completions']} completions of {metrics['prompts']} prompts, "
             f"{metrics['labels']} labels.", "", "| measure | value |", "|---|---|"]
    for key, value in metrics.items():
        if isinstance(value, float):
            lines.append(f"| {key} | {value:.3f} |")
    if history:
        lines += ["", "| iteration | labels | held-out agreement |", "|---|---|---|"]
        for row in history:
            agreement = row["heldout_agreement"]
            lines.append(f"| {row['iteration']} | {row['labels']} | "
                         f"{'n/a' if agreement is None else f'{agreement:.3f}'} |")
    return "\n".join(lines) + "\n"
