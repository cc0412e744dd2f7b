"""The ``bmru`` command.

Exit codes: 0 clean / match, 1 violations / mismatch, 2 usage or tool error.

Engines are imported inside each command: ``import gdsfactory`` alone costs seconds.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bmru_pdk.circuits.budget import DEFAULT_MAX_DEVICES
from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import check_output_dir, destination, output_dir
from bmru_pdk.layouts.aspect import ASPECT, ASPECTS, check_unit_rows
from bmru_pdk.model.samples import HEADLINE
from bmru_pdk.tech import TEMP_RANGE_C, VDD_RANGE_V, VDD_V, Corner

if TYPE_CHECKING:
    from bmru_pdk.circuits.characterize import Tables

app = typer.Typer(
    name="bmru",
    help="FQ-BMRU networks to gf180mcu layouts: generate, DRC, LVS, extract, simulate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

OptPath = Annotated[Path | None, typer.Option()]
FrameUs = Annotated[float | None, typer.Option(
    help="frame period of the simulations, µs (default 10000: real time, hop 160 at 16 kHz)")]


def _frame(frame_us: float | None) -> dict[str, float]:
    """The engines' ``frame_s`` argument, when the frame period was given."""
    return {} if frame_us is None else {"frame_s": frame_us * 1e-6}
Scheduler = Annotated[str | None, typer.Option(
    help="Dask scheduler address (tcp://host:8786 on a trusted network, or tls://host:8786 "
         "with distributed's TLS configuration): run the simulations on its cluster")]
PexScheduler = Annotated[str | None, typer.Option(
    help="Dask scheduler address (tcp:// on a trusted network, or tls://): extract a large "
         "layout's PEX windows on its cluster's workers (each needs kpex)")]
Force = Annotated[bool, typer.Option(
    "--force", help="write into a folder holding files bmru did not write (they are kept)")]
Replace = Annotated[bool, typer.Option("--force", help="replace the output file if it exists")]
Pex = Annotated[bool, typer.Option(
    "--pex/--no-pex", help="simulate with the parasitic capacitances (KLayout-PEX); the "
                           "device-only figures are reported beside")]
Sample = Annotated[str, typer.Option(
    help="offline utterances: sealed2 (new voices and a seed no bench that chose anything "
         "ran on: the headline figures), sealed (the first such draw, a development sample "
         "since it informed a choice), heldout (the training data's test voices, a development "
         "sample), tuning (the sample the calibration and benches chose on) or flite "
         "(another speech engine's voices)")]
DrawRail = Annotated[bool, typer.Option(
    "--draw-rail", help="draw the NMOS source rail: every NMOS mirror source on pin vsn (a "
                        "metal4 ring of its own), bulks on vss; tie vsn to vss, or hold it up "
                        "to 1 V above it when hot")]
DrawRailGenerator = Annotated[bool, typer.Option(
    "--rail-generator", help="draw the rail's generator in the tile, a leakage servo that "
                             "holds pin vsn, its set current in at pin iset (needs --draw-rail)")]
MaxDevices = Annotated[int, typer.Option(
    help="refuse, before building, a network whose tile would exceed this many transistors")]
Workers = Annotated[int | None, typer.Option(
    help="local simulation processes (default: one per core; 1: in this process)")]


def _tables() -> Tables | None:
    """The characterisation tables the environment chooses (``BMRU_TABLES``), read here at
    the entry point and passed down; ``None``: the package's of the network's grid."""
    from bmru_pdk.circuits.mapping import environment_tables

    return environment_tables()


def _activate() -> None:
    """Activate the PDK for the commands that draw layouts (importing it costs seconds)."""
    import bmru_pdk

    bmru_pdk.PDK.activate()


