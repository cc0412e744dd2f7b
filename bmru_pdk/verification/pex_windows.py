"""Windows of a large layout for KLayout-PEX, and the share of each capacitance a window owns.

KPEX's 2.5D engine takes time that grows with the square of a layout's size: its substrate
plate is one polygon with a hole for each transistor channel, clipped again at every edge
the engine visits (``benchmarks/bench_pex.py`` measures it). So a layout larger than one
window is cut into square cores, each extracted with a halo around it, and the
capacitances are added up so that each is counted once.

A window holds every drawn shape within ``HALO_UM`` of its core: twice KPEX's reach (its
sidewall and fringe halo, 8 µm in gf180mcuD), so every shape a core shape couples to, and
every shape that shields those couplings, is there. In the window's own extraction each piece
of a net inside the core is labelled ``c<k>``, each piece in the halo ``h<k>`` (a 2 nm gap
cuts the halo from the core, so the two are nets of their own), and the substrate's net
``SUB`` wherever it is. A capacitance KPEX finds in the window is

- between two core nets, or a core net and the substrate: the window's, whole;
- between a core net and a halo net: found again, the same, in the window whose core holds
  the other net's piece, so half of it is this window's;
- between a net's core and halo pieces (one net), two halo nets, or a halo net and the
  substrate: another window's, or nobody's.

What the cut changes is 2 nm of metal along each core edge, and the two new edges it makes
face each other 2 nm apart, so they couple only with each other (one net: dropped) and
shield their own fringe. Net names in a window are numbered in the order of their labels'
positions, so two windows with the same shapes and connections are the same extraction.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import klayout.db as kdb

from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import write_text
from bmru_pdk.verification.extract import GDS, PEX_LAYERS, pex_lvsdb

SIDE_HALO_UM = 8.0  # KPEX's sidewall and fringe reach in gf180mcuD
HALO_UM = 2 * SIDE_HALO_UM
GAP_DBU = 2
SUBSTRATE = "SUB"  # KPEX's gf180mcuD name of the substrate net: it takes it as such
TOP = "WINDOW"  # a window's cell
# names KPEX may give the substrate besides: its internal substrate layer
_SUBSTRATE_ALIASES = (SUBSTRATE, "VSUBS")
_DRAWN = ("nwell", "comp", "poly2", "nplus", "pplus", "contact", "metal1", "via1", "metal2",
          "via2", "metal3", "via3", "metal4")
# layers whose pieces carry a label in a window (the extraction's layer -> label layer):
# every piece of a net reaches one of them, since contacts and vias sit on metal
_LABELLED = {"nwell": "nwell_label", "nsd": "comp_label", "psd": "comp_label",
             "ntap": "comp_label", "ptap": "comp_label", "poly2": "poly2_label",
             "metal1": "metal1_label", "metal2": "metal2_label", "metal3": "metal3_label",
             "metal4": "metal4_label"}
_NET = "net"  # the shape property holding a net's name
_NAME = re.compile(r"[ch](\d+)")


class NetShapes:
    """The shapes of each net on the labelled layers of an extraction, flat, named by a
    property, for the windows to label their pieces with."""

    def __init__(self, lvs: kdb.LayoutToNetlist) -> None:
        """Args:
            lvs: an extraction whose netlist is flat (``extract.pex_netlist``).
        """
        self.layout = kdb.Layout()
        self.layout.dbu = lvs.internal_layout().dbu
        self.top = self.layout.create_cell("NETS")
        self.layers: dict[str, int] = {}
        lmap = {}
        for name in _LABELLED:
            index = self.layout.layer()
            lmap[index] = lvs.layer_by_name(PEX_LAYERS.get(name, name))
            self.layers[name] = index
        cmap = lvs.cell_mapping_into(self.layout, self.top, False)
        lvs.build_all_nets(cmap, self.layout, lmap, None, _NET,
                           kdb.LayoutToNetlist.BuildNetHierarchyMode.BNH_Flatten, None, None)


@dataclass(frozen=True)
class Window:
    """One window, ready for KPEX: its LVS database, and which net each name stands for.

    Attributes:
        core: the core's extent, in the layout's database units.
        lvsdb: the window's extraction, in KPEX's layer names.
        nets: the layout's net of each window net number ``k`` (``c<k>``, ``h<k>``).
        key: a digest of the window's shapes and labels, the same for two equal windows.
    """

    core: kdb.Box
    lvsdb: Path
    nets: tuple[str, ...]
    key: str


def cores(layout: kdb.Layout, top: kdb.Cell, size: int) -> list[kdb.Region]:
    """Cores tiling ``top``'s extent in a grid of squares of at most ``size`` database units,
    the cut lines going round the active areas with transistors: such an area belongs whole
    to the core that holds its middle (a transistor cut in two is two wrong devices)."""
    box = top.bbox()
    nx = max(1, math.ceil(box.width() / size))
    ny = max(1, math.ceil(box.height() / size))
    xs = [box.left + box.width() * i // nx for i in range(nx + 1)]
    ys = [box.bottom + box.height() * j // ny for j in range(ny + 1)]
    lines = kdb.Region()
    for x in xs[1:-1]:
        lines.insert(kdb.Box(x - 1, box.bottom, x + 1, box.top))
    for y in ys[1:-1]:
        lines.insert(kdb.Box(box.left, y - 1, box.right, y + 1))

    def drawn(name: str) -> kdb.Region:
        index = layout.find_layer(*GDS[name])
        return kdb.Region() if index is None else kdb.Region(top.begin_shapes_rec(index))

    crossing = drawn("comp").merged().interacting(drawn("poly2")).interacting(lines)
    result = []
    for j in range(ny):
        for i in range(nx):
            square = kdb.Box(xs[i], ys[j], xs[i + 1], ys[j + 1])
            owned = [p for p in crossing.interacting(kdb.Region(square)).each()
                     if _holds(xs, i, p.bbox().center().x) and _holds(ys, j, p.bbox().center().y)]
            result.append(kdb.Region(square) - crossing + kdb.Region(owned))
    return result


def _holds(edges: list[int], k: int, v: int) -> bool:
    """Whether ``v`` is in the ``k``-th of the intervals between ``edges`` (each its lower
    end, the last both)."""
    return edges[k] <= v < edges[k + 1] or (k == len(edges) - 2 and v == edges[-1])


def share(a: str, b: str) -> float:
    """The part of a capacitance between window nets ``a`` and ``b`` the window owns."""
    kinds = {_kind(a), _kind(b)}
    if kinds == {"c", "h"}:
        return 0.0 if a[1:] == b[1:] else 0.5
    return 0.0 if "h" in kinds else 1.0


def _kind(name: str) -> str:
    return "s" if name in _SUBSTRATE_ALIASES else name[0]


def net_of(name: str, window: Window, substrate: str) -> str:
    """The layout's net a window net name stands for (``substrate`` for the substrate).

    Raises:
        BmruError: kpex named a net the window does not have.
    """
    if name in _SUBSTRATE_ALIASES:
        return substrate
    m = _NAME.fullmatch(name)
    if m is None or int(m.group(1)) >= len(window.nets):
        raise BmruError(f"kpex wrote a capacitor on net {name}, which the window does not have")
    return window.nets[int(m.group(1))]


def _inside(polygon: kdb.Polygon) -> kdb.Point:
    """A point inside a polygon: the middle of its first trapezoid."""
    points = list(polygon.decompose_trapezoids()[0].each_point())
    return kdb.Point(sum(p.x for p in points) // len(points),
                     sum(p.y for p in points) // len(points))


def _pieces(nets: NetShapes, outer: kdb.Box, core: kdb.Region, ring: kdb.Region
            ) -> Iterator[tuple[str, kdb.Point, str, bool]]:
    """(label layer, a point, net, in the halo) for each piece of each net's shape."""
    for name, label in _LABELLED.items():
        it = nets.top.begin_shapes_rec_touching(nets.layers[name], outer)
        while not it.at_end():
            shape = it.shape()
            region = kdb.Region(shape.polygon.transformed(it.trans()))
            for part, halo in ((region & core, False), (region & ring, True)):
                for polygon in part.each():
                    yield label, _inside(polygon), shape.property(_NET), halo
            it.next()


