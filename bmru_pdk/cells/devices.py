"""3.3 V MOSFETs of gf180mcu (``nfet_03v3``, ``pfet_03v3``) with contacts and metal on every pin.

One implementation draws both types; only the implants and the well differ.

Floor plan (x along the channel, y along the width; origin at the lower-left channel corner)::

    gate metal1 bar (port g)  on a poly bar joining all gates
    | S | G | D | G | S | G G G | D ...   metal1 columns over each source/drain, drains
                                           with a Via1; a slot between two columns holds one
                                           gate, or a series stack of gates
    drain metal2 strap (port d), over the top contact row of the drain columns
    source metal1 strap (port s), below the channel
    bulk tap strip (port b)

The diffusion row is a sequence of slots between contacted source/drain columns: first one
gate per finger (and copy), then one slot per series stack, whose gates are
:data:`STACK_GAP` apart on uncontacted diffusion (the inner nodes of the stack).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gdsfactory as gf
from kfactory.serialization import get_cell_name

from bmru_pdk import rules
from bmru_pdk.cells.vias import CONTACT, VIA1, Box, add_pin, cut_array, rect
from bmru_pdk.layers import LAYER


@dataclass(frozen=True)
class MosType:
    """What distinguishes an NMOS from a PMOS in the drawing."""

    model: str
    implant: gf.typings.LayerSpec
    tap_implant: gf.typings.LayerSpec
    well: gf.typings.LayerSpec | None


NMOS = MosType("nfet_03v3", LAYER.nplus, LAYER.pplus, None)
PMOS = MosType("pfet_03v3", LAYER.pplus, LAYER.nplus, LAYER.nwell)

# Derived dimensions (µm), all from the deck rules.
_CO = CONTACT.size
_PAD_HALF = _CO / 2 + rules.COMP_ENC_CONTACT.value  # half of the COMP that holds one contact
_COL_W = VIA1.size + 2 * VIA1.enclosure  # metal1 column over a source/drain: holds a Via1
_STRAP_W = rules.snap_up(rules.M1_WIDTH.value + 0.07)  # same as the default metal1 route
_ROW_H = _CO + 2 * rules.POLY_ENC_CONTACT.value  # poly bar / tap strip holding one contact row
# Between the gates of a series stack: uncontacted diffusion, poly space on COMP (PL.3a)
STACK_GAP = rules.snap_up(rules.POLY_SPACE.value)


def cell_name(function: str, **params: Any) -> str:
    """The name ``gf.cell`` gives a cell of ``function`` and ``params``, leaving out the
    empty ones (``stacks=()``): a parameter added at an empty default keeps the names, and so
    the GDS, of every cell drawn before it. For cells decorated ``gf.cell(set_name=False)``.
    """
    return get_cell_name(function, **{k: v for k, v in params.items()
                                      if not (isinstance(v, tuple) and not v)})


def _check_grid(name: str, value: float, minimum: float) -> float:
    if rules.snap(value) != round(value, 6):
        raise ValueError(f"{name}={value} is not on the {rules.GRID.value} µm grid")
    if value < minimum - 1e-9:
        raise ValueError(f"{name}={value} is below the minimum {minimum}")
    return rules.snap(value)


def _mos(
    kind: MosType, w: float, length: float, fingers: int, multiplier: int, dummies: bool,
    bulk_tie: bool, stacks: tuple[int, ...] = (),
) -> gf.Component:
    w = _check_grid("w", w, rules.CHANNEL_WIDTH_MIN.value)
    l = _check_grid("l", length, rules.GATE_LENGTH_MIN.value)  # noqa: E741  (the device's L)
    if w > rules.CHANNEL_WIDTH_MAX.value:
        raise ValueError(f"w={w} exceeds the maximum {rules.CHANNEL_WIDTH_MAX.value}")
    stacks = tuple(stacks)
    if fingers < 0 or multiplier < 1:
        raise ValueError("fingers must be at least 0 and multiplier at least 1")
    if any(n < 2 for n in stacks):
        raise ValueError(f"stacks={stacks}: a series stack has at least 2 gates")
    if fingers + len(stacks) < 1:
        raise ValueError("no gate to draw: fingers or stacks must be given")
    nf = fingers * multiplier  # the m copies share diffusion: one row of nf gates
    # one slot per finger, then one per stack (each copy's); a slot is between two columns
    slots = [1] * nf + [n for _ in range(multiplier) for n in stacks]

    # A contact with its COMP enclosure is taller than a narrow channel: the COMP grows upwards
    # at each contact (one-sided dog-bone), kept PL.5a away from the gate poly. One-sided keeps
    # the COMP polygon a simple comb: a two-sided one makes the deck's DF.2b width check
    # (all edge pairs within 100 µm) blow up on multi-finger devices.
    narrow = w < 2 * _PAD_HALF
    to_gate = max(_CO / 2 + rules.CONTACT_TO_GATE.value,
                  _PAD_HALF + rules.POLY_SPACE_COMP.value if narrow else 0.0)
    sd_inner = rules.snap_up(max(2 * to_gate, _COL_W + rules.M1_SPACE.value - l))
    sd_end = rules.snap_up(max(to_gate + _PAD_HALF, rules.COMP_EXT_POLY.value))
    # gates and columns slot by slot: a column sd_inner - to_gate after each slot's last gate
    gates_x: list[float] = []
    cols_x = [rules.snap(sd_end - to_gate)]
    x = sd_end
    for n in slots:
        gates_x += [rules.snap(x + j * (l + STACK_GAP)) for j in range(n)]
        x = rules.snap(gates_x[-1] + l + sd_inner)
        cols_x.append(rules.snap(x - to_gate))
    comp_len = rules.snap(gates_x[-1] + l + sd_end)

    c = gf.Component()

    # Diffusion and the source/drain contacts.
    pad_y = (0.0, max(w, 2 * _PAD_HALF))
    comp_hi = pad_y[1]  # the channel's lower edge, y = 0, is the COMP's
    rect(c, LAYER.comp, (0, 0, comp_len, w))
    cuts: Box = (0, 0, 0, 0)
    for x in cols_x:
        pad = (x - _PAD_HALF, pad_y[0], x + _PAD_HALF, pad_y[1])
        if narrow:
            rect(c, LAYER.comp, pad)
        cuts = cut_array(c, CONTACT, pad, rules.COMP_ENC_CONTACT.value)

    # Metal1 columns: every one reaches the top contact row's Via1 level; sources also run
    # down to the source strap.
    via_y = rules.snap(cuts[3] - _CO / 2)
    col_hi = rules.snap(via_y + VIA1.size / 2 + VIA1.enclosure)
    col_lo = min(rules.snap(cuts[1] - CONTACT.enclosure),
                 rules.snap(col_hi - rules.snap_up(rules.M1_AREA.value / _COL_W)))
    strap_hi = rules.snap(col_lo - rules.M1_SPACE.value)
    strap_lo = rules.snap(strap_hi - _STRAP_W)
    cols_lo, cols_hi = rules.snap(cols_x[0] - _COL_W / 2), rules.snap(cols_x[-1] + _COL_W / 2)
    for i, x in enumerate(cols_x):
        is_drain = i % 2 == 1
        rect(c, LAYER.metal1, (x - _COL_W / 2, col_lo if is_drain else strap_lo,
                               x + _COL_W / 2, col_hi))
        if is_drain:
            rect(c, VIA1.layer, (x - VIA1.size / 2, via_y - VIA1.size / 2,
                                 x + VIA1.size / 2, via_y + VIA1.size / 2))
    source = (cols_lo, strap_lo, cols_hi, strap_hi)
    rect(c, LAYER.metal1, source)
    drain = (cols_lo, via_y - _COL_W / 2, cols_hi, via_y + _COL_W / 2)
    rect(c, LAYER.metal2, drain)

    # Gates, joined above the channel by a contacted poly bar; the bar clears the COMP (PL.5a,
    # CO.8) and its metal1 clears the source/drain columns (M1.2a).
    bar_lo = rules.snap_up(max(
        comp_hi + rules.POLY_SPACE_COMP.value,
        comp_hi + rules.POLY_CONTACT_TO_COMP.value - rules.POLY_ENC_CONTACT.value,
        col_hi + rules.M1_SPACE.value - rules.POLY_ENC_CONTACT.value + CONTACT.enclosure,
    ))
    bar_hi = rules.snap(bar_lo + _ROW_H)
    gates_lo, gates_hi = gates_x[0], rules.snap(gates_x[-1] + l)
    widen = rules.snap_up(max(0.0, _ROW_H - (gates_hi - gates_lo)) / 2)
    bar = (gates_lo - widen, bar_lo, gates_hi + widen, bar_hi)
    poly_lo = -rules.POLY_ENDCAP.value
    for x in gates_x:
        rect(c, LAYER.poly2, (x, poly_lo, x + l, bar_hi))
    rect(c, LAYER.poly2, bar)
    bar_cuts = cut_array(c, CONTACT, bar, rules.POLY_ENC_CONTACT.value)
    gate = _row_metal(bar_cuts)
    rect(c, LAYER.metal1, gate)

    x_lo, x_hi = 0.0, comp_len
    if dummies:
        # Field-poly dummies beside the diffusion ends: same length as the gates.
        gap = rules.snap_up(max(rules.POLY_SPACE_COMP.value, rules.POLY_SPACE.value - sd_end))
        x_lo, x_hi = rules.snap(-gap - l), rules.snap(comp_len + gap + l)
        for x0 in (x_lo, comp_len + gap):
            rect(c, LAYER.poly2, (x0, poly_lo, x0 + l, comp_hi + rules.POLY_ENDCAP.value))

    rect(c, kind.implant, (-rules.IMPLANT_EXT_GATE.value, -rules.IMPLANT_EXT_GATE.value,
                           comp_len + rules.IMPLANT_EXT_GATE.value,
                           comp_hi + rules.IMPLANT_EXT_GATE.value))

    well_lo = 0.0
    if bulk_tie:
        # Tap strip below the source strap. Its implant keeps NP.4a/NP.4b distances to the gate
        # and its poly end; its COMP keeps NP.3c to the device implant; its metal clears the strap.
        tap_ext = rules.IMPLANT_EXT_TAP.value
        tap_hi = rules.snap(min(
            -rules.COMP_SPACE.value,
            poly_lo - rules.IMPLANT_TO_POLY_EXT.value - tap_ext,
            -rules.IMPLANT_TO_GATE.value - tap_ext,
            -rules.IMPLANT_EXT_GATE.value - rules.IMPLANT_TO_OPPOSITE_COMP.value,
            strap_lo - rules.M1_SPACE.value + rules.COMP_ENC_CONTACT.value - CONTACT.enclosure,
        ))
        tap = (x_lo, rules.snap(tap_hi - _ROW_H), x_hi, tap_hi)
        rect(c, LAYER.comp, tap)
        rect(c, kind.tap_implant, (tap[0] - tap_ext, tap[1] - tap_ext,
                                   tap[2] + tap_ext, tap[3] + tap_ext))
        bulk = _row_metal(cut_array(c, CONTACT, tap, rules.COMP_ENC_CONTACT.value))
        rect(c, LAYER.metal1, bulk)
        add_pin(c, "b", LAYER.metal1, bulk, 270, label=True)
        well_lo = tap[1]

    if kind.well is not None:
        enc = rules.NW_ENC_PCOMP.value
        rect(c, kind.well, (x_lo - enc, well_lo - enc, x_hi + enc, comp_hi + enc))

    add_pin(c, "g", LAYER.metal1, gate, 90, label=True)
    add_pin(c, "s", LAYER.metal1, source, 180, label=True)
    add_pin(c, "d", LAYER.metal2, drain, 0, label=True)

    c.info.update({"model": kind.model, "w": w, "l": l, "nf": fingers, "m": multiplier,
                   "nf_total": nf, "dummies": dummies, "bulk_tie": bulk_tie, "stacks": stacks})
    return c


def _row_metal(cuts: Box) -> Box:
    """Metal1 over a row of contacts: end-of-line enclosure all round, long enough for M1.3."""
    x0, y0, x1, y1 = cuts
    enc = CONTACT.enclosure
    height = y1 - y0 + 2 * enc
    extra = max(0.0, rules.snap_up(rules.M1_AREA.value / height) - (x1 - x0 + 2 * enc))
    half = rules.snap_up(extra / 2)
    return (rules.snap(x0 - enc - half), rules.snap(y0 - enc),
            rules.snap(x1 + enc + half), rules.snap(y1 + enc))


@gf.cell(set_name=False)
def nfet(
    w: float = 1.0,
    l: float = 0.28,  # noqa: E741  (the device's L)
    fingers: int = 1,
    multiplier: int = 1,
    dummies: bool = False,
    bulk_tie: bool = True,
    stacks: tuple[int, ...] = (),
) -> gf.Component:
    """3.3 V NMOS ``nfet_03v3`` with contacted source, drain, gate and p-tap.

    Ports (metal1 unless noted, all electrical, each with a text label of the same name):
    ``g`` top of the gate bar, ``s`` west end of the source strap, ``d`` east end of the
    drain strap (metal2), ``b`` bottom of the p-tap strip (only with ``bulk_tie``).

    Args:
        w: channel width per finger (µm), 0.22 to 100, on the 0.005 µm grid.
        l: channel length (µm), at least 0.28.
        fingers: gates per device (0 when only ``stacks`` are drawn).
        multiplier: parallel copies (m); they share diffusion as ``fingers * multiplier`` gates.
        dummies: add field-poly dummy gates beside both diffusion ends.
        bulk_tie: add a p-tap strip connected to port ``b``.
        stacks: series stacks beside the fingers, each the number of its gates (at least 2),
            per copy. A stack fills one slot between a source and a drain column with its
            gates, :data:`STACK_GAP` apart on uncontacted diffusion; it carries about 1/n of
            one finger's current. The cell name leaves out an empty ``stacks``.

    Raises:
        ValueError: off-grid or out-of-range sizes, a stack of fewer than 2 gates, or no gate
            at all (``fingers=0`` and no stacks).
    """
    c = _mos(NMOS, w, l, fingers, multiplier, dummies, bulk_tie, stacks)
    c.name = cell_name("nfet", w=w, l=l, fingers=fingers, multiplier=multiplier,
                       dummies=dummies, bulk_tie=bulk_tie, stacks=stacks)
    return c


@gf.cell(set_name=False)
def pfet(
    w: float = 1.0,
    l: float = 0.28,  # noqa: E741  (the device's L)
    fingers: int = 1,
    multiplier: int = 1,
    dummies: bool = False,
    bulk_tie: bool = True,
    stacks: tuple[int, ...] = (),
) -> gf.Component:
    """3.3 V PMOS ``pfet_03v3`` in its own Nwell, with contacted source, drain, gate and n-tap.

    Ports as for :func:`nfet`; ``b`` is the n-tap of the Nwell.

    Args:
        w: channel width per finger (µm), 0.22 to 100, on the 0.005 µm grid.
        l: channel length (µm), at least 0.28.
        fingers: gates per device (0 when only ``stacks`` are drawn).
        multiplier: parallel copies (m); they share diffusion as ``fingers * multiplier`` gates.
        dummies: add field-poly dummy gates beside both diffusion ends.
        bulk_tie: add an n-tap strip in the Nwell connected to port ``b``.
        stacks: series stacks beside the fingers, as for :func:`nfet`.

    Raises:
        ValueError: as for :func:`nfet`.
    """
    c = _mos(PMOS, w, l, fingers, multiplier, dummies, bulk_tie, stacks)
    c.name = cell_name("pfet", w=w, l=l, fingers=fingers, multiplier=multiplier,
                       dummies=dummies, bulk_tie=bulk_tie, stacks=stacks)
    return c
