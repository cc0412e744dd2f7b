"""The gf180mcu geometric rules the generators use, in µm, each named as in the official deck.

Values are the deck's 3.3 V rules (no Dualgate). Generators read them from here only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One rule of the official deck: its name there, and its value in µm (µm² for areas)."""

    name: str
    value: float

    def __float__(self) -> float:
        return self.value


GRID = Rule("OFFGRID", 0.005)

# Nwell and COMP (diffusion)
NW_WIDTH = Rule("NW.1a_3.3V", 0.86)
NW_SPACE_DIFF_NET = Rule("NW.2b_3.3V", 1.4)
COMP_WIDTH = Rule("DF.1a_3.3V", 0.22)
CHANNEL_WIDTH_MIN = Rule("DF.2a_3.3V", 0.22)
CHANNEL_WIDTH_MAX = Rule("DF.2b_3.3V", 100.0)
COMP_SPACE = Rule("DF.3a_3.3V", 0.28)
NW_ENC_PCOMP = Rule("DF.4c_3.3V", 0.43)
NW_ENC_NTAP = Rule("DF.4d_3.3V", 0.12)
COMP_EXT_POLY = Rule("DF.6_3.3V", 0.24)
COMP_AREA = Rule("DF.9_3.3V", 0.2025)
NW_SPACE_NCOMP = Rule("DF.16_3.3V", 0.43)
NW_SPACE_PTAP = Rule("DF.17_3.3V", 0.12)
BUTT_EDGE_MIN = Rule("DF.11_3.3V", 0.3)
LATCHUP_TAP_DIST = Rule("DF.13_3.3V", 20.0)

# Poly2
POLY_WIDTH = Rule("PL.1_3.3V", 0.18)
GATE_LENGTH_MIN = Rule("PL.2_3.3V", 0.28)
POLY_SPACE = Rule("PL.3a_3.3V", 0.24)
POLY_ENDCAP = Rule("PL.4_3.3V", 0.22)
POLY_SPACE_COMP = Rule("PL.5a_3.3V", 0.1)

# Nplus / Pplus implants
IMPLANT_WIDTH = Rule("NP.1", 0.4)
IMPLANT_SPACE = Rule("NP.2", 0.4)
IMPLANT_AREA = Rule("NP.8a", 0.35)
IMPLANT_EXT_GATE = Rule("NP.5a", 0.23)
IMPLANT_EXT_COMP = Rule("NP.5b", 0.16)
IMPLANT_TO_GATE = Rule("NP.4a", 0.32)
IMPLANT_OVER_BUTT = Rule("NP.6", 0.22)
IMPLANT_TO_POLY_EXT = Rule("NP.4b", 0.22)
IMPLANT_EXT_TAP = Rule("NP.5di", 0.16)
IMPLANT_TO_OPPOSITE_COMP = Rule("NP.3ci", 0.16)

# Contact
CONTACT_SIZE = Rule("CO.1", 0.22)
CONTACT_SPACE = Rule("CO.2a", 0.25)
POLY_ENC_CONTACT = Rule("CO.3", 0.07)
COMP_ENC_CONTACT = Rule("CO.4", 0.07)
IMPLANT_ENC_CONTACT_BUTT = Rule("CO.5a", 0.1)
M1_ENC_CONTACT_EOL = Rule("CO.6a", 0.06)
CONTACT_TO_GATE = Rule("CO.7", 0.15)
POLY_CONTACT_TO_COMP = Rule("CO.8", 0.17)
M1_ENC_CONTACT = Rule("CO.6", 0.005)

# Metals and vias
M1_WIDTH = Rule("M1.1", 0.23)
M1_SPACE = Rule("M1.2a", 0.23)
M1_SPACE_WIDE = Rule("M1.2b", 0.3)
M1_AREA = Rule("M1.3", 0.1444)
M2_WIDTH = Rule("M2.1", 0.28)
M2_SPACE = Rule("M2.2a", 0.28)
M2_AREA = Rule("M2.3", 0.1444)
M3_WIDTH = Rule("M3.1", 0.28)
M3_SPACE = Rule("M3.2a", 0.28)
M3_AREA = Rule("M3.3", 0.1444)
VIA_SIZE = Rule("V1.1", 0.26)
VIA_SPACE = Rule("V1.2a", 0.26)
METAL_ENC_VIA = Rule("V1.4a", 0.01)
METAL_ENC_VIA_EOL = Rule("V1.3c", 0.06)
VIA_SPACE_ARRAY = Rule("V1.2b", 0.36)
VIA2_SIZE = Rule("V2.1", 0.26)
VIA2_SPACE = Rule("V2.2a", 0.26)
VIA2_SPACE_ARRAY = Rule("V2.2b", 0.36)
METAL_ENC_VIA2 = Rule("V2.3b", 0.01)
METAL_ENC_VIA2_EOL = Rule("V2.3c", 0.06)
M4_WIDTH = Rule("M4.1", 0.28)
M4_SPACE = Rule("M4.2a", 0.28)
M4_AREA = Rule("M4.3", 0.1444)
VIA3_SIZE = Rule("V3.1", 0.26)
VIA3_SPACE = Rule("V3.2a", 0.26)
VIA3_SPACE_ARRAY = Rule("V3.2b", 0.36)
METAL_ENC_VIA3_EOL = Rule("V3.3c", 0.06)

# V1.2b / V2.2b: arrays of at least this many cuts in both directions need the wider space
VIA_ARRAY_MIN_CUTS = 4

# "wide metal" for the M*.2b spacing: every edge at least this long
WIDE_METAL_EDGE = Rule("M1.2b", 10.0)

ALL: tuple[Rule, ...] = tuple(v for v in dict(globals()).values() if isinstance(v, Rule))


def snap(x: float, grid: float = GRID.value) -> float:
    """Round ``x`` to the manufacturing grid."""
    return round(round(x / grid) * grid, 6)


def snap_down(x: float, grid: float = GRID.value) -> float:
    """Round ``x`` down to the manufacturing grid."""
    return round(math.floor(round(x / grid, 6)) * grid, 6)


def snap_up(x: float, grid: float = GRID.value) -> float:
    """Round ``x`` up to the manufacturing grid (for minimum dimensions)."""
    return round(math.ceil(round(x / grid, 6)) * grid, 6)
