"""The text adapter (agents.text) with a tiny GPT-2 built from a config: nothing downloads."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("transformers", reason="the text extra is not installed "
                                           "(pip install -e .[text])")
pytest.importorskip("trl", reason="the text extra is not installed (pip install -e .[text])")

from agents.text.__main__ import main  # noqa: E402
from agents.text.generation import Generator  # noqa: E402
from agents.text.models import load_language_model, make_tiny_gpt2  # noqa: E402
from agents.text.reward_model import TextRewardModel  # noqa: E402
from agents.text.rows import import_rows, preference_rows, read_rows, rows_dataset  # noqa: E402
from agents.text.tasks import TextTask, make_rule, read_prompts  # noqa: E402
from agents.text.trainers import (  # noqa: E402
    reward_function,
    train_dpo,
    train_grpo,
    train_trl_reward_model,
)
from feedback.errors import FeedbackError, ModelCardError  # noqa: E402
from feedback.store import FeedbackStore  # noqa: E402
from feedback.text import is_text, segment_text, text_segment  # noqa: E402

VOWELS = "count:aeiou"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_gpt2(tmp_path_factory.mktemp("models") / "tiny-gpt2")


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    path = tmp_path_factory.mktemp("prompts") / "prompts.txt"
    topics = ["cats", "dogs", "rivers", "moons", "trains", "snow", "ships", "bread"]
    lines = [f"Tell me about {t} ({k})" for k in range(20) for t in topics]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def run_dir(tiny, prompts, tmp_path_factory):
    """One seeded end-to-end run: 160 prompts x 4 completions, 300 oracle labels."""
    out = tmp_path_factory.mktemp("runs") / "text"
    assert main(["--model", str(tiny), "--prompts", str(prompts), "--rule", VOWELS,
                 "--labels", "300", "--out", str(out), "--device", "cpu"]) == 0
    return out


def test_a_reward_model_from_300_oracle_labels_agrees_with_the_hidden_rule(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["labels"] == 300
    # pairs of prompts that were never asked about, ordered as the rule orders them
    assert metrics["rule_agreement"] >= 0.8, metrics
    assert metrics["rule_agreement_pairs"] >= 100
    assert metrics["score_correlation"] > 0.5
    assert (run_dir / "report.md").read_text().startswith("# Text run")
    with FeedbackStore(run_dir / "feedback.db") as store:
        assert len(store.labels()) == 300
        [segment] = store.get_segments(store.segment_ids()[:1])
    assert is_text(segment) and segment.env_id == "text/task"


def test_exported_rows_train_trl_reward_and_dpo_trainers(run_dir, tiny, tmp_path):
    rows = read_rows(run_dir / "preferences.jsonl")
    assert rows and set(rows[0]) == {"prompt", "chosen", "rejected"}
    dataset = rows_dataset(rows)
    assert dataset.column_names == ["prompt", "chosen", "rejected"] and len(dataset) == len(rows)
    loss = train_trl_reward_model(rows[:32], tiny, tmp_path / "rm", steps=2, batch_size=4)
    assert np.isfinite(loss) and (tmp_path / "rm" / "model.safetensors").is_file()
    loss = train_dpo(rows[:32], tiny, tmp_path / "dpo", steps=2, batch_size=4)
    assert np.isfinite(loss) and (tmp_path / "dpo" / "model.safetensors").is_file()


def test_our_reward_model_drives_grpo_trainer(run_dir, tiny, tmp_path):
    model = TextRewardModel.load(run_dir / "reward_model")
    scored = []
    reward = reward_function(model)

    def recording(prompts, completions, **kwargs):
        scores = reward(prompts, completions, **kwargs)
        scored.extend(scores)
        return scores

    loss = train_grpo(["Tell me about cats", "Tell me about dogs"] * 4, tiny, [recording],
                      tmp_path / "grpo", steps=2, generations=2, max_completion_length=8)
    assert np.isfinite(loss) and len(scored) >= 4 and all(np.isfinite(scored))


def test_saved_text_reward_model_scores_the_same_and_refuses_altered_files(run_dir, tmp_path):
    model = TextRewardModel.load(run_dir / "reward_model")
    prompts, completions = ["Tell me about cats"] * 3, ["aeiou aeiou", "xyz", "banana"]
    again = TextRewardModel.load(run_dir / "reward_model")
    np.testing.assert_allclose(model.score(prompts, completions),
                               again.score(prompts, completions), rtol=1e-5)
    assert model.score(prompts, ["aeiou" * 5])[0] > model.score(prompts, ["xkcd" * 5])[0]
    copy = tmp_path / "copy"
    model.save(copy)
    (copy / "encoder" / "config.json").write_text("{}")
    with pytest.raises(ModelCardError, match="does not match its card"):
        TextRewardModel.load(copy)


def test_rows_round_trip_through_a_store_with_ties_as_an_option(tmp_path):
    a, b, c = (text_segment("p", t, s, task="t") for t, s in (("aa", 2), ("b", 0), ("a", 1)))
    with FeedbackStore(tmp_path / "s.db") as store:
        store.add_segments([a, b, c])
        q = store.add_queries([(a.id, b.id), (b.id, c.id), (a.id, c.id)])
        store.add_labels(zip(q, ["left", "equal", "skip"]), "ana")
        assert preference_rows(store) == [{"prompt": "p", "chosen": "aa", "rejected": "b"}]
        assert len(preference_rows(store, ties="both")) == 3
        with pytest.raises(FeedbackError, match="ties must be"):
            preference_rows(store, ties="maybe")
    rows = [{"prompt": "q", "chosen": "yes", "rejected": "no"}]
    with FeedbackStore(tmp_path / "imported.db") as store:
        assert import_rows(store, rows, task="t", annotator="hf") == 1
        assert preference_rows(store) == rows
        assert import_rows(store, rows, task="t", annotator="hf") == 1  # same segments
        assert len(store.segment_ids()) == 2 and len(store.labels()) == 2
        with pytest.raises(FeedbackError, match="the same"):
            import_rows(store, [{"prompt": "q", "chosen": "x", "rejected": "x"}], task="t",
                        annotator="hf")


def test_text_segments_keep_unicode_and_empty_completions(tmp_path):
    segment = text_segment("Grüße 👋", "", 0.0, task="t")
    with FeedbackStore(tmp_path / "s.db") as store:
        store.add_segments([segment])
        [back] = store.get_segments([segment.id])
    assert segment_text(back) == ("Grüße 👋", "")


def test_sampling_is_seeded(tiny):
    lm, tokenizer = load_language_model(tiny)
    first = Generator(lm, tokenizer, max_new_tokens=8, seed=3).sample(["a", "bc"], 2)
    again = Generator(lm, tokenizer, max_new_tokens=8, seed=3).sample(["a", "bc"], 2)
    other = Generator(lm, tokenizer, max_new_tokens=8, seed=4).sample(["a", "bc"], 2)
    assert first == again != other and [len(c) for c in first] == [2, 2]


def test_rules_and_prompt_files(tmp_path):
    assert make_rule("count:ab")("abcab") == 4.0
    assert make_rule("length")("abc") == 3.0
    assert make_rule("regex:a+")("aa b a") == 2.0
    with pytest.raises(FeedbackError, match="unknown scoring rule"):
        make_rule("vibes")
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "one"}\n\n{"prompt": "two"}\n')
    assert read_prompts(path) == ["one", "two"]
    assert TextTask("t", ["x"], "length").scores(["ab", ""]).tolist() == [2.0, 0.0]


@pytest.mark.parametrize("case, message", [
    ("missing model", "no such directory"),
    ("empty prompts", "has no prompts"),
    ("latin-1 prompts", "is not UTF-8"),
    ("bad labels", "--labels must be at least 1"),
])
def test_bad_input_is_one_line_and_exit_2(case, message, tiny, prompts, tmp_path,
                                          capsys):
    model, prompt_file, labels = str(tiny), prompts, "10"
    if case == "missing model":
        model = str(tmp_path / "no-such-model")
    elif case == "empty prompts":
        prompt_file = tmp_path / "empty.txt"
        prompt_file.write_text("\n  \n")
    elif case == "latin-1 prompts":
        prompt_file = tmp_path / "latin1.txt"
        prompt_file.write_bytes("caf\xe9\n".encode("latin-1"))
    else:
        labels = "0"
    argv = ["--model", model, "--prompts", str(prompt_file), "--labels", labels, "--out",
            str(tmp_path / "out")]
    if case == "latin-1 prompts":  # once as a user runs it: a process, no traceback
        done = subprocess.run([sys.executable, "-m", "agents.text", *argv],
                              capture_output=True, text=True, timeout=120)
        code, err = done.returncode, done.stderr
        assert "Traceback" not in err
    else:
        code, err = main(argv), capsys.readouterr().err
    assert code == 2, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], err


@pytest.mark.slow  # 50 s; the TRL trainers it drives are tested above in the default run
def test_the_readmes_text_example_runs(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    [block] = re.findall(r"^```python text\n(.*?)^```", readme, re.DOTALL | re.MULTILINE)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    exec(compile(block, "README.md text block", "exec"), namespace)
    assert len(namespace["dataset"]) == len(namespace["rows"]) > 0
    assert callable(namespace["reward_funcs"][0])
