"""Analyses that orchestrate the engines: the post-layout compare, supply power, noise,
mismatch Monte Carlo, their ngspice testbenches and where the simulations run."""