def make_window(layout: kdb.Layout, top: kdb.Cell, nets: NetShapes, core: kdb.Region,
                substrate: str, folder: Path) -> Window | None:
    """Cut a window out of ``top``, label its pieces and extract it into ``folder``.

    Args:
        layout: the layout.
        top: its cell being extracted.
        nets: the nets of ``top``'s extraction (:class:`NetShapes`).
        core: the window's core (database units; one of :func:`cores`).
        substrate: the net of ``top`` the substrate is (the p-taps' net).
        folder: where to write the window's LVS database.

    Returns:
        The window, or None when nothing is drawn in its core.
    """
    halo = round(HALO_UM / layout.dbu)
    outer = core.bbox().enlarged(halo, halo)
    ring = kdb.Region(outer) - core.sized(GAP_DBU)
    kept = core + ring
    shift = kdb.Trans(-outer.left, -outer.bottom)
    window = kdb.Layout()
    window.dbu = layout.dbu
    cell = window.create_cell(TOP)
    drawn_in_core = False
    for name in _DRAWN:
        index = layout.find_layer(*GDS[name])
        if index is None:
            continue
        region = kdb.Region(top.begin_shapes_rec_touching(index, outer)) & kept
        drawn_in_core = drawn_in_core or not (region & core).is_empty()
        cell.shapes(window.layer(*GDS[name])).insert(region.transformed(shift))
    if not drawn_in_core:
        return None
    labels = sorted((label, p.x - outer.left, p.y - outer.bottom, net, halo_piece)
                    for label, p, net, halo_piece in _pieces(nets, outer, core, ring))
    numbers: dict[str, int] = {}
    for label, x, y, net, halo_piece in labels:
        if net == substrate:
            text = SUBSTRATE
        else:
            text = f"{'h' if halo_piece else 'c'}{numbers.setdefault(net, len(numbers))}"
        cell.shapes(window.layer(*GDS[label])).insert(kdb.Text(text, x, y))
    digest = hashlib.sha256()
    with tempfile.TemporaryDirectory() as tmp:
        gds = Path(tmp) / "window.gds"
        options = kdb.SaveLayoutOptions()
        options.write_context_info = False
        options.gds2_write_timestamps = False
        window.write(str(gds), options)
        digest.update(gds.read_bytes())
    lvsdb = folder / f"window_{outer.left}_{outer.bottom}.lvsdb"
    pex_lvsdb(window, cell, lvsdb, "window", join_labels=True)
    return Window(core.bbox(), lvsdb, tuple(numbers), digest.hexdigest())