@contextmanager
def _bars(steps: Iterable[str]) -> Iterator[Callable[[str, int, int], None]]:
    """Progress bars on stderr, one per step, drawn in a terminal (elsewhere, their final
    state once); yields ``update(step, done, total)``."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bars = Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True))
    tasks = {step: bars.add_task(step, total=1, start=False) for step in steps}

    def update(step: str, done: int, total: int) -> None:
        bars.start_task(tasks[step])
        bars.update(tasks[step], completed=done, total=total)

    bars.start()
    try:
        yield update
    except BaseException:
        # an error stays one line on stderr, without bars above it: the bars are cleared (in
        # a terminal) or never printed (elsewhere), and Progress.stop, which ends their final
        # state off a terminal with a line break, is not called
        bars.live.transient = True
        bars.live.stop()
        raise
    bars.stop()


@app.command()
def setup() -> None:
    """Download and verify the pinned gf180 models and DRC deck (idempotent)."""
    from bmru_pdk import assets
    from bmru_pdk.spice import ngspice_library
    from bmru_pdk.verification.drc import klayout_program

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
    topcell: Annotated[str | None, typer.Option(help="top cell (default: the only one)")] = None,
) -> None:
    """Run the official gf180mcu DRC deck (KLayout, deep mode)."""
    from bmru_pdk.verification import drc as engine

    result = engine.run(gds, report, threads=threads, topcell=topcell)
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
    pex: Annotated[bool, typer.Option(
        "--pex", help="add parasitic capacitances (KLayout-PEX 2.5D), same net names")] = False,
    windows: Annotated[bool | None, typer.Option(
        "--windows/--whole", help="PEX in windows, or whole (default: whole up to 0.5 mm²)",
        show_default=False)] = None,
    window_um: Annotated[float, typer.Option(
        min=50.0, help="PEX window side, µm")] = 200.0,
    workers: Annotated[int, typer.Option(
        min=1, help="PEX windows extracted at a time (default: one per core)")] = (
        os.cpu_count() or 1),
    cache: Annotated[Path | None, typer.Option(
        help="folder keeping PEX windows' results: a rerun extracts only changed windows")
    ] = None,
    scheduler: PexScheduler = None,
) -> None:
    """Extract a SPICE netlist that simulates with the gf180 models."""
    if pex:
        from bmru_pdk.executor import make_executor
        from bmru_pdk.verification import pex as engine

        # the executor first: an unreachable scheduler ends the job before any work
        with make_executor(scheduler) if scheduler else nullcontext() as executor:
            result = engine.extract_pex(gds, topcell=topcell, windows=windows,
                                        window_um=window_um, workers=workers, cache=cache,
                                        executor=executor)
    else:
        from bmru_pdk.verification import extract as engine

        result = engine.extract(gds, topcell=topcell)
    engine.write(result, output)
    typer.echo(f"{result.summary()} -> {output}")


@app.command()
def simulate(
    netlist: Annotated[Path, typer.Argument(
        help="SPICE netlist: devices, sources and one analysis (.op, .dc, .tran)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV of every vector")],
    corner: Annotated[str, typer.Option(help="process corner: typical, ff, ss, fs, sf")] = (
        "typical"),
) -> None:
    """Run a netlist in ngspice with the gf180 models (a transient must reach its stop time).

    The netlist is data: control blocks, file includes and every other line through which
    ngspice would run commands or use files are refused, naming the line.
    """
    from bmru_pdk import spice

    try:
        text = netlist.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BmruError(f"cannot read netlist {netlist}: {getattr(exc, 'strerror', exc)}") from None
    # bmru ends the deck it builds around the netlist: a .end line of the file becomes a
    # blank one, so the lines keep their numbers in messages
    body = "\n".join("" if ln.strip().lower() == ".end" else ln for ln in text.splitlines())
    result = spice.simulate(body, corner=corner, title=str(netlist))
    spice.write_csv(result, output)
    typer.echo(f"{result.plot}: {len(result.vectors)} vectors -> {output}")


@app.command()
def demo(
    output: Annotated[Path, typer.Option("-o", "--output", help="folder to write")] = Path(
        "build/demo"
    ),
    count: Annotated[int, typer.Option(help="transistors in the array")] = 8,
    force: Force = False,
) -> None:
    """Generate a transistor array and its schematic, then run DRC and LVS on it."""
    from bmru_pdk import demo as job

    result = job.run(output, count=count, force=force)
    typer.echo(result.drc.summary())
    typer.echo(result.lvs.summary())
    typer.echo(f"files in {result.outdir}")
    raise typer.Exit(0 if result.ok else 1)


def _condition(temp: float, vdd: float) -> tuple[float, float]:
    """``temp`` and ``vdd`` if the 3.3 V devices are specified there, else a usage error."""
    (t_lo, t_hi), (v_lo, v_hi) = TEMP_RANGE_C, VDD_RANGE_V
    if not t_lo <= temp <= t_hi or not v_lo <= vdd <= v_hi:
        raise BmruError(f"--temp {temp:g} / --vdd {vdd:g} is outside the devices' range "
                        f"{t_lo:g}..{t_hi:g} °C, {v_lo:g}..{v_hi:g} V")
    return temp, vdd


@app.command()
def characterize(
    tables: Annotated[Path | None, typer.Option(
        help="folder for the tables (default: the package's data folder); a tile uses them "
             "with BMRU_TABLES=<folder>")] = None,
    plots: Annotated[Path | None, typer.Option(
        help="folder for the PNG plots (default: docs/img, or the --tables folder)")] = None,
    sigma: Annotated[float | None, typer.Option(
        help="draw every mirror from the smallest square unit whose 1:1 mirrors meet this "
             "relative sigma (default: the 4 x 4 µm unit, 5 %)")] = None,
    diode_gates: Annotated[int, typer.Option(
        help="unit gates of every mirror's diode: above 1 every ratio is drawn as k of them, "
             "whole gates only, no series stack")] = 1,
    cascodes: Annotated[bool, typer.Option(
        help="match the mirrors' drains with replica-biased cascodes (the NMOS copies into "
             "PMOS diodes, the cell's tails, the PMOS outputs; a tile mapped with these "
             "tables draws them)")] = False,
    keepers: Annotated[bool, typer.Option(
        help="every cell with the keeper of its output switch's tail node, which removes "
             "its switch-on overshoot (a tile mapped with these tables draws them)")] = False,
    frame_thresholds: Annotated[bool, typer.Option(
        help="the cell's switching currents as a tile meets them: within one frame of the "
             "tile testbench after a step (default: on a slow ramp, which reads the band "
             "wider)")] = False,
    quick: Annotated[bool, typer.Option(help="coarse grids: a smoke run")] = False,
    corner: Annotated[Corner, typer.Option(help="process corner of the benches")] = "typical",
    temp: Annotated[float, typer.Option(help="temperature of the benches, °C")] = 27.0,
    vdd: Annotated[float, typer.Option(help="supply of the benches, V")] = VDD_V,
) -> None:
    """Characterise mirrors and the BMRU cell in ngspice; write versioned tables and plots.

    With --corner/--temp/--vdd the tables are that condition's: a tile mapped with them
    (BMRU_TABLES) is drawn for it, and 'bmru compare --tables' runs the model on the values
    a nominal tile realises there (its condition twin).
    """
    from bmru_pdk.circuits import characterize as engine
    from bmru_pdk.circuits import sizing

    if not 1 <= diode_gates <= sizing.MAX_DIODE_GATES:
        raise BmruError(f"--diode-gates {diode_gates}: a diode is 1 to "
                        f"{sizing.MAX_DIODE_GATES} unit gates")
    unit = sizing.UNIT if sigma is None else sizing.unit_for_sigma(sigma)
    unit = unit.model_copy(update={"diode_gates": diode_gates, "cascodes": cascodes,
                                   "keepers": keepers})
    nominal = (corner, *_condition(temp, vdd)) == ("typical", 27.0, VDD_V)
    if tables is None and (unit != sizing.UNIT or not nominal or frame_thresholds):
        raise BmruError("--sigma, --diode-gates, --cascodes, --keepers, --frame-thresholds, "
                        "--corner, --temp and --vdd need --tables: the package's tables are "
                        "the default unit's at typical 27 °C, on the ramp")
    if tables is not None:
        check_output_dir(tables)  # before the benches: a folder of the user's is refused
    result = engine.characterize(quick=quick, unit=unit, corner=corner, temp_c=temp,
                                 vdd_v=vdd,
                                 frame_ms=engine.FRAME_MS if frame_thresholds else None)
    if tables is None:
        path = engine.write_tables(result)
        pngs = engine.plot_tables(result, plots or Path("docs/img"))
    else:  # an output folder like any other: all or nothing, only our own files replaced
        with output_dir(tables) as tmp:
            engine.write_tables(result, tmp)
            pngs = engine.plot_tables(result, plots or tmp)
        path = engine.table_path(tables)
        pngs = [p if plots else tables / p.name for p in pngs]
    gates = (f", {diode_gates}-gate diodes" if diode_gates > 1 else "") + (
        ", cascodes" if cascodes else "") + (", keepers" if keepers else "") + (
        ", cell thresholds in frames" if frame_thresholds else "")
    typer.echo(f"characterised a {unit.w:g} x {unit.l:g} µm unit{gates} (mismatch sigma "
               f"{', '.join(f'{k} {v:.1%}' for k, v in result.mismatch_sigma.items())}) in "
               f"{result.seconds:.1f} s -> {path}, {', '.join(str(p) for p in pngs)}")


@app.command("kws-data")
def kws_data(
    output: Annotated[Path, typer.Argument(
        help="dataset folder to write (new, or one bmru wrote: only its files are replaced)")],
    per_word: Annotated[int, typer.Option(help="utterances per word")] = 400,
    digits: Annotated[bool, typer.Option(help="also speak zero..nine (digits task)")] = False,
    seed: Annotated[int, typer.Option(help="seed: same seed, same files")] = 0,
    engines: Annotated[str, typer.Option(
        help="speech engines whose voices the splits hold, comma-separated: espeak-ng, "
             "flite")] = "espeak-ng",
    force: Force = False,
) -> None:
    """Speak a keyword dataset offline (espeak-ng, flite), in the Speech Commands layout."""
    check_output_dir(output, force)  # before the model extra's imports
    from bmru_pdk.model import synth

    words = synth.WORDS_ALL if digits else synth.WORDS_BINARY
    root = synth.generate(output, words=words, per_word=per_word, seed=seed, force=force,
                          engines=tuple(e.strip() for e in engines.split(",") if e.strip()))
    typer.echo(f"{len(words)} words x {per_word} utterances -> {root}")


# options of bmru train that shape keyword-spotting networks only
_KWS_ONLY = ("data", "w_max", "w_step", "i_max", "i_step", "tables", "mismatch", "candidate_noise",
             "margin", "current_weight", "rest_margin", "init", "held")


def _train_sequence_task(task: str, arch: str, output: Path, kws_options: list[str],
                         **settings: int | float) -> None:
    """``bmru train --task`` of a generated sequence task: a results JSON, no checkpoint."""
    if kws_options:
        raise BmruError(f"--task {task} is a generated sequence task: it takes no "
                        f"{', '.join(kws_options)} (keyword spotting only)")
    if output.suffix != ".json":
        raise BmruError(f"--task {task} writes a results JSON: name the output *.json, "
                        f"not {output.name}")
    import dataclasses
    import json

    from bmru_pdk.fileio import write_text
    from bmru_pdk.model.tasks import load_task
    from bmru_pdk.model.tasks.training import TrainSettings, fit

    config = TrainSettings(arch=arch, **settings)
    result = fit(load_task(task), config, report=lambda line: typer.echo(line, err=True))
    write_text(output, json.dumps({"command": "bmru " + " ".join(sys.argv[1:]),
                                   "settings": dataclasses.asdict(config),
                                   "result": dataclasses.asdict(result)}, indent=2) + "\n")
    typer.echo(
        f"best epoch {result.best_epoch}/{result.epochs_run}: validation accuracy "
        f"{result.validation_accuracy:.4f}, test accuracy {result.test_accuracy:.4f} "
        f"(always the commonest class {result.majority_baseline:.4f}), "
        f"{result.parameters} parameters, {result.seconds:.0f} s -> {output}")


@app.command()
def train(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("-o", "--output", help=(
        "checkpoint to write (sequence tasks: a results JSON)"))],
    data: Annotated[Path | None, typer.Option(help=(
        "dataset folder (Speech Commands layout), for binary and digits"))] = None,
    d: Annotated[int | None, typer.Option("--d", help=(
        "units per layer (default 4; sequence tasks 32)"))] = None,
    layers: Annotated[int, typer.Option(help="FQ-BMRU layers")] = 2,
    task: Annotated[str, typer.Option(help=(
        "binary (yes vs rest) or digits, keyword spotting on --data; or a generated sequence "
        "task: seq-digits, perm-digits, listops, pathfinder"))] = "binary",
    arch: Annotated[str, typer.Option(help=(
        "fqbmru; the sequence tasks also bmru (signed BMRU), gru, mingru or lru"))] = "fqbmru",
    epochs: Annotated[int, typer.Option(help="maximum epochs")] = 60,
    patience: Annotated[int, typer.Option(help="early stopping patience (epochs)")] = 12,
    lr: Annotated[float, typer.Option(help="Adam learning rate")] = 1e-2,
    batch_size: Annotated[int, typer.Option(help="utterances per step")] = 32,
    seed: Annotated[int, typer.Option(help="seed")] = 0,
    w_max: Annotated[float, typer.Option(help="largest weight magnitude")] = 8.0,
    w_step: Annotated[float | None, typer.Option(help="weight grid (none: continuous)")] = None,
    i_max: Annotated[float, typer.Option(help="largest constant current, nA")] = 20.0,
    i_step: Annotated[float | None, typer.Option(help="current grid, nA")] = None,
    tables: Annotated[Path | None, typer.Option(
        help="train within the window these tables realise, on their grid (tables of "
             "'bmru characterize --diode-gates D' put the weights on steps of 1/D); "
             "replaces --w-max, --w-step, --i-max and --i-step")] = None,
    mismatch: Annotated[float, typer.Option(help="train with this relative mismatch")] = 0.0,
    candidate_noise: Annotated[float, typer.Option(help="candidate noise, nA")] = 0.0,
    margin: Annotated[float, typer.Option(
        help="penalise candidates within this many nA of a threshold")] = 0.0,
    current_weight: Annotated[float, typer.Option(
        help="weight of the summing-node current (supply and cancellation) term")] = 0.0,
    rest_margin: Annotated[float, typer.Option(
        help="hold each unit's zero-input rest candidate clear of its thresholds by this "
             "fraction of each, and above the first layer clear of its hysteresis band (one "
             "rest state, whatever the reset)")
    ] = 0.0,
    init: Annotated[Path | None, typer.Option(
        help="fine-tune this checkpoint (its input encoding, and its realisability unless "
             "--tables moves it onto another drawing's)")] = None,
    held: Annotated[bool, typer.Option(
        help="a held network: each layer but the last passes its states on a frame late, "
             "its tile sampling them on a frame clock (pin clk); with --init the "
             "checkpoint's network is fine-tuned into one")] = False,
    threads: Annotated[int, typer.Option(help="torch CPU threads")] = 2,
    force: Replace = False,
) -> None:
    """Train an FQ-BMRU network; the best checkpoint (validation) is written atomically.

    With a sequence task (--task seq-digits, perm-digits, listops or pathfinder) the data are
    generated (seed 0; --seed sets initialisation and batch order), --arch picks the network,
    and the output is a JSON of the run's figures, test accuracy at the best validation epoch.
    """
    from bmru_pdk.model.data import TASKS as KWS_TASKS
    from bmru_pdk.model.tasks import TASKS as SEQUENCE_TASKS

    if init is not None and output.resolve() == init.resolve():
        raise BmruError(f"--output {output} is the --init checkpoint: write the fine-tuned "
                        "network to another file")
    if output.exists() and not force:
        raise BmruError(f"--output {output} exists: bmru train does not replace a file unless "
                        "given --force")
    if task in SEQUENCE_TASKS:
        from click.core import ParameterSource

        given = [f"--{name.replace('_', '-')}" for name in _KWS_ONLY
                 if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT]
        _train_sequence_task(task, arch, output, given, d=32 if d is None else d,
                             layers=layers, epochs=epochs, lr=lr, batch_size=batch_size,
                             patience=patience, seed=seed, threads=threads)
        return
    if task not in KWS_TASKS:
        raise BmruError(f"unknown task {task!r}; choose one of "
                        f"{', '.join([*KWS_TASKS, *SEQUENCE_TASKS])}")
    if data is None:
        raise BmruError(f"--task {task} is keyword spotting: give its dataset folder with --data")
    if arch != "fqbmru":
        raise BmruError(f"--arch {arch} is for the generated sequence tasks; keyword spotting "
                        "trains the FQ-BMRU network a tile realises")
    from bmru_pdk.model import load_checkpoint
    from bmru_pdk.model import train as engine
    from bmru_pdk.model.schema import Realisability

    start = None if init is None else load_checkpoint(init)
    window = None if start else Realisability(w_max=w_max, w_step=w_step, i_max=i_max,
                                              i_step=i_step)
    if tables is not None:  # with --init: the checkpoint's network moved onto its levels
        from bmru_pdk.circuits import mapping

        window = mapping.realisability(mapping.load_tables(tables))
    config = engine.TrainConfig(
        d=4 if d is None else d, layers=layers, epochs=epochs, lr=lr, batch_size=batch_size,
        patience=patience, seed=seed, mismatch=mismatch, candidate_noise=candidate_noise,
        margin=margin, current_weight=current_weight, rest_margin=rest_margin,
        init=None if init is None else str(init), threads=threads, held=held,
        realisability=window,
    )
    dataset = engine.prepare_data(data, task=task, seed=seed,
                                  encoding=start.meta.input if start else None)
    command = "bmru " + " ".join(sys.argv[1:])
    _, record = engine.train(dataset, config, output, dataset_name=data.name, command=command)
    typer.echo(
        f"best epoch {record.best_epoch}/{record.epochs_run}: validation balanced accuracy "
        f"{record.val_accuracy:.4f}, test accuracy {record.test_accuracy:.4f}, "
        f"{record.duration_s:.0f} s -> {output}"
    )


@app.command("eval")
def eval_(
    checkpoint: Annotated[Path, typer.Argument(help="checkpoint (.safetensors)")],
    data: Annotated[Path, typer.Option(help="dataset folder (Speech Commands layout)")],
    split: Annotated[str, typer.Option(help="train, validation or test")] = "test",
    seed: Annotated[int, typer.Option(help="seed of the silence clips")] = 0,
    json: Annotated[Path | None, typer.Option("--json", help="write metrics as JSON")] = None,
) -> None:
    """Accuracy (per frame and majority vote) and confusion matrix of a checkpoint."""
    import dataclasses
    import json as js

    from bmru_pdk.fileio import write_text
    from bmru_pdk.model import load_checkpoint
    from bmru_pdk.model import train as engine
    from bmru_pdk.model.data import SPLITS

    if split not in SPLITS:
        raise BmruError(f"unknown split {split!r}; choose {', '.join(SPLITS)}")
    model = load_checkpoint(checkpoint)
    task = model.meta.training.task if model.meta.training else "binary"
    ds = engine.prepare_data(data, task=task, seed=seed, encoding=model.meta.input,
                             splits=(split,))
    m = engine.evaluate(model, ds.x[split], ds.y[split])
    typer.echo(
        f"{split}: {len(ds.y[split])} utterances, accuracy {m.accuracy:.4f} (majority vote), "
        f"balanced {m.balanced_accuracy:.4f}, per-frame {m.frame_accuracy:.4f}; always the "
        f"commonest class {m.baseline_accuracy:.4f}"
        + ("" if m.false_reject_at_5pct_fa is None else
           f"; false rejects at 5 % false accepts {m.false_reject_at_5pct_fa:.4f}")
    )
    width = max(len(c) for c in model.meta.classes)
    typer.echo(" " * (width + 8) + " ".join(f"{c:>{width}}" for c in model.meta.classes))
    for name, row in zip(model.meta.classes, m.confusion, strict=True):
        typer.echo(f"true {name:>{width}}   " + " ".join(f"{v:>{width}}" for v in row))
    if json is not None:
        write_text(json, js.dumps({"split": split, **dataclasses.asdict(m)}, indent=2) + "\n")


@app.command()
def tile(
    checkpoint: Annotated[Path, typer.Argument(help="checkpoint (.safetensors)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="folder to write")],
    force: Force = False,
    max_devices: MaxDevices = DEFAULT_MAX_DEVICES,
    aspect: Annotated[float, typer.Option(
        help=f"height : width the floorplan aims at ({ASPECTS[0]:g}-{ASPECTS[1]:g}; the "
             "weight arrays are banded to suit)")] = ASPECT,
    draw_rail: DrawRail = False,
    rail_generator: DrawRailGenerator = False,
    unit_rows: Annotated[int, typer.Option(
        help="rows each unit is drawn in: 1, or 2 (NMOS under PMOS, about half as wide)")] = 1,
) -> None:
    """Generate the tile of a checkpoint: GDS, SPICE, LEF, parameter mapping and summary."""
    if rail_generator and not draw_rail:  # before the imports: a refusal costs nothing
        raise BmruError("--rail-generator holds the drawn rail: add --draw-rail")
    check_unit_rows(unit_rows)
    from bmru_pdk.circuits import RailGeneratorParams
    from bmru_pdk.layouts.tile import tile_files

    tables = _tables()
    _activate()
    result = tile_files(checkpoint, output, force=force, max_devices=max_devices, tables=tables,
                        aspect=aspect, source_rail=draw_rail,
                        rail_generator=RailGeneratorParams() if rail_generator else None,
                        unit_rows=unit_rows)
    width, height = result.boundary[2:]
    typer.echo(f"{result.name}: {result.devices} transistors, {result.area_um2:.0f} µm² "
               f"({width:.0f} x {height:.0f} µm) in {result.seconds:.1f} s -> {result.outdir}")


@app.command()
def flow(
    checkpoint: Annotated[Path | None, typer.Argument(
        help="checkpoint (.safetensors); default: the bundled one")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="folder to write")] = Path(
        "build/flow"
    ),
    n: Annotated[int, typer.Option(
        "--n", help="utterances for the post-layout compare (0: skip it)")] = 50,
    sample: Sample = HEADLINE,
    pex: Pex = True,
    frame_us: FrameUs = None,
    scheduler: Scheduler = None,
    workers: Workers = None,
    force: Force = False,
    max_devices: MaxDevices = DEFAULT_MAX_DEVICES,
    draw_rail: DrawRail = False,
    rail_generator: DrawRailGenerator = False,
) -> None:
    """The main job: tile -> official DRC -> LVS -> extracted netlist -> post-layout compare,
    with a report. Exit code 0 when DRC and LVS pass; the compare's targets are reported."""
    if rail_generator and not draw_rail:  # before the imports: a refusal costs nothing
        raise BmruError("--rail-generator holds the drawn rail: add --draw-rail")
    from bmru_pdk import flow as job
    from bmru_pdk.circuits import RailGeneratorParams
    from bmru_pdk.executor import make_executor
    from bmru_pdk.model.bundled import bundled_checkpoint
    from bmru_pdk.model.checkpoint import open_checkpoint
    from bmru_pdk.model.samples import load_utterances

    ckpt = open_checkpoint(checkpoint or bundled_checkpoint())
    tables = _tables()
    check_output_dir(output, force)
    if pex:
        from bmru_pdk.verification.pex import kpex_program

        kpex_program()  # a missing tool before any work
    # the executor first: an unreachable scheduler ends the job before any work
    with make_executor(scheduler, workers) as executor:
        utterances = load_utterances(ckpt, None, n, sample=sample) if n > 0 else None
        _activate()
        with _bars(job.steps(pex, bool(utterances))) as update:
            result = job.run(ckpt, output, utterances, **_frame(frame_us),
                             executor=executor, progress=update, force=force,
                             max_devices=max_devices, sample=sample, pex=pex, tables=tables,
                             source_rail=draw_rail,
                             rail_generator=RailGeneratorParams() if rail_generator else None)
    typer.echo(job.render_report(result.figures))
    typer.echo(f"files in {result.outdir}")
    if result.failed:
        raise BmruError(f"{len(result.failed)} of {len(utterances or [])} simulations failed "
                        f"(first: {result.failed[0]['name']}: {result.failed[0]['error']}); "
                        f"every failure is in {result.outdir / 'compare' / 'compare.json'}")
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def compare(
    checkpoint: Annotated[Path, typer.Argument(help="checkpoint (.safetensors)")],
    data: Annotated[Path | None, typer.Option(
        help="dataset in the Speech Commands layout (its test split); default: spoken "
             "offline")] = None,
    n: Annotated[int, typer.Option("--n", help="number of utterances")] = 5,
    sample: Sample = HEADLINE,
    pex: Pex = True,
    seed: Annotated[int | None, typer.Option(
        help="another seed for the sample's voices (ignored with --data)")] = None,
    frame_us: FrameUs = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="folder to write")] = Path(
        "build/compare"
    ),
    scheduler: Scheduler = None,
    workers: Workers = None,
    force: Force = False,
    max_devices: MaxDevices = DEFAULT_MAX_DEVICES,
    corner: Annotated[Corner, typer.Option(help="process corner of the simulations")] = (
        "typical"),
    temp: Annotated[float, typer.Option(help="temperature of the simulations, °C")] = 27.0,
    vdd: Annotated[float, typer.Option(help="supply of the simulations, V")] = VDD_V,
    source_rail: Annotated[float, typer.Option(
        help="NMOS sources on a rail this many V above the substrate (0-1 V): the drawn "
             "rail's pin with --draw-rail, otherwise a study (the extracted netlist is "
             "re-wired)")] = 0.0,
    hot_rail: Annotated[float, typer.Option(
        help="the rail following temperature: on ground up to 27 °C, rising linearly to "
             "this many V at 125 °C (instead of --source-rail; the nominal model stays the "
             "tile's own)")] = 0.0,
    draw_rail: DrawRail = False,
    rail_generator: Annotated[bool, typer.Option(
        help="hold the drawn rail (--draw-rail) with the rail generator drawn in the tile, "
             "a leakage servo whose set current an ideal source puts on pin iset, instead of "
             "an ideal source on the rail (the nominal model stays the tile's own)")] = False,
) -> None:
    """Simulate the extracted tile on utterances and compare it with the software model.

    Away from typical 27 °C 1.8 V (--corner/--temp/--vdd) the tables of that condition are
    characterised first and the model also runs the values the tile realises there
    (condition_twin in compare.json). With --source-rail the nominal model is the values
    the drawing realises on that rail at typical 27 °C 1.8 V; with --hot-rail the rail
    follows temperature and the nominal model stays the tile's own; with --rail-generator
    the condition's twin is characterised on the generator's DC rail there.
    """
    from bmru_pdk.spice import check_source_rail

    # the rails are checked before the analyses are imported (seconds on a cold start)
    if sum(map(bool, (source_rail, hot_rail, rail_generator))) > 1:
        raise BmruError("give one of --source-rail, --hot-rail and --rail-generator")
    if rail_generator and not draw_rail:
        raise BmruError("--rail-generator holds the drawn rail: add --draw-rail")
    for value, flag in ((source_rail, "--source-rail"), (hot_rail, "--hot-rail")):
        if value:
            check_source_rail(value, flag)
    from bmru_pdk.analyses.compare import compare as run_compare
    from bmru_pdk.analyses.compare import raise_failures, target_check
    from bmru_pdk.analyses.testbench import Condition, generated_rail
    from bmru_pdk.analyses.testbench import hot_rail as follow
    from bmru_pdk.executor import make_executor
    from bmru_pdk.model.checkpoint import open_checkpoint
    from bmru_pdk.model.samples import load_utterances

    temp_c, vdd_v = _condition(temp, vdd)
    condition = Condition(corner, temp_c, vdd_v, source_rail or follow(temp_c, hot_rail),
                          rail_follows_temp=bool(hot_rail))
    if rail_generator:
        condition = generated_rail(corner, temp_c, vdd_v)
    ckpt = open_checkpoint(checkpoint)
    tables = _tables()
    check_output_dir(output, force)
    if pex:
        from bmru_pdk.verification.pex import kpex_program

        kpex_program()  # a missing tool before any work
    with make_executor(scheduler, workers) as executor:
        utterances = load_utterances(ckpt, data, n, sample=sample, seed=seed)
        named = str(data) if data else sample + ("" if seed is None else f" (seed {seed})")
        _activate()
        with _bars(["simulations"]) as update:
            f = run_compare(ckpt, utterances, output, **_frame(frame_us),
                            progress=lambda k, total: update("simulations", k, total),
                            executor=executor, force=force, max_devices=max_devices,
                            sample=named, pex=pex, tables=tables, condition=condition,
                            source_rail=draw_rail)
    if not f["utterances"]:
        raise_failures(f)
    for ref in (r for r in ("ideal", "realised", "condition_twin") if r in f):
        r = f[ref]
        typer.echo(f"{ref}: state agreement per layer {r['state_agreement_per_layer']}, "
                   f"decisions {r['decisions_agreeing']}/{f['utterances']}, "
                   f"candidate error per layer {r['candidate_mae_na_per_layer']} nA, "
                   f"output error {r['output_mae_na']} nA")
    parts = ", ".join(f"{k} {v}" for k, v in f["power_nw"]["by_part"].items())
    typer.echo(f"supply power {f['power_nw']['mean']} nW (mean; {parts}), "
               f"{f['sim_s_per_utterance']} s per utterance -> {output}")
    raise_failures(f)
    raise typer.Exit(0 if target_check(f)["met"] else 1)


