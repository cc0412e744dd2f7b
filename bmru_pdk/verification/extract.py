"""Netlist extraction of gf180mcu layouts on KLayout's engine (``klayout.db``).

Recognises the 3.3 V ``nfet_03v3`` / ``pfet_03v3`` devices (W, L, AS, AD, PS, PD in µm),
connects comp-contact-metal1-via1-metal2-via2-metal3-via3-metal4, names nets from labels and
writes a SPICE netlist whose transistors call the gf180 model subcircuits directly.

The substrate is one global net (``SUBSTRATE``, tied by p-taps); each nwell is a net of its
own, tied by n-taps. Labels name nets in the cell that holds them; labels of the top cell
become its pins.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import klayout.db as kdb

from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import atomic_path, signals_held, write_text

NFET = "nfet_03v3"
PFET = "pfet_03v3"
DEVICES = (NFET, PFET)
TERMINALS = ("D", "G", "S", "B")
SUBSTRATE = "SUBSTRATE"

# GDS (layer, datatype) numbers, kept here as plain numbers because importing
# bmru_pdk.layers pulls in gdsfactory (seconds); a test checks them against LAYER.
GDS = {
    "comp": (22, 0),
    "nwell": (21, 0),
    "poly2": (30, 0),
    "nplus": (32, 0),
    "pplus": (31, 0),
    "contact": (33, 0),
    "metal1": (34, 0),
    "via1": (35, 0),
    "metal2": (36, 0),
    "via2": (38, 0),
    "metal3": (42, 0),
    "via3": (40, 0),
    "metal4": (46, 0),
    "nwell_label": (21, 10),
    "comp_label": (22, 10),
    "poly2_label": (30, 10),
    "metal1_label": (34, 10),
    "metal2_label": (36, 10),
    "metal3_label": (42, 10),
    "metal4_label": (46, 10),
}

# KLayout's "..., in file: x.gds in Layout.read" / ": x.gds in Layout.read" tail
_READ_TAIL = re.compile(r"(,? in file: .*|: \S+ in Layout\.read| in Layout\.read)$")

# SI unit of each MOS parameter as the model subcircuits take them (KLayout keeps µm, µm²).
_SPICE_UNITS = {"W": "u", "L": "u", "AS": "p", "AD": "p", "PS": "u", "PD": "u"}


@dataclass
class ExtractResult:
    """An extracted netlist, where it came from, and the run time (reading to SPICE text)."""

    gds: str
    topcell: str
    spice: str
    runtime_s: float
    devices: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: the cell and its device counts."""
        counts = ", ".join(f"{n} {c}" for c, n in self.devices.items()) or "no devices"
        return f"extracted {self.topcell} from {self.gds}: {counts}"


def load_layout(gds: str | Path, topcell: str | None = None) -> tuple[kdb.Layout, kdb.Cell]:
    """Read a GDS and pick its top cell.

    Args:
        gds: layout file.
        topcell: cell to use; default the layout's only top cell.

    Raises:
        BmruError: unreadable file, unknown cell, or no single top cell.
    """
    gds = Path(gds)
    if not gds.is_file():
        raise BmruError(f"the layout {gds} " + (
            "is a folder, not a file" if gds.is_dir() else "does not exist"))
    layout = kdb.Layout()
    try:
        layout.read(str(gds))
    except RuntimeError as exc:
        # KLayout ends its message with the file and the call, which the sentence has
        why = _READ_TAIL.sub("", str(exc).splitlines()[0])
        if why.lower().startswith("stream has unknown format"):
            why = "it is not a layout file (GDS or OASIS)"
        raise BmruError(f"cannot read the layout {gds}: {why}") from None
    # gdsfactory writes a metadata cell beside the real top cell
    tops = [c for c in layout.top_cells() if not c.name.startswith("$$$CONTEXT_INFO")]
    names = ", ".join(sorted(c.name for c in tops))
    if topcell:
        cell = layout.cell(topcell)
        if cell is None:
            raise BmruError(f"the layout {gds} has no cell named {topcell} (top cells: "
                            f"{names or 'none'})")
        return layout, cell
    if not tops:
        raise BmruError(f"the layout {gds} holds no cell")
    if len(tops) > 1:
        raise BmruError(f"the layout {gds} needs exactly one top cell (found: {names}); "
                        "name one with --topcell")
    return layout, tops[0]