Card = tuple[str, str, str, float]  # a capacitor of kpex's netlist: name, two nets, farads


@dataclass
class WindowRun:
    """What kpex found in one window: its C cards (window net names), the run's seconds,
    kpex's version and warnings; ``cached`` when it was read from a :class:`WindowCache`."""

    cards: list[Card]
    seconds: float
    version: str
    warnings: list[str] = field(default_factory=list)
    cached: bool = False


class WindowCache:
    """Windows' kpex results kept in a folder by content, so a later extraction of a changed
    layout runs kpex only on the windows the change reaches (a window's key covers its
    shapes, labels and halo, so a change within a halo's reach re-runs its neighbours too).

    One JSON file per window: data only, and a file that does not read as one (damaged,
    another kpex's) is a window to run again, then written over.
    """

    def __init__(self, folder: Path, kpex: str, previous: Path | None = None) -> None:
        """Args:
            folder: the cache's folder (made if missing).
            kpex: the kpex program's identity (its version): results of another are not used.
            previous: an earlier run's cache folder, read only: a window found there is
                copied into ``folder``, which then holds this layout's windows and no others.
        """
        self.folder = folder
        self.kpex = kpex
        self.previous = previous

    def _name(self, key: str) -> str:
        return f"{hashlib.sha256((key + self.kpex).encode()).hexdigest()}.json"

    def get(self, key: str) -> WindowRun | None:
        """The stored result of the window with ``key``, if there is a sound one (in the
        folder, else in the previous run's, whose files are regular ones or none)."""
        run = self._read(self.folder / self._name(key))
        kept = self.previous / self._name(key) if self.previous else None
        if run is None and kept is not None and not kept.is_symlink():
            run = self._read(kept)
            if run is not None:
                self.put(key, run)
        return run

    def _read(self, path: Path) -> WindowRun | None:
        try:
            data = json.loads(path.read_text())
            if data["kpex"] != self.kpex:
                return None
            cards = [(str(n), str(a), str(b), float(f)) for n, a, b, f in data["cards"]]
            return WindowRun(cards, 0.0, str(data["version"]),
                             [str(w) for w in data["warnings"]], cached=True)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, run: WindowRun) -> None:
        """Store a window's result (atomically)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        write_text(self.folder / self._name(key), json.dumps({"kpex": self.kpex, **asdict(run)}))
