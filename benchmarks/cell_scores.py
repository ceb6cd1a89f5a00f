"""A domain's learned-reward cells scored over seeds: IQM and interval of the normalised
score, agreement with the teacher and the oracle, and the loop's cost.

``label_efficiency``, ``teachers`` and ``queries`` tabulate and plot these rows.
"""

from __future__ import annotations

import statistics

import numpy as np

from agents.monitoring import correlation
from benchmarks.grid import TERM, TRUE_REWARD, Cell, normalized
from benchmarks.stats import iqm, reference_bootstrap, stratified_bootstrap
from feedback.answers import ANSWERS


def by_labels(cell: Cell) -> int:
    """Cells grouped by label budget (the default)."""
    return cell.labels


def score_rows(cells: list[Cell], done: dict[str, dict], group=by_labels,
               reps: int = 2_000) -> list[dict]:
    """Per group of learned-reward cells (default: per budget), over seeds: IQM score, CI,
    agreement, loop cost and the domain's own figures. Cells not done yet are left out."""
    groups: dict[object, list[tuple[dict, dict]]] = {}
    for cell in cells:
        baseline = done.get(cell.baseline().name)
        if cell.teacher == TRUE_REWARD or cell.name not in done or baseline is None:
            continue
        groups.setdefault((cell.teacher, group(cell)), []).append((done[cell.name], baseline))
    rows = []
    for (teacher, key), found in groups.items():
        metrics = [r["metrics"] for r, _ in found]
        base = [b["metrics"] for _, b in found]
        cost, cost_of = loop_cost(found)
        row = {"teacher": teacher, "group": key, "seeds": len(found),
               "labels_used": statistics.mean(m["labels_used"] for m in metrics),
               "learned_return": statistics.mean(m["true_return_mean"] for m in metrics),
               "true_return": statistics.mean(m["true_return_mean"] for m in base),
               "random_return": statistics.mean(m["random_return_mean"] for m in metrics),
               "heldout_agreement": _mean(m.get("reward_agreement_heldout") for m in metrics),
               "oracle_agreement": _mean(m.get("reward_agreement_oracle") for m in metrics),
               "loop_cost": cost, "loop_cost_of": cost_of,
               "terminated_share": _mean(m.get("terminated_share") for m in metrics),
               "true_terminated_share": _mean(b.get("terminated_share") for b in base),
               "speed_term": _mean(_per_step(m, "high_speed_reward") for m in metrics),
               "true_speed_term": _mean(_per_step(b, "high_speed_reward") for b in base)}
        row.update(agreement_at(r["history"] for r, _ in found))
        row["feedback_share"] = feedback_share(r["history"] for r, _ in found)
        row["answers"] = answer_shares(metrics)
        row["loop_cost_split"] = loop_cost_split(found)
        if not teacher.startswith(TERM):
            scores = [normalized(r, b) for r, b in found]
            if None not in scores:
                point, low, high = stratified_bootstrap({"seeds": scores}, reps=reps)
                row.update(score_iqm=point, score_low=low, score_high=high, scores=scores)
            row.update(mean_baseline_score(metrics, base, reps))
        rows.append(row)
    return rows


def mean_baseline_score(metrics: list[dict], base: list[dict], reps: int) -> dict:
    """The learned agents' scores against the true-reward agents' mean return: IQM and
    interval (``benchmarks.stats.reference_bootstrap``), and how the two agents of a seed
    covary (Pearson's r of their true returns over seeds; None under 3 seeds or with no
    spread).

    Which score reads steadier depends on that r. Where a seed's two agents covary (they
    share its initial weights and env seeds: HalfCheetah's r is 0.80-0.97), the per-seed
    ratio cancels the seed's luck. Where they do not (Walker2d 0.36, Hopper -0.99), it
    divides every score by one noisy return, and a weak baseline seed inflates its twin.

    :param metrics: the learned-reward cells' metrics, one per seed
    :param base: the true-reward cells' metrics of the same seeds, in the same order
    :param reps: bootstrap resamples
    :return: ``mean_base_iqm``, ``_low``, ``_high`` ({} where the baselines' mean is not
        above the random return) and ``twin_correlation``
    """
    learned = [m["true_return_mean"] for m in metrics]
    true = [b["true_return_mean"] for b in base]
    found = {"twin_correlation": correlation(np.array(learned), np.array(true))}
    floor = statistics.mean(m["random_return_mean"] for m in metrics)
    try:
        point, low, high = reference_bootstrap(learned, true, floor, reps=reps)
    except ValueError:
        return found
    return {**found, "mean_base_iqm": point, "mean_base_low": low, "mean_base_high": high}


