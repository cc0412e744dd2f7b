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


@app.command()
def lvs(
    gds: Annotated[Path, typer.Argument(help="GDS to check")],
    netlist: Annotated[Path, typer.Argument(help="schematic SPICE netlist")],
    lvsdb: Annotated[Path | None, typer.Option(help="KLayout LVS database (.lvsdb)")] = None,
    json: Annotated[Path | None, typer.Option("--json", help="JSON report")] = None,
    topcell: Annotated[str | None, typer.Option(help="top cell (default: the only one)")] = None,
) -> None:
    """Compare a layout with its schematic (KLayout engine; pins must match by name)."""
    from bmru_pdk.verification import lvs as engine

    result = engine.run(gds, netlist, lvsdb=lvsdb, topcell=topcell)
    if json:
        engine.write_json(result, json)
    typer.echo(result.summary())
    raise typer.Exit(0 if result.match else 1)


@app.command()
def extract(
    gds: Annotated[Path, typer.Argument(help="GDS to extract")],
    output: Annotated[Path, typer.Option("-o", "--output", help="SPICE netlist to write")],
    topcell: Annotated[str | None, typer.Option(help="top cell (default: the only one)")] = None,
) -> None:
    """Extract a SPICE netlist that simulates with the gf180 models."""
    from bmru_pdk.verification import extract as engine

    result = engine.extract(gds, topcell=topcell)
    engine.write(result, output)
    typer.echo(f"{result.summary()} -> {output}")


@app.command()
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="folder to write")] = Path(
        "build/demo"
    ),
    count: Annotated[int, typer.Option(help="transistors in the array")] = 8,
) -> None:
    """Generate a transistor array and its schematic, then run DRC and LVS on it."""
    from bmru_pdk.layouts import demo as job

    result = job.run(output, count=count)
    typer.echo(result.drc.summary())
    typer.echo(result.lvs.summary())
    typer.echo(f"files in {result.outdir}")
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def characterize(
    tables: Annotated[Path | None, typer.Option(
        help="folder for the tables (default: the package's data folder)")] = None,
    plots: Annotated[Path, typer.Option(help="folder for the PNG plots")] = Path("docs/img"),
    quick: Annotated[bool, typer.Option(help="coarse grids: a smoke run")] = False,
) -> None:
    """Characterise mirrors and the BMRU cell in ngspice; write versioned tables and plots."""
    from bmru_pdk.circuits import characterize as engine

    result = engine.characterize(quick=quick)
    path = engine.write_tables(result, tables or engine.DATA_DIR)
    pngs = engine.plot_tables(result, plots)
    typer.echo(f"characterised in {result.seconds:.1f} s -> {path}, "
               f"{', '.join(str(p) for p in pngs)}")


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