class _Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: not an ``Exception``, so no handler of errors takes it for
    one, and not a ``KeyboardInterrupt``, which typer turns into a silent exit 130."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# the system's words for a failed write, where the error does not say what failed
_WRITE_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})
# KLayout reports a failed open, read or write as a RuntimeError naming the file and errno
_KLAYOUT_IO = re.compile(r"(?:Unable to open|Read error on|Write error on) file: (.+?) "
                         r"\(errno=(\d+)\)")


def _interrupt(signum: int, _frame: object) -> None:
    """Stop the command; a second signal is ignored, as it would cut its clean-up short
    (temporary files removed, worker processes and ngspice stopped)."""
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise _Interrupted(signum)


def _free_semaphores() -> None:
    """Unlink the named semaphores of a worker pool the signal caught half-built (it holds
    them until collected), as the interpreter's exit would: ``os._exit`` skips that, and
    multiprocessing's resource tracker would then warn of them on stderr."""
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util._run_finalizers(0)  # the exit hook's own call: its SemLock clean-ups have priority 0


def _os_error(exc: OSError) -> str:
    """``exc`` as one sentence: what failed, where (the destination, not its temporary
    name) and the system's reason."""
    where = [str(destination(os.fsdecode(f))) for f in (exc.filename, exc.filename2)
             if isinstance(f, str | bytes)]
    what = "cannot write" if exc.errno in _WRITE_ERRORS else "cannot access"
    reason = exc.strerror or " ".join(str(exc).split()) or type(exc).__name__
    return f"{what} {' and '.join(where)}: {reason}" if where else reason