def loop_cost(found: list[tuple[dict, dict]]) -> tuple[float | None, str]:
    """IQM over (learned, true-reward) cell results of the first's time over the second's,
    and which time: CPU time if every run has it (a paused run, or one waiting for a
    core, does not skew it; a loaded machine can: :func:`loop_cost_split`), else wall
    time for all (never a mix). Only pairs measured on the same kind
    of machine count (CPU seconds differed 2x between these sittings' machines); None
    if there is no such pair."""
    found = [(r, b) for r, b in found if same_machine(r.get("machine"), b.get("machine"))]
    pairs = [(r["metrics"], b["metrics"]) for r, b in found]
    cpu = all(m.get("cpu_seconds") is not None for pair in pairs for m in pair)
    key = "cpu_seconds" if cpu else "wall_seconds"
    return (iqm([learned[key] / true[key] for learned, true in pairs]) if pairs else None), key


def same_machine(a: dict | None, b: dict | None) -> bool:
    """Whether two results' machines are of one kind: torch's threads aside, and the
    processor's MHz, which some results of 2026-12-02 record and which load can change."""
    def kind(m: dict | None) -> dict:
        found = {k: v for k, v in (m or {}).items() if k != "torch_threads"}
        if "cpu" in found:
            found["cpu"] = {k: v for k, v in found["cpu"].items() if k != "mhz"}
        return found
    return kind(a) == kind(b)


def loop_cost_split(found: list[tuple[dict, dict]]) -> float | None:
    """An estimate of the loop's cost free of the load on the agent steps: IQM over pairs
    of ``(learned - learned agent + true agent) / true`` CPU time.

    The two runs' agent steps are the same work (the learned reward's prediction aside,
    about 10 us a step: BENCHMARKS, "Env loop"), yet cost up to 1.4x apart when other
    cells load the machine differently (BENCHMARKS, Hopper-v0's loop cost). The
    feedback steps stay as the learned run measured them, under its own load.

    :param found: (learned, true-reward) cell results of the same seeds
    :return: None if no pair of one machine records the split
    """
    ratios = []
    for learned, true in found:
        if not same_machine(learned.get("machine"), true.get("machine")):
            continue
        agent = [sum(h.get("agent_cpu_seconds") or 0.0 for h in r["history"])
                 for r in (learned, true)]
        cpu = [r["metrics"].get("cpu_seconds") for r in (learned, true)]
        if None not in cpu and all(agent) and cpu[1] > 0:
            ratios.append((cpu[0] - agent[0] + agent[1]) / cpu[1])
    return iqm(ratios) if ratios else None


def feedback_share(histories) -> float | None:
    """Mean share of a learned-reward run's loop CPU time spent outside the agent's
    learning (asking, the teacher, refits, monitoring), over the runs that record it.

    Unlike :func:`loop_cost`, measured inside each run: another cell's load cannot skew it.
    It leaves out the learned reward's cost inside the agent's steps.
    """
    shares = []
    for history in histories:
        rows = [h for h in history if h.get("feedback_cpu_seconds") is not None]
        total = sum(h["feedback_cpu_seconds"] + h["agent_cpu_seconds"] for h in rows)
        if rows and total > 0:
            shares.append(sum(h["feedback_cpu_seconds"] for h in rows) / total)
    return statistics.mean(shares) if shares else None


def answer_shares(metrics: list[dict]) -> dict | None:
    """Each answer's share of the labels (left, right, equal, skip), pooled over the runs
    that record it (metrics.json's ``answers``), and how many runs did; None if none.

    A skip teacher's skips and an equal teacher's ties count against the budget but say
    less than a preference: these shares tell how much of a budget was either.
    """
    recorded = [m["answers"] for m in metrics if m.get("answers")]
    total = sum(sum(answers.values()) for answers in recorded)
    if not total:
        return None
    return {"runs": len(recorded),
            "shares": {name: sum(a.get(name, 0) for a in recorded) / total for name in ANSWERS}}


AGREEMENT_LABELS = 500  # the target's budget: agreement at least 0.90 with 500 labels


def agreement_at(histories, labels: int = AGREEMENT_LABELS) -> dict:
    """Mean agreement (held-out, and oracle on fresh pairs) at each run's first refit
    with at least ``labels`` labels, and the mean label count there; {} if no run got
    that far. A grid has no 500 cell: its larger budgets' runs pass through 500."""
    found = [next((h for h in history if (h.get("labels") or 0) >= labels), None)
             for history in histories]
    found = [h for h in found if h is not None]
    if not found:
        return {}
    return {"at_labels": statistics.mean(h["labels"] for h in found),
            "at_labels_seeds": len(found),
            "at_labels_heldout_agreement": _mean(h.get("heldout_agreement") for h in found),
            "at_labels_oracle_agreement": _mean(h.get("oracle_agreement") for h in found)}


def _mean(values) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.mean(known) if known else None


def _per_step(metrics: dict, term: str) -> float | None:
    """A reward term's mean per step of the evaluation episodes (None without it)."""
    total = metrics.get("reward_terms_mean", {}).get(term)
    length = metrics.get("episode_length_mean")
    return None if total is None or not length else total / length
