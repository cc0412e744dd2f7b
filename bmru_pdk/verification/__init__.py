"""Verification engines: DRC (official deck), LVS and extraction (KLayout), SPICE (ngspice)."""
