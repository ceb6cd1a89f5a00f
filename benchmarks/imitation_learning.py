"""Part c. of ``benchmarks.imitation_side``: PPO on imitation's learned reward beside ours.

Our side is ``benchmarks.label_efficiency``'s own grid cells of HalfCheetah-v0 with PPO at
the same steps (each seed's true-reward cell and its oracle cell per budget): the grid
runner runs those not done yet and keeps their results under
``benchmarks/results/grid/GRID/`` like any. imitation's side is one run per seed and
budget in its venv, with the same PPO settings (``agents.hyperparams``, read at run time
and passed as JSON), kept under ``benchmarks/results/grid/GRID-imitation/`` as each
finishes: a sitting that ends mid-way loses only the run in progress, and the same
command carries on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from agents.hyperparams import Settings, settings_for
from agents.loop import FINAL_EVAL_SEED, RANDOM_POLICY_EVAL_SEED
from agents.report import normalized_score
from benchmarks.grid import TRUE_REWARD, Cell, load_results, run_grid
from benchmarks.imitation_venv import Side
from benchmarks.label_efficiency import DOMAINS, Domain
from feedback.files import write_json

ENV = "HalfCheetah-v0"  # ours, rlhf_envs/HalfCheetah-v0
THEIR_ENV = "HalfCheetah-v4"  # gymnasium 0.29's newest HalfCheetah
OUR_GRID = DOMAINS[f"{ENV}-ppo"]  # label_efficiency's, whose cells our side is


class GridError(RuntimeError):
    """Our side's cells could not be run, or imitation's kept runs do not fit this one."""


def encode(value: object) -> object:
    """SB3 keyword arguments as JSON: classes and functions as ``{"import": "module:name"}``.

    The side imports them back (``torch.nn.ReLU`` exists there too); anything else that
    JSON cannot hold is refused (ValueError), before anything runs.
    """
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    name = getattr(value, "__qualname__", "")
    if isinstance(value, type) or (callable(value) and name and "<" not in name):
        return {"import": f"{value.__module__}:{name}"}
    raise ValueError(f"cannot pass the PPO setting {value!r} to imitation's side (not JSON, "
                     "not an importable class or function)")


def sb3_kwargs(settings: Settings) -> dict:
    """The keyword arguments our loop gives SB3's PPO, ``policy_kwargs`` included.

    Rows that carry ``policy_kwargs`` (rl-zoo3's) keep them apart from the agent's other
    settings, as data with the activation named; :mod:`rlhf_envs.policies` turns them
    into SB3's, as the loop does.
    """
    kwargs = dict(settings.agent)
    if settings.policy_kwargs:
        from rlhf_envs.policies import policy_kwargs_from_data

        kwargs["policy_kwargs"] = policy_kwargs_from_data(settings.policy_kwargs)
    return kwargs


def ppo_settings(steps: int) -> dict:
    """Our PPO settings for HalfCheetah-v0, read now, and the loop's iterations for ``steps``.

    A run trains whole PPO rollouts (``n_steps`` x ``n_envs``), at least one per
    iteration; short runs (``--quick``) take fewer iterations than the table's.
    """
    settings = settings_for(ENV, "ppo")
    rollout = settings.agent["n_steps"] * settings.loop.n_envs
    if steps % rollout:
        raise ValueError(f"--steps {steps} is not a whole number of PPO rollouts of "
                         f"{rollout} steps (n_steps {settings.agent['n_steps']} x "
                         f"{settings.loop.n_envs} envs)")
    iterations = min(settings.loop.iterations, steps // rollout)
    if iterations < 2:
        raise ValueError(f"--steps {steps} is under two PPO rollouts of {rollout} steps; "
                         "imitation's loop needs two iterations at least")
    return {"agent": encode(sb3_kwargs(settings)), "n_envs": settings.loop.n_envs,
            "iterations": iterations, "default_iterations": settings.loop.iterations,
            "segment_length": settings.loop.segment_length,
            "first_label_share": settings.loop.first_label_share,
            "fit_epochs": settings.loop.fit_epochs,
            "normalize_reward": settings.loop.normalize_reward,
            "normalize_obs": settings.loop.normalize_obs,
            "eval_episodes": settings.loop.eval_episodes}


def our_domain(steps: int, labels: Sequence[int], settings: dict) -> Domain:
    """label_efficiency's HalfCheetah-v0 PPO grid at ``steps``, these budgets (the same
    cells at its own steps; fewer iterations only where ``steps`` has too few rollouts)."""
    fewer = settings["iterations"] if settings["iterations"] < settings[
        "default_iterations"] else None
    return replace(OUR_GRID, budgets=tuple(labels), timesteps=steps, iterations=fewer)


def their_name(cell: Cell) -> str:
    """The file name of imitation's run beside our ``cell``."""
    return cell.name.replace(f"_{cell.algo}_", f"_{cell.algo}-imitation_")


