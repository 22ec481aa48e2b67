"""Plots, videos, progress bars and the quieting of library noise: what a run shows."""
