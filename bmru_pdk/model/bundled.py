"""The bundled default checkpoint: binary keyword spotting ("yes" vs the rest), d = 4, L = 2."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

BUNDLED_NAME = "kws_yes_d4_l2_keepers.safetensors"


def bundled_checkpoint() -> Path:
    """Path of the bundled trained checkpoint (package data; see docs/model.md for its record)."""
    return Path(str(resources.files("bmru_pdk") / "data" / BUNDLED_NAME))
