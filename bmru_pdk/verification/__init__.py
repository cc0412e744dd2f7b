"""Verification engines: DRC (official deck), LVS, extraction and parasitics (KLayout)."""