def build(l2n: kdb.LayoutToNetlist, layout: kdb.Layout, pex: bool = False,
          join_labels: bool = False) -> None:
    """Declare the gf180 devices and connectivity on ``l2n`` and extract its netlist.

    Args:
        l2n: the extraction to set up and run.
        layout: the layout ``l2n`` iterates over.
        pex: name the layers as KLayout-PEX's gf180mcuD technology does (``PEX_LAYERS``) and
            add the layers its extraction reads beside them; the netlist is the same.
        join_labels: make one net of the shapes that carry the same label, connected or not
            (a window of a larger layout, whose pieces of a net join outside it).
    """
    names = PEX_LAYERS if pex else {}
    # a cell that connects to nothing of its parent's (a labelled wire, a device on nets of
    # its own) is still one of its subcircuits: left out, it would become a second top
    # circuit, and its devices would be missing from the flattened top cell
    l2n.include_floating_subcircuits = True

    def layer(name: str) -> kdb.Region:
        return l2n.make_layer(layout.layer(*GDS[name]), names.get(name, name))

    def texts(name: str, gds: tuple[int, int]) -> kdb.Texts:
        return l2n.make_text_layer(layout.layer(*gds), name)

    comp, nwell, poly = layer("comp"), layer("nwell"), layer("poly2")
    nplus, pplus = layer("nplus"), layer("pplus")
    conductors = [layer(n) for n in ("contact", "metal1", "via1", "metal2", "via2", "metal3",
                                     "via3", "metal4")]
    contact, metal1, _, metal2, _, metal3, _, metal4 = conductors
    substrate = l2n.make_layer("substrate")  # empty: only carries the nfet bulk terminals

    in_well, out_well = comp & nwell, comp - nwell
    ntap, pdiff = in_well & nplus, in_well & pplus
    ptap, ndiff = out_well & pplus, out_well & nplus
    ngate, pgate = ndiff & poly, pdiff & poly
    nsd, psd = ndiff - poly, pdiff - poly
    for region, name in ((ntap, "ntap"), (ptap, "ptap"), (nsd, "nsd"), (psd, "psd")):
        l2n.register(region, name)
    if pex:
        # KPEX places each contact by what it lands on, and finds the substrate net by probing
        # a layer named ptap_regular: names must be given before a layer is first connected
        split = {f"contact_{n}_con": contact & d for n, d in (
            ("nsd", nsd), ("psd", psd), ("poly", poly), ("ntap", ntap), ("ptap", ptap))}
        split["ptap_regular"] = ptap & comp
        for name, region in split.items():
            l2n.register(region, name)
            l2n.connect(region, ptap if name == "ptap_regular" else contact)

    l2n.extract_devices(kdb.DeviceExtractorMOS4Transistor(NFET),
                        {"SD": nsd, "G": ngate, "P": poly, "W": substrate})
    l2n.extract_devices(kdb.DeviceExtractorMOS4Transistor(PFET),
                        {"SD": psd, "G": pgate, "P": poly, "W": nwell})

    diffusions = (nsd, psd, ntap, ptap)
    for region in (*diffusions, nwell, poly, substrate, *conductors):
        l2n.connect(region)
    for region in (*diffusions, poly):
        l2n.connect(region, contact)
    for lower, upper in zip(conductors, conductors[1:], strict=False):
        l2n.connect(lower, upper)
    l2n.connect(nwell, ntap)
    l2n.connect(nwell, texts("nwell_label", GDS["nwell_label"]))

    # labels: <layer>/10 and text on the drawing layer itself
    comp_text = texts("comp_label", GDS["comp_label"])
    for region in diffusions:
        l2n.connect(region, comp_text)
    l2n.connect(poly, texts("poly2_label", GDS["poly2_label"]))
    for metal, name in ((metal1, "metal1"), (metal2, "metal2"), (metal3, "metal3"),
                        (metal4, "metal4")):
        l2n.connect(metal, texts(f"{name}_label", GDS[f"{name}_label"]))
        l2n.connect(metal, texts(f"{name}_text", GDS[name]))

    l2n.connect_global(substrate, SUBSTRATE)
    l2n.connect_global(ptap, SUBSTRATE)
    if join_labels:
        l2n.join_net_names("*")
    l2n.extract_netlist()


def device_counts(netlist: kdb.Netlist) -> dict[str, int]:
    """Number of devices per class in every circuit of ``netlist`` (uncombined, per finger)."""
    counts = dict.fromkeys(DEVICES, 0)
    for circuit in netlist.each_circuit():
        for device in circuit.each_device():
            name = device.device_class().name
            counts[name] = counts.get(name, 0) + 1
    return {k: v for k, v in counts.items() if v}


class _ModelWriter(kdb.NetlistSpiceWriterDelegate):
    """Writes MOS devices as calls of the gf180 model subcircuits (``X... nfet_03v3 w=...``)."""

    def write_device(self, device: kdb.Device) -> None:
        nets = [self.net_to_string(device.net_for_terminal(t)) for t in TERMINALS]
        params = " ".join(
            f"{p.lower()}={device.parameter(p):.6g}{unit}" for p, unit in _SPICE_UNITS.items()
        )
        name = self.format_name(device.expanded_name()).lstrip("$")
        self.emit_line(f"XM{name} {' '.join(nets)} {device.device_class().name} {params}")


def to_spice(netlist: kdb.Netlist, title: str) -> str:
    """Write ``netlist`` as SPICE text with net names and model-subcircuit transistors."""
    writer = kdb.NetlistSpiceWriter(_ModelWriter())
    writer.use_net_names = True
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "netlist.spice"
        # KLayout turns the exception of a signal handler run in its calls of the writer
        # into an error of its own: signals wait until it returns
        with signals_held():
            netlist.write(str(path), writer, title)
        return path.read_text()


