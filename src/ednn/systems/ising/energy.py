"""Energy of periodic Ising configurations, critical temperatures and Onsager's exact 2D energy (J = 1, k_B = 1)."""

import numpy as np
from scipy.special import ellipk

from ednn.core.errors import EDNNError

ONSAGER_TC = 2.0 / np.log(1.0 + np.sqrt(2.0))
"""Critical temperature of the infinite 2D square-lattice Ising model, ≈ 2.26919."""

CUBIC_TC = 4.5115
"""Critical temperature of the infinite 3D simple-cubic Ising model (Monte Carlo, β_c ≈ 0.221655; no exact form)."""

CRITICAL_TEMPERATURES = {2: ONSAGER_TC, 3: CUBIC_TC}
"""Tc (J/k_B) by number of spatial dimensions."""


def ising_energy(spins: np.ndarray) -> np.ndarray:
    """Energy E = -Σ⟨ij⟩ s_i s_j of periodic nearest-neighbour lattices.

    spins: shape (N, *spatial) with 1 to 3 spatial axes, values ±1 (any integer or float dtype).
    Each axis contributes one bond per site (s * roll(s, -1, axis)), so an L×L lattice
    has 2·L² bonds and E lies in [-2·L², 2·L²]; an L×L×L one has 3·L³ bonds. Returns float64 energies, shape (N,).
    """
    s = np.asarray(spins)
    if not 2 <= s.ndim <= 4:
        raise EDNNError(f"spins must have shape (N, *spatial) with 1 to 3 spatial axes, got shape {s.shape}")
    if np.any(np.abs(s) != 1):
        raise EDNNError("spins must all be +1 or -1")
    s = s.astype(np.int8, copy=False)
    bond_sum = np.zeros(s.shape[0], dtype=np.int64)
    for axis in range(1, s.ndim):
        bond_sum += (s * np.roll(s, -1, axis=axis)).reshape(s.shape[0], -1).sum(axis=1, dtype=np.int64)
    return -bond_sum.astype(np.float64)


def onsager_energy_per_spin(T: np.ndarray) -> np.ndarray:
    """Exact energy per spin u(T) of the infinite 2D square-lattice Ising model.

    T: temperatures (any shape, > 0). Returns float64 u of the same shape, in [-2, 0];
    u(ONSAGER_TC) = -√2. Uses u = -coth 2β [1 + (2/π)(2 tanh² 2β - 1) K(k²)],
    k = 2 sinh 2β / cosh² 2β, with K the complete elliptic integral of the first kind.
    """
    T = np.asarray(T, dtype=np.float64)
    if np.any(~(T > 0)):
        raise EDNNError("temperatures must be positive")
    two_beta = 2.0 / T
    m = np.minimum((2.0 * np.sinh(two_beta) / np.cosh(two_beta) ** 2) ** 2, 1.0)
    prefactor = 2.0 * np.tanh(two_beta) ** 2 - 1.0
    # At m == 1 (T = Tc) K diverges logarithmically while the prefactor vanishes linearly.
    with np.errstate(invalid="ignore"):
        singular = np.where(m < 1.0, prefactor * ellipk(m), 0.0)
    return -(1.0 + 2.0 / np.pi * singular) / np.tanh(two_beta)
