"""Turning raw generations into tests: CodeT's assert split, CodeRM-style unittest classes, dedupe."""

from __future__ import annotations

from rerankeval.unittests.parse import (
    extract_code,
    normalize_source,
    parse_generations,
    split_asserts,
    split_unittest_classes,
)
from rerankeval.unittests.parse import test_id as make_test_id
from rerankeval.unittests.runner import RUNNER_MARK, strip_runner

GEN = """Here are the tests.

```python
import unittest
from solution import add
from math import isclose

def add(a, b):
    return a + b  # the model's own copy: must not shadow the candidate

def double(x):
    return 2 * x

LIMIT = 10

class TestAdd(unittest.TestCase):
    # small numbers
    def test_small(self):
        self.assertEqual(add(1, 2), 3)

    def test_helper(self):
        self.assertEqual(add(2, 2), double(2))

class TestFloat(unittest.TestCase):
    def test_float(self):
        self.assertTrue(isclose(add(0.1, 0.2), 0.3))

class NotATest:
    pass

class TestNoMethods(unittest.TestCase):
    def helper(self):
        return 1

if __name__ == "__main__":
    unittest.main()
```
That is all."""


def test_codet_split_prefixes_splits_filters_and_truncates() -> None:
    completion = (
        "add(1, 2) == 3\nassert add(0, 0) == 0\n# edge\nassert other(1) == 2\n"
        "assert add(2, 2) == 4\ndef helper():\n    pass\nassert add("
    )
    assert split_asserts(completion, "add") == [
        "assert add(1, 2) == 3",
        "assert add(0, 0) == 0",
        "assert add(2, 2) == 4",
    ]


def test_codet_split_keeps_only_the_first_five_per_sample() -> None:
    completion = "\nassert ".join(f"add({i}, 0) == {i}" for i in range(9))
    got = split_asserts(completion, "add")
    assert got == [f"assert add({i}, 0) == {i}" for i in range(5)]
    assert len(split_asserts(completion, "add", limit=None)) == 9


def test_codet_split_drops_asserts_that_do_not_compile() -> None:
    assert split_asserts("add(1, == 3\nassert add(1, 1) == 2", "add") == ["assert add(1, 1) == 2"]


def test_fenced_code_is_extracted_and_prose_dropped() -> None:
    assert extract_code("text\n```python\nx = 1\n```\nmore\n```\ny = 2\n```") == "x = 1\n\ny = 2"
    assert extract_code("```bash\nls\n```") == ""
    assert extract_code("x = 1\n") == "x = 1\n"
    assert extract_code("```python\nx = 1\ny = (") == "x = 1\ny = ("  # cut by max_tokens: kept, may not parse


def test_each_testcase_class_with_test_methods_becomes_one_test() -> None:
    tests = split_unittest_classes(extract_code(GEN), "add")
    assert len(tests) == 2
    first = strip_runner(tests[0])
    assert "class TestAdd(unittest.TestCase):" in first and "class TestFloat" not in first
    assert "from math import isclose" in first and "def double(x):" in first and "LIMIT = 10" in first
    assert "# small numbers" in first
    assert "def add(" not in first and "from solution import add" not in first
    assert "NotATest" in first  # helper classes stay available to the test
    assert "unittest.main()" not in first
    assert all(RUNNER_MARK in t for t in tests)


def test_a_class_that_references_unittest_without_importing_it_gets_the_import() -> None:
    code = "class TestX(unittest.TestCase):\n    def test_a(self):\n        pass\n"
    tests = split_unittest_classes(code, "f")
    assert strip_runner(tests[0]).startswith("import unittest\n")


def test_testcase_subclasses_bring_their_base_classes() -> None:
    code = (
        "import unittest\n\nclass Base(unittest.TestCase):\n    def check(self, x):\n"
        "        self.assertEqual(f(x), x)\n\nclass TestOne(Base):\n    def test_one(self):\n"
        "        self.check(1)\n\nclass TestTwo(TestOne):\n    pass\n"
    )
    tests = split_unittest_classes(code, "f")
    assert len(tests) == 2  # Base has no test method; TestTwo inherits test_one
    one, two = (strip_runner(t) for t in tests)
    assert "class Base(" in one and "class TestOne(" in one
    assert "class Base(" in two and "class TestOne(" in two and "class TestTwo(" in two
    scope: dict = {"f": lambda x: x}
    exec(compile(tests[1], "<t>", "exec"), scope)  # runs TestTwo (inherited test_one) without raising


def test_code_that_does_not_parse_yields_no_tests() -> None:
    assert split_unittest_classes("class TestX(unittest.TestCase):\n    def test_a(self)\n", "f") == []


def test_dedupe_counts_repeats_and_keeps_first_sample_index() -> None:
    samples = ["add(1, 2) == 3", "add(1, 2) == 3   \nassert add(2, 3) == 5", "nothing here"]
    tests = parse_generations(samples, "add", "assert")
    assert [(t.source, t.sample_index, t.count) for t in tests] == [
        ("assert add(1, 2) == 3", 0, 2),
        ("assert add(2, 3) == 5", 1, 1),
    ]


def test_ast_dedupe_also_merges_formatting_variants() -> None:
    samples = ["add(1,2)==3", "add(1, 2) == 3"]
    assert len(parse_generations(samples, "add", "assert", dedupe="text")) == 2
    assert len(parse_generations(samples, "add", "assert", dedupe="ast")) == 1


def test_unittest_generations_dedupe_across_samples() -> None:
    tests = parse_generations([GEN, "no code", GEN], "add", "unittest")
    assert [(t.sample_index, t.count) for t in tests] == [(0, 2), (0, 2)]


def test_test_id_is_stable_and_ignores_trailing_whitespace() -> None:
    assert make_test_id("assert f(1) == 2") == make_test_id("assert f(1) == 2  \n\n")
    assert make_test_id("assert f(1) == 2") != make_test_id("assert f(1) == 3")
    assert len(make_test_id("x")) == 12
    assert normalize_source("a  \r\nb\n\n") == "a\nb"


def test_stdio_cases_are_read_from_input_output_blocks() -> None:
    import json

    from rerankeval.unittests.parse import parse_generations, split_io_cases

    text = (
        "Some tests:\n\n### Input\n```\n3\n1 2 3\n```\n### Output\n```\n6\n```\n"
        "### Input:\n2\n5 5\n### Expected Output:\n10\n\n"
        "### Input\n\n### Output\n7\n"  # an empty input is no test
        "### Input\n1\n"  # no output: cut by max_tokens
    )
    cases = [json.loads(t) for t in split_io_cases(text)]
    assert cases == [{"input": "3\n1 2 3\n", "output": "6\n"}, {"input": "2\n5 5\n", "output": "10\n"}]
    parsed = parse_generations([text, text], "", "stdio")
    assert [p.count for p in parsed] == [2, 2] and {p.style for p in parsed} == {"stdio"}
    assert split_io_cases("no cases here") == []
