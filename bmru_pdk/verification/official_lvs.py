"""LVS with the official gf180mcu deck, run headless by the ``klayout`` program.

The deck (klayout-pex's variant of the official gf180mcu LVS runset,
:func:`bmru_pdk.assets.lvs_deck`) extracts every gf180 device it knows: 3.3, 5 and 6 V
transistors, diffusion, well and poly resistors, MIM and MOS capacitors, diodes, bipolars.
Its SPICE reader takes ``M``, ``R``, ``C`` and ``D`` cards with the gf180 model names and SI
values, e.g.::

    M1 d g s vss nfet_06v0 W=2u L=0.7u
    R1 a b vss ppolyf_u W=1u L=10u
    C1 bot top cap_mim_2f0fF W=5u L=5u
    D1 p n diode_pd2nw_03v3 A=4p P=8u

It runs in deep mode on the DRC deck's metal stack (6 metals, 9 kÅ top metal), joins
parallel devices, and makes top-level pins of the labelled nets. Pins are not checked by
name (KLayout 0.28 has no ``flag_missing_ports``): :mod:`bmru_pdk.verification.lvs` is the
stricter engine for the two 3.3 V transistors. On top of the deck's compare, every pair of
devices it matches must agree in size (W and L, or area and perimeter) within
:data:`~bmru_pdk.verification.lvs.TOLERANCE` where the schematic gives the size: the deck
does not compare a diode's area at all.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import klayout.db as kdb

from bmru_pdk import assets
from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import atomic_path
from bmru_pdk.spice import circuit_text
from bmru_pdk.verification.drc import NO_PMAP, klayout_program
from bmru_pdk.verification.lvs import TOLERANCE, LvsResult, Mismatch

# Deck switches: the DRC deck's metal stack, parallel devices joined, pins from labels.
OPTIONS = {"run_mode": "deep", "metal_level": "6LM", "metal_top": "9K", "combine": "true",
           "top_lvl_pins": "true", "check_ports": "false", "spice_comments": "false"}

# Run before the deck: KLayout 0.28.5 lacks the DSL call ``name`` (the PEX variant labels its
# layers with it; a no-op changes no extraction), and the deck's logger runs ``pmap`` for
# every line it prints, which costs a process per line and tells a user nothing.
_PRELUDE = """module LVS
  class LVSEngine
    def name(*); end unless method_defined?(:name)
  end
end
""" + NO_PMAP

# per kind of device: its SPICE letter and the sizes compared, in KLayout's units (µm, µm²)
_KINDS: list[tuple[type, str, tuple[str, ...]]] = [
    (kdb.DeviceClassMOS3Transistor, "M", ("W", "L")),
    (kdb.DeviceClassResistor, "R", ("W", "L")),
    (kdb.DeviceClassCapacitor, "C", ("A", "P")),
    (kdb.DeviceClassDiode, "D", ("A", "P")),
    (kdb.DeviceClassBJT3Transistor, "Q", ("AE", "PE")),
]
_OK = (kdb.NetlistCrossReference.Match, kdb.NetlistCrossReference.MatchWithWarning)


def _kind(device: kdb.Device) -> tuple[str, tuple[str, ...]]:
    """The SPICE letter of ``device`` and the sizes compared (none for unknown kinds)."""
    cls = device.device_class()
    return next(((letter, sizes) for kind, letter, sizes in _KINDS if isinstance(cls, kind)),
                ("X", ()))


def _name(device: kdb.Device) -> str:
    """The device's SPICE name (KLayout keeps it without its letter)."""
    return _kind(device)[0] + device.expanded_name()


def _device(device: kdb.Device) -> str:
    params = "".join(f" {p}={device.parameter(p):.4g}" for p in _kind(device)[1])
    return f"{_name(device)} ({device.device_class().name}{params})"


def _size_differences(a: kdb.Device, b: kdb.Device, circuit: str) -> list[Mismatch]:
    """Sizes of a matched pair that differ, where both sides give them."""
    out = []
    for p in _kind(a)[1]:
        va, vb = a.parameter(p), b.parameter(p)
        if va > 0 and vb > 0 and abs(va - vb) > TOLERANCE * 0.5 * (va + vb):
            out.append(Mismatch("parameter", f"{a.device_class().name} {_name(a)} in "
                                f"{circuit} (schematic {_name(b)}): {p} {va:.4g} in the layout "
                                f"vs {vb:.4g} in the schematic"))
    return out


def _device_mismatches(xref: kdb.NetlistCrossReference,
                       pair: kdb.NetlistCrossReference.CircuitPairData) -> list[Mismatch]:
    """Unpaired devices (a layout and a schematic device of one class: their sizes differ)
    and size differences of paired ones."""
    name = pair.first().name
    out: list[Mismatch] = []
    lone_a: list[kdb.Device] = []
    lone_b: list[kdb.Device] = []
    for dp in xref.each_device_pair(pair):
        a, b = dp.first(), dp.second()
        if a and b:
            out += _size_differences(a, b, name)
        elif a:
            lone_a.append(a)
        elif b:
            lone_b.append(b)
    for a in lone_a:
        cls = a.device_class().name.lower()
        b = next((b for b in lone_b if b.device_class().name.lower() == cls), None)
        if b is not None:
            lone_b.remove(b)
            out.append(Mismatch("parameter", f"layout device {_device(a)} in {name} is where "
                                f"the schematic has {_device(b)}"))
        else:
            out.append(Mismatch("device", f"layout device {_device(a)} in {name} has no match "
                                "in the schematic"))
    out += [Mismatch("device", f"schematic device {_device(b)} in {name} has no match in the "
                     "layout") for b in lone_b]
    return out


