"""Layout versus schematic on KLayout's engine, stricter than the official gf180 deck.

The layout netlist comes from :mod:`bmru_pdk.verification.extract`; the schematic is a SPICE
netlist whose transistors are ``nfet_03v3`` / ``pfet_03v3`` calls (``X`` or ``M`` lines,
SI units). Parallel fingers are combined before KLayout's ``NetlistComparer`` pairs them:
first cell by cell, where layout cells and schematic subcircuits share names (a tile's parts:
each distinct part compared once, so the time follows the distinct parts, not the tile), each
part regrouped alike on both sides into its channel groups
(:mod:`~bmru_pdk.verification.channel_groups`: a crossbar's weights one by one); where that
does not match exactly, both netlists flattened, which says what differs. On top
of its topological match this module requires:

- pins to match by name, so swapped labels fail;
- each label to name one net per cell: two unconnected shapes with the same label are an
  open (KLayout keeps them apart unless told to join them), two labels on one net a short.

W and L match within ``TOLERANCE`` (relative); AS, AD, PS and PD are not compared.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import klayout.db as kdb

from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import atomic_path, signals_held, write_text
from bmru_pdk.spice import circuit_text
from bmru_pdk.verification.channel_groups import split_channels
from bmru_pdk.verification.extract import DEVICES, TERMINALS, build, load_layout

TOLERANCE = 0.01
COMPARED = ("W", "L")


@dataclass(frozen=True)
class Mismatch:
    """One difference between layout and schematic.

    ``kind`` is one of: open, short, pin, device, parameter, net, circuit.
    """

    kind: str
    message: str


@dataclass
class LvsResult:
    """The outcome of one LVS run; ``runtime_s`` is the whole run (reading to verdict);
    ``cell_by_cell`` says the match was found part by part (layout cells paired with the
    schematic's subcircuits of the same name), not on the flattened netlists."""

    gds: str
    schematic: str
    topcell: str
    lvsdb: str | None
    runtime_s: float
    mismatches: list[Mismatch] = field(default_factory=list)
    devices: dict[str, int] = field(default_factory=dict)
    cell_by_cell: bool = False

    @property
    def match(self) -> bool:
        """True when nothing differs (connectivity, devices, parameters, pin names, labels)."""
        return not self.mismatches

    def to_json(self) -> str:
        """Stable-key JSON report."""
        return json.dumps(
            {
                "gds": self.gds,
                "schematic": self.schematic,
                "topcell": self.topcell,
                "lvsdb": self.lvsdb,
                "match": self.match,
                "runtime_s": round(self.runtime_s, 2),
                "compared": "cell by cell" if self.cell_by_cell else "flat",
                "devices": self.devices,
                "mismatches": [asdict(m) for m in self.mismatches],
            },
            indent=2,
        )

    def summary(self) -> str:
        """Human-readable verdict, one line per mismatch."""
        counts = ", ".join(f"{n} {c}" for c, n in self.devices.items()) or "no devices"
        if self.match:
            how = ", cell by cell" if self.cell_by_cell else ""
            return f"LVS match: {self.topcell} ({counts}){how}"
        lines = [f"LVS MISMATCH: {self.topcell} ({counts}), {len(self.mismatches)} difference(s)"]
        lines += [f"  {m.kind}: {m.message}" for m in self.mismatches]
        return "\n".join(lines)


class _SchematicReader(kdb.NetlistSpiceReaderDelegate):
    """Turns ``X``/``M`` calls of the gf180 model subcircuits into MOS4 devices."""

    def wants_subcircuit(self, circuit_name: str) -> bool:
        return circuit_name.lower() in DEVICES

    def control_statement(self, line: str) -> bool:
        return True  # analysis and option cards are irrelevant to connectivity

    def element(self, circuit: kdb.Circuit, element: str, name: str, model: str,
                value: float, nets: list[kdb.Net], parameters: dict) -> bool:
        cls_name = model.lower()
        if element not in ("X", "M") or cls_name not in DEVICES:
            return super().element(circuit, element, name, model, value, nets, parameters)
        if len(nets) != 4:
            self.error(f"{element}{name} needs 4 nets (d g s b) for {cls_name}, got {len(nets)}")
        netlist = circuit.netlist()
        # not device_class_by_name: a case-insensitive netlist (as the reader makes) does not
        # find a lower-case class name, so every device got a class of its own and parallel
        # fingers never combined
        cls = next((c for c in netlist.each_device_class() if c.name == cls_name), None)
        if cls is None:
            cls = kdb.DeviceClassMOS4Transistor()
            cls.name = cls_name
            netlist.add(cls)
        device = circuit.create_device(cls, name)
        for terminal, net in zip(TERMINALS, nets, strict=True):
            device.connect_terminal(terminal, net)
        mult = float(parameters.get("M", 1.0))  # m parallel copies: same as m x the width
        for p in ("W", "L", "AS", "AD", "PS", "PD"):
            if p in parameters:
                scale = 1.0 if p == "L" else mult
                device.set_parameter(p, float(parameters[p]) * scale)
        self.apply_parameter_scaling(device)  # SI (metres) -> µm, µm²
        return True


def read_schematic(netlist: str | Path) -> kdb.Netlist:
    """Read a SPICE schematic given as a path or as text.

    Model ``.lib``/``.include`` lines and ``.control`` blocks are skipped, so a simulation
    deck can serve as the schematic.

    Raises:
        BmruError: missing file or a netlist KLayout cannot read.
    """
    text = str(netlist)
    if "\n" not in text:
        path = Path(text)
        if not path.is_file():
            raise BmruError(f"the schematic netlist {path} does not exist")
        text = path.read_text(errors="replace")
    # model libraries would make the reader parse the 47k-line gf180 model file, and
    # control blocks are commands: the circuit alone is read, nothing is followed or run
    text = circuit_text(text)
    reference = kdb.Netlist()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schematic.spice"
        path.write_text(text + "\n")
        try:
            # KLayout turns the exception of a signal handler run in its calls of the
            # reader into an error of its own: signals wait until it returns
            with signals_held():
                reference.read(str(path), kdb.NetlistSpiceReader(_SchematicReader()))
        except RuntimeError as exc:
            msg = str(exc).splitlines()[0].replace(f" in {path}", "").removesuffix(
                " in Netlist.read")
            raise BmruError(f"cannot read the schematic netlist {_source(netlist)}: {msg}"
                            ) from exc
    # the reader turns calls of unknown subcircuits into empty ones: a typo would vanish
    for circuit in reference.each_circuit():
        if circuit.has_refs() and not any(circuit.each_device()) and not any(
                circuit.each_subcircuit()):
            raise BmruError(f"the schematic netlist {_source(netlist)} calls subcircuit "
                            f"{circuit.name.split('(')[0]}, which it does not define (nor is it "
                            f"{' or '.join(DEVICES)})")
    return reference


def _label_problems(netlist: kdb.Netlist) -> list[Mismatch]:
    """Opens hidden under equal labels and shorts between different labels, per cell."""
    problems = []
    for circuit in netlist.each_circuit():
        # KLayout names a net carrying several labels "a,b"
        named = [net.name.split(",") for net in circuit.each_net() if net.name]
        for name, n in sorted(Counter(x for names in named for x in set(names)).items()):
            if n > 1:
                problems.append(Mismatch(
                    "open", f"label '{name}' sits on {n} unconnected nets in cell "
                    f"{circuit.name}: the shapes carrying it are not connected"))
        for names in named:
            if len(set(names)) > 1:
                joined = ", ".join(f"'{x}'" for x in sorted(set(names)))
                problems.append(Mismatch(
                    "short", f"labels {joined} are on one net in cell {circuit.name}"))
    return problems


def _pick_top(reference: kdb.Netlist, name: str) -> kdb.Circuit:
    tops = list(reference.top_circuits())
    same = [c for c in tops if c.name.lower() == name.lower()]
    if same:
        return same[0]
    if len(tops) == 1:
        return tops[0]
    names = ", ".join(c.name for c in tops) or "none"
    raise BmruError(f"cannot tell which schematic circuit is the layout's {name} "
                    f"(top-level circuits: {names}); name the .subckt like the top cell")


# absolute tolerance (µm) of the exact pass: float noise only, far below the 5 nm grid
_EXACT = 1e-4


def set_tolerances(netlist: kdb.Netlist, relative: float = TOLERANCE) -> None:
    """Make the netlist comparer pair transistors whose W and L agree within ``relative``.

    Any other comparison of netlists that should pair devices as LVS does (e.g. a testbench
    finding the extracted counterparts of schematic nets) sets the same tolerances.

    Args:
        netlist: netlist whose ``nfet_03v3`` / ``pfet_03v3`` classes get the tolerance.
        relative: relative W and L tolerance; 0 compares exactly (to float noise).
    """
    for cls in netlist.each_device_class():
        if cls.name in DEVICES:
            compare = None
            for p in COMPARED:
                eq = kdb.EqualDeviceParameters(cls.parameter_id(p), _EXACT, relative)
                compare = eq if compare is None else compare + eq
            cls.equal_parameters = compare


def _device(dev: kdb.Device) -> str:
    params = " ".join(f"{p}={dev.parameter(p):.4g}" for p in COMPARED)
    return f"{dev.expanded_name()} ({dev.device_class().name} {params})"


def _net(net: kdb.Net) -> str:
    refs = [f"{t.device().expanded_name()}.{t.terminal_def().name}" for t in net.each_terminal()]
    shown = ", ".join(refs[:4]) + (", ..." if len(refs) > 4 else "")
    return f"'{net.expanded_name()}'" + (f" (on {shown})" if refs else "")


def _dangling_labels(extracted: kdb.Circuit, reference: kdb.Circuit) -> list[Mismatch]:
    """Opens where a label reaches no device although its schematic net has some."""
    wanted = {n.name.lower() for n in reference.each_net() if n.name and n.terminal_count()}
    return [
        Mismatch("open", f"label '{net.name}' is on a shape that reaches no device, but the "
                 f"schematic net {net.name} connects devices")
        for net in extracted.each_net()
        if net.name and not net.terminal_count() and net.name.lower() in wanted
    ]


def _skeleton(circuit: kdb.Circuit) -> tuple[kdb.Netlist, dict[int, kdb.Device]]:
    """A copy of ``circuit`` with every transistor as one parameter-less class.

    KLayout pairs nets only through like devices: one wrong width or type leaves the whole
    circuit unpaired. Comparing skeletons pairs by connectivity alone, which tells which
    devices differ. Returns the copy and its device ids mapped to the original devices.
    """
    skeleton = kdb.Netlist()
    cls = kdb.DeviceClassMOS4Transistor()
    cls.name = "mos"
    skeleton.add(cls)
    copy = kdb.Circuit()
    copy.name = circuit.name
    skeleton.add(copy)
    originals = {}
    devices = {}
    for dev in circuit.each_device():
        devices[dev.id()] = copy.create_device(cls, dev.expanded_name())
        originals[devices[dev.id()].id()] = dev
    for net in circuit.each_net():
        new = copy.create_net(net.name)
        for ref in net.each_terminal():
            devices[ref.device().id()].connect_terminal(ref.terminal_id(), new)
        for ref in net.each_pin():
            copy.connect_pin(copy.create_pin(ref.pin().name()), new)
    return skeleton, originals


def _explain(xref: kdb.NetlistCrossReference, devs_a: dict[int, kdb.Device],
             devs_b: dict[int, kdb.Device]) -> list[Mismatch]:
    """Readable differences from a compare; ``devs_*`` map compared device ids to originals."""
    ok = (kdb.NetlistCrossReference.Match, kdb.NetlistCrossReference.MatchWithWarning)
    out = []
    for cpair in xref.each_circuit_pair():
        lone_a: dict[str, list[str]] = {}
        lone_b: dict[str, list[str]] = {}
        for pin in xref.each_pin_pair(cpair):
            a, b = pin.first(), pin.second()
            if a and b and a.name().lower() != b.name().lower():
                out.append(Mismatch("pin", f"layout pin '{a.name()}' is where the schematic "
                                    f"has pin '{b.name()}' (swapped or wrong labels)"))
            elif a and not b:
                lone_a.setdefault(a.name().lower(), []).append(f"'{a.name()}'")
            elif b and not a:
                lone_b.setdefault(b.name().lower(), []).append(f"'{b.name()}'")
        out += _unpaired("pin", lone_a, lone_b, "has no schematic pin", "has no layout label")
        for dpair in xref.each_device_pair(cpair):
            a = devs_a[dpair.first().id()] if dpair.first() else None
            b = devs_b[dpair.second().id()] if dpair.second() else None
            if a and b:
                out += _device_differences(a, b)
            elif a:
                out.append(Mismatch("device", f"layout device {_device(a)} has no match "
                                    "in the schematic"))
            elif b:
                out.append(Mismatch("device", f"schematic device {_device(b)} has no match "
                                    "in the layout"))
        lone_a: dict[str, list[str]] = {}
        lone_b: dict[str, list[str]] = {}
        for npair in xref.each_net_pair(cpair):
            a, b = npair.first(), npair.second()
            if npair.status() in ok:
                continue
            if a and b:
                out.append(Mismatch("net", f"layout net {_net(a)} and schematic net {_net(b)} "
                                    "connect differently"))
            elif a:
                lone_a.setdefault(a.expanded_name().lower(), []).append(_net(a))
            elif b:
                lone_b.setdefault(b.expanded_name().lower(), []).append(_net(b))
        out += _unpaired("net", lone_a, lone_b, "has no schematic match", "has no layout match")
    return out


def _unpaired(kind: str, lone_a: dict[str, list[str]], lone_b: dict[str, list[str]],
              a_only: str, b_only: str) -> list[Mismatch]:
    """Unpaired pins or nets; a name left over on both sides is one item, not two."""
    out = []
    for key in sorted(lone_a.keys() & lone_b.keys()):
        detail = "" if kind == "pin" else (
            f": layout {' and '.join(lone_a[key])} vs schematic {' and '.join(lone_b[key])}")
        out.append(Mismatch(kind, f"{kind} '{key}' connects differently{detail}"))
    out += [Mismatch(kind, f"layout {kind} {d} {a_only}")
            for k in sorted(lone_a.keys() - lone_b.keys()) for d in lone_a[k]]
    out += [Mismatch(kind, f"schematic {kind} {d} {b_only}")
            for k in sorted(lone_b.keys() - lone_a.keys()) for d in lone_b[k]]
    return out


def _device_differences(a: kdb.Device, b: kdb.Device) -> list[Mismatch]:
    ca, cb = a.device_class().name, b.device_class().name
    if ca.lower() != cb.lower():
        return [Mismatch("device", f"layout device {_device(a)} is a {ca} where the schematic "
                         f"has {_device(b)}, a {cb}")]
    out = []
    for p in COMPARED:
        va, vb = a.parameter(p), b.parameter(p)
        if abs(va - vb) > TOLERANCE * 0.5 * (va + vb):
            out.append(Mismatch("parameter", f"{ca} {a.expanded_name()} (schematic "
                                f"{b.expanded_name()}): {p} {va:.4g} in the layout vs "
                                f"{vb:.4g} in the schematic"))
    return out


def _diagnose(extracted: kdb.Circuit, reference: kdb.Circuit) -> list[Mismatch] | None:
    """Pair by connectivity alone; the differences found, or None if connectivity differs."""
    (ska, devs_a), (skb, devs_b) = _skeleton(extracted), _skeleton(reference)
    xref = kdb.NetlistCrossReference()
    if not kdb.NetlistComparer().compare(ska, skb, xref):
        return None
    return _explain(xref, devs_a, devs_b)


def run(
    gds: str | Path,
    schematic: str | Path,
    lvsdb: str | Path | None = None,
    topcell: str | None = None,
) -> LvsResult:
    """Compare a layout with its schematic netlist.

    Args:
        gds: layout file.
        schematic: SPICE netlist, as a path or as text.
        lvsdb: where to write KLayout's LVS database (opens in its netlist browser).
        topcell: cell to check; default the layout's only top cell.

    Returns:
        The verdict with every difference found, and the run time.
    """
    start = time.perf_counter()
    layout, top = load_layout(gds, topcell)
    reference = read_schematic(schematic)
    lvs, extracted = _extract(layout, top)
    # before flattening: a flat netlist no longer tells which cell a label belongs to
    mismatches = _label_problems(extracted)

    extracted.make_top_level_pins()
    ref_top = _pick_top(reference, top.name)
    for circuit in list(reference.top_circuits()):
        if circuit.name != ref_top.name:
            reference.remove(circuit)
    # The flat netlists say what the tile holds and which labels reach no device, and are the
    # ones the flat comparison below uses (the cell-by-cell pass regroups the others). The
    # layout's is extracted a second time: KLayout's Netlist.dup of an extracted netlist
    # grows faster than the tile (over 40 % of a d = 256 dense tile's LVS run).
    flat_lvs, flat = _extract(layout, top)
    flat.make_top_level_pins()
    flat_ref = reference.dup()
    for netlist in (flat, flat_ref):
        netlist.flatten()
    mismatches += _dangling_labels(flat.top_circuit(), flat_ref.top_circuit())
    flat.combine_devices()
    devices = Counter(d.device_class().name for d in flat.top_circuit().each_device())
    lvs.reference = reference
    if not mismatches and _hierarchical_match(lvs, extracted, reference, top.name, ref_top):
        return _result(lvs, gds, schematic, top, lvsdb, start, [], devices, cell_by_cell=True)

    lvs, extracted, reference = flat_lvs, flat, flat_ref
    ref_top = reference.top_circuit()
    for netlist in (extracted, reference):
        netlist.purge_nets()
        netlist.combine_devices()
        set_tolerances(netlist, 0.0)
    ext_top = extracted.top_circuit()
    lvs.reference = reference
    comparer = kdb.NetlistComparer()
    comparer.same_circuits(ext_top, ref_top)
    # Exact widths first: a relative tolerance is not transitive, so on a large net of many
    # near-equal widths KLayout can order the two sides differently and report a matched net
    # as a mismatch. Only if the exact pass finds differences are widths allowed TOLERANCE.
    if not _clean(extracted, reference):
        for netlist in (extracted, reference):
            set_tolerances(netlist)
    if lvs.compare(comparer):
        mismatches += _explain(lvs.xref(), *(
            {d.id(): d for d in c.each_device()} for c in (ext_top, ref_top)))
    else:
        found = _diagnose(ext_top, ref_top)
        if found is None:
            found = _explain(lvs.xref(), *(
                {d.id(): d for d in c.each_device()} for c in (ext_top, ref_top)))
        mismatches += found or [Mismatch("circuit", f"layout {ext_top.name} and schematic "
                                         f"{ref_top.name} do not match")]
    return _result(lvs, gds, schematic, top, lvsdb, start, mismatches, devices)


def _extract(layout: kdb.Layout, top: kdb.Cell) -> tuple[kdb.LayoutVsSchematic, kdb.Netlist]:
    """A fresh LVS run on ``top``, its layout netlist extracted."""
    lvs = kdb.LayoutVsSchematic(kdb.RecursiveShapeIterator(layout, top, []))
    build(lvs, layout)
    return lvs, lvs.netlist()


def _result(lvs: kdb.LayoutVsSchematic, gds: str | Path, schematic: str | Path,
            top: kdb.Cell, lvsdb: str | Path | None, start: float,
            mismatches: list[Mismatch], devices: Counter[str], cell_by_cell: bool = False
            ) -> LvsResult:
    """The verdict, with the LVS database written where asked for."""
    if lvsdb:
        with atomic_path(lvsdb) as tmp:
            lvs.write(str(tmp))
    return LvsResult(str(gds), _source(schematic), top.name, str(lvsdb) if lvsdb else None,
                     time.perf_counter() - start, mismatches, dict(sorted(devices.items())),
                     cell_by_cell)


def _hierarchical_match(lvs: kdb.LayoutVsSchematic, extracted: kdb.Netlist,
                        reference: kdb.Netlist, top: str, ref_top: kdb.Circuit) -> bool:
    """True when the two netlists match cell by cell, exactly, every pin by its name.

    A layout cell and a schematic subcircuit of the same name are compared once, whatever
    their number of instances (a tile names each part's subcircuit as the cell drawn of it);
    every other circuit (device and site cells, the schematic's inner subcircuits) is
    flattened into its parents first. A match here is a match of the flat netlists; anything
    else is left to the flat comparison, which says what differs.
    """
    names = {c.name.lower(): c for c in reference.each_circuit()}
    layout = {c.name.lower(): c for c in extracted.each_circuit()}
    pairs = [(c, names[k]) for k, c in layout.items() if k in names and c.name != top]
    if not pairs:
        return False
    paired = {a.name.lower() for a, _ in pairs}
    for netlist, keep in ((extracted, top), (reference, ref_top.name)):
        netlist.flatten_circuits([c for c in netlist.each_circuit()
                                  if c.name != keep and c.name.lower() not in paired])
    for netlist in (extracted, reference):
        netlist.purge_nets()
        netlist.combine_devices()
        set_tolerances(netlist, 0.0)
    groups = []
    for a, b in pairs:  # after combining: a part's fingers are one device on either side
        split_a, split_b = split_channels(extracted, a), split_channels(reference, b)
        if [c.name for c in split_a] != [c.name for c in split_b]:
            return False
        groups += zip(split_a, split_b, strict=True)
    comparer = kdb.NetlistComparer()
    # Pins are paired by name and every other net by connectivity alone: resolving a crossbar's
    # alike stacks by net names (unnamed in the layout, named in the schematic) made the
    # compare grow as the square of the array (bench_tile.py's LVS column). Labels are still
    # checked, by _label_problems; pins are given, so inputs that look alike (equal weights)
    # cannot be swapped.
    comparer.dont_consider_net_names = True
    for a, b in [(extracted.circuit_by_name(top), ref_top), *pairs, *groups]:
        comparer.same_circuits(a, b)
        for net_a, net_b in _pins_by_name(a, b):
            comparer.same_nets(a, b, net_a, net_b)
    if not lvs.compare(comparer):
        return False
    xref = lvs.xref()
    ok = (kdb.NetlistCrossReference.Match, kdb.NetlistCrossReference.MatchWithWarning)
    return all(x.status() in ok for cp in xref.each_circuit_pair() for each in (
        xref.each_net_pair, xref.each_device_pair, xref.each_pin_pair) for x in each(cp)) and all(
        pin.first().name().lower() == pin.second().name().lower()
        for cp in xref.each_circuit_pair() for pin in xref.each_pin_pair(cp))


def _pins_by_name(a: kdb.Circuit, b: kdb.Circuit) -> list[tuple[kdb.Net, kdb.Net]]:
    """The nets of the pins named alike (in any case) in both circuits."""
    nets_a = {p.name().lower(): a.net_for_pin(p) for p in a.each_pin()}
    nets_b = {p.name().lower(): b.net_for_pin(p) for p in b.each_pin()}
    return [(nets_a[n], nets_b[n]) for n in sorted(nets_a.keys() & nets_b.keys())
            if n and nets_a[n] and nets_b[n]]


def _clean(a: kdb.Netlist, b: kdb.Netlist) -> bool:
    """True if the two flat netlists pair every net, device and pin as a match."""
    ok = (kdb.NetlistCrossReference.Match, kdb.NetlistCrossReference.MatchWithWarning)
    xref = kdb.NetlistCrossReference()
    comparer = kdb.NetlistComparer()
    comparer.same_circuits(a.top_circuit(), b.top_circuit())  # the names may differ
    if not comparer.compare(a, b, xref):
        return False
    return all(x.status() in ok for cp in xref.each_circuit_pair() for each in (
        xref.each_net_pair, xref.each_device_pair, xref.each_pin_pair) for x in each(cp))


def _source(schematic: str | Path) -> str:
    text = str(schematic)
    return "<text>" if "\n" in text else text


def write_json(result: LvsResult, path: str | Path) -> None:
    """Write the JSON report atomically."""
    write_text(path, result.to_json())
