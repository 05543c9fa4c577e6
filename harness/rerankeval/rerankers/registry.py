"""Discovery and loading of rerankers through the ``rerankeval.rerankers`` entry-point group.

Built-in rerankers are registered in pyproject.toml exactly as a third-party distribution
registers its own, and are loaded the same way: lazily, by name, so a broken plugin breaks
only the runs that ask for it. ``RERANKEVAL_PLUGINS=first,codet`` restricts discovery to the
listed names (reproducible CI).
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from rerankeval.core.rerank import Reranker
from rerankeval.errors import DuplicatePluginError, InputError, PluginContractError, UnknownPluginError

log = logging.getLogger(__name__)

GROUP = "rerankeval.rerankers"
ENV_PLUGINS = "RERANKEVAL_PLUGINS"
NEEDS = frozenset({"matrix", "rm_scores", "gold"})


@dataclass(frozen=True, slots=True)
class RerankerSpec:
    """Everything needed to rebuild a reranker by name; recorded in every run.json.

    Attributes:
        name: Registered name.
        args: Keyword arguments it was built with (JSON values).
        dist: Distribution that registers it (None when unknown).
        version: That distribution's version.
        value: The entry point's ``module:attr``.
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    dist: str | None = None
    version: str | None = None
    value: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "args": dict(self.args),
            "dist": self.dist,
            "version": self.version,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One discovered entry point (not loaded)."""

    name: str
    value: str
    dist: str | None
    version: str | None


def _allowed() -> set[str] | None:
    raw = os.environ.get(ENV_PLUGINS, "").strip()
    return {n.strip() for n in raw.split(",") if n.strip()} if raw else None


def _discover() -> list[EntryPoint]:
    eps = list(entry_points(group=GROUP))
    allowed = _allowed()
    return eps if allowed is None else [ep for ep in eps if ep.name in allowed]


def _dist(ep: EntryPoint) -> tuple[str | None, str | None]:
    d = getattr(ep, "dist", None)
    return (d.metadata["Name"], d.version) if d is not None else (None, None)


def list_rerankers() -> list[PluginInfo]:
    """Every discovered reranker (honouring RERANKEVAL_PLUGINS), sorted by name; nothing is imported."""
    return sorted(
        (PluginInfo(ep.name, ep.value, *_dist(ep)) for ep in _discover()),
        key=lambda p: (p.name, p.dist or ""),
    )


def _find(name: str) -> EntryPoint:
    found = _discover()
    matches = [ep for ep in found if ep.name == name]
    if not matches:
        raise UnknownPluginError.make("reranker", name, sorted({ep.name for ep in found}), GROUP)
    distinct = {(_dist(ep)[0], ep.value) for ep in matches}
    if len(distinct) > 1:
        dists = sorted(f"{d or '?'} ({v})" for d, v in distinct)
        raise DuplicatePluginError(
            f"reranker '{name}' is registered by several distributions: "
            f"{', '.join(dists)}. Uninstall one of them, or restrict discovery "
            f"with {ENV_PLUGINS}"
        )
    return matches[0]


def _check_args(name: str, factory: Any, args: Mapping[str, Any]) -> None:
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    params = sig.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return
    accepted = [
        p.name
        for p in params
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    for key in args:
        if key not in accepted:
            raise InputError(
                f"reranker '{name}' has no argument '{key}'. "
                f"It accepts: {', '.join(accepted) or '(no arguments)'}"
            )


def _validate(ep: EntryPoint, obj: object) -> Reranker:
    if not isinstance(obj, Reranker):
        raise PluginContractError(
            f"{ep.value} (reranker '{ep.name}') returned {type(obj).__name__}, "
            "not a Reranker: it needs `name`, `needs` and `rank(items)`"
        )
    needs = getattr(obj, "needs", None)
    if not isinstance(needs, frozenset) or not needs <= NEEDS:
        raise PluginContractError(
            f"{ep.value} (reranker '{ep.name}'): `needs` must be a frozenset "
            f"of {sorted(NEEDS)}, got {needs!r}"
        )
    if not callable(getattr(obj, "rank", None)):
        raise PluginContractError(f"{ep.value} (reranker '{ep.name}'): `rank` is not callable")
    return obj


def load_reranker(name: str, /, **args: Any) -> Reranker:
    """Loads the reranker registered as ``name`` and builds it with ``args``.

    Only the requested entry point is imported. The result is checked against the
    :class:`~rerankeval.core.rerank.Reranker` contract before it is returned.

    Raises:
        UnknownPluginError: No discovered distribution registers ``name`` (with a did-you-mean).
        DuplicatePluginError: Several distributions register ``name``; names both.
        InputError: An argument the reranker does not accept, or a value it rejects.
        PluginContractError: The plugin fails to import or does not satisfy the protocol.
    """
    ep = _find(name)
    try:
        factory = ep.load()
    except ImportError as e:
        raise PluginContractError(f"reranker '{name}' ({ep.value}) failed to import: {e}") from e
    _check_args(name, factory, args)
    try:
        obj = factory(**args)
    except (TypeError, ValueError) as e:
        raise InputError(f"reranker '{name}' rejected its arguments {dict(args)}: {e}") from None
    return _validate(ep, obj)


def reranker_accepts(name: str, arg: str) -> bool:
    """Whether the reranker registered as ``name`` names the keyword argument ``arg`` (imports it).

    Raises:
        As :func:`load_reranker`, when the entry point cannot be found or imported.
    """
    ep = _find(name)
    try:
        factory = ep.load()
    except ImportError as e:
        raise PluginContractError(f"reranker '{name}' ({ep.value}) failed to import: {e}") from e
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == arg and p.kind is not inspect.Parameter.VAR_POSITIONAL for p in params)


def reranker_needs(name: str, args: Mapping[str, Any] | None = None) -> frozenset[str]:
    """What the reranker registered as ``name`` reads (its ``needs``), built with ``args`` but without
    a reward model (``rm``): what it reads does not depend on which model it is, and no model is loaded.

    Raises:
        As :func:`load_reranker`.
    """
    return load_reranker(name, **{k: v for k, v in dict(args or {}).items() if k != "rm"}).needs


def reranker_spec(name: str, args: Mapping[str, Any] | None = None) -> RerankerSpec:
    """The :class:`RerankerSpec` of a discovered reranker (does not import it)."""
    ep = _find(name)
    dist, version = _dist(ep)
    return RerankerSpec(name, dict(args or {}), dist, version, ep.value)
