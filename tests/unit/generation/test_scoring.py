"""Scorer specs, the oracle scorer, fitting prompts to the context and the score cache (no model)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from rerankeval.cache import ResultCache
from rerankeval.errors import InputError
from rerankeval.generation._scoring_backends import _caps, fit_prompt
from rerankeval.generation.scoring import (
    CODE_TEMPLATE,
    TRUNCATION_MARK,
    OracleLabelsScorer,
    PromptTemplate,
    ScoreInput,
    ScoreResult,
    TemplateSet,
    make_scorer,
    parse_scorer_spec,
    score_cached,
)


class CharTokenizer:
    """One token per character: lengths are easy to reason about."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(chr(i) for i in ids)

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool) -> list[int]:
        text = "".join(f"<{m['role']}>{m['content']}" for m in messages)
        return self.encode(text + ("<assistant>" if add_generation_prompt else ""))


def test_specs_name_the_kind_backend_and_split_scorer_options_from_engine_options() -> None:
    kind, backend, opts = parse_scorer_spec("verifier:vllm:/m/x?yes=Yes&no=No&dtype=float32&max_length=512")
    assert (kind, backend.kind, backend.model) == ("verifier", "vllm", "/m/x")
    assert opts == {"yes": "Yes", "no": "No", "max_length": 512}
    assert backend.engine_kwargs == {"dtype": "float32"}
    kind, backend, _ = parse_scorer_spec("openai:http://127.0.0.1:8000/v1#my-rm")
    assert (kind, backend.kind, backend.base_url, backend.model) == (
        "head",
        "openai",
        "http://127.0.0.1:8000/v1",
        "my-rm",
    )
    assert parse_scorer_spec("oracle-labels")[0] == "oracle"


@pytest.mark.parametrize("spec", ["AceCodeRM", "verifier:smollm2", "verifier:gguf:/x", "vllm:"])
def test_unknown_specs_fail_with_the_accepted_forms(spec: str) -> None:
    with pytest.raises(InputError, match="vllm:<model>|names no model"):
        make_scorer(spec)


def test_scorer_options_override_the_spec_and_unknown_options_are_refused() -> None:
    s = make_scorer("verifier:hf:/nowhere?yes=Yes", yes="Oui", batch_size=2)
    assert s.options.yes == "Oui" and s.options.batch_size == 2  # type: ignore[attr-defined]
    assert s.spec == "verifier:hf:/nowhere" and s.kind == "verifier"
    with pytest.raises(InputError, match="unknown reward-model option"):
        make_scorer("hf:/nowhere", temperature=0.3)


def test_oracle_scorer_returns_the_labels_and_needs_them() -> None:
    scorer = make_scorer("oracle-labels")
    assert isinstance(scorer, OracleLabelsScorer)
    out = scorer.score(
        [ScoreInput.of(True, problem="p", candidate="a"), ScoreInput.of(False, problem="p", candidate="b")],
        CODE_TEMPLATE,
    )
    assert [(r.score, r.prob) for r in out] == [(1.0, 1.0), (0.0, 0.0)]
    with pytest.raises(InputError, match="known label"):
        scorer.score([ScoreInput.of(problem="p", candidate="c")], CODE_TEMPLATE)


def test_templates_fill_every_slot_and_name_a_missing_field() -> None:
    msgs = CODE_TEMPLATE.verifier.render({"problem": "add {a}", "candidate": "x", "yes": "Y", "no": "N"})
    assert "add {a}" in msgs[0]["content"] and msgs[0]["content"].endswith("Y or N.")
    with pytest.raises(InputError, match="needs field 'candidate'"):
        CODE_TEMPLATE.head.render({"problem": "p"})


def test_caps_shorten_the_longest_fields_first() -> None:
    assert _caps({"a": 100, "b": 10}, 30) == {"a": 70, "b": 10}
    assert _caps({"a": 100, "b": 90}, 30) == {"a": 80, "b": 80}
    assert _caps({"a": 5, "b": 5}, 50) == {"a": 0, "b": 0}


def test_fit_prompt_leaves_short_prompts_alone_and_cuts_long_fields_in_the_middle() -> None:
    tok = CharTokenizer()
    tmpl = PromptTemplate((("user", "Q:{problem}|C:{candidate}|ask"),), add_generation_prompt=True)
    fields = {"problem": "p" * 50, "candidate": "a" * 300 + "z" * 300}
    ids, cut = fit_prompt(tok, tmpl, fields, ("problem", "candidate"), budget=10_000)
    assert not cut and len(ids) == len(tok.render(tmpl.render(fields), True))
    ids, cut = fit_prompt(tok, tmpl, fields, ("problem", "candidate"), budget=300)
    text = tok.decode(ids)
    assert cut and len(ids) <= 300
    assert text.endswith("|ask<assistant>") and "p" * 50 in text  # the question and the short field survive
    assert TRUNCATION_MARK in text and text.count("a") > 50 and text.count("z") > 50  # both ends of the patch


