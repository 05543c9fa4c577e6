"""LiveCodeBench's code-generation prompt and answer extraction, for sampling policies.

The generic chat format of ``lcb_runner/prompts/code_generation.py`` (``SYSTEM_MESSAGE_GENERIC`` and
``get_generic_question_template_answer``) and the extraction of ``lcb_runner/utils/extraction_utils.py``
for chat models (the code between the last two fence lines; "" when there are fewer than two).
"""

from __future__ import annotations

from typing import Any

from rerankeval.generation.base import Prompt

SYSTEM_MESSAGE = (
    "You are an expert Python programmer. You will be given a question (problem specification) and will "
    "generate a correct Python program that matches the specification and passes all tests."
)
WITH_STARTER = (
    "You will use the following starter code to write the solution to the problem and enclose your code "
    "within delimiters."
)
WITHOUT_STARTER = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on "
    "the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python "
    "program runs, it reads the inputs, runs the algorithm and writes output to STDOUT."
)


def question_prompt(content: str, starter_code: str) -> str:
    """``get_generic_question_template_answer``: the user message."""
    prompt = f"### Question:\n{content}\n\n"
    if starter_code:
        prompt += f"### Format: {WITH_STARTER}\n```python\n{starter_code}\n```\n\n"
    else:
        prompt += f"### Format: {WITHOUT_STARTER}\n```python\n# YOUR CODE HERE\n```\n\n"
    return prompt + "### Answer: (use the provided format with backticks)\n\n"


def chat_prompt(row: dict[str, Any]) -> Prompt:
    """The system and user messages for one problem row (``content``, ``starter_code``)."""
    return [
        {"role": "system", "content": SYSTEM_MESSAGE},
        {"role": "user", "content": question_prompt(row["content"], row["starter_code"])},
    ]


def extract_code(response: str) -> str:
    """The program in a chat model's answer, as LiveCodeBench extracts it."""
    lines = response.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1 : fences[-1]])


def sampling_format() -> Any:
    """The :class:`rerankeval_evalplus.sampling.PromptFormat` of LiveCodeBench."""
    from rerankeval_evalplus.sampling import PromptFormat

    return PromptFormat("livecodebench", chat_prompt, lambda row, text: extract_code(text), None)


def problem_rows(problems: Any) -> list[dict[str, Any]]:
    """Sampling rows (``task_id``, ``content``, ``starter_code``) of loaded problems, in order."""
    return [
        {"task_id": p.question_id, "content": p.content, "starter_code": p.starter_code} for p in problems
    ]
