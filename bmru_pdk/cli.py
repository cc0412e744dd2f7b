"""The ``bmru`` command.

Exit codes: 0 clean / match, 1 violations / mismatch, 2 usage or tool error.

Engines are imported inside each command: ``import gdsfactory`` alone costs seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bmru_pdk.errors import BmruError

app = typer.Typer(
    name="bmru",
    help="FQ-BMRU networks to gf180mcu layouts: generate, DRC, LVS, extract, simulate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OptPath = Annotated[Path | None, typer.Option()]


@app.command()
def setup() -> None:
    """Download and verify the pinned gf180 models and DRC deck (idempotent)."""
    from bmru_pdk import assets
    from bmru_pdk.verification.drc import klayout_program
    from bmru_pdk.verification.spice import ngspice_library

    assets.ensure()
    klayout_program()
    ngspice_library()
    typer.echo(f"gf180 assets ready in {assets.cache_dir()}")


@app.command()
def drc(
    gds: Annotated[Path, typer.Argument(help="GDS to check")],
    report: Annotated[Path | None, typer.Option(help="KLayout marker database (.lyrdb)")] = None,
    json: Annotated[Path | None, typer.Option("--json", help="JSON report")] = None,
    junit: Annotated[Path | None, typer.Option(help="JUnit XML report")] = None,
    threads: Annotated[int, typer.Option(help="deck threads")] = 2,
) -> None:
    """Run the official gf180mcu DRC deck (KLayout, deep mode)."""
    from bmru_pdk.verification import drc as engine

    result = engine.run(gds, report, threads=threads)
    engine.write_outputs(result, json, junit)
    typer.echo(result.summary())
    raise typer.Exit(0 if result.clean else 1)


def main() -> None:
    """Console entry point: bad input and tool errors become one line and exit code 2."""
    try:
        rc = app(standalone_mode=False)
    except BmruError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.BadParameter, typer.Abort) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise
    sys.exit(rc if isinstance(rc, int) else 0)
