"""The table of ``benchmarks.imitation_side``'s result: every part it holds, both sides."""

from __future__ import annotations

import statistics

from benchmarks.stats import reference_bootstrap, stratified_bootstrap


def _mean(values: list[float | None], digits: int = 2) -> str:
    """Mean and, for several, the values: ``0.52 (0.40, 0.64)``; None counts as n/a."""
    known = [v for v in values if v is not None]
    if not known:
        return "n/a"
    shown = f"{statistics.mean(known):,.{digits}f}"
    if len(values) == 1:
        return shown
    each = ", ".join("n/a" if v is None else f"{v:,.{digits}f}" for v in values)
    return f"{shown} ({each})"


def markdown_table(result: dict) -> str:
    """One Markdown table of whatever parts ``result`` holds, and the envs each side ran."""
    lines = [f"ours: {result['envs']['ours']}; imitation: {result['envs']['imitation']}",
             f"load average {result['load_average']['start']} at the start, "
             f"{result['load_average']['end']} at the end ({result['machine_cpus']} CPUs)", "",
             "| what | rlhf-envs | imitation 1.0.1 | note |", "| --- | --- | --- | --- |"]
    fit = result.get("fit")
    if fit:
        epochs = f"{fit['epochs']} epoch" + ("s" if fit["epochs"] != 1 else "")
        hidden = "x".join(map(str, fit["hidden_sizes"]))
        theirs = f"{fit['imitation_seconds']:.3f} (BasicRewardNet {hidden})"
        for what, key, ours in (
                (f"a. reward-model fit (s): {fit['pairs']:,} pairs of {fit['segment_length']}"
                 f"-step segments, {epochs}, batch {fit['batch_size']}, median of "
                 f"{fit['repeats']}", "ours_one_member_seconds", f"one MLP {hidden}"),
                (f"a. the same, our default ensemble of {fit['ensemble_size']}",
                 "ours_ensemble_seconds", f"{fit['ensemble_size']} MLPs {hidden}")):
            lines.append(f"| {what} | {fit[key]:.3f} ({ours}) | {theirs} | imitation takes "
                         f"{fit['imitation_seconds'] / fit[key]:.1f}x as long |")
    wrapper = result.get("wrapper")
    if wrapper:
        ours, theirs = wrapper["ours"], wrapper["imitation"]
        for name, what, our_name, their_name in (
                ("wrapped", "reward wrapper alone", "LearnedRewardVecEnv",
                 "RewardVecEnvWrapper"),
                ("stack", "training stack", "make_reward_env + SegmentRecorder",
                 "BufferingWrapper + RewardVecEnvWrapper")):
            lines.append(
                f"| b. {what}: steps/s over the bare VecEnv, {wrapper['n_envs']} envs, median "
                f"of {wrapper['rounds']} | {ours[f'{name}_ratio']:.3f} ({our_name}: "
                f"{ours[f'{name}_steps_per_s']:,} vs {ours['bare_steps_per_s']:,}) | "
                f"{theirs[f'{name}_ratio']:.3f} ({their_name}: {theirs[f'{name}_steps_per_s']:,}"
                f" vs {theirs['bare_steps_per_s']:,}) | |")
    learning = result.get("learning")
    if learning:
        for budget in learning["labels"]:
            rows = [r for r in learning["runs"] if r["labels"] == budget]
            if not rows:
                continue
            what = (f"c. PPO, {learning['steps']:,} steps, {budget} labels, "
                    f"{len(rows)} seed(s)")
            base = _mean([r["true_reward_agent_return"] for r in rows], 0)
            random = _mean([r["random_return"] for r in rows], 0)
            for label, key, digits in (("normalised score", "normalized_score", 2),
                                       ("true return", "true_return", 0),
                                       ("CPU time per run (s)", "cpu_seconds", 0)):
                ours = _mean([r["ours"].get(key) for r in rows], digits)
                theirs = _mean([r["imitation"].get(key) for r in rows], digits)
                note = (f"our true-reward agent {base}, random {random}" if key == "true_return"
                        else "")
                if key == "cpu_seconds":
                    base_cpu = _mean([r.get("true_reward_agent_cpu_seconds") for r in rows], 0)
                    steps = _mean([r["imitation"]["env_steps"] for r in rows], 0)
                    note = (f"ours: the loop's run(), both evaluations included, no imports, "
                            f"report or video (our true-reward run: {base_cpu}); imitation's: "
                            f"its train() and evaluations, env steps with fragment sampling: "
                            f"{steps}")
                lines.append(f"| {what}: {label} | {ours} | {theirs} | {note} |")
            lines += _iqm_rows(what, rows)
    return "\n".join(lines)


def _iqm_rows(what: str, rows: list[dict]) -> list[str]:
    """The score as ``label_efficiency`` reports it, both sides: IQM with its 95%
    stratified-bootstrap interval, each seed against its own true-reward agent and every
    seed against their mean (:func:`benchmarks.stats.reference_bootstrap`)."""
    base = [r["true_reward_agent_return"] for r in rows]
    random = statistics.mean(r["random_return"] for r in rows)
    found = {}
    for side in ("ours", "imitation"):
        scores = [r[side]["normalized_score"] for r in rows]
        per_seed = ("n/a" if None in scores else
                    "{:.2f} [{:.2f}, {:.2f}]".format(*stratified_bootstrap({"": scores})))
        returns = [r[side]["true_return"] for r in rows]
        against_mean = "{:.2f} [{:.2f}, {:.2f}]".format(
            *reference_bootstrap(returns, base, random)) if statistics.mean(
                base) > random else "n/a"
        found[side] = (per_seed, against_mean)
    return [f"| {what}: IQM score [95% CI], each seed against its own true-reward agent | "
            f"{found['ours'][0]} | {found['imitation'][0]} | |",
            f"| {what}: IQM score [95% CI] against the true-reward agents' mean | "
            f"{found['ours'][1]} | {found['imitation'][1]} | |"]
