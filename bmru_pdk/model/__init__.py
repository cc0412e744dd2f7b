"""The FQ-BMRU software model: cell, network, checkpoints, keyword-spotting data and training.

Names load on first use so that ``import bmru_pdk.model`` does not import torch; reading
a checkpoint's circuit parameters (:func:`circuit_parameters`) needs only numpy.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "BMRUNet": "bmru_pdk.model.network",
    "FQBMRU": "bmru_pdk.model.cell",
    "Checkpoint": "bmru_pdk.model.checkpoint",
    "CheckpointError": "bmru_pdk.model.checkpoint",
    "CheckpointMeta": "bmru_pdk.model.schema",
    "CircuitParameters": "bmru_pdk.model.checkpoint",
    "LayerCircuit": "bmru_pdk.model.checkpoint",
    "Realisability": "bmru_pdk.model.schema",
    "bundled_checkpoint": "bmru_pdk.model.bundled",
    "circuit_parameters": "bmru_pdk.model.checkpoint",
    "load_checkpoint": "bmru_pdk.model.checkpoint",
    "open_checkpoint": "bmru_pdk.model.checkpoint",
    "random_checkpoint": "bmru_pdk.model.checkpoint",
    "read_checkpoint": "bmru_pdk.model.checkpoint",
    "save_checkpoint": "bmru_pdk.model.checkpoint",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bmru_pdk.model' has no attribute {name!r}")


__all__ = sorted(_LAZY)
