"""Atomistic systems: render atoms as periodic Gaussian images (Mills et al. 2019, eq. 2)."""
