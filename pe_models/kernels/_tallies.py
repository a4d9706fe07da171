"""Counting wrong bits per bit position: bit-sliced counters and bulk counts of buffered flip words."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__: list[str] = []


@njit(cache=True, inline="always")
def tally_bits(planes, bits):
    """Add 1 to the count of every set bit of `bits` in bit-sliced counters: ``planes[level]`` holds bit
    `level` of every bit position's count (amortised O(1) word operations; see :func:`add_tallies`)."""
    carry = np.int64(bits)
    level = 0
    while carry != 0:
        overflow = planes[level] & carry
        planes[level] ^= carry
        carry = overflow
        level += 1


@njit(cache=True)
def add_tallies(planes, width, counts):
    """Add the bit-sliced counters `planes` (:func:`tally_bits`) to ``counts[bit]``, bit < width."""
    for level in range(planes.shape[0]):
        word = planes[level]
        if word != 0:
            for bit in range(width):
                counts[bit] += ((word >> bit) & 1) << level


WRONG_WORDS = 1024
"""Capacity of the buffer in which the uint32 kernels gather wrong MACs' flip words to count their
bits in bulk (:func:`count_word_bits`)."""


@njit(cache=True)
def count_word_bits(words, fill, bit_counts):
    """Add the set bits of ``words[:fill]`` (uint32) to ``bit_counts[bit]``, bit < ``len(bit_counts)``.

    Byte-wide counters: pass j adds ``(word >> j) & 0x01010101`` over up to 255 words, so
    byte i of its sum counts bit ``8 i + j`` (a vectorised sum; no per-word branch).
    """
    byte_ones = np.uint64(0x01010101)
    start = 0
    while start < fill:
        stop = min(fill, start + 255)
        for j in range(8):
            shift = np.uint64(j)
            sums = np.uint64(0)
            for i in range(start, stop):
                sums += (np.uint64(words[i]) >> shift) & byte_ones
            for byte in range(4):
                if 8 * byte + j < bit_counts.shape[0]:
                    bit_counts[8 * byte + j] += np.int64((sums >> np.uint64(8 * byte)) & np.uint64(0xFF))
        start = stop
