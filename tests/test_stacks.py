"""Series stacks (unit-element ratios) in the analyses that pair extracted devices with the
schematic: drain senses and the supply split.

The schematic stands in for the extracted netlist, written as extraction writes it: flat,
cards renamed, inner nets unnamed, in another order and some source first.
"""

from __future__ import annotations

import re

import pytest

from bmru_pdk.analyses import power
from bmru_pdk.analyses import testbench as tb
from bmru_pdk.circuits import names
from bmru_pdk.circuits.builders import MirrorParams, current_mirror
from bmru_pdk.errors import BmruError

# Outputs of 0.5 (one stack of two gates) and 1.75 units (one finger, stacks of 2 and 4).
MIRROR = current_mirror(MirrorParams(kind="nfet_03v3", ratios=[0.5, 1.75]))
# The mirror as a weight array of the tile: its devices are ``w0.MD``, ``w0.MO1_st0g0``, ...
SCHEMATIC = (MIRROR.to_spice() + ".subckt tile in out0 out1 vss\n"
             f"Xw0 in out0 out1 vss {MIRROR.name}\n.ends tile\n")


def _extracted() -> tuple[str, dict[str, str]]:
    """The mirror's devices flat in ``tile`` as extraction writes them, and the card name of
    each schematic device (``MO1_st0g0`` -> ``xm3``)."""
    cards = [line.split() for line in MIRROR.subckt().splitlines() if line.startswith("X")]
    inner = {t[3] for t in cards} - {"vss"}
    nets = {n: f"n_{k}" for k, n in enumerate(sorted(inner))}
    renamed, lines = {}, []
    for k, tokens in enumerate(reversed(cards)):
        renamed[tokens[0][1:]] = f"xm{k}"
        d, g, s, b = (nets.get(t, t) for t in tokens[1:5])
        if k % 2:  # source first
            d, s = s, d
        lines.append(" ".join([f"XM{k}", d, g, s, b, *tokens[5:]]))
    return ".subckt tile in out0 out1 vss\n" + "\n".join(lines) + "\n.ends tile\n", renamed


EXTRACTED, CARD_OF = _extracted()
SENSES = {"w0.md": "d", "w0.mo0": "o0", "w0.mo1": "o1"}


def test_the_mirror_has_stacks_written_both_ways() -> None:
    assert {"MO0_st0g0", "MO1", "MO1_st1g3"} <= set(CARD_OF)
    assert "MO0" not in CARD_OF  # stacks only
    body = tb.split_top(EXTRACTED, "tile").body
    # the drain-end gate of a stack listed source first: neither terminal is on the bulk
    top = next(c.split() for c in body if c.split()[0].lower() == CARD_OF["MO1_st1g0"])
    assert top[3] == "out1" and top[1].startswith("n_") and "vss" not in (top[1], top[3])


def test_a_sense_takes_the_fingers_and_the_drain_end_gate_of_each_stack() -> None:
    body = tb.split_top(EXTRACTED, "tile").body
    cards = tb.sensed_cards(EXTRACTED, SCHEMATIC, body, SENSES)
    assert cards == {CARD_OF["MD"]: ("d", "in"),
                     CARD_OF["MO0_st0g0"]: ("o0", "out0"),
                     CARD_OF["MO1"]: ("o1", "out1"),
                     CARD_OF["MO1_st0g0"]: ("o1", "out1"),
                     CARD_OF["MO1_st1g0"]: ("o1", "out1")}
    sensed = tb.sense_drains(tb.split_top(EXTRACTED, "tile"), cards)
    assert sensed.senses == ("o1", "o0", "d")  # in card order
    assert sensed.body[-3:] == ["vo1 out1 o1_d 0", "vo0 out0 o0_d 0", "vd in d_d 0"]
    before = {c.split()[0].lower(): c.split() for c in body}
    after = {c.split()[0].lower(): c.split() for c in sensed.body}
    for card, (sense, drain) in cards.items():
        # the terminal on the drain net goes through the sense, wherever the card lists it
        at = next(i for i in (1, 3) if before[card][i] == drain)
        assert after[card] == [*before[card][:at], f"{sense}_d", *before[card][at + 1:]]
    # written source first, as extraction may: the drain is the third terminal
    assert after[CARD_OF["MO1_st1g0"]][3] == "o1_d"
    # the inner gates are as they were
    assert {c: after[c] for c in before if c not in cards} == {
        c: t for c, t in before.items() if c not in cards}


def test_the_sensed_currents_are_the_drain_currents() -> None:
    """Each sense carries all the current of its drain net, and the stacks set the ratio."""
    from bmru_pdk.spice import simulate

    tile = tb.sense_drains(tb.split_top(EXTRACTED, "tile"), tb.sensed_cards(
        EXTRACTED, SCHEMATIC, tb.split_top(EXTRACTED, "tile").body, SENSES))
    r = simulate("\n".join([*tile.body, "vhold0 out0 0 0.9", "vhold1 out1 0 0.9",
                            "vss vss 0 0", "vdd vdd 0 1.8", "iin vdd in 10n", ".op"]))
    i = {k: float(r[f"i(v{k})"][0]) for k in ("d", "o0", "o1", "hold0", "hold1")}
    assert i["d"] == pytest.approx(10e-9, rel=1e-3)
    assert i["o0"] == pytest.approx(-i["hold0"], rel=1e-6)
    assert i["o1"] == pytest.approx(-i["hold1"], rel=1e-6)
    # the drawn 0.5 and 1.75 (a stack of n carries somewhat more than 1/n at 10 nA: the
    # mapping uses the characterised gains)
    assert 0.45 < i["o0"] / i["d"] < 0.7 and 1.6 < i["o1"] / i["d"] < 2.1, i


def test_a_card_off_its_drain_net_is_refused() -> None:
    tile = tb.split_top(EXTRACTED, "tile")
    inner = CARD_OF["MO1_st1g1"]  # between two inner nets of its stack
    with pytest.raises(BmruError, match=rf"{inner.upper()} sensed as o1 has no terminal on "
                                        "its drain net out1"):
        tb.sense_drains(tile, {inner: ("o1", "out1")})
    with pytest.raises(BmruError, match="different drain nets"):
        tb.sense_drains(tile, {CARD_OF["MO1"]: ("o1", "out1"), CARD_OF["MO0_st0g0"]: ("o1",
                                                                                      "out0")})


def test_a_sensed_device_without_a_card_is_refused() -> None:
    body = tb.split_top(EXTRACTED, "tile").body
    with pytest.raises(BmruError, match="no extracted device for the element sensed as x"):
        tb.sensed_cards(EXTRACTED, SCHEMATIC, body, {**SENSES, "w0.mo9": "x"})


def test_every_stacked_gate_is_in_its_devices_part() -> None:
    body = tb.split_top(EXTRACTED, "tile").body
    assert set(power.device_parts(EXTRACTED, SCHEMATIC, body).values()) == {"fc_mirrors"}
    device = power.device_parts(EXTRACTED, SCHEMATIC, body,
                                lambda path: names.stacked_in(path.lower())[0])
    assert device == {card: "w0." + re.sub(r"_st\d+g\d+$", "", name).lower()
                      for name, card in CARD_OF.items()}
