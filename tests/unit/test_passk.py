import itertools

import pytest

from rerankeval.core.passk import estimate_pass_at_k, pass_at_k


def test_matches_evalplus_estimator_on_a_grid() -> None:
    from evalplus.eval import estimate_pass_at_k as ep

    ns, cs = [], []
    for n, c in itertools.product((1, 5, 10, 100, 200), range(0, 201, 7)):
        if c <= n:
            ns.append(n)
            cs.append(c)
    for k in (1, 10, 100):
        pairs = [(n, c) for n, c in zip(ns, cs, strict=True) if n >= k]
        ours = estimate_pass_at_k([n for n, _ in pairs], [c for _, c in pairs], k)
        theirs = ep([n for n, _ in pairs], [c for _, c in pairs], k)
        assert ours == pytest.approx(list(theirs), abs=1e-12)


def test_pass_at_1_is_the_fraction_correct() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(4, 4, 2) == 1.0
    assert pass_at_k(4, 0, 2) == 0.0


def test_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError, match="at least 10 samples"):
        pass_at_k(5, 1, 10)
