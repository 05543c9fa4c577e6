"""Prompt templates for scoring SWE-bench candidates: issue + patch, or issue + trajectory (+ patch).

Scalar heads see the issue as the user turn and the patch (or trajectory) as the assistant turn;
verifiers see one user turn that ends with the yes/no question, so the next token is the answer.
"""

from __future__ import annotations

from rerankeval.generation.scoring import PromptTemplate, TemplateSet
from rerankeval.rerankers.reward_model import register_template

_QUESTION = (
    "Does the patch resolve the issue, so that the repository's tests for it pass? "
    "Answer with exactly one word: {yes} or {no}."
)

PATCH_TEMPLATE = TemplateSet(
    name="swebench-patch",
    head=PromptTemplate(
        (("user", "Repository: {repo}\n\n{problem}"), ("assistant", "{candidate}")),
        add_generation_prompt=False,
    ),
    verifier=PromptTemplate(
        (
            (
                "user",
                "You are reviewing a patch written for an issue in the repository {repo}.\n\n"
                "<issue>\n{problem}\n</issue>\n\n"
                "<patch>\n{candidate}\n</patch>\n\n" + _QUESTION,
            ),
        ),
        add_generation_prompt=True,
    ),
    long_fields=("problem", "candidate"),
)

TRAJECTORY_TEMPLATE = TemplateSet(
    name="swebench-trajectory",
    head=PromptTemplate(
        (
            ("user", "Repository: {repo}\n\n{problem}"),
            ("assistant", "{trajectory}\n\nFinal patch:\n{candidate}"),
        ),
        add_generation_prompt=False,
    ),
    verifier=PromptTemplate(
        (
            (
                "user",
                "Below is an issue in the repository {repo}, the trajectory of an agent "
                "that worked on it, and the patch it submitted.\n\n"
                "<issue>\n{problem}\n</issue>\n\n"
                "<trajectory>\n{trajectory}\n</trajectory>\n\n<patch>\n{candidate}\n</patch>\n\n" + _QUESTION,
            ),
        ),
        add_generation_prompt=True,
    ),
    long_fields=("problem", "trajectory", "candidate"),
)

TEMPLATES = {"patch": PATCH_TEMPLATE, "trajectory": TRAJECTORY_TEMPLATE}
for _template in TEMPLATES.values():  # the `rm` reranker scores SWE-bench candidates with them by name
    register_template(_template)