@app.command()
def signoff(
    gds: Annotated[Path, typer.Argument(help="GDS to sign off")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", help="folder for the verdict and reports; a rerun into it "
                               "re-checks only the cells that changed")],
    netlist: Annotated[Path | None, typer.Argument(
        help="schematic SPICE netlist (LVS); without it, DRC only")] = None,
    pex: Annotated[bool, typer.Option(
        "--pex", help="also extract the parasitic capacitances (KLayout-PEX)")] = False,
    engine: Annotated[str, typer.Option(
        help="LVS engine: auto (the project's for nfet_03v3 / pfet_03v3 netlists, else the "
             "official deck), own, official, or both (reports where they disagree)")] = "auto",
    waivers: Annotated[Path | None, typer.Option(
        help="waiver file (JSON or TOML): rule, cell, optional box (µm), reason")] = None,
    topcell: Annotated[str | None, typer.Option(help="top cell (default: the only one)")] = None,
    force: Force = False,
    scheduler: PexScheduler = None,
) -> None:
    """Sign-off gate: official DRC, LVS, optional PEX; JSON, JUnit, SARIF and Markdown."""
    from bmru_pdk import signoff as job
    from bmru_pdk.executor import make_executor

    choices = [e.value for e in job.Engine]
    if engine not in choices:
        raise typer.BadParameter(f"--engine must be one of {', '.join(choices)}, not {engine}")
    with make_executor(scheduler) if scheduler and pex else nullcontext() as executor:
        result = job.run(gds, netlist, output, pex=pex, engine=job.Engine(engine),
                         waivers=waivers, topcell=topcell, force=force, executor=executor)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(result.summary())
    raise typer.Exit(0 if result.ok else 1)