def _net_mismatches(xref: kdb.NetlistCrossReference,
                    pair: kdb.NetlistCrossReference.CircuitPairData) -> list[Mismatch]:
    name = pair.first().name
    out = []
    for np_ in xref.each_net_pair(pair):
        if np_.status() in _OK:
            continue
        a, b = np_.first(), np_.second()
        if a and b:
            out.append(Mismatch("net", f"layout net '{a.expanded_name()}' and schematic net "
                                f"'{b.expanded_name()}' connect differently in {name}"))
        else:
            side, net = ("layout", a) if a else ("schematic", b)
            out.append(Mismatch("net", f"{side} net '{net.expanded_name()}' in {name} has no "
                                "match"))
    return out


def mismatches(xref: kdb.NetlistCrossReference) -> list[Mismatch]:
    """The differences of a compare, readable: per circuit its devices, else its nets.

    Net differences are listed only in circuits whose devices agree: where a device differs,
    its nets follow from it.
    """
    out: list[Mismatch] = []
    for pair in xref.each_circuit_pair():
        a, b = pair.first(), pair.second()
        if a is None or b is None:
            side, circuit = ("layout", a) if a else ("schematic", b)
            out.append(Mismatch("circuit", f"{side} circuit {circuit.name} has no counterpart"))
            continue
        found = _device_mismatches(xref, pair) or _net_mismatches(xref, pair)
        if not found and pair.status() not in _OK:
            found = [Mismatch("circuit", f"layout {a.name} and schematic {b.name} do not "
                              "match")]
        out += found
    return out


def _device_counts(netlist: kdb.Netlist) -> dict[str, int]:
    """Devices per class over the whole hierarchy (each cell's devices times its uses)."""
    netlist.flatten()
    top = netlist.top_circuit()
    counts = Counter(d.device_class().name for d in top.each_device()) if top else {}
    return dict(sorted(counts.items()))


def run(
    gds: str | Path,
    schematic: str | Path,
    lvsdb: str | Path | None = None,
    topcell: str | None = None,
    *,
    timeout: float = 3600,
) -> LvsResult:
    """Compare a layout with its schematic netlist on the official gf180mcu LVS deck.

    Args:
        gds: layout file.
        schematic: SPICE netlist file (``M``, ``R``, ``C``, ``D`` cards of gf180 models).
        lvsdb: where to write KLayout's LVS database (opens in its netlist browser).
        topcell: cell to check; default the layout's top cell.
        timeout: seconds before the run is abandoned.

    Returns:
        The verdict with every difference found, the extracted devices per model, and the run
        time.

    Raises:
        BmruError: a missing file, or the deck fails (its reason in one line).
        ToolMissingError: no ``klayout`` program, or the deck cannot be fetched.
    """
    start = time.perf_counter()
    gds, schematic = Path(gds), Path(schematic)
    for what, path in (("layout", gds), ("schematic netlist", schematic)):
        if not path.is_file():
            raise BmruError(f"the {what} {path} does not exist")
    exe, deck = klayout_program(), assets.lvs_deck()
    with tempfile.TemporaryDirectory(prefix="bmru-lvs-") as tmp:
        prelude, report = Path(tmp) / "prelude.rb", Path(tmp) / "layout.lvsdb"
        prelude.write_text(_PRELUDE)
        # the circuit alone, as the project's engine reads it: KLayout would follow an
        # .include or .lib of the user's netlist to any file
        circuit = Path(tmp) / "schematic.spice"
        circuit.write_text(circuit_text(schematic.read_text(errors="replace")) + "\n")
        options = {**OPTIONS, "input": gds.resolve(), "schematic": circuit,
                   "report": report, "target_netlist": Path(tmp) / "extracted.cir"}
        if topcell:
            options["topcell"] = topcell
        cmd = [exe, "-b", "-rm", str(prelude), "-r", str(deck)]
        for key, value in options.items():
            cmd += ["-rd", f"{key}={value}"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp)
        except subprocess.TimeoutExpired as exc:
            raise BmruError(f"LVS of {gds} did not finish within {timeout:.0f} s") from exc
        if proc.returncode != 0 or not report.is_file():
            lines = (proc.stdout + proc.stderr).strip().splitlines() or ["no output"]
            why = next((ln for ln in lines if "ERROR" in ln), lines[-1]).strip()
            raise BmruError(f"klayout failed to run the official LVS deck on {gds}: {why}")
        db = kdb.LayoutVsSchematic()
        db.read(str(report))
        found = mismatches(db.xref())
        top = db.netlist().top_circuit()
        name = top.name if top else (topcell or "")
        devices = _device_counts(db.netlist())
        if lvsdb:
            with atomic_path(lvsdb) as out:
                out.write_bytes(report.read_bytes())
    return LvsResult(str(gds), str(schematic), name, str(lvsdb) if lvsdb else None,
                     time.perf_counter() - start, found, devices)
