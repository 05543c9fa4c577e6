"""The Ray executor turns a lost worker or a failed task into a one-line error, never a verdict."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from rerankeval.errors import SandboxFaultError, SandboxUnavailableError
from rerankeval.sandbox.ray_executor import _get


class RayError(Exception):
    pass


class RayTaskError(RayError):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _ray(raises: BaseException) -> Any:
    def get(ref: object) -> object:
        raise raises

    return SimpleNamespace(exceptions=SimpleNamespace(RayTaskError=RayTaskError, RayError=RayError), get=get)


def test_a_users_error_from_a_worker_is_raised_as_is() -> None:
    err = SandboxUnavailableError("the sandbox cannot start: ...")
    with pytest.raises(SandboxUnavailableError) as got:
        _get(_ray(RayTaskError(err)), object())
    assert got.value is err


@pytest.mark.parametrize("raised", [RayTaskError(KeyError("x")), RayError("worker died")])
def test_a_failed_task_or_lost_worker_is_a_sandbox_fault(raised: BaseException) -> None:
    with pytest.raises(SandboxFaultError, match="No verdict was recorded"):
        _get(_ray(raised), object())