def test_fit_prompt_falls_back_to_head_and_tail_ids_when_fields_cannot_absorb_the_cut() -> None:
    tok = CharTokenizer()
    tmpl = PromptTemplate((("user", "x" * 500 + "{candidate}"),), add_generation_prompt=True)
    ids, cut = fit_prompt(tok, tmpl, {"candidate": "c" * 10}, ("candidate",), budget=100)
    assert cut and len(ids) == 100 and tok.decode(ids).endswith("<assistant>")


class CountingScorer:
    """A fake model: the score is the candidate's length; counts what it is asked to score."""

    spec = "fake"
    kind = "head"
    fingerprint = "fake-v1"

    def __init__(self) -> None:
        self.seen = 0

    def score(
        self,
        inputs: Sequence[ScoreInput],
        template: TemplateSet,
        progress: Callable[[int], None] | None = None,
    ) -> list[ScoreResult]:
        self.seen += len(inputs)
        if progress:
            progress(len(inputs))
        return [ScoreResult(float(len(x.mapping["candidate"])), 0.5) for x in inputs]


def test_the_cache_scores_each_distinct_input_once_across_runs(tmp_path: Path) -> None:
    inputs = [ScoreInput.of(problem="p", candidate=c) for c in ("a", "bb", "a", "ccc")]
    scorer = CountingScorer()
    ticks: list[int] = []
    cache = ResultCache("rm_scores", path=tmp_path / "c.sqlite")
    first = score_cached(scorer, inputs, CODE_TEMPLATE, cache, ticks.append)
    assert [r.score for r in first] == [1.0, 2.0, 1.0, 3.0] and scorer.seen == 3 and sum(ticks) == 4
    again = score_cached(scorer, inputs, CODE_TEMPLATE, ResultCache("rm_scores", path=tmp_path / "c.sqlite"))
    assert again == first and scorer.seen == 3
    other = CountingScorer()
    other.fingerprint = "fake-v2"  # another model or option: nothing is reused
    score_cached(other, inputs[:1], CODE_TEMPLATE, cache)
    assert other.seen == 1


def test_cache_keys_follow_the_model_files_not_just_the_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    first = make_scorer("hf:m").fingerprint
    assert make_scorer("hf:m").fingerprint == first
    assert make_scorer("hf:m", max_length=64).fingerprint != first
    (tmp_path / "m" / "model.safetensors").write_bytes(b"new weights")
    assert make_scorer("hf:m").fingerprint != first


# ---------------------------------------------------------------------------------------------
# verifier prompts from files


def test_a_prompt_file_replaces_the_verifier_prompt_and_changes_the_fingerprint(tmp_path: Path) -> None:
    from rerankeval.generation.scoring import verifier_prompt_from_file

    f = tmp_path / "p.txt"
    f.write_text(
        "### system\nYou review code.\n### user\nTask:\n{problem}\nCode:\n{candidate}\n"
        "Write {{ok}}? {yes}/{no}\n"
    )
    t = verifier_prompt_from_file(f, CODE_TEMPLATE)
    msgs = t.verifier.render({"problem": "P", "candidate": "C", "yes": "Y", "no": "N"})
    assert msgs == [
        {"role": "system", "content": "You review code."},
        {"role": "user", "content": "Task:\nP\nCode:\nC\nWrite {ok}? Y/N"},
    ]
    assert t.head == CODE_TEMPLATE.head and t.verifier.add_generation_prompt
    assert t.fingerprint != CODE_TEMPLATE.fingerprint and t.name.startswith("code+prompt-")
    f.write_text(f.read_text().replace("You review", "You check"))
    assert verifier_prompt_from_file(f, CODE_TEMPLATE).fingerprint != t.fingerprint  # the text is in the key
    plain = tmp_path / "plain.txt"
    plain.write_text("Is this right?\n{candidate}\n")
    t2 = verifier_prompt_from_file(plain, CODE_TEMPLATE)
    assert t2.verifier.messages == (("user", "Is this right?\n{candidate}"),)
    assert t2.long_fields == ("candidate",)  # only the fields the prompt shows are cut to fit


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{problem}\n{canddiate}", "unknown slot(s) {canddiate}"),
        ("{problem} only", "{candidate} is missing"),
        ("{candidate} {", "malformed braces"),
        ("   \n", "holds no prompt"),
        ("{candidate}\n### system\nbe brief", "ends with a system message"),
    ],
)
def test_bad_prompt_files_fail_naming_the_file_and_the_fix(tmp_path: Path, text: str, message: str) -> None:
    from rerankeval.generation.scoring import verifier_prompt_from_file

    f = tmp_path / "bad.txt"
    f.write_text(text)
    with pytest.raises(InputError, match=re.escape(message)) as e:
        verifier_prompt_from_file(f, CODE_TEMPLATE)
    assert str(f) in str(e.value)


def test_the_rm_reranker_takes_a_prompt_file(tmp_path: Path) -> None:
    from rerankeval.rerankers.reward_model import RewardModelReranker

    f = tmp_path / "p.txt"
    f.write_text("Problem {problem}\nAnswer {candidate}\nCorrect? {yes} or {no}")
    r = RewardModelReranker(rm="oracle-labels", prompt=str(f))
    assert r.template.verifier.messages[0][1].startswith("Problem {problem}")