def main() -> None:
    """Console entry point: bad input, tool and system errors (disk full, read-only, no
    permission) become one line and exit code 2; SIGINT and SIGTERM stop any command
    (exit 130 and 143), leaving no half-written output."""
    for sig in _SIGNALS:
        signal.signal(sig, _interrupt)
    # top-level modules of each optional extra: a command that needs one names the extra
    extras = {"torch": "model", "librosa": "model", "numba": "model", "soundfile": "model",
              "dask": "dask", "distributed": "dask"}
    try:
        rc = app(standalone_mode=False)
    except _Interrupted as exc:
        typer.echo("error: interrupted" if exc.signum == signal.SIGINT else "error: terminated",
                   err=True)
        # the command has cleaned up after itself (temporary output, workers, ngspice); the
        # interpreter's shut-down (torch, KLayout) would take seconds more
        _free_semaphores()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(128 + exc.signum)
    except BmruError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.BadParameter, typer.Abort) as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except ModuleNotFoundError as exc:
        extra = extras.get((exc.name or "").partition(".")[0])
        if extra is None:
            raise
        command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
        typer.echo(f"error: bmru {command} needs the {extra} extra: "
                   f"pip install 'bmru-pdk[{extra}]'", err=True)
        sys.exit(2)
    except OSError as exc:
        typer.echo(f"error: {_os_error(exc)}", err=True)
        sys.exit(2)
    except RuntimeError as exc:
        io = _KLAYOUT_IO.search(str(exc))
        if io is None:
            raise
        code = int(io.group(2))
        typer.echo(f"error: {_os_error(OSError(code, os.strerror(code), io.group(1)))}",
                   err=True)
        sys.exit(2)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(2)
        raise
    sys.exit(rc if isinstance(rc, int) else 0)
