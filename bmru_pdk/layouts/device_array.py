"""A placed array of unconnected transistors: the demo of ``make run`` and the benchmark load.

One :class:`~bmru_pdk.circuits.Circuit` describes the array; the layout is drawn from it and
its schematic is written from it, so LVS compares two views of one description.
"""

from __future__ import annotations

import math

import gdsfactory as gf

from bmru_pdk.circuits import NFET, PFET, Circuit, Device, Pin
from bmru_pdk.layers import LABELS

# (kind, w per finger, l, fingers, multiplier): a spread of the sizes the generators use.
SIZES: tuple[tuple[str, float, float, int, int], ...] = (
    (NFET, 2.0, 1.0, 1, 1),
    (PFET, 2.0, 1.0, 1, 1),
    (NFET, 0.5, 0.5, 4, 1),
    (PFET, 1.0, 2.0, 2, 2),
    (NFET, 10.0, 0.28, 8, 1),
    (PFET, 0.22, 0.28, 1, 1),
    (NFET, 0.22, 4.0, 2, 1),
    (PFET, 5.0, 0.5, 3, 1),
)
SPACING = 2.0  # µm between devices: keeps separate Nwells 1.4 µm apart (NW.2b)
INSET = 0.05  # µm: labels sit just inside the port's metal, not on its edge


def array_circuit(count: int = len(SIZES)) -> Circuit:
    """``count`` independent transistors cycling through :data:`SIZES`.

    Each device ``M<i>`` has its own nets ``d<i>``, ``g<i>``, ``s<i>``; NMOS bulks share the
    substrate ``vss``, each PMOS sits in its own Nwell ``nw<i>``.
    """
    devices = []
    for i in range(count):
        kind, w, length, nf, m = SIZES[i % len(SIZES)]
        devices.append(Device(name=f"M{i}", kind=kind, w=w, l=length, fingers=nf, multiplier=m,
                              d=f"d{i}", g=f"g{i}", s=f"s{i}",
                              b="vss" if kind == NFET else f"nw{i}"))
    nets = list(dict.fromkeys(n for d in devices for n in d.nets().values()))
    pins = [Pin(name=n, role="input", signal="voltage") for n in nets]
    return Circuit(name=f"device_array_{count}", pins=pins, devices=devices,
                   doc=f"{count} unconnected transistors")


@gf.cell
def device_array(count: int = len(SIZES), spacing: float = SPACING) -> gf.Component:
    """The transistors of :func:`array_circuit` in rows, each terminal labelled with its net.

    Args:
        count: number of transistors.
        spacing: gap between neighbouring devices, µm.
    """
    circuit = array_circuit(count)
    c = gf.Component()
    cells = [gf.get_component(d.kind.split("_")[0], w=d.w, l=d.l, fingers=d.fingers,
                              multiplier=d.multiplier, stacks=d.stacks) for d in circuit.devices]
    row_width = math.sqrt(sum(cell.xsize * cell.ysize for cell in cells) * 4)
    x = y = row_top = 0.0
    for dev, cell in zip(circuit.devices, cells, strict=True):
        if x > 0 and x + cell.xsize > row_width:
            x, y = 0.0, row_top + spacing
        ref = c << cell
        ref.xmin, ref.ymin = x, y
        x, row_top = ref.xmax + spacing, max(row_top, ref.ymax)
        for terminal, net in dev.nets().items():
            port = ref.ports[terminal]
            dx, dy = {0: (-1, 0), 90: (0, -1), 180: (1, 0), 270: (0, 1)}[round(port.orientation)]
            px, py = port.center
            c.add_label(net, position=(px + dx * INSET, py + dy * INSET),
                        layer=LABELS[port.layer])
            c.add_port(f"{dev.name}_{terminal}", port=port)
    return c
