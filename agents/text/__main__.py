r"""``python -m agents.text``: generate completions, label them, fit a reward model, (GRPO).

python -m agents.text --model DIR --prompts prompts.txt --rule count:a \
        --teacher oracle --labels 300 --out runs/text
"""

from __future__ import annotations

import os
import sys

from feedback.cli import OneLineParser, run_cli
from feedback.errors import FeedbackError
from feedback.queries import STRATEGIES
from feedback.teachers import TEACHER_PRESETS


def parser() -> OneLineParser:
    """The command line of ``python -m agents.text`` (bad input: one line, exit code 2)."""
    p = OneLineParser(prog="python -m agents.text",
                      description="The RLHF feedback loop on a prompt -> completion task.")
    p.add_argument("--model", required=True,
                   help="a causal LM: a directory, or a name in the local Hugging Face cache")
    p.add_argument("--prompts", required=True,
                   help="prompt file: UTF-8 text, one prompt per line, or .jsonl rows with "
                        "a \"prompt\"")
    p.add_argument("--rule", default="count:a",
                   help="the hidden scoring rule synthetic teachers judge by: count:CHARS, "
                        "length or regex:PATTERN (default count:a)")
    p.add_argument("--task", default="task", help="the task's name (default 'task')")
    p.add_argument("--teacher", default="oracle",
                   help=f"who answers: {', '.join(TEACHER_PRESETS)}, or 'store' (answers people "
                        f"gave with python -m rlhf_envs.compare --text OUT)")
    p.add_argument("--labels", type=int, default=300, help="answers to ask for (default 300)")
    p.add_argument("--iterations", type=int, default=3,
                   help="ask-and-refit rounds the labels are spread over (default 3)")
    p.add_argument("--queries", default="disagreement",
                   help=f"pair selection after the first round: {', '.join(STRATEGIES)}")
    p.add_argument("--completions", type=int, default=4,
                   help="completions sampled per prompt (default 4)")
    p.add_argument("--max-new-tokens", type=int, default=32,
                   help="the most tokens per completion (default 32)")
    p.add_argument("--epochs", type=int, default=100, help="reward-model epochs per refit")
    p.add_argument("--grpo-steps", type=int, default=0,
                   help="GRPO steps on the learned reward after fitting (default 0: none)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default 1 on the CPU)")
    p.add_argument("--download", action="store_true",
                   help="allow fetching a model name from the Hugging Face Hub")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="the run directory")
    return p


def check(args) -> None:
    """Refuse what the loop cannot do, in one line."""
    for flag in ("labels", "iterations", "completions", "max_new_tokens", "epochs"):
        if getattr(args, flag) < 1:
            raise FeedbackError(f"--{flag.replace('_', '-')} must be at least 1")
    if args.completions < 2:
        raise FeedbackError("--completions must be at least 2 (a pair is two completions)")
    if args.grpo_steps < 0:
        raise FeedbackError("--grpo-steps must be at least 0")
    if args.teacher not in (*TEACHER_PRESETS, "store"):
        raise FeedbackError(f"unknown teacher {args.teacher!r}; choose one of: "
                            f"{', '.join(TEACHER_PRESETS)}, store")
    if args.queries not in STRATEGIES:
        raise FeedbackError(f"unknown query strategy {args.queries!r}; choose one of: "
                            f"{', '.join(STRATEGIES)}")
    if args.device not in ("auto", "cpu", "cuda"):
        raise FeedbackError(f"--device must be auto, cpu or cuda, not {args.device!r}")


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m agents.text``; returns the exit code (2: bad input)."""
    args = parser().parse_args(argv)

    def work() -> None:
        check(args)
        os.environ.setdefault("HF_HUB_OFFLINE", "0" if args.download else "1")
        from agents.config import resolve_device
        from agents.text.loop import run

        args.device = resolve_device(args.device, args.threads)
        metrics = run(args)
        print(f"{metrics['labels']} labels, rule agreement {metrics['rule_agreement']:.3f} "
              f"on unasked pairs; wrote {args.out}/report.md")

    return run_cli(work)


if __name__ == "__main__":
    sys.exit(main())