def their_run(side: Side, settings: dict, cell: Cell, fit_batch: int,
              hidden_sizes: list[int]) -> dict:
    """imitation's PreferenceComparisons run of ``cell``'s seed, steps and budget."""
    return side.ask(
        "learn", env_id=THEIR_ENV, n_envs=settings["n_envs"], seed=cell.seed,
        timesteps=cell.timesteps, iterations=settings["iterations"], labels=cell.labels,
        fragment_length=settings["segment_length"],
        first_label_share=settings["first_label_share"], fit_epochs=settings["fit_epochs"],
        fit_batch_size=fit_batch, hidden_sizes=hidden_sizes,
        normalize_reward=settings["normalize_reward"],
        normalize_obs=settings["normalize_obs"], ppo=settings["agent"],
        eval_episodes=settings["eval_episodes"], eval_seed=cell.seed + FINAL_EVAL_SEED,
        random_eval_seed=cell.seed + RANDOM_POLICY_EVAL_SEED)


def rounded(value: float | None, digits: int) -> float | None:
    """``round``, passing None through (an undefined normalised score)."""
    return None if value is None else round(value, digits)


def row(cell: Cell, ours: dict, baseline: dict, theirs: dict) -> dict:
    """One seed and budget: both sides' true return, score and cost, from their results."""
    random = ours["random_return_mean"]
    return {
        "seed": cell.seed, "labels": cell.labels,
        "true_reward_agent_return": round(baseline["true_return_mean"], 2),
        "true_reward_agent_cpu_seconds": baseline.get("cpu_seconds"),
        "random_return": round(random, 2),
        "ours": {"true_return": round(ours["true_return_mean"], 2),
                 "normalized_score": rounded(normalized_score(
                     ours["true_return_mean"], random, baseline["true_return_mean"]), 3),
                 "labels_used": ours["labels_used"], "timesteps": ours["timesteps"],
                 "heldout_agreement": ours["reward_agreement_heldout"],
                 "wall_seconds": ours["wall_seconds"], "cpu_seconds": ours.get("cpu_seconds")},
        "imitation": {"true_return": round(theirs["true_return_mean"], 2),
                      "normalized_score": rounded(normalized_score(
                          theirs["true_return_mean"], random, baseline["true_return_mean"]),
                          3),
                      "random_return_v4": round(theirs["random_return_mean"], 2),
                      "labels_used": theirs["labels_used"], "timesteps": theirs["timesteps"],
                      "env_steps": theirs["env_steps"],
                      "train_accuracy": theirs["reward_accuracy_train"],
                      "wall_seconds": round(theirs["wall_seconds"], 1),
                      "cpu_seconds": rounded(theirs.get("cpu_seconds"), 1)},
    }


def learning_side_by_side(side: Side, steps: int, labels: Sequence[int], seeds: int,
                          runs: Path, results: Path, workers: int, fit_batch: int,
                          hidden_sizes: list[int]) -> dict:
    """Our grid cells (run where missing), then imitation's run of each seed and budget.

    :param runs: where our cells' run directories go (``benchmarks.grid``'s ``--runs``)
    :param results: the grids' results folder (``benchmarks/results/grid``)
    :param workers: our cells run this many at once
    :param fit_batch: the reward fit's batch size, ours, given to imitation's side
    :param hidden_sizes: the reward model's hidden sizes, ours, given to imitation's side
    """
    settings = ppo_settings(steps)
    domain = our_domain(steps, labels, settings)
    cells = domain.cells(seeds)
    ours_done, errors = run_grid(cells, runs / domain.grid, results / domain.grid, workers,
                                 progress=False)
    if errors:
        raise GridError(f"our side's grid failed: {errors[0]}")
    given = {"settings": settings, "fit_batch": fit_batch, "hidden_sizes": hidden_sizes,
             "imitation": side.ask("versions")}
    theirs_folder = results / f"{domain.grid}-imitation"
    theirs_folder.mkdir(parents=True, exist_ok=True)
    theirs_done = load_results(theirs_folder)
    rows = []
    for cell in cells:
        if cell.teacher == TRUE_REWARD:
            continue
        name = their_name(cell)
        kept = theirs_done.get(name)
        if kept is None:
            kept = theirs_done[name] = {
                "cell": {"env": THEIR_ENV, "seed": cell.seed, "labels": cell.labels,
                         "timesteps": steps}, **given,
                "metrics": their_run(side, settings, cell, fit_batch, hidden_sizes)}
            write_json(theirs_folder / f"{name}.json", kept, indent=2)
        elif any(kept.get(key) != value for key, value in given.items()):
            raise GridError(f"{theirs_folder / name}.json was run with other settings or "
                            "another imitation than this run's; move it away to run it again")
        rows.append(row(cell, ours_done[cell.name]["metrics"],
                        ours_done[cell.baseline().name]["metrics"],
                        theirs_done[name]["metrics"]))
        print(json.dumps(rows[-1]), flush=True)
    return {"steps": steps, "labels": list(labels), "seeds": seeds, "settings": settings,
            "grid": domain.grid,
            "baseline": "our true-reward PPO cell of each seed (rlhf_envs/HalfCheetah-v0), "
                        "and our random policy's return, for both sides", "runs": rows}