def _name_nets_for_spice(netlist: kdb.Netlist) -> None:
    # KLayout writes unnamed nets as "$5" and repeated names as "d$1"; ngspice may read "$"
    # as the start of a comment
    for circuit in netlist.each_circuit():
        taken = {net.name for net in circuit.each_net() if net.name}
        seen: set[str] = set()
        for net in circuit.each_net():
            if net.name and net.name not in seen:
                seen.add(net.name)
                continue
            name = f"{net.name or 'n'}_{net.cluster_id}"
            while name in taken:
                name += "_"
            net.name = name
            taken.add(name)


def extract(gds: str | Path, topcell: str | None = None) -> ExtractResult:
    """Extract the transistor netlist of a layout, ready to simulate with the gf180 models.

    The netlist is flattened into one ``.subckt <topcell> <pins>`` whose pins are the
    top cell's labels. Fingers stay separate devices: the BSIM4 cards are binned by
    width, so merging fingers into one wide device would pick another bin.

    Args:
        gds: layout file.
        topcell: cell to extract; default the layout's only top cell.

    Returns:
        The SPICE text, the device counts and the run time.
    """
    start = time.perf_counter()
    layout, top = load_layout(gds, topcell)
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(layout, top, []))
    build(l2n, layout)
    netlist = l2n.netlist()
    netlist.make_top_level_pins()
    netlist.flatten()
    netlist.purge_nets()
    counts = device_counts(netlist)  # after flattening: per placed device, not per cell
    _name_nets_for_spice(netlist)
    spice = to_spice(netlist, f"{top.name} extracted from {Path(gds).name}")
    return ExtractResult(str(gds), top.name, spice, time.perf_counter() - start, counts)


def write(result: ExtractResult, path: str | Path) -> None:
    """Write the extracted SPICE netlist atomically."""
    write_text(path, result.spice)


# LVS layer names of KLayout-PEX's gf180mcuD technology (its tech description maps each to a
# layer of its process stack); layers not named here keep their names above.
PEX_LAYERS = {
    "nwell": "nwell_con",
    "poly2": "poly2_con",
    "metal1": "metal1_con",
    "metal2": "metal2_con",
    "via2": "via2_n_cap",
    "metal3": "metal3_con",
    "via3": "via3_n_cap",
    "metal4": "metal4_n_cap",
}


def write_pex_lvsdb(gds: str | Path, path: str | Path, topcell: str | None = None
                    ) -> ExtractResult:
    """Extract a layout into an LVS database that KLayout-PEX's extraction reads.

    The layers carry the names of KPEX's gf180mcuD technology, so its engines know their
    process layers; the netlist is flattened and its nets named as :func:`extract` does.

    Args:
        gds: layout file.
        path: where to write the ``.lvsdb``.
        topcell: cell to extract; default the layout's only top cell.

    Returns:
        The netlist of the database as SPICE, so its net names are the ones KPEX reads.
    """
    start = time.perf_counter()
    layout, top = load_layout(gds, topcell)
    spice, counts = pex_lvsdb(layout, top, path, f"{top.name} extracted from {Path(gds).name}")
    return ExtractResult(str(gds), top.name, spice, time.perf_counter() - start, counts)


def pex_netlist(layout: kdb.Layout, top: kdb.Cell, join_labels: bool = False
                ) -> kdb.LayoutVsSchematic:
    """The extraction :func:`write_pex_lvsdb` writes: layers named for KPEX, the netlist
    flattened, labelled wires without devices kept as pins, nets named for SPICE.

    Args:
        layout: the layout.
        top: the cell to extract.
        join_labels: one net per label, connected or not (see :func:`build`).
    """
    lvs = kdb.LayoutVsSchematic(kdb.RecursiveShapeIterator(layout, top, []))
    build(lvs, layout, pex=True, join_labels=join_labels)
    netlist = lvs.netlist()
    netlist.make_top_level_pins()
    netlist.flatten()
    # purge_nets, except that a labelled wire without devices (a test structure, a route
    # between pins) has capacitance all the same: it stays, as a pin
    circuit = netlist.top_circuit()
    for net in list(circuit.each_net()):
        if net.terminal_count() or net.pin_count():
            continue
        if net.name:
            circuit.connect_pin(circuit.create_pin(net.name), net)
        else:
            circuit.remove_net(net)
    _name_nets_for_spice(netlist)
    return lvs


def pex_lvsdb(layout: kdb.Layout, top: kdb.Cell, path: str | Path, title: str,
              join_labels: bool = False) -> tuple[str, dict[str, int]]:
    """:func:`write_pex_lvsdb` of a layout in memory: its SPICE netlist and device counts.

    Args:
        layout: the layout.
        top: the cell to extract.
        path: where to write the ``.lvsdb``.
        title: the SPICE netlist's title line.
        join_labels: one net per label, connected or not (see :func:`build`).
    """
    lvs = pex_netlist(layout, top, join_labels)
    with atomic_path(path) as tmp:
        lvs.write(str(tmp))
    return to_spice(lvs.netlist(), title), device_counts(lvs.netlist())
