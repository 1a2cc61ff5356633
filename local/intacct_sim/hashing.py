"""Counter-based pseudo-randomness: a value is a pure function of (seed, stream, index).

Every generated record and field is computed from its own index this way, so any subset of rows (one
2000-record page, one audit sample) can be produced without producing the rest, and the data never
depends on the order in which tables are first touched.
"""

from __future__ import annotations

import zlib

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def stream(*parts: object) -> int:
    """A 64-bit stream id from labels (object name, field name, purpose...)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode()) * 0x1_0000_0001 & 0xFFFF_FFFF_FFFF_FFFF


def mix(seed: int, salt: int, index: np.ndarray) -> np.ndarray:
    """splitmix64 of (seed, salt, index): uint64 values, uniformly distributed."""
    with np.errstate(over="ignore"):
        x = index.astype(np.uint64) * _GOLDEN + np.uint64((seed * 0x2545F4914F6CDD1D + salt) & (2**64 - 1))
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def uniform(seed: int, salt: int, index: np.ndarray) -> np.ndarray:
    """Floats in [0, 1)."""
    return (mix(seed, salt, index) >> np.uint64(11)).astype(np.float64) / float(2**53)


def below(seed: int, salt: int, index: np.ndarray, bound: int) -> np.ndarray:
    """Integers in [0, bound)."""
    return (mix(seed, salt, index) % np.uint64(max(1, bound))).astype(np.int64)
